"""`stampede server --data-dir` with `--commitlog-sync batch`: a SIGKILL loses no acknowledged write;
a clean shutdown snapshots and the data comes back."""

import threading
import time
import uuid

from server_fixtures import connected, start_server

SCHEMA = [
    "CREATE KEYSPACE IF NOT EXISTS durable WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
    "CREATE TABLE IF NOT EXISTS durable.events (stream int, seq int, payload text, PRIMARY KEY ((stream), seq))",
]


def write_until_killed(session, acknowledged, stop, stream):
    insert = session.prepare("INSERT INTO durable.events (stream, seq, payload) VALUES (?, ?, ?)")
    seq = 0
    while not stop.is_set() and seq < 100_000:
        try:
            session.execute(insert, (stream, seq, f"event {seq}"), timeout=5)
        except Exception:
            return
        acknowledged.append(seq)
        seq += 1


def test_sigkill_during_batch_synced_writes_loses_no_acknowledged_write(start_stampede, free_port, tmp_path):
    data_dir = tmp_path / "data"
    port = free_port()
    server = start_server(start_stampede, port, "--data-dir", data_dir, "--commitlog-sync", "batch")
    streams = 4
    acknowledged = [[] for _ in range(streams)]
    stop = threading.Event()
    with connected(["127.0.0.1"], port) as (cluster, session):
        for statement in SCHEMA:
            session.execute(statement)
        writers = [threading.Thread(target=write_until_killed, args=(session, acknowledged[i], stop, i), daemon=True)
                   for i in range(streams)]
        for writer in writers:
            writer.start()
        deadline = time.monotonic() + 30
        while sum(map(len, acknowledged)) < 2000 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.kill()  # SIGKILL while the writers are still writing
        stop.set()
        for writer in writers:
            writer.join(timeout=15)
    acked = {(stream, seq) for stream in range(streams) for seq in acknowledged[stream]}
    assert len(acked) >= 500, "too few writes were acknowledged before the kill to prove anything"

    port = free_port()
    start_server(start_stampede, port, "--data-dir", data_dir)
    with connected(["127.0.0.1"], port) as (cluster, session):
        stored = set()
        for stream in range(streams):
            for row in session.execute("SELECT stream, seq FROM durable.events WHERE stream = %s", (stream,)):
                stored.add((row.stream, row.seq))
    missing = acked - stored
    assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {sorted(missing)[:5]}"


def test_clean_shutdown_snapshots_and_restores(start_stampede, free_port, tmp_path):
    data_dir = tmp_path / "data"
    port = free_port()
    server = start_server(start_stampede, port, "--data-dir", data_dir, "--commitlog-sync", "periodic")
    rows = {uuid.uuid4(): f"name {i}" for i in range(100)}
    with connected(["127.0.0.1"], port) as (cluster, session):
        session.execute(SCHEMA[0])
        session.execute("CREATE TABLE durable.users (id uuid PRIMARY KEY, name text)")
        insert = session.prepare("INSERT INTO durable.users (id, name) VALUES (?, ?)")
        for key, name in rows.items():
            session.execute(insert, (key, name))
    assert server.stop() == 0
    assert (data_dir / "snapshot.bin").stat().st_size > 0
    assert (data_dir / "commitlog.bin").stat().st_size == 0

    port = free_port()
    start_server(start_stampede, port, "--data-dir", data_dir)
    with connected(["127.0.0.1"], port) as (cluster, session):
        restored = {row.id: row.name for row in session.execute("SELECT id, name FROM durable.users")}
    assert restored == rows
