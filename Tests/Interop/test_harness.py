"""Checks of the interop harness itself (conftest.py): the binary is found and runs, ports are free and distinct,
and background processes are started, awaited and stopped within their time limits."""

import signal
import socket
import sys

import pytest

from conftest import StampedeProcess, port_is_open, wait_for_port_open

LISTENER = """
import signal, socket, sys, time
port = int(sys.argv[1])
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen()
print("listening", flush=True)
if sys.argv[2] == "ignore-term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
time.sleep(120)
"""


def test_stampede_binary_runs(run_stampede):
    version = run_stampede("--version", timeout=60)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip()
    usage = run_stampede("--help", timeout=60)
    assert usage.returncode == 0, usage.stderr
    assert "stampede" in usage.stdout.lower()


def test_free_ports_are_free_and_distinct(free_port):
    ports = [free_port() for _ in range(20)]
    assert len(set(ports)) == len(ports)
    for port in ports[:3]:
        assert not port_is_open(port)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", port))


@pytest.mark.parametrize("mode", ["normal", "ignore-term"])
def test_background_process_starts_and_stops(tmp_path, free_port, mode):
    port = free_port()
    process = StampedeProcess([sys.executable, "-c", LISTENER, str(port), mode], tmp_path / "listener.log")
    try:
        wait_for_port_open(port, timeout=30, process=process)
        process.wait_for_log("listening", timeout=30)
        assert process.poll() is None
    finally:
        code = process.stop(timeout=2)
    # SIGTERM ends the normal one; the one that ignores it is killed after the grace period.
    assert code == (-signal.SIGTERM if mode == "normal" else -signal.SIGKILL)
    assert not port_is_open(port)


def test_a_process_that_exits_early_is_reported_with_its_log(tmp_path, free_port):
    process = StampedeProcess([sys.executable, "-c", "print('boom: bad flag'); raise SystemExit(3)"],
                              tmp_path / "early.log")
    with pytest.raises(RuntimeError, match="boom: bad flag"):
        wait_for_port_open(free_port(), timeout=30, process=process)
    assert process.stop() == 3
