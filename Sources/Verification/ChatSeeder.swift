import CQLClient
import CQLProtocol
import Foundation
import LoadEngine
import NIOConcurrencyHelpers

/// Sizes and shape of the seeded chat data.
public struct ChatSeedOptions: Sendable, Hashable {
    /// Users to create (10,000).
    public var users = 10_000
    /// Conversations to create (1,000).
    public var conversations = 1_000
    /// Share of conversations that are direct (two members); the rest are groups (0.6).
    public var directShare = 0.6
    /// Members of a group conversation (3–12).
    public var groupMembers: ClosedRange<Int> = 3...12
    /// Vietnamese names and text.
    public var vietnamese = false
    /// Writes in flight (64).
    public var concurrency = 64
    /// Seed of the generated data: the same seed writes the same rows (seeding twice is idempotent).
    public var seed: UInt64 = 0x5EED_C4A7

    public init() {}

    func validated() throws -> ChatSeedOptions {
        guard users >= 2 else { throw VerificationError(.invalidConfiguration, "seed at least 2 users") }
        guard conversations >= 1 else { throw VerificationError(.invalidConfiguration, "seed at least 1 conversation") }
        guard (0...1).contains(directShare) else { throw VerificationError(.invalidConfiguration, "the direct share must be from 0 to 1") }
        guard groupMembers.lowerBound >= 2 else { throw VerificationError(.invalidConfiguration, "groups need at least 2 members") }
        guard concurrency >= 1 else { throw VerificationError(.invalidConfiguration, "concurrency must be at least 1") }
        return self
    }
}

/// How far seeding has got.
public struct SeedProgress: Sendable, Hashable {
    public var rowsWritten: Int
    public var rowsTotal: Int
    public var fractionDone: Double { rowsTotal == 0 ? 1 : Double(rowsWritten) / Double(rowsTotal) }
}

/// What seeding wrote.
public struct SeedSummary: Sendable, Hashable {
    public var users: Int
    public var directConversations: Int
    public var groupConversations: Int
    public var memberships: Int
    public var rowsWritten: Int
    public var elapsedSeconds: Double
}

/// Writes users and conversations (direct and group, with members) so the write workload can draw senders and
/// conversations from real rows (`--use-seeded-rows`). Every row is a pure function of the options' seed.
public struct ChatSeeder: Sendable {
    public let options: ChatSeedOptions
    public let keyspace: String

    public init(options: ChatSeedOptions, keyspace: String = ChatSchema.keyspace) throws {
        self.options = try options.validated()
        self.keyspace = keyspace
    }

    /// A seeded user.
    public struct User: Sendable, Hashable {
        public var id: UUID
        public var username: String
        public var displayName: String
    }

    /// A seeded conversation and its members (indexes into the users).
    public struct Conversation: Sendable, Hashable {
        public var id: UUID
        public var name: String
        public var members: [Int]
        public var isDirect: Bool
    }

    /// User `index` (pure).
    public func user(_ index: Int) -> User {
        let name = ChatText.displayName(seed: options.seed, index: UInt64(index), vietnamese: options.vietnamese)
        let handle = name.folding(options: [.diacriticInsensitive, .caseInsensitive], locale: nil)
            .replacingOccurrences(of: "đ", with: "d").replacingOccurrences(of: "Đ", with: "d")
            .split(separator: " ").joined(separator: ".").lowercased()
        return User(id: UUID.deterministic(seed: options.seed, stream: 0x05E7_0001, index: UInt64(index)),
                    username: "\(handle).\(index)", displayName: name)
    }

    /// Conversation `index` (pure): direct with two distinct members, or a group.
    public func conversation(_ index: Int) -> Conversation {
        let h = DeterministicHash.hash(seed: options.seed, stream: 0x05E7_0002, index: UInt64(index))
        let isDirect = DeterministicHash.unit(h) < options.directShare
        let wanted = isDirect ? 2 : options.groupMembers.lowerBound
            + Int(DeterministicHash.bounded(DeterministicHash.mix(h), UInt64(options.groupMembers.count)))
        let count = min(wanted, options.users)
        var members: [Int] = []
        var step: UInt64 = 0
        while members.count < count {
            let candidate = Int(DeterministicHash.bounded(DeterministicHash.hash(seed: h, stream: 7, index: step), UInt64(options.users)))
            if !members.contains(candidate) { members.append(candidate) }
            step += 1
        }
        let id = UUID.deterministic(seed: options.seed, stream: 0x05E7_0003, index: UInt64(index))
        let name: String
        if isDirect {
            name = "\(user(members[0]).displayName) & \(user(members[1]).displayName)"
        } else {
            let topics = options.vietnamese ? ["Nhóm", "Gia đình", "Lớp", "Dự án", "Bạn bè"] : ["Team", "Family", "Class", "Project", "Friends"]
            name = "\(topics[Int(h % UInt64(topics.count))]) \(index)"
        }
        return Conversation(id: id, name: name, members: members, isDirect: isDirect)
    }

