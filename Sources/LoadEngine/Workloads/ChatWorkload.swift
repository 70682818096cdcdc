import CQLProtocol
import Foundation

/// The built-in chat workloads on the `realtime_chat_app` schema.
///
/// - `chat-write`: a prepared INSERT of message `index` per operation.
/// - `chat-mixed`: send 3 : read the latest 50 messages of a conversation 5 : read a user's 20 latest
///   conversations 2, the choice and its parameters a pure function of the index.
public struct ChatWorkload: Workload {
    /// Which mix of operations.
    public enum Mix: String, Sendable, CaseIterable {
        case write = "chat-write"
        case mixed = "chat-mixed"
    }

    /// Settings of the chat workloads.
    public struct Options: Sendable {
        /// Consistency of every statement (ONE, as in the seed).
        public var consistency: CQLConsistency = .one
        /// Generated users (10,000), conversations (1,000) and members per conversation (8).
        public var users = 10_000
        public var conversations = 1_000
        public var membersPerConversation = 8
        /// Vietnamese names and message text.
        public var vietnamese = false
        /// Load users and conversations from seeded rows at start when present (`SELECT ... LIMIT`).
        public var useSeededRows = false
        /// How many seeded rows to load at most.
        public var seededRowLimit = 10_000
        /// Replication of the keyspace when the schema is applied.
        public var replication = "{'class': 'SimpleStrategy', 'replication_factor': 1}"

        public init() {}
    }

    public static let sendMessage = "send_message"
    public static let readMessages = "read_messages"
    public static let readConversations = "read_conversations"

    public let mix: Mix
    public let options: Options
    public let factory: ChatMessageFactory
    /// What ``setUp(_:)`` found: where senders and conversations come from (seeded rows, or the generator when
    /// none were found).
    public let setupNotes: [String]

    public init(mix: Mix, run: RunIdentity, options: Options = Options()) {
        self.mix = mix
        self.options = options
        let dataset = ChatDataset(
            seed: run.seed, userCount: options.users, conversationCount: options.conversations,
            membersPerConversation: options.membersPerConversation, vietnamese: options.vietnamese)
        factory = ChatMessageFactory(run: run, dataset: dataset, vietnamese: options.vietnamese)
        setupNotes = []
    }

    init(mix: Mix, options: Options, factory: ChatMessageFactory, setupNotes: [String]) {
        self.mix = mix
        self.options = options
        self.factory = factory
        self.setupNotes = setupNotes
    }

    public var name: String { mix.rawValue }

    public var operationNames: [String] {
        switch mix {
        case .write: [Self.sendMessage]
        case .mixed: [Self.sendMessage, Self.readMessages, Self.readConversations]
        }
    }

    public var writeOperationNames: Set<String> { [Self.sendMessage] }

    public var statements: [WorkloadStatement] {
        let insert = WorkloadStatement(cql: ChatSchema.insertMessage, consistency: options.consistency, isIdempotent: true)
        switch mix {
        case .write:
            return [insert]
        case .mixed:
            return [
                insert,
                WorkloadStatement(cql: ChatSchema.selectLatestMessages, consistency: options.consistency),
                WorkloadStatement(cql: ChatSchema.selectUserConversations, consistency: options.consistency),
            ]
        }
    }

    public var schema: [String] { ChatSchema.statements(replication: options.replication) }

    public func setUp(_ context: WorkloadSetupContext) async throws -> any Workload {
        guard options.useSeededRows else { return self }
        let limit = max(1, options.seededRowLimit)
        let userRows = try await context.loadRows("SELECT user_id, display_name FROM \(ChatSchema.keyspace).users_by_id LIMIT \(limit)")
        let memberRows = try await context.loadRows(
            "SELECT conversation_id FROM \(ChatSchema.keyspace).members_by_conversation LIMIT \(limit)")
        var users: [ChatDataset.User] = []
        for row in userRows {
            guard row.count >= 2, case .uuid(let id) = row[0] else { continue }
            let name: String
            if case .text(let text) = row[1] { name = text } else { name = "user" }
            users.append(ChatDataset.User(id: id, name: name))
        }
        var conversations = Set<UUID>()
        for row in memberRows {
            if let first = row.first, case .uuid(let id) = first { conversations.insert(id) }
        }
        guard !users.isEmpty, !conversations.isEmpty else {
            let note = "seeded rows: none found (\(userRows.count) rows in \(ChatSchema.keyspace).users_by_id, "
                + "\(memberRows.count) in members_by_conversation; run `stampede seed` first); senders and conversations "
                + "come from the deterministic generator (\(factory.dataset.users.count) users, "
                + "\(factory.dataset.conversations.count) conversations)"
            return ChatWorkload(mix: mix, options: options, factory: factory, setupNotes: [note])
        }
        // Sorted so every worker maps indexes to the same users and conversations.
        users.sort { $0.id.uuidString < $1.id.uuidString }
        let dataset = ChatDataset(
            users: users, conversations: conversations.sorted { $0.uuidString < $1.uuidString },
            membersPerConversation: options.membersPerConversation)
        let factory = ChatMessageFactory(run: factory.run, dataset: dataset, vietnamese: options.vietnamese)
        let note = "seeded rows: senders and conversations drawn from \(users.count) seeded users and "
            + "\(conversations.count) seeded conversations"
        return ChatWorkload(mix: mix, options: options, factory: factory, setupNotes: [note])
    }

    /// Out of 10 operations of `chat-mixed`, how many send a message.
    static let mixedWriteShare: UInt64 = 3

    /// The hash that picks `chat-mixed`'s operation for `index`.
    @inline(__always)
    static func mixHash(seed: UInt64, index: UInt64) -> UInt64 {
        DeterministicHash.hash(seed: seed, stream: 9, index: index)
    }

    /// Whether operation `index` writes a message, without building it: one hash, the same choice
    /// ``operation(at:)`` makes (verification asks this for every index of a run).
    public func isWrite(at index: UInt64) -> Bool {
        switch mix {
        case .write: true
        case .mixed: DeterministicHash.bounded(Self.mixHash(seed: factory.run.seed, index: index), 10) < Self.mixedWriteShare
        }
    }

    public func operation(at index: UInt64) -> WorkloadOperation {
        switch mix {
        case .write:
            return WorkloadOperation(operation: 0, statement: 0, values: factory.values(at: index))
        case .mixed:
            let h = Self.mixHash(seed: factory.run.seed, index: index)
            let choice = DeterministicHash.bounded(h, 10)
            if choice < Self.mixedWriteShare {
                return WorkloadOperation(operation: 0, statement: 0, values: factory.values(at: index))
            } else if choice < 8 {
                let conversation = factory.dataset.conversations[factory.conversationIndex(of: index)]
                return WorkloadOperation(operation: 1, statement: 1, values: [.uuid(conversation)])
            } else {
                let user = factory.dataset.users[Int(DeterministicHash.bounded(DeterministicHash.mix(h), UInt64(factory.dataset.users.count)))]
                return WorkloadOperation(operation: 2, statement: 2, values: [.uuid(user.id)])
            }
        }
    }
}
