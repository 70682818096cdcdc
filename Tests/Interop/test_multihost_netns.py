"""Runs scripts/netns-multihost-test.sh (network namespaces, veth pairs, a bridge, delay and loss, faults).

Delay and loss come from tc netem, or where the kernel has no sch_netem from iptables (random DROP) plus the NFQUEUE
delayer scripts/nfqueue-delay.c; where neither works the script runs on a clean network and says so with a SKIP line
(these tests then still check the faults). The server's three nodes each listen on their own address.

Skipped with the reason when not root, when iproute2 is missing, or when the script itself reports it cannot run here
(exit 77: no stampede binary, or the distributed commands are not in it yet). Binary: $STAMPEDE_BIN, else
.build/release/stampede, else .build/debug/stampede.

Run: sudo python3 -m pytest Tests/Interop/test_multihost_netns.py -s
"""

import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "netns-multihost-test.sh"


def require_namespaces():
    if os.geteuid() != 0:
        pytest.skip("the multi-host test needs root (network namespaces): sudo python3 -m pytest ...")
    for tool in ("ip", "tc"):
        if shutil.which(tool) is None:
            pytest.skip(f"the multi-host test needs iproute2 ({tool} not found): apt-get install -y iproute2")
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"ip netns does not work here: {probe.stderr.strip()}")


def run_script(*arguments, timeout):
    result = subprocess.run(["bash", str(SCRIPT), *arguments], capture_output=True, text=True, timeout=timeout)
    output = result.stdout + result.stderr
    print(output)
    if result.returncode == 77:
        pytest.skip(next((line for line in output.splitlines() if line.startswith("SKIP:")), "the script cannot run here"))
    return result.returncode, output


def check_impairment_reported(output, after_run):
    """Either the delay/loss was proven in effect, or the script said plainly why there is none."""
    lines = output.splitlines()
    if any(line.startswith("SKIP: delay/loss emulation") for line in lines):
        return
    assert any(line.startswith("PASS: delay in effect (") for line in lines), output[-3000:]
    if after_run:
        assert any(line.startswith("PASS: loss in effect:") for line in lines), output[-3000:]
        if "impairment: nfqueue" in output:
            assert any(line.startswith("PASS: delay in effect for the whole run:") for line in lines), output[-3000:]


def test_network_builds_and_is_cleaned_up():
    require_namespaces()
    code, output = run_script("--network-only", timeout=120)
    assert code == 0, output[-3000:]
    assert "PASS: every namespace reaches every other over TCP" in output
    check_impairment_reported(output, after_run=False)
    assert "stp-" not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert "stp-br0" not in subprocess.run(["ip", "link", "show"], capture_output=True, text=True).stdout


def test_distributed_write_with_faults():
    require_namespaces()
    code, output = run_script("--timeout", "900", timeout=960)
    assert code == 0, output[-5000:]
    summary = [line for line in output.splitlines() if line.startswith("netns multi-host test:")]
    assert summary and summary[-1].endswith(", 0 failed"), output[-5000:]
    assert "PASS: stampede verify: exactly 200000 messages" in output, output[-5000:]
    assert "PASS: server ready: 10.77.0.11:9042 10.77.0.12:9042 10.77.0.13:9042" in output, output[-5000:]
    check_impairment_reported(output, after_run=True)
    assert "stp-" not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
