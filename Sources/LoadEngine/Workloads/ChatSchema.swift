/// The `realtime_chat_app` schema the built-in chat workloads use, shipped with the binary.
public enum ChatSchema {
    /// The keyspace name.
    public static let keyspace = "realtime_chat_app"

    /// The statements that create the keyspace and its tables (idempotent: `IF NOT EXISTS`).
    ///
    /// - Parameter replication: the keyspace's replication map, CQL syntax.
    public static func statements(
        replication: String = "{'class': 'SimpleStrategy', 'replication_factor': 1}"
    ) -> [String] {
        [
            "CREATE KEYSPACE IF NOT EXISTS \(keyspace) WITH replication = \(replication)",
            """
            CREATE TABLE IF NOT EXISTS \(keyspace).users_by_id (
                user_id uuid PRIMARY KEY, username text, display_name text, email text, avatar_url text,
                created_at timestamp)
            """,
            """
            CREATE TABLE IF NOT EXISTS \(keyspace).users_by_username (
                username text PRIMARY KEY, user_id uuid, display_name text)
            """,
            """
            CREATE TABLE IF NOT EXISTS \(keyspace).conversations_by_user (
                user_id uuid, last_message_at timestamp, conversation_id uuid, conversation_name text,
                last_message_preview text,
                PRIMARY KEY ((user_id), last_message_at, conversation_id))
                WITH CLUSTERING ORDER BY (last_message_at DESC, conversation_id ASC)
            """,
            """
            CREATE TABLE IF NOT EXISTS \(keyspace).members_by_conversation (
                conversation_id uuid, user_id uuid, username text, role text, joined_at timestamp,
                PRIMARY KEY ((conversation_id), user_id))
            """,
            """
            CREATE TABLE IF NOT EXISTS \(keyspace).messages_by_conversation (
                conversation_id uuid, message_id timeuuid, sender_id uuid, sender_name text, content text,
                attachments list<text>,
                PRIMARY KEY ((conversation_id), message_id))
                WITH CLUSTERING ORDER BY (message_id DESC)
            """,
        ]
    }

    /// The prepared INSERT of one message (6 bind markers, in ``ChatMessage/values`` order).
    public static let insertMessage = """
        INSERT INTO \(keyspace).messages_by_conversation \
        (conversation_id, message_id, sender_id, sender_name, content, attachments) VALUES (?, ?, ?, ?, ?, ?)
        """

    /// The latest 50 messages of a conversation.
    public static let selectLatestMessages =
        "SELECT * FROM \(keyspace).messages_by_conversation WHERE conversation_id = ? LIMIT 50"

    /// A user's 20 latest conversations.
    public static let selectUserConversations =
        "SELECT * FROM \(keyspace).conversations_by_user WHERE user_id = ? LIMIT 20"
}
