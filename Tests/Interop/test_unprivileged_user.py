"""Stampede as an ordinary user: no root, no capabilities (as in a container with default capabilities, or a user's
own shell on a load-generator VM).

The CQL client and server once asked for TCP_NODELAY at the socket level, which is SO_DEBUG there: it needs
CAP_NET_ADMIN, so every connection failed for anyone but root with "setsockopt(...): Permission denied". These tests
drop to uid/gid 65534 (nobody) with setpriv, which also drops every capability, and run the embedded server, a write
run and its verification.
"""

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import pytest

from conftest import wait_for_port_open

NOBODY = 65534


def _unprivileged(binary):
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--inh-caps=-all", str(binary)]


@pytest.fixture
def unprivileged(stampede_bin):
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to an unprivileged user (setpriv)")
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")
    probe = subprocess.run(_unprivileged(stampede_bin) + ["--version"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip(f"the binary is not runnable by uid {NOBODY} here (a parent folder without o+x?): {probe.stderr.strip()}")
    # pytest's tmp_path sits under a folder only root may enter: the unprivileged user gets its own under /tmp.
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="stampede-nobody-"))
    os.chown(workdir, NOBODY, NOBODY)
    yield _unprivileged(stampede_bin), workdir
    shutil.rmtree(workdir, ignore_errors=True)


def test_server_run_and_verify_work_without_privileges(unprivileged, free_port):
    command, workdir = unprivileged
    port = free_port()
    server = subprocess.Popen(command + ["server", "--port", str(port)], cwd=workdir, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port_open(port, timeout=60)
        schema = subprocess.run(command + ["schema", "apply", "--contact-points", f"127.0.0.1:{port}"], cwd=workdir,
                                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        assert schema.returncode == 0, schema.stdout + schema.stderr
        results = workdir / "results.json"
        run = subprocess.run(
            command + ["run", "--contact-points", f"127.0.0.1:{port}", "--total", "2000", "--users", "16",
                       "--results", str(results), "--verify", "--quiet"],
            cwd=workdir, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180)
        output = run.stdout + run.stderr
        assert "Permission denied" not in output, output
        assert run.returncode == 0, output
        assert results.is_file(), output
        assert "2,000" in output or "2000" in output, output
    finally:
        server.terminate()
        try:
            server_output, _ = server.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server_output, _ = server.communicate(timeout=15)
        if sys.exc_info()[0] is not None:
            print(server_output)
    assert "Permission denied" not in server_output, server_output


def test_an_unwritable_results_path_is_refused_before_the_run(unprivileged, free_port):
    command, workdir = unprivileged
    locked = workdir / "locked"
    locked.mkdir(mode=0o555)
    os.chown(locked, NOBODY, NOBODY)
    run = subprocess.run(command + ["run", "--contact-points", f"127.0.0.1:{free_port()}", "--total", "10",
                                    "--results", str(locked / "results.json")],
                         cwd=workdir, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    # Refused before connecting anywhere (nothing listens on that port), with the file and the cause.
    assert f"cannot write the results to {locked / 'results.json'}: permission denied" in run.stderr, run.stderr
    assert "cannot connect" not in run.stderr, run.stderr
