"""`stampede server` serves with one event loop per core it may use (its CPU affinity, as `taskset` sets it), or with
`--event-loops N`. More loops than cores made the loops take turns on a core, each waiting out the other's time slice
(milliseconds of added latency for the connections of the loop that waits).

Run: python3 -m pytest Tests/Interop/test_server_event_loops.py
"""

import os
import pathlib

import pytest

from server_fixtures import connected, start_server


def event_loop_threads(pid):
    """Names of the process's NIO event-loop threads (`NIO-ELT-<group>-#<n>`)."""
    names = (pathlib.Path(task, "comm").read_text().strip() for task in pathlib.Path(f"/proc/{pid}/task").iterdir())
    return sorted(name for name in names if name.startswith("NIO-ELT-"))


def answers_a_query(port):
    with connected(["127.0.0.1"], port) as (_, session):
        return session.execute("SELECT release_version FROM system.local").one().release_version


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux CPU affinity")
def test_server_pinned_to_one_cpu_runs_one_event_loop(start_stampede, free_port):
    port = free_port()
    inherited = os.sched_getaffinity(0)
    # The child inherits this process's affinity at fork, as it would from `taskset -c N stampede server`.
    os.sched_setaffinity(0, {min(inherited)})
    try:
        server = start_server(start_stampede, port, "--mode", "sink")
    finally:
        os.sched_setaffinity(0, inherited)
    assert os.sched_getaffinity(server.pid) == {min(inherited)}
    assert len(event_loop_threads(server.pid)) == 1
    assert answers_a_query(port)


def test_event_loops_option_sets_the_number_of_loops(start_stampede, free_port):
    port = free_port()
    server = start_server(start_stampede, port, "--event-loops", 3)
    assert len(event_loop_threads(server.pid)) == 3
    assert answers_a_query(port)


def test_event_loops_below_one_are_refused(run_stampede, free_port):
    result = run_stampede("server", "--port", free_port(), "--event-loops", 0, timeout=30)
    assert result.returncode != 0
    assert "--event-loops must be at least 1" in result.stderr
