import CQLProtocol
import Foundation
import LoadEngine
import NIOConcurrencyHelpers
@testable import Verification

/// A fake database: message ids per conversation, optionally honouring the read bounds by timeuuid timestamp.
final class InMemoryMessageReader: MessageReader, RingMessageReader {
    let partitions: NIOLockedValueBox<[UUID: [UUID]]>
    let honourBounds: Bool

    init(honourBounds: Bool = true) {
        partitions = NIOLockedValueBox([:])
        self.honourBounds = honourBounds
    }

    /// Writes messages `indexes` of `workload` (write operations only).
    func write(_ workload: ChatWorkload, indexes: some Sequence<UInt64>) {
        partitions.withLockedValue { partitions in
            for index in indexes {
                let operation = workload.operation(at: index)
                guard operation.operation == 0 else { continue }
                let message = workload.factory.message(at: index)
                partitions[message.conversationID, default: []].append(message.messageID)
            }
        }
    }

    func insert(conversation: UUID, messageID: UUID) {
        partitions.withLockedValue { $0[conversation, default: []].append(messageID) }
    }

    func delete(conversation: UUID, messageID: UUID) {
        partitions.withLockedValue { $0[conversation]?.removeAll { $0 == messageID } }
    }

    func forEachMessageID(in conversation: UUID, from lower: UUID?, through upper: UUID?, _ body: (UUID) throws -> Void) async throws {
        let ids = partitions.withLockedValue { $0[conversation] ?? [] }
        for id in ids {
            if honourBounds {
                let timestamp = RunMessageIdentity.timestamp(of: id)
                if let lower, timestamp < RunMessageIdentity.timestamp(of: lower) { continue }
                if let upper, timestamp > RunMessageIdentity.timestamp(of: upper) { continue }
            }
            try body(id)
        }
    }

    func forEachMessage(in range: TokenRange, _ body: (UUID, UUID) throws -> Void) async throws {
        let all = partitions.withLockedValue { $0 }
        for (conversation, ids) in all {
            let token = Murmur3Partitioner.token(of: conversation.cqlBytes)
            guard token > range.start, token <= range.end else { continue }
            for id in ids { try body(conversation, id) }
        }
    }
}
