"""The DataStax Python driver, with default settings, against `stampede server`."""

import uuid

import pytest

from server_fixtures import CHAT_SCHEMA, admin, connected, start_server, wait_until


def test_default_connect_negotiates_v4_and_reads_metadata(start_stampede, free_port):
    port = free_port()
    start_server(start_stampede, port)
    with connected(["127.0.0.1"], port) as (cluster, session):
        assert cluster.protocol_version == 4
        metadata = cluster.metadata
        assert metadata.cluster_name == "Stampede Cluster"
        assert "system" in metadata.keyspaces and "system_schema" in metadata.keyspaces
        assert metadata.token_map is not None
        assert len(metadata.all_hosts()) == 1
        local = session.execute("SELECT * FROM system.local WHERE key='local'").one()
        assert local.release_version.startswith("4.")
        assert local.partitioner == "org.apache.cassandra.dht.Murmur3Partitioner"


def test_chat_schema_prepared_inserts_order_paging_and_count(start_stampede, free_port):
    from cassandra.query import SimpleStatement
    from cassandra.util import uuid_from_time

    port = free_port()
    start_server(start_stampede, port)
    with connected(["127.0.0.1"], port) as (cluster, session):
        for statement in CHAT_SCHEMA:
            session.execute(statement)
        table = cluster.metadata.keyspaces["interop_chat"].tables["messages_by_conversation"]
        assert [c.name for c in table.partition_key] == ["conversation_id"]
        assert [c.name for c in table.clustering_key] == ["message_id"]
        assert table.clustering_order == ["DESC"] if hasattr(table, "clustering_order") else True
        assert "attachments" in table.columns and table.columns["attachments"].cql_type == "list<text>"

        insert = session.prepare(
            "INSERT INTO interop_chat.messages_by_conversation (conversation_id, message_id, sender_id, body, attachments) "
            "VALUES (?, ?, ?, ?, ?)")
        assert insert.routing_key_indexes == [0]
        conversation = uuid.uuid4()
        sender = uuid.uuid4()
        ids = [uuid_from_time(1_700_000_000 + i) for i in range(250)]
        for i, message_id in enumerate(ids):
            session.execute(insert, (conversation, message_id, sender, f"message {i}", ["a.png"] if i % 2 else None))

        statement = SimpleStatement(
            "SELECT message_id, body, attachments FROM interop_chat.messages_by_conversation WHERE conversation_id = %s",
            fetch_size=40)
        rows = list(session.execute(statement, (conversation,)))
        assert [r.message_id for r in rows] == list(reversed(ids))
        assert rows[0].body == "message 249" and rows[0].attachments == ["a.png"]
        assert rows[1].attachments is None

        latest = session.execute(
            "SELECT body FROM interop_chat.messages_by_conversation WHERE conversation_id = %s LIMIT 3", (conversation,))
        assert [r.body for r in latest] == ["message 249", "message 248", "message 247"]
        oldest = session.execute(
            "SELECT body FROM interop_chat.messages_by_conversation WHERE conversation_id = %s ORDER BY message_id ASC LIMIT 1",
            (conversation,)).one()
        assert oldest.body == "message 0"

        count = session.execute("SELECT COUNT(*) FROM interop_chat.messages_by_conversation").one()
        assert count.count == 250

        # A full scan pages across partitions and sees every row once.
        other = uuid.uuid4()
        for i in range(30):
            session.execute(insert, (other, uuid_from_time(1_600_000_000 + i), sender, "x", None))
        scan = SimpleStatement("SELECT conversation_id, message_id FROM interop_chat.messages_by_conversation", fetch_size=64)
        seen = [(r.conversation_id, r.message_id) for r in session.execute(scan)]
        assert len(seen) == 280 and len(set(seen)) == 280


def test_bad_cql_gets_cassandra_errors(start_stampede, free_port):
    from cassandra import InvalidRequest
    from cassandra.protocol import SyntaxException

    port = free_port()
    start_server(start_stampede, port)
    with connected(["127.0.0.1"], port) as (cluster, session):
        with pytest.raises(SyntaxException):
            session.execute("SELEC * FROM system.local")
        with pytest.raises(InvalidRequest, match="does not exist"):
            session.execute("SELECT * FROM nope.nothing")
        for statement in CHAT_SCHEMA:
            session.execute(statement)
        with pytest.raises(InvalidRequest, match="ALLOW FILTERING"):
            session.execute("SELECT * FROM interop_chat.users_by_id WHERE username = 'ann'")
        with pytest.raises(InvalidRequest, match="not supported"):
            session.execute("CREATE INDEX ON interop_chat.users_by_id (username)")
        # The connection is still usable after errors.
        assert session.execute("SELECT COUNT(*) FROM interop_chat.users_by_id").one().count == 0


def test_authentication_required_and_checked(start_stampede, free_port):
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import NoHostAvailable

    port = free_port()
    start_server(start_stampede, port, "--auth", "stampede:secret")
    with connected(["127.0.0.1"], port, auth_provider=PlainTextAuthProvider("stampede", "secret")) as (cluster, session):
        assert session.execute("SELECT cluster_name FROM system.local").one().cluster_name == "Stampede Cluster"
    with pytest.raises(NoHostAvailable, match="(?i)bad credentials|incorrect"):
        connected(["127.0.0.1"], port, auth_provider=PlainTextAuthProvider("stampede", "wrong")).__enter__()
    with pytest.raises(NoHostAvailable, match="(?i)authentication"):
        connected(["127.0.0.1"], port).__enter__()


def test_three_nodes_discovered_and_a_stopped_node_is_survived(start_stampede, free_port):
    from cassandra.query import SimpleStatement

    port = free_port()
    admin_port = free_port()
    start_server(start_stampede, port, "--nodes", "3", "--admin-port", admin_port)
    nodes = admin(admin_port, "GET", "/nodes")
    assert [n["host"] for n in nodes] == ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
    with connected(["127.0.0.1"], port) as (cluster, session):
        hosts = cluster.metadata.all_hosts()
        assert sorted(h.address for h in hosts) == ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
        assert len(cluster.metadata.token_map.ring) == 3
        for statement in CHAT_SCHEMA:
            session.execute(statement)
        insert = session.prepare("INSERT INTO interop_chat.users_by_id (user_id, username) VALUES (?, ?)")
        users = [uuid.uuid4() for _ in range(30)]
        for i, user in enumerate(users):
            session.execute(insert, (user, f"user{i}"))

        admin(admin_port, "POST", "/nodes/1/stop")
        wait_until(lambda: not any(h.is_up for h in hosts if h.address == "127.0.0.2"), timeout=30, what="node 2 marked down")
        for i, user in enumerate(users):
            row = session.execute("SELECT username FROM interop_chat.users_by_id WHERE user_id = %s", (user,)).one()
            assert row.username == f"user{i}"
        more = [uuid.uuid4() for _ in range(30)]
        for user in more:
            session.execute(insert, (user, "late"))
        count = session.execute(SimpleStatement("SELECT COUNT(*) FROM interop_chat.users_by_id")).one().count
        assert count == 60

        admin(admin_port, "POST", "/nodes/1/start")
        wait_until(lambda: all(h.is_up for h in hosts), timeout=60, what="node 2 back up")
