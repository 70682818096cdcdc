"""Helpers for the embedded-server interop tests: start `stampede server` on free ports and connect to it."""

import contextlib
import json
import time
import urllib.request


def start_server(start_stampede, port, *args, timeout=60):
    """Starts `stampede server --port PORT ARGS...` and waits until it prints that it is ready."""
    return start_stampede("server", "--port", str(port), *map(str, args), ready_log="CQL server ready", timeout=timeout)


def connect(hosts, port, **kwargs):
    """A driver Cluster and Session with default settings (schema and token metadata on), bounded timeouts."""
    from cassandra.cluster import Cluster

    cluster = Cluster(hosts, port=port, connect_timeout=10, control_connection_timeout=10, **kwargs)
    session = cluster.connect()
    session.default_timeout = 20
    return cluster, session


@contextlib.contextmanager
def connected(hosts, port, **kwargs):
    cluster, session = connect(hosts, port, **kwargs)
    try:
        yield cluster, session
    finally:
        cluster.shutdown()


def admin(port, method, path):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def wait_until(predicate, timeout=30, interval=0.2, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"{what} not reached within {timeout} s")


CHAT_SCHEMA = [
    "CREATE KEYSPACE IF NOT EXISTS interop_chat WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
    """CREATE TABLE IF NOT EXISTS interop_chat.users_by_id (
        user_id uuid PRIMARY KEY, username text, display_name text, created_at timestamp)""",
    """CREATE TABLE IF NOT EXISTS interop_chat.messages_by_conversation (
        conversation_id uuid,
        message_id timeuuid,
        sender_id uuid,
        body text,
        attachments list<text>,
        PRIMARY KEY ((conversation_id), message_id)
    ) WITH CLUSTERING ORDER BY (message_id DESC)""",
    """CREATE TABLE IF NOT EXISTS interop_chat.members_by_conversation (
        conversation_id uuid, user_id uuid, joined_at timestamp, role text,
        PRIMARY KEY ((conversation_id), user_id))""",
]
