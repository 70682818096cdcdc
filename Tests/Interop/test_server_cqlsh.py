"""cqlsh (PyPI) against `stampede server`: a schema file, DESCRIBE, INSERT, SELECT, COUNT(*)."""

import shutil
import subprocess
import sys

import pytest

from server_fixtures import start_server

SCHEMA = """
CREATE KEYSPACE IF NOT EXISTS cqlsh_chat WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1};
USE cqlsh_chat;
CREATE TABLE IF NOT EXISTS users_by_username (username text PRIMARY KEY, user_id uuid, created_at timestamp);
CREATE TABLE IF NOT EXISTS messages_by_conversation (
    conversation_id uuid,
    message_id timeuuid,
    sender_id uuid,
    body text,
    attachments list<text>,
    PRIMARY KEY ((conversation_id), message_id)
) WITH CLUSTERING ORDER BY (message_id DESC);
"""


def cqlsh(port, *args, timeout=60):
    executable = shutil.which("cqlsh")
    argv = [executable] if executable else [sys.executable, "-m", "cqlsh"]
    result = subprocess.run([*argv, "127.0.0.1", str(port), "--connect-timeout", "10", "--request-timeout", "20", *args],
                            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return result


def test_cqlsh_schema_file_describe_insert_select_count(start_stampede, free_port, tmp_path):
    port = free_port()
    start_server(start_stampede, port)
    schema = tmp_path / "schema.cql"
    schema.write_text(SCHEMA)
    result = cqlsh(port, "-f", str(schema))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Error" not in result.stderr, result.stderr

    described = cqlsh(port, "-e", "DESCRIBE KEYSPACE cqlsh_chat")
    assert described.returncode == 0, described.stderr
    assert "CREATE KEYSPACE cqlsh_chat" in described.stdout
    assert "CREATE TABLE cqlsh_chat.messages_by_conversation" in described.stdout
    assert "CLUSTERING ORDER BY (message_id DESC)" in described.stdout

    inserted = cqlsh(port, "-e",
                     "INSERT INTO cqlsh_chat.users_by_username (username, user_id, created_at) "
                     "VALUES ('ann', 5b6962dd-3f90-4c93-8f61-eabfa4a803e2, '2024-05-01 12:00:00+0000'); "
                     "INSERT INTO cqlsh_chat.users_by_username (username, user_id) VALUES ('bob', uuid());")
    assert inserted.returncode == 0, inserted.stdout + inserted.stderr

    selected = cqlsh(port, "-e", "SELECT username, user_id, created_at FROM cqlsh_chat.users_by_username WHERE username = 'ann'")
    assert selected.returncode == 0, selected.stderr
    assert "5b6962dd-3f90-4c93-8f61-eabfa4a803e2" in selected.stdout
    assert "2024-05-01 12:00:00" in selected.stdout
    assert "(1 rows)" in selected.stdout

    counted = cqlsh(port, "-e", "SELECT COUNT(*) FROM cqlsh_chat.users_by_username")
    assert counted.returncode == 0, counted.stderr
    assert " 2" in counted.stdout and "(1 rows)" in counted.stdout, counted.stdout

    bad = cqlsh(port, "-e", "SELECT * FROM cqlsh_chat.nope")
    assert "nope" in (bad.stdout + bad.stderr)
