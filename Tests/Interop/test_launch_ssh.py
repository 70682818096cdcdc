"""`stampede launch` against a real sshd on loopback.

The test owns its sshd: a generated host key and client key in a temp dir, an authorized_keys file, a free port on
127.0.0.1, no PAM. It is skipped when sshd is not installed (apt-get install openssh-server) or cannot start.

Most tests copy a small fake worker (a shell script given as --binary) so they check the launcher itself: the copy,
the nohup start with the coordinator address and id, the token passed on stdin, the wait, the stop at --timeout, the
log collection and the exit status. The last test runs real `stampede worker`s against a real coordinator and is
skipped until those commands exist in the binary.

Binary: $STAMPEDE_BIN, else .build/release/stampede, else .build/debug/stampede.
Run: python3 -m pytest Tests/Interop/test_launch_ssh.py
"""

import getpass
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
SFTP_SERVER = next(
    (p for p in ("/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server", "/usr/lib/ssh/sftp-server") if os.path.exists(p)),
    None,
)
TOKEN = "launch-test-token-7f3a"

FAKE_WORKER = """#!/bin/sh
# Stands in for `stampede worker`: records what it was given, then sleeps and exits as told.
echo "fake worker args: $*"
if [ -n "$STAMPEDE_TOKEN" ]; then echo "token: $STAMPEDE_TOKEN"; else echo "token: (none)"; fi
sleep_for=1; code=0
while [ $# -gt 0 ]; do
  case "$1" in
    --fake-sleep) sleep_for=$2; shift ;;
    --fake-exit) code=$2; shift ;;
  esac
  shift
done
if [ "$code" = 0 ]; then exec sleep "$sleep_for"; fi
sleep "$sleep_for"; exit "$code"
"""


def stampede_binary():
    candidates = [os.environ.get("STAMPEDE_BIN"), ROOT / ".build/release/stampede", ROOT / ".build/debug/stampede"]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return str(candidate)
    pytest.skip("no stampede binary: build it (swift build --product stampede) or set STAMPEDE_BIN")


