import Foundation
import LoadEngine

/// The deterministic identity of a run's messages, inverted: from a message id read back from the database to the
/// index that wrote it, and from an index to its conversation and whether it was a write.
public struct RunMessageIdentity: Sendable {
    /// The factory the run used (same run identity and dataset).
    public let factory: ChatMessageFactory
    let workload: ChatWorkload
    /// The UUID timestamp of index 0 and the clock-sequence/node bytes every message id of the run shares.
    let baseTimestamp: UInt64
    let tail: UInt64
    /// Conversation id -> dataset index (one entry per conversation, for token-range scans).
    let conversationIndexes: [UUID: Int]

    /// - Parameter workload: the workload as the run used it (after `setUp` when it loaded seeded rows).
    public init(workload: ChatWorkload) {
        self.workload = workload
        factory = workload.factory
        let first = factory.messageID(of: 0)
        baseTimestamp = Self.timestamp(of: first)
        tail = Self.tail(of: first)
        conversationIndexes = Dictionary(factory.dataset.conversations.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The dataset index of a conversation id, nil when it is not one of the run's conversations.
    public func conversationIndex(ofConversation id: UUID) -> Int? { conversationIndexes[id] }

    /// The conversations of the dataset, in index order.
    public var conversations: [UUID] { factory.dataset.conversations }

    /// Whether index `index` wrote a message (always for `chat-write`; 3 in 10 for `chat-mixed`).
    public func isWrite(_ index: UInt64) -> Bool { workload.isWrite(at: index) }

    /// Whether every index is a write (then the per-index check is skipped).
    public var writesEveryIndex: Bool { workload.mix == .write }

    /// The conversation index of message `index`.
    public func conversationIndex(of index: UInt64) -> Int { factory.conversationIndex(of: index) }

    /// The message id of `index`.
    public func messageID(of index: UInt64) -> UUID { factory.messageID(of: index) }

    /// The index whose message id is `id`, or `nil` when `id` was not written by this run.
    public func index(of id: UUID) -> UInt64? {
        guard Self.tail(of: id) == tail, (id.uuid.6 >> 4) == 1 else { return nil }
        let timestamp = Self.timestamp(of: id)
        guard timestamp >= baseTimestamp else { return nil }
        let offset = timestamp - baseTimestamp
        guard offset % 10 == 0 else { return nil }
        let index = offset / 10
        return factory.messageID(of: index) == id ? index : nil
    }

    /// The 60-bit timestamp of a version-1 UUID.
    static func timestamp(of id: UUID) -> UInt64 {
        let b = id.uuid
        let low = UInt64(b.0) << 24 | UInt64(b.1) << 16 | UInt64(b.2) << 8 | UInt64(b.3)
        let middle = UInt64(b.4) << 8 | UInt64(b.5)
        let high = UInt64(b.6 & 0x0F) << 8 | UInt64(b.7)
        return high << 48 | middle << 32 | low
    }

    /// The clock sequence and node (bytes 8–15) of a UUID.
    static func tail(of id: UUID) -> UInt64 {
        let b = id.uuid
        return [b.8, b.9, b.10, b.11, b.12, b.13, b.14, b.15].reduce(0) { $0 << 8 | UInt64($1) }
    }
}
