"""The chat schema and message INSERT shared by the Python-driver and Locust benchmark clients (same CQL as
Sources/LoadEngine/Workloads/ChatSchema.swift)."""

import random
import uuid

KEYSPACE = "realtime_chat_app"
SCHEMA = [
    f"CREATE KEYSPACE IF NOT EXISTS {KEYSPACE} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}",
    f"""CREATE TABLE IF NOT EXISTS {KEYSPACE}.messages_by_conversation (
        conversation_id uuid, message_id timeuuid, sender_id uuid, sender_name text, content text,
        attachments list<text>,
        PRIMARY KEY ((conversation_id), message_id))
        WITH CLUSTERING ORDER BY (message_id DESC)""",
]
INSERT = (
    f"INSERT INTO {KEYSPACE}.messages_by_conversation "
    "(conversation_id, message_id, sender_id, sender_name, content, attachments) VALUES (?, ?, ?, ?, ?, ?)"
)
CONVERSATIONS = [uuid.UUID(int=random.Random(i).getrandbits(128)) for i in range(1000)]
USERS = [uuid.UUID(int=random.Random(10_000 + i).getrandbits(128)) for i in range(5000)]


def message_values(index):
    """Bind values of message `index`: the seed's shape (20% with an attachment)."""
    attachments = [f"https://cdn.example.com/a/{index}.png"] if index % 5 == 0 else []
    return (
        CONVERSATIONS[index % len(CONVERSATIONS)],
        uuid.uuid1(),
        USERS[index % len(USERS)],
        f"user{index % len(USERS)}",
        f"Hello from the benchmark, message number {index}. See you soon!",
        attachments,
    )


def percentile(sorted_values, p):
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[rank]