def has_subcommand(binary, name):
    # An unknown subcommand with --help prints the root help (exit 0), so look at the usage line.
    result = subprocess.run([binary, name, "--help"], capture_output=True, text=True, timeout=30)
    return result.returncode == 0 and re.search(rf"USAGE: \S+ {name}\b", result.stdout) is not None


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    if not os.path.exists(SSHD) or shutil.which("ssh-keygen") is None or shutil.which("scp") is None:
        pytest.skip("sshd/ssh-keygen/scp not installed (apt-get install -y openssh-server openssh-client)")
    directory = tmp_path_factory.mktemp("sshd")
    os.chmod(directory, 0o755)
    for name in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(directory / name)], check=True, timeout=30)
    authorized = directory / "authorized_keys"
    shutil.copy(directory / "client_key.pub", authorized)
    os.chmod(authorized, 0o600)
    port = free_port()
    config = directory / "sshd_config"
    lines = [
        f"Port {port}",
        "ListenAddress 127.0.0.1",
        f"HostKey {directory / 'host_key'}",
        f"AuthorizedKeysFile {authorized}",
        f"PidFile {directory / 'sshd.pid'}",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PubkeyAuthentication yes",
        "PermitRootLogin prohibit-password",
        "UsePAM no",
        "StrictModes no",
        "LogLevel ERROR",
    ]
    if SFTP_SERVER:
        lines.append(f"Subsystem sftp {SFTP_SERVER}")
    config.write_text("\n".join(lines) + "\n")
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", exist_ok=True)
    log = open(directory / "sshd.log", "w")
    process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 10
    while time.time() < deadline:
        if process.poll() is not None:
            pytest.skip(f"sshd could not start: {(directory / 'sshd.log').read_text()[-500:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.skip("sshd did not listen within 10 s")
    user = getpass.getuser()
    ssh_base = ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-i", str(directory / "client_key"), "-p", str(port), f"{user}@127.0.0.1"]
    probe = subprocess.run(ssh_base + ["true"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        process.kill()
        pytest.skip(f"cannot log in to the test sshd as {user}: {probe.stderr.strip()[-300:]}")
    yield {"port": port, "user": user, "key": str(directory / "client_key"), "dir": directory}
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture()
def binary():
    binary = stampede_binary()
    if not has_subcommand(binary, "launch"):
        pytest.skip(f"{binary} has no launch subcommand yet")
    return binary


@pytest.fixture()
def fake_worker(tmp_path):
    path = tmp_path / "fake-stampede"
    path.write_text(FAKE_WORKER)
    path.chmod(0o755)
    return str(path)


def write_hosts(tmp_path, sshd, lines=None):
    hosts = tmp_path / "hosts.txt"
    lines = lines or [f"# test hosts", f"{sshd['user']}@127.0.0.1:{sshd['port']}", "", f"{sshd['user']}@localhost:{sshd['port']}  # same machine"]
    hosts.write_text("\n".join(lines) + "\n")
    return str(hosts)


def launch(binary, sshd, tmp_path, *extra, worker_args=(), timeout=120, env_token=TOKEN, hosts=None):
    command = [
        binary, "launch",
        "--hosts", hosts or write_hosts(tmp_path, sshd),
        "--coordinator", "127.0.0.1:5557",
        "--remote-dir", str(tmp_path / "remote"),
        "--logs", str(tmp_path / "logs"),
        "--identity", sshd["key"],
        "--ssh-option", "StrictHostKeyChecking=no",
        "--ssh-option", "UserKnownHostsFile=/dev/null",
        "--ssh-option", "LogLevel=ERROR",
        "--poll-interval", "0.5",
        "--step-timeout", "30",
        *extra,
    ]
    if worker_args:
        command += ["--", *worker_args]
    env = dict(os.environ)
    env.pop("STAMPEDE_TOKEN", None)
    if env_token is not None:
        env["STAMPEDE_TOKEN"] = env_token
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)


def test_dry_run_prints_every_command_without_the_token(binary, sshd, tmp_path, fake_worker):
    result = launch(binary, sshd, tmp_path, "--binary", fake_worker, "--workers-per-host", "2", "--dry-run")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert TOKEN not in out
    assert out.count("scp ") >= 4  # copy + logs for each of the two hosts
    assert f"-P {sshd['port']}" in out and f"-p {sshd['port']}" in out
    assert "127.0.0.1-p%d-1" % sshd["port"] in out and "localhost-p%d-2" % sshd["port"] in out
    assert "printf '%s' \"$STAMPEDE_TOKEN\" | ssh" in out
    assert "--coordinator 127.0.0.1:5557" in out
    assert not (tmp_path / "remote").exists(), "a dry run must not touch the hosts"


def test_launch_copies_starts_waits_and_collects(binary, sshd, tmp_path, fake_worker):
    result = launch(binary, sshd, tmp_path, "--binary", fake_worker, "--workers-per-host", "2",
                    worker_args=["--fake-sleep", "2", "--fake-exit", "0"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "every worker exited 0" in result.stdout
    remote = tmp_path / "remote"
    assert (remote / "stampede").read_text() == FAKE_WORKER, "the binary was not copied"
    assert not list(remote.glob("stampede.upload-*")), "upload leftovers"
    logs = sorted((tmp_path / "logs").glob("*.log"))
    names = {log.stem for log in logs}
    port = sshd["port"]
    assert names == {f"127.0.0.1-p{port}-1", f"127.0.0.1-p{port}-2", f"localhost-p{port}-1", f"localhost-p{port}-2"}
    for log in logs:
        text = log.read_text()
        assert f"fake worker args: worker --coordinator 127.0.0.1:5557 --id {log.stem} --fake-sleep 2 --fake-exit 0" in text
        assert f"token: {TOKEN}" in text
    assert not list(remote.glob(".token*")), "the token must not be left on disk"


def test_without_token_workers_get_none(binary, sshd, tmp_path, fake_worker):
    result = launch(binary, sshd, tmp_path, "--binary", fake_worker, env_token=None,
                    worker_args=["--fake-sleep", "0"], hosts=write_hosts(tmp_path, sshd, [f"{sshd['user']}@127.0.0.1:{sshd['port']}"]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "token: (none)" in (tmp_path / "logs" / f"127.0.0.1-p{sshd['port']}.log").read_text()


def test_failed_worker_makes_launch_fail_and_names_it(binary, sshd, tmp_path, fake_worker):
    result = launch(binary, sshd, tmp_path, "--binary", fake_worker, worker_args=["--fake-sleep", "0", "--fake-exit", "3"])
    assert result.returncode != 0
    assert "did not finish cleanly" in result.stderr
    assert f"127.0.0.1-p{sshd['port']} (exit 3)" in result.stderr


def test_timeout_stops_running_workers(binary, sshd, tmp_path, fake_worker):
    started = time.time()
    result = launch(binary, sshd, tmp_path, "--binary", fake_worker, "--timeout", "3", worker_args=["--fake-sleep", "300"])
    assert time.time() - started < 60
    assert result.returncode != 0
    assert "--timeout of 3 s reached" in result.stdout
    remote = tmp_path / "remote"
    for pid_file in remote.glob("*.pid"):
        pid = int(pid_file.read_text())
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert "exit 143" in result.stdout  # SIGTERM


def test_interrupt_stops_workers(binary, sshd, tmp_path, fake_worker):
    hosts = write_hosts(tmp_path, sshd, [f"{sshd['user']}@127.0.0.1:{sshd['port']}"])
    command = [binary, "launch", "--hosts", hosts, "--coordinator", "127.0.0.1:5557", "--remote-dir", str(tmp_path / "remote"),
               "--logs", str(tmp_path / "logs"), "--identity", sshd["key"], "--ssh-option", "StrictHostKeyChecking=no",
               "--ssh-option", "UserKnownHostsFile=/dev/null", "--binary", fake_worker, "--poll-interval", "0.5",
               "--", "--fake-sleep", "300"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 30
        pid_file = tmp_path / "remote" / f"127.0.0.1-p{sshd['port']}.pid"
        while time.time() < deadline and not (pid_file.exists() and pid_file.read_text().strip()):
            time.sleep(0.2)
        assert pid_file.exists(), "the worker did not start"
        time.sleep(1)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert "interrupted" in out, out + err
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


def test_stop_mode_stops_leftover_workers(binary, sshd, tmp_path, fake_worker):
    hosts = write_hosts(tmp_path, sshd, [f"{sshd['user']}@127.0.0.1:{sshd['port']}"])
    background = subprocess.Popen(
        [binary, "launch", "--hosts", hosts, "--coordinator", "127.0.0.1:5557", "--remote-dir", str(tmp_path / "remote"),
         "--logs", str(tmp_path / "logs"), "--identity", sshd["key"], "--ssh-option", "StrictHostKeyChecking=no",
         "--ssh-option", "UserKnownHostsFile=/dev/null", "--binary", fake_worker, "--", "--fake-sleep", "300"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pid_file = tmp_path / "remote" / f"127.0.0.1-p{sshd['port']}.pid"
    try:
        deadline = time.time() + 30
        while time.time() < deadline and not (pid_file.exists() and pid_file.read_text().strip()):
            time.sleep(0.2)
        assert pid_file.exists(), "the worker did not start"
        background.kill()  # the launcher dies without stopping its worker
        background.wait(timeout=10)
        worker = int(pid_file.read_text())
        os.kill(worker, 0)  # still running
        result = launch(binary, sshd, tmp_path, "--binary", fake_worker, "--stop", hosts=hosts)
        assert "exit 143" in result.stdout, result.stdout + result.stderr
        with pytest.raises(ProcessLookupError):
            os.kill(worker, 0)
    finally:
        if background.poll() is None:
            background.kill()


def test_bad_hosts_file_line_is_reported(binary, sshd, tmp_path, fake_worker):
    hosts = write_hosts(tmp_path, sshd, ["root@10.0.0.1", "root@:22", "root@10.0.0.3"])
    result = launch(binary, sshd, tmp_path, "--binary", fake_worker, hosts=hosts)
    assert result.returncode != 0
    assert "line 2" in result.stderr and "expected user@host[:port]" in result.stderr


def test_unreachable_host_is_reported(binary, sshd, tmp_path, fake_worker):
    hosts = write_hosts(tmp_path, sshd, [f"{sshd['user']}@127.0.0.1:{free_port()}"])
    result = launch(binary, sshd, tmp_path, "--binary", fake_worker, hosts=hosts)
    assert result.returncode != 0
    assert "ssh could not connect or log in" in result.stderr


def test_real_workers_through_ssh(binary, sshd, tmp_path):
    """Two real `stampede worker`s started over SSH finish a 20,000-message run of a real coordinator."""
    for command in ("coordinator", "worker", "server"):
        if not has_subcommand(binary, command):
            pytest.skip(f"{binary} has no {command} subcommand yet")
    cql_port, grpc_port = free_port(), free_port()
    server = subprocess.Popen([binary, "server", "--host", "127.0.0.1", "--port", str(cql_port), "--nodes", "1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    coordinator = None
    try:
        wait_for_port(cql_port)
        coordinator = subprocess.Popen(
            [binary, "coordinator", "--expect-workers", "2", "--target", "20000", "--bind", f"127.0.0.1:{grpc_port}",
             "--contact-points", f"127.0.0.1:{cql_port}"],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        hosts = write_hosts(tmp_path, sshd, [f"{sshd['user']}@127.0.0.1:{sshd['port']}"])
        result = subprocess.run(
            [binary, "launch", "--hosts", hosts, "--coordinator", f"127.0.0.1:{grpc_port}", "--workers-per-host", "2",
             "--remote-dir", str(tmp_path / "remote"), "--logs", str(tmp_path / "logs"), "--identity", sshd["key"],
             "--ssh-option", "StrictHostKeyChecking=no", "--ssh-option", "UserKnownHostsFile=/dev/null", "--timeout", "180"],
            capture_output=True, text=True, timeout=240)
        assert result.returncode == 0, result.stdout + result.stderr
        out, _ = coordinator.communicate(timeout=60)
        assert coordinator.returncode == 0, out[-2000:]
        import json
        results = json.loads((tmp_path / "distributed_results.json").read_text())
        assert results["total_messages"] == 20000
        assert len(results["workers"]) == 2
    finally:
        for process in (coordinator, server):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()


def wait_for_port(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listening on 127.0.0.1:{port} after {timeout} s")
