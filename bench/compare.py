#!/usr/bin/env python3
"""Side-by-side write benchmark on one machine against one `stampede server --mode sink` endpoint (loopback only).

Clients, each bounded in count and time:
  * Stampede, 1 worker and 4 workers (`stampede coordinator` + `stampede worker` processes); when the distributed
    commands are not in the binary yet, `stampede bench writes` (the Stampede driver alone) stands in, and says so;
  * the DataStax Python driver, execute_async with 200 in flight (python_driver_writer.py);
  * Locust distributed: a master and 4 workers, 1000 users, the chat INSERT through the Python driver (locustfile.py).

Reported for each: writes/s, p50/p99 latency, writes per client CPU-second (user+system CPU of every client process:
coordinator and workers, or Locust master and workers), their ratios to Stampede, and the time 1,000,000 messages
would take at the measured rate (extrapolated from the bounded run; the table says so).

  pip install locust cassandra-driver
  python3 bench/compare.py [--binary .build/release/stampede] [--count 200000] [--python-count 50000] [--locust-seconds 30]

Writes a Markdown table to stdout and to bench/results/compare-<timestamp>.md (plus .json).
"""

import argparse
import csv
import datetime
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout} s")


def has_subcommand(binary, name):
    result = subprocess.run([binary, name, "--help"], capture_output=True, text=True, timeout=30)
    return result.returncode == 0 and re.search(rf"USAGE: \S+ {name}\b", result.stdout) is not None


