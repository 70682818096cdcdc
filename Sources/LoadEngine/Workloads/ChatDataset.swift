import Foundation

/// The users and conversations chat messages are drawn from: generated deterministically from the run, or loaded
/// from seeded rows at start (sorted, so every worker sees the same order).
public struct ChatDataset: Sendable {
    /// A user: id and display name.
    public struct User: Sendable, Hashable {
        public var id: UUID
        public var name: String
        public init(id: UUID, name: String) {
            self.id = id
            self.name = name
        }
    }

    public let users: [User]
    public let conversations: [UUID]
    /// How many users take part in each conversation.
    public let membersPerConversation: Int

    /// A generated dataset.
    ///
    /// - Parameters:
    ///   - seed: the run seed (``RunIdentity/seed``).
    ///   - userCount: distinct senders (default 10,000).
    ///   - conversationCount: distinct conversations (default 1,000).
    ///   - membersPerConversation: members of each conversation (default 8).
    ///   - vietnamese: Vietnamese display names instead of English ones.
    public init(seed: UInt64, userCount: Int = 10_000, conversationCount: Int = 1_000, membersPerConversation: Int = 8, vietnamese: Bool = false) {
        let userCount = max(1, userCount)
        let conversationCount = max(1, conversationCount)
        let users = (0..<userCount).map { index in
            User(id: UUID.deterministic(seed: seed, stream: 0xA11CE, index: UInt64(index)),
                 name: ChatText.displayName(seed: seed, index: UInt64(index), vietnamese: vietnamese))
        }
        let conversations = (0..<conversationCount).map { UUID.deterministic(seed: seed, stream: 0xC0417, index: UInt64($0)) }
        self.init(users: users, conversations: conversations, membersPerConversation: membersPerConversation)
    }

    /// A dataset from given (e.g. loaded) users and conversations; both must be non-empty.
    public init(users: [User], conversations: [UUID], membersPerConversation: Int = 8) {
        self.users = users
        self.conversations = conversations
        self.membersPerConversation = max(1, min(membersPerConversation, users.count))
    }

    /// The `member`-th member of conversation `conversation`: a fixed spread of users (pure).
    public func memberIndex(conversation: Int, member: Int) -> Int {
        let spread = (UInt64(conversation) &* 7919 &+ UInt64(member) &* 104_729) % UInt64(users.count)
        return Int(spread)
    }
}
