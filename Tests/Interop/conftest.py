"""Shared fixtures for the interop tests: real outside clients (the DataStax Python driver, cqlsh, a browser)
against Stampede's own binaries.

Fixtures
--------
stampede_bin         Path of the built `stampede` binary: $STAMPEDE_BIN, else .build/debug/stampede. Fails (not skips)
                     when it is missing, with the command that builds it.
free_port            A function returning a free TCP port on 127.0.0.1, never the same one twice in a session.
start_stampede       Starts `stampede <args>` in the background and returns a `StampedeProcess`; every process started
                     is stopped (SIGTERM, then SIGKILL) when the test ends, and its log is shown if the test failed.
run_stampede         Runs a one-shot `stampede <args>` to completion with a timeout; returns CompletedProcess (text).
wait_for_port        wait_for_port(port, host="127.0.0.1", timeout=30): until something accepts connections.

Example
-------
    def test_python_driver_connects(start_stampede, free_port):
        port = free_port()
        server = start_stampede("server", "--port", str(port), ready_port=port)
        from cassandra.cluster import Cluster
        cluster = Cluster(["127.0.0.1"], port=port, protocol_version=4)
        ...

Every wait is bounded; every address is on 127.0.0.0/8.
"""

import os
import pathlib
import signal
import socket
import subprocess
import threading
import time

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_START_TIMEOUT = 60.0
DEFAULT_STOP_TIMEOUT = 15.0


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a test that takes more than a few seconds")


# ----------------------------------------------------------------------------------------------------------------
# The binary


@pytest.fixture(scope="session")
def stampede_bin() -> pathlib.Path:
    path = pathlib.Path(os.environ.get("STAMPEDE_BIN", REPO_ROOT / ".build" / "debug" / "stampede"))
    if not path.is_absolute():
        path = REPO_ROOT / path
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"stampede binary not found at {path}: build it with `swift build` (or set STAMPEDE_BIN)",
                    pytrace=False)
    return path


# ----------------------------------------------------------------------------------------------------------------
# Ports

_handed_out: set = set()
_ports_lock = threading.Lock()


def _pick_free_port(host: str = "127.0.0.1") -> int:
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((host, 0))
            port = probe.getsockname()[1]
        with _ports_lock:
            if port not in _handed_out:
                _handed_out.add(port)
                return port
    raise RuntimeError("could not find a free port on 127.0.0.1")


@pytest.fixture
def free_port():
    """Returns a function: each call gives a port nothing listens on yet (and not given out before)."""
    return _pick_free_port


def port_is_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port_open(port: int, host: str = "127.0.0.1", timeout: float = DEFAULT_START_TIMEOUT,
                       process: "StampedeProcess | None" = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_is_open(port, host):
            return
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process} exited with {process.returncode} before listening on {host}:{port}\n"
                               f"{process.log_tail()}")
        time.sleep(0.1)
    detail = f"\n{process.log_tail()}" if process is not None else ""
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout:.0f} s{detail}")


@pytest.fixture
def wait_for_port():
    return wait_for_port_open


# ----------------------------------------------------------------------------------------------------------------
# Processes


class StampedeProcess:
    """A background process with its stdout and stderr in one log file."""

    def __init__(self, argv, log_path: pathlib.Path, env=None, cwd=None):
        self.argv = [str(a) for a in argv]
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.popen = subprocess.Popen(
            self.argv, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            env=env, cwd=cwd, start_new_session=True)

    def __repr__(self):
        return f"<{' '.join(self.argv[:4])}{' ...' if len(self.argv) > 4 else ''} pid={self.popen.pid}>"

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self):
        return self.popen.returncode

    def poll(self):
        return self.popen.poll()

    def log_text(self) -> str:
        if not self._log.closed:  # closed once the process is stopped; the file itself is still there
            self._log.flush()
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def wait_for_log(self, needle: str, timeout: float = DEFAULT_START_TIMEOUT) -> None:
        """Waits until `needle` appears in the log (fails early if the process exits)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.log_text():
                return
            if self.poll() is not None:
                raise RuntimeError(f"{self} exited with {self.returncode} before logging {needle!r}\n{self.log_tail()}")
            time.sleep(0.1)
        raise TimeoutError(f"{self} did not log {needle!r} within {timeout:.0f} s\n{self.log_tail()}")

    def signal(self, signum: int) -> None:
        if self.poll() is None:
            self.popen.send_signal(signum)

    def wait(self, timeout: float = DEFAULT_STOP_TIMEOUT):
        return self.popen.wait(timeout=timeout)

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> int:
        """SIGTERM, then SIGKILL after `timeout` seconds. Returns the exit code."""
        if self.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=timeout)
        self._log.close()
        return self.popen.returncode

    def kill(self) -> None:
        """Stops the process without letting it clean up (a crash, for fail-over tests)."""
        if self.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=DEFAULT_STOP_TIMEOUT)


@pytest.fixture
def start_stampede(stampede_bin, tmp_path, request):
    """start_stampede(*args, ready_port=None, ready_log=None, timeout=60, env=None, cwd=None) -> StampedeProcess.

    Waits until `ready_port` accepts connections and/or `ready_log` appears in the output. The process is stopped
    when the test ends; if the test failed, the end of every started process's log is added to the report.
    """
    started = []

    def start(*args, ready_port=None, ready_log=None, timeout=DEFAULT_START_TIMEOUT, env=None, cwd=None):
        full_env = dict(os.environ)
        full_env.update(env or {})
        log_path = tmp_path / f"stampede-{len(started)}.log"
        process = StampedeProcess([stampede_bin, *args], log_path, env=full_env, cwd=cwd or tmp_path)
        started.append(process)
        if ready_port is not None:
            wait_for_port_open(ready_port, timeout=timeout, process=process)
        if ready_log is not None:
            process.wait_for_log(ready_log, timeout=timeout)
        return process

    yield start

    for process in reversed(started):
        process.stop()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for process in started:
            report.sections.append((f"log of {process}", process.log_tail(200)))


@pytest.fixture
def run_stampede(stampede_bin, tmp_path):
    """run_stampede(*args, timeout=120, env=None, check=False) -> subprocess.CompletedProcess with text output."""

    def run(*args, timeout=120.0, env=None, check=False, cwd=None):
        full_env = dict(os.environ)
        full_env.update(env or {})
        return subprocess.run([str(stampede_bin), *map(str, args)], stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=timeout, env=full_env, cwd=cwd or tmp_path, check=check)

    return run


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keeps each phase's report on the test item so fixtures can tell whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