class Client:
    """Client processes whose CPU time is collected with wait4 when they exit."""

    def __init__(self):
        self.processes = []
        self.cpu_seconds = 0.0

    def start(self, command, **kwargs):
        process = subprocess.Popen(command, **kwargs)
        self.processes.append(process)
        return process

    def wait(self, process, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid == process.pid:
                self.cpu_seconds += usage.ru_utime + usage.ru_stime
                process.returncode = os.waitstatus_to_exitcode(status)
                return process.returncode
            time.sleep(0.05)
        self.stop_all()
        raise TimeoutError(f"{process.args[:3]} did not finish within {timeout} s")

    def stop_all(self):
        for process in self.processes:
            if process.returncode is None and process.poll() is None:
                process.send_signal(signal.SIGINT)
        time.sleep(1)
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def run_stampede(binary, port, workers, count, max_seconds, workdir):
    """A distributed Stampede run of exactly `count` messages; falls back to `bench writes` when needed."""
    client = Client()
    if has_subcommand(binary, "coordinator") and has_subcommand(binary, "worker"):
        grpc = free_port()
        run_dir = pathlib.Path(tempfile.mkdtemp(dir=workdir, prefix=f"stampede-{workers}w-"))
        coordinator = client.start(
            [binary, "coordinator", "--bind", f"127.0.0.1:{grpc}", "--expect-workers", str(workers),
             "--target", str(count), "--workload", "chat-write", "--contact-points", f"127.0.0.1:{port}"],
            cwd=run_dir, stdout=open(run_dir / "coordinator.log", "w"), stderr=subprocess.STDOUT)
        worker_processes = [
            client.start([binary, "worker", "--coordinator", f"127.0.0.1:{grpc}", "--id", f"bench-{i}"], cwd=run_dir,
                         stdout=open(run_dir / f"worker-{i}.log", "w"), stderr=subprocess.STDOUT)
            for i in range(workers)]
        started = time.perf_counter()
        code = client.wait(coordinator, max_seconds)
        wall = time.perf_counter() - started
        for process in worker_processes:
            client.wait(process, 60)
        if code != 0:
            raise RuntimeError(f"stampede coordinator exited {code}; see {run_dir}/coordinator.log")
        results = json.loads((run_dir / "distributed_results.json").read_text())
        writes = int(results["total_messages"])
        seconds = float(results.get("total_time") or wall)
        return {
            "writes": writes, "seconds": seconds, "writes_per_second": writes / seconds,
            "p50_ms": float(results["p50"]), "p99_ms": float(results["p99"]),
            "cpu_seconds": client.cpu_seconds, "how": f"stampede coordinator + {workers} worker(s)",
        }
    # Fallback: the driver alone, one process (pipelined prepared INSERTs), with `workers` connections.
    process = client.start(
        [binary, "bench", "writes", "--contact-point", f"127.0.0.1:{port}", "--count", str(count), "--concurrency", "256",
         "--connections", str(max(1, workers))],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output_lines = []
    deadline = time.time() + max_seconds
    code = client.wait(process, max_seconds)
    output = process.stdout.read()
    if code != 0:
        raise RuntimeError(f"stampede bench writes exited {code}: {output[-500:]}")
    rate = float(re.search(r"([\d.]+) writes/s over ([\d.]+) s", output).group(1))
    seconds = float(re.search(r"writes/s over ([\d.]+) s", output).group(1))
    p50 = int(re.search(r"p50 (\d+) µs", output).group(1)) / 1000
    p99 = int(re.search(r"p99 (\d+) µs", output).group(1)) / 1000
    return {
        "writes": count, "seconds": seconds, "writes_per_second": rate, "p50_ms": p50, "p99_ms": p99,
        "cpu_seconds": client.cpu_seconds,
        "how": f"stampede bench writes (driver only, {max(1, workers)} connection(s); distributed commands not built)",
    }


def run_python_driver(port, count, in_flight, max_seconds):
    client = Client()
    process = client.start(
        [sys.executable, str(HERE / "python_driver_writer.py"), "--port", str(port), "--count", str(count),
         "--in-flight", str(in_flight), "--max-seconds", str(max_seconds)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=HERE)
    code = client.wait(process, max_seconds + 60)
    output = process.stdout.read()
    if code != 0:
        raise RuntimeError(f"python driver writer exited {code}: {process.stderr.read()[-800:]}")
    result = json.loads(output.strip().splitlines()[-1])
    result["cpu_seconds"] = client.cpu_seconds
    result["how"] = f"cassandra-driver execute_async, {in_flight} in flight, 1 process"
    return result


def run_locust(port, users, workers, seconds, workdir):
    if shutil.which("locust") is None:
        raise RuntimeError("locust is not installed (pip install locust cassandra-driver)")
    client = Client()
    env = dict(os.environ, STAMPEDE_BENCH_PORT=str(port), STAMPEDE_BENCH_HOST="127.0.0.1", PYTHONPATH=str(HERE))
    master_port = free_port()
    csv_prefix = pathlib.Path(workdir) / "locust"
    log = open(pathlib.Path(workdir) / "locust.log", "w")
    master = client.start(
        ["locust", "-f", str(HERE / "locustfile.py"), "--master", "--headless", "-u", str(users), "-r", str(users),
         "--expect-workers", str(workers), "--expect-workers-max-wait", "60", "--run-time", f"{seconds}s",
         "--master-bind-host", "127.0.0.1", "--master-bind-port", str(master_port), "--csv", str(csv_prefix),
         "--only-summary", "--stop-timeout", "5"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=HERE)
    time.sleep(1)
    worker_processes = [
        client.start(["locust", "-f", str(HERE / "locustfile.py"), "--worker", "--master-host", "127.0.0.1",
                      "--master-port", str(master_port)], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=HERE)
        for _ in range(workers)]
    client.wait(master, seconds + 120)
    for process in worker_processes:
        try:
            client.wait(process, 30)
        except TimeoutError:
            pass
    with open(f"{csv_prefix}_stats.csv") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    row = rows.get("Aggregated") or rows.get("insert_message")
    requests, failures = int(row["Request Count"]), int(row["Failure Count"])
    return {
        "writes": requests - failures, "failures": failures, "seconds": float(seconds),
        "writes_per_second": float(row["Requests/s"]) * (requests - failures) / max(requests, 1),
        "p50_ms": float(row["50%"]), "p99_ms": float(row["99%"]), "cpu_seconds": client.cpu_seconds,
        "how": f"locust master + {workers} workers, {users} users, --run-time {seconds}s (includes ramp-up)",
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.environ.get("STAMPEDE_BIN"))
    parser.add_argument("--count", type=int, default=200_000, help="messages per Stampede run")
    parser.add_argument("--python-count", type=int, default=50_000, help="messages for the Python driver run")
    parser.add_argument("--locust-seconds", type=int, default=30)
    parser.add_argument("--locust-users", type=int, default=1000)
    parser.add_argument("--max-seconds", type=int, default=300, help="upper bound of any single run")
    parser.add_argument("--skip", action="append", default=[], choices=["stampede", "python", "locust"])
    args = parser.parse_args()
    binary = args.binary or next((str(p) for p in (ROOT / ".build/release/stampede", ROOT / ".build/debug/stampede")
                                  if os.access(p, os.X_OK)), None)
    if not binary:
        sys.exit("no stampede binary: swift build -c release --product stampede, or pass --binary")

    workdir = tempfile.mkdtemp(prefix="stampede-bench-")
    port = free_port()
    server_log = open(pathlib.Path(workdir) / "server.log", "w")
    server = subprocess.Popen([binary, "server", "--host", "127.0.0.1", "--port", str(port), "--mode", "sink"],
                              stdout=server_log, stderr=subprocess.STDOUT)
    results = {}
    try:
        wait_port(port)
        plan = []
        if "stampede" not in args.skip:
            plan += [("Stampede, 1 worker", lambda: run_stampede(binary, port, 1, args.count, args.max_seconds, workdir)),
                     ("Stampede, 4 workers", lambda: run_stampede(binary, port, 4, args.count, args.max_seconds, workdir))]
        if "python" not in args.skip:
            plan.append(("Python driver, execute_async x200", lambda: run_python_driver(port, args.python_count, 200, args.max_seconds)))
        if "locust" not in args.skip:
            plan.append(("Locust, master + 4 workers", lambda: run_locust(port, args.locust_users, 4, args.locust_seconds, workdir)))
        for name, run in plan:
            print(f"running: {name} ...", file=sys.stderr, flush=True)
            try:
                results[name] = run()
            except Exception as error:  # one client failing must not hide the others' figures
                results[name] = {"error": str(error)}
            print(f"  {json.dumps(results[name])}", file=sys.stderr, flush=True)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()

    reference = results.get("Stampede, 4 workers") or results.get("Stampede, 1 worker") or {}
    cores = os.cpu_count()
    lines = [
        f"Writes of the chat message INSERT against `stampede server --mode sink` on 127.0.0.1, {cores} cores, "
        f"{datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}.",
        f"Command: `python3 bench/compare.py --count {args.count} --python-count {args.python_count} "
        f"--locust-seconds {args.locust_seconds}`. Ratios are to Stampede with 4 workers; 1M time is 1,000,000 / writes/s "
        "(extrapolated from the bounded run).",
        "",
        "| Client | writes | writes/s | × Stampede | p50 ms | p99 ms | writes per client CPU-s | × Stampede | 1M messages | how |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, result in results.items():
        if "error" in result:
            lines.append(f"| {name} | — | — | — | — | — | — | — | — | failed: {result['error'][:200]} |")
            continue
        per_cpu = result["writes"] / result["cpu_seconds"] if result.get("cpu_seconds") else 0
        ref_rate = reference.get("writes_per_second")
        ref_cpu = reference["writes"] / reference["cpu_seconds"] if reference.get("cpu_seconds") else None
        million = 1_000_000 / result["writes_per_second"] if result["writes_per_second"] else float("inf")
        lines.append(
            f"| {name} | {result['writes']:,} | {result['writes_per_second']:,.0f} | "
            f"{result['writes_per_second'] / ref_rate:.3f} | " if ref_rate else f"| {name} | {result['writes']:,} | {result['writes_per_second']:,.0f} | — | ")
        lines[-1] += (
            f"{result['p50_ms']:.2f} | {result['p99_ms']:.2f} | {per_cpu:,.0f} | "
            f"{(per_cpu / ref_cpu) if ref_cpu else float('nan'):.3f} | {million:,.1f} s | {result['how']} |")
    report = "\n".join(lines)
    print(report)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    (out / f"compare-{stamp}.md").write_text(report + "\n")
    (out / f"compare-{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nlogs: {workdir}", file=sys.stderr)


if __name__ == "__main__":
    main()