    /// Writes every row, `options.concurrency` at a time.
    public func seed(session: CQLSession, progress: (@Sendable (SeedProgress) -> Void)? = nil) async throws -> SeedSummary {
        let start = ContinuousClock.now
        let insertUser = try await prepare(session, "INSERT INTO \(keyspace).users_by_id (user_id, username, display_name, email, avatar_url, created_at) VALUES (?, ?, ?, ?, ?, ?)")
        let insertUsername = try await prepare(session, "INSERT INTO \(keyspace).users_by_username (username, user_id, display_name) VALUES (?, ?, ?)")
        let insertMember = try await prepare(session, "INSERT INTO \(keyspace).members_by_conversation (conversation_id, user_id, username, role, joined_at) VALUES (?, ?, ?, ?, ?)")
        let insertConversation = try await prepare(session, "INSERT INTO \(keyspace).conversations_by_user (user_id, last_message_at, conversation_id, conversation_name, last_message_preview) VALUES (?, ?, ?, ?, ?)")
        let previews = ChatText.pool(seed: options.seed, size: 256, vietnamese: options.vietnamese)
        let baseMillis: Int64 = 1_700_000_000_000

        // Count rows first (cheap, pure) so progress has a total.
        var memberships = 0
        var direct = 0
        for index in 0..<options.conversations {
            let conversation = conversation(index)
            memberships += conversation.members.count
            if conversation.isDirect { direct += 1 }
        }
        let rowsTotal = options.users * 2 + memberships * 2
        let written = NIOLockedValueBox(0)

        // Work items: users, then conversations; each item writes its rows.
        let items = options.users + options.conversations
        let statementOptions = CQLStatementOptions(isIdempotent: true)
        try await withThrowingTaskGroup(of: Int.self) { group in
            var next = 0
            func add() {
                let item = next
                next += 1
                group.addTask {
                    if item < options.users {
                        let user = user(item)
                        let created = baseMillis + Int64(item) * 60_000
                        let handle = user.username
                        try await execute(session, insertUser, [
                            .uuid(user.id), .text(handle), .text(user.displayName), .text("\(handle)@chat.example"),
                            .text("https://cdn.chat.example/avatars/\(item % 500).png"), .timestamp(created),
                        ], statementOptions)
                        try await execute(session, insertUsername, [.text(handle), .uuid(user.id), .text(user.displayName)], statementOptions)
                        return 2
                    }
                    let index = item - options.users
                    let conversation = conversation(index)
                    let lastMessage = baseMillis + Int64(index) * 1_000
                    let preview = previews[index % previews.count]
                    for (position, member) in conversation.members.enumerated() {
                        let user = user(member)
                        let role = conversation.isDirect ? "member" : (position == 0 ? "admin" : "member")
                        try await execute(session, insertMember, [
                            .uuid(conversation.id), .uuid(user.id), .text(user.username), .text(role), .timestamp(lastMessage - 86_400_000),
                        ], statementOptions)
                        let title = conversation.isDirect
                            ? self.user(conversation.members[position == 0 ? 1 : 0]).displayName : conversation.name
                        try await execute(session, insertConversation, [
                            .uuid(user.id), .timestamp(lastMessage), .uuid(conversation.id), .text(title), .text(preview),
                        ], statementOptions)
                    }
                    return conversation.members.count * 2
                }
            }
            while next < min(items, options.concurrency) { add() }
            while let rows = try await group.next() {
                let total = written.withLockedValue { $0 += rows; return $0 }
                progress?(SeedProgress(rowsWritten: total, rowsTotal: rowsTotal))
                if next < items { add() }
            }
        }
        return SeedSummary(
            users: options.users, directConversations: direct, groupConversations: options.conversations - direct,
            memberships: memberships, rowsWritten: written.withLockedValue { $0 }, elapsedSeconds: Verifier.seconds(ContinuousClock.now - start))
    }

    private func prepare(_ session: CQLSession, _ cql: String) async throws -> CQLPreparedStatement {
        do {
            return try await session.prepare(cql)
        } catch {
            throw VerificationError(.writeFailed, "cannot prepare: \(Doctor.describe(error)); is the schema applied (`stampede schema apply`)?", subject: cql)
        }
    }

    private func execute(_ session: CQLSession, _ statement: CQLPreparedStatement, _ values: [CQLValue], _ options: CQLStatementOptions) async throws {
        do {
            try await session.execute(statement, values: values, options: options)
        } catch {
            throw VerificationError(.writeFailed, "seeding failed: \(Doctor.describe(error))", subject: statement.query)
        }
    }
}
