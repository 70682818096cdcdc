import CQLProtocol
import Foundation
import NIOCore
import Testing
@testable import LoadEngine

@Suite struct IdentityTests {
    let run = RunIdentity(id: "run-test", epochMillis: 1_700_000_000_000)

    @Test func sameIndexGivesSameBytes() throws {
        let first = ChatWorkload(mix: .write, run: run)
        let second = ChatWorkload(mix: .write, run: run)  // a different process would build the same
        for index: UInt64 in [0, 1, 2, 999, 123_456, 999_999, 5_000_000_000] {
            let a = first.factory.message(at: index)
            let b = second.factory.message(at: index)
            #expect(a == b)
            #expect(first.factory.values(at: index) == a.values)
            #expect(try encode(first.operation(at: index).values) == encode(second.operation(at: index).values))
        }
    }

    @Test func timeuuidsAreVersion1UniqueAndOrderedByIndex() {
        let generator = TimeUUIDGenerator(run: run)
        var seen = Set<UUID>()
        var previous: UInt64 = 0
        for index: UInt64 in 0..<100_000 {
            let uuid = generator.uuid(for: index)
            #expect(uuid.cqlVersion == 1)
            seen.insert(uuid)
            let timestamp = generator.timestamp(of: index)
            #expect(index == 0 || timestamp > previous)
            previous = timestamp
        }
        #expect(seen.count == 100_000)
        #expect(generator.unixMillis(of: 0) == run.epochMillis)
        let other = TimeUUIDGenerator(run: RunIdentity(id: "run-other", epochMillis: run.epochMillis))
        #expect(other.uuid(for: 5) != generator.uuid(for: 5))
    }

    @Test func messagesLookRealistic() {
        let factory = ChatMessageFactory(run: run)
        var withAttachments = 0
        var lengths: [Int] = []
        for index: UInt64 in 0..<10_000 {
            let message = factory.message(at: index)
            if !message.attachments.isEmpty {
                withAttachments += 1
                #expect((1...3).contains(message.attachments.count))
            }
            lengths.append(message.content.count)
            #expect(factory.dataset.conversations.contains(message.conversationID))
        }
        #expect((1700...2300).contains(withAttachments))  // 20 %
        #expect(lengths.min() ?? 0 >= 5)
        #expect(lengths.max() ?? 0 > 200)
        let vietnamese = ChatMessageFactory(run: run, vietnamese: true).message(at: 3)
        #expect(vietnamese.content.unicodeScalars.contains { $0.value > 127 } || vietnamese.senderName.unicodeScalars.contains { $0.value > 127 })
    }

    @Test func mixedWorkloadFollowsWeights() {
        let workload = ChatWorkload(mix: .mixed, run: run)
        var counts = [0, 0, 0]
        for index: UInt64 in 0..<10_000 { counts[workload.operation(at: index).operation] += 1 }
        #expect((2700...3300).contains(counts[0]))
        #expect((4700...5300).contains(counts[1]))
        #expect((1700...2300).contains(counts[2]))
        #expect(workload.operation(at: 42).values == workload.operation(at: 42).values)
    }

    func encode(_ values: [CQLValue]) throws -> [UInt8] {
        let types: [CQLDataType] = [.uuid, .timeuuid, .uuid, .varchar, .varchar, .list(.varchar)]
        var buffer = ByteBuffer()
        for (value, type) in zip(values, types) { try value.write(as: type, into: &buffer) }
        return buffer.readBytes(length: buffer.readableBytes) ?? []
    }
}
