"""Verification and the Cassandra-side report through the real binary: `stampede demo` (embedded 3-node cluster,
coordinator, worker processes) and `stampede run` + `stampede verify` against `stampede server`.

The embedded server has no `system_views`, so the server-side section must say so rather than invent figures; the
results must carry the run's index outcome lists so verification classifies every index exactly.
"""

import json
import pathlib

from server_fixtures import start_server


def test_demo_verifies_and_reports_the_cassandra_side(run_stampede, free_port, tmp_path):
    report_dir = tmp_path / "demo"
    completed = run_stampede(
        "demo", "--messages", 20000, "--workers", 2, "--cql-port", free_port(), "--coordinator-port", free_port(),
        "--web-port", free_port(), "--seed-users", 200, "--seed-conversations", 50, "--report-dir", report_dir,
        timeout=240)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "PASS: every acknowledged message is in the database and found == expected" in completed.stdout
    assert "Server-side metrics for realtime_chat_app" in completed.stdout

    results = json.loads((report_dir / "distributed_results.json").read_text())
    outcomes = results["index_outcomes"]
    assert outcomes["issued"] == 20000
    assert outcomes["unknown"]["ranges"] == [] and outcomes["failed"]["ranges"] == []

    server = json.loads((report_dir / "server_metrics.json").read_text())
    assert len(server["nodes"]) == 3
    assert any("not available on this server" in note for note in server["notes"])

    run_dir = next(path for path in report_dir.iterdir() if path.is_dir() and path.name.startswith("run-"))
    html = (run_dir / "report.html").read_text()
    section = html[html.index('id="server-metrics"'):]
    section = section[:section.index("</section>")]
    assert "<h2>Cassandra side</h2>" in section
    assert "not exposed by this server" in section
    assert "3 nodes read over CQL" in section
    bundle = json.loads((run_dir / "bundle.json").read_text())
    assert bundle["context"]["serverMetrics"]["keyspace"] == "realtime_chat_app"


def test_a_stopped_run_is_verified_exactly(start_stampede, run_stampede, free_port, tmp_path):
    port = free_port()
    start_server(start_stampede, port)
    contact = f"127.0.0.1:{port}"
    results = tmp_path / "out" / "results.json"
    results.parent.mkdir()
    run = run_stampede(
        "run", "--contact-points", contact, "--apply-schema", "--workload", "chat-write", "--target", 5_000_000,
        "--users", 4, "--duration", "1s", "--results", results, "--quiet", timeout=120)
    document = json.loads(results.read_text())
    assert document["stop_reason"] == "duration", run.stdout + run.stderr
    outcomes = document["index_outcomes"]
    assert 0 < document["total_messages"] < 5_000_000
    assert outcomes["issued"] >= document["total_messages"]
    # The capture around the run: the embedded server exposes no system_views, which is said, not hidden.
    server = json.loads((results.parent / "server_metrics.json").read_text())
    assert any("not available on this server" in note for note in server["notes"])
    assert "Server-side metrics for realtime_chat_app" in run.stdout

    verify = run_stampede("verify", "--contact-points", contact, "--results", results, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "acknowledged but MISSING    0" in verify.stdout
    assert "not executed (run stopped)" in verify.stdout
    assert "outcomes from the run's lists" in verify.stdout
    assert f"found                       {document['total_messages']:,} of {document['total_messages']:,}" in verify.stdout


def test_coordinator_doctor_checks_the_cluster_and_the_workers_clocks(start_stampede, run_stampede, free_port, tmp_path):
    port = free_port()
    start_server(start_stampede, port)
    contact = f"127.0.0.1:{port}"
    # Without the schema the doctor stops the coordinator before any worker is started, with the fix.
    refused = run_stampede(
        "coordinator", "--contact-points", contact, "--target", 1000, "--local-workers", 1, "--no-schema",
        "--bind", f"127.0.0.1:{free_port()}", "--web-port", 0, "--results", tmp_path / "refused.json", "--doctor",
        timeout=120)
    assert refused.returncode != 0
    assert "[FAIL] keyspace realtime_chat_app" in refused.stdout
    assert "stampede schema apply" in refused.stdout
    assert not (tmp_path / "refused.json").exists()

    completed = run_stampede(
        "coordinator", "--contact-points", contact, "--target", 3000, "--local-workers", 2,
        "--bind", f"127.0.0.1:{free_port()}", "--web-port", 0, "--results", tmp_path / "results.json", "--doctor",
        timeout=180)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "[OK  ] keyspace realtime_chat_app" in completed.stdout
    assert "clock of worker local-1" in completed.stdout and "clock of worker local-2" in completed.stdout
    assert "reachable from the 2 connected worker(s)" in completed.stdout
