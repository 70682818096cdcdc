"""Locust users inserting chat messages through the DataStax Python driver (the seed's setup).

Each Locust process (master or worker) keeps one Cluster/Session for its users, uses the gevent reactor so the driver
cooperates with Locust's greenlets, and reports each INSERT to Locust as request type CQL, name insert_message.
Host and port: STAMPEDE_BENCH_HOST / STAMPEDE_BENCH_PORT (default 127.0.0.1:9042).
"""

import itertools
import os
import time

from cassandra.cluster import Cluster
from cassandra.io.geventreactor import GeventConnection
from cassandra.policies import RoundRobinPolicy
from locust import User, constant, events, task

import chat_cql

_session = None
_insert = None
_counter = itertools.count(os.getpid() * 10_000_000)


def session():
    global _session, _insert
    if _session is None:
        cluster = Cluster(
            [os.environ.get("STAMPEDE_BENCH_HOST", "127.0.0.1")], port=int(os.environ.get("STAMPEDE_BENCH_PORT", "9042")),
            protocol_version=4, connection_class=GeventConnection, load_balancing_policy=RoundRobinPolicy())
        _session = cluster.connect()
        for statement in chat_cql.SCHEMA:
            _session.execute(statement)
        _insert = _session.prepare(chat_cql.INSERT)
    return _session


class ChatWriter(User):
    wait_time = constant(0)

    def on_start(self):
        session()

    @task
    def insert_message(self):
        index = next(_counter)
        started = time.perf_counter()
        exception = None
        try:
            _session.execute(_insert, chat_cql.message_values(index))
        except Exception as error:  # reported to Locust like any failed request
            exception = error
        events.request.fire(
            request_type="CQL", name="insert_message", response_time=(time.perf_counter() - started) * 1000,
            response_length=0, exception=exception, context={})
