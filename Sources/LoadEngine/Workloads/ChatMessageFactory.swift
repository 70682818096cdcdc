import CQLProtocol
import Foundation

/// One chat message, as written to `messages_by_conversation`.
public struct ChatMessage: Sendable, Hashable {
    public var conversationID: UUID
    public var messageID: UUID
    public var senderID: UUID
    public var senderName: String
    public var content: String
    public var attachments: [String]

    /// Bind values for ``ChatSchema/insertMessage``. No attachments is `unset` (no tombstone, idempotent).
    public var values: [CQLValue] {
        [
            .uuid(conversationID), .uuid(messageID), .uuid(senderID), .text(senderName), .text(content),
            attachments.isEmpty ? .unset : .list(attachments.map { .text($0) }),
        ]
    }
}

/// Builds message `index` of a run: a pure function of (run identity, index) and the dataset.
public struct ChatMessageFactory: Sendable {
    public let run: RunIdentity
    public let dataset: ChatDataset
    let seed: UInt64
    let timeUUIDs: TimeUUIDGenerator
    let texts: [String]
    let runTag: String
    /// The dataset's user ids and names, apart: the hot path reads one of each without copying a whole user.
    let userIDs: [UUID]
    let userNames: [String]

    /// - Parameters:
    ///   - run: the run identity.
    ///   - dataset: users and conversations (generated from the run seed by default).
    ///   - vietnamese: Vietnamese message text.
    ///   - textPoolSize: distinct texts messages are drawn from.
    public init(run: RunIdentity, dataset: ChatDataset? = nil, vietnamese: Bool = false, textPoolSize: Int = 4096) {
        self.run = run
        seed = run.seed
        self.dataset = dataset ?? ChatDataset(seed: run.seed, vietnamese: vietnamese)
        timeUUIDs = TimeUUIDGenerator(run: run)
        texts = ChatText.pool(seed: run.seed, size: textPoolSize, vietnamese: vietnamese)
        runTag = String(run.seed >> 32, radix: 16)
        userIDs = self.dataset.users.map(\.id)
        userNames = self.dataset.users.map(\.name)
    }

    /// The conversation (index into the dataset) of message `index`.
    public func conversationIndex(of index: UInt64) -> Int {
        let h = DeterministicHash.hash(seed: seed, stream: 1, index: index)
        return Int(DeterministicHash.bounded(h, UInt64(dataset.conversations.count)))
    }

    /// The timeuuid of message `index`.
    public func messageID(of index: UInt64) -> UUID { timeUUIDs.uuid(for: index) }

    /// Bind values of message `index` for ``ChatSchema/insertMessage``; equal to `message(at: index).values`, built
    /// without the intermediate message (the hot path).
    public func values(at index: UInt64) -> [CQLValue] {
        let h = DeterministicHash.hash(seed: seed, stream: 2, index: index)
        let conversation = conversationIndex(of: index)
        let member = Int(DeterministicHash.bounded(h, UInt64(dataset.membersPerConversation)))
        let senderIndex = dataset.memberIndex(conversation: conversation, member: member)
        let text = texts[Int(DeterministicHash.bounded(h &* 0x9E37_79B9_7F4A_7C15 | 1, UInt64(texts.count)))]
        let a = DeterministicHash.hash(seed: seed, stream: 3, index: index)
        var attachments = CQLValue.unset
        if a % 100 < 20 {
            let count = 1 + Int((a >> 8) % 3)
            var urls: [CQLValue] = []
            urls.reserveCapacity(count)
            for n in 0..<count {
                let kind = (a >> (16 + n * 4)) % 3 == 0 ? "pdf" : "jpg"
                urls.append(.text("https://cdn.chat.example/\(runTag)/\(index)/\(n).\(kind)"))
            }
            attachments = .list(urls)
        }
        return [
            .uuid(dataset.conversations[conversation]), .uuid(timeUUIDs.uuid(for: index)), .uuid(userIDs[senderIndex]),
            .text(userNames[senderIndex]), .text(text), attachments,
        ]
    }

    /// Message `index`, in full.
    public func message(at index: UInt64) -> ChatMessage {
        let h = DeterministicHash.hash(seed: seed, stream: 2, index: index)
        let conversation = conversationIndex(of: index)
        let member = Int(DeterministicHash.bounded(h, UInt64(dataset.membersPerConversation)))
        let sender = dataset.users[dataset.memberIndex(conversation: conversation, member: member)]
        let text = texts[Int(DeterministicHash.bounded(h &* 0x9E37_79B9_7F4A_7C15 | 1, UInt64(texts.count)))]
        var attachments: [String] = []
        let a = DeterministicHash.hash(seed: seed, stream: 3, index: index)
        if a % 100 < 20 {
            let count = 1 + Int((a >> 8) % 3)
            attachments.reserveCapacity(count)
            for n in 0..<count {
                let kind = (a >> (16 + n * 4)) % 3 == 0 ? "pdf" : "jpg"
                attachments.append("https://cdn.chat.example/\(runTag)/\(index)/\(n).\(kind)")
            }
        }
        return ChatMessage(
            conversationID: dataset.conversations[conversation], messageID: timeUUIDs.uuid(for: index),
            senderID: sender.id, senderName: sender.name, content: text, attachments: attachments)
    }
}
