"""The DataStax Python driver writing chat messages with execute_async, a fixed number in flight.

Prints one JSON line: writes, failures, seconds, writes_per_second, p50_ms, p99_ms. Bounded by --count and --max-seconds.
"""

import argparse
import json
import sys
import threading
import time

from cassandra.cluster import Cluster
from cassandra.policies import RoundRobinPolicy

import chat_cql


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9042)
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--in-flight", type=int, default=200)
    parser.add_argument("--max-seconds", type=float, default=120)
    args = parser.parse_args()

    cluster = Cluster([args.host], port=args.port, protocol_version=4, load_balancing_policy=RoundRobinPolicy())
    session = cluster.connect()
    for statement in chat_cql.SCHEMA:
        session.execute(statement)
    insert = session.prepare(chat_cql.INSERT)

    lock = threading.Lock()
    done = threading.Event()
    state = {"next": 0, "completed": 0, "failures": 0}
    latencies = []
    deadline = time.monotonic() + args.max_seconds

    def issue():
        with lock:
            if state["next"] >= args.count or time.monotonic() > deadline:
                return
            index = state["next"]
            state["next"] += 1
        started = time.perf_counter()
        future = session.execute_async(insert, chat_cql.message_values(index))
        future.add_callbacks(finished, failed, callback_args=(started,), errback_args=(started,))

    def complete(started, ok):
        elapsed = time.perf_counter() - started
        with lock:
            latencies.append(elapsed)
            state["completed"] += 1
            if not ok:
                state["failures"] += 1
            finished_all = state["completed"] >= state["next"] and (state["next"] >= args.count or time.monotonic() > deadline)
        if finished_all:
            done.set()
        else:
            issue()

    def finished(_rows, started):
        complete(started, True)

    def failed(_error, started):
        complete(started, False)

    begin = time.perf_counter()
    for _ in range(args.in_flight):
        issue()
    done.wait(args.max_seconds + 30)
    seconds = time.perf_counter() - begin
    cluster.shutdown()
    ordered = sorted(latencies)
    writes = state["completed"] - state["failures"]
    print(json.dumps({
        "writes": writes, "failures": state["failures"], "seconds": seconds,
        "writes_per_second": writes / seconds if seconds else 0,
        "p50_ms": chat_cql.percentile(ordered, 50) * 1000, "p99_ms": chat_cql.percentile(ordered, 99) * 1000,
    }))
    return 0 if writes > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
