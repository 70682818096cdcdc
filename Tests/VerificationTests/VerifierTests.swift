import Foundation
import LoadEngine
import Testing
@testable import Verification

@Suite struct VerifierTests {
    let run = RunIdentity(id: "run-test-verify", epochMillis: 1_700_000_000_000)

    func workload(_ mix: ChatWorkload.Mix = .write, conversations: Int = 20) -> ChatWorkload {
        var options = ChatWorkload.Options()
        options.users = 200
        options.conversations = conversations
        return ChatWorkload(mix: mix, run: run, options: options)
    }

    func expectation(_ workload: ChatWorkload, total: UInt64, completed: Bool = true, unknown: [UInt64] = [], failed: [UInt64] = []) -> RunExpectation {
        RunExpectation(run: run, mix: workload.mix, options: workload.options, total: total, isCompletedFixedTotal: completed,
                       unknownOutcome: unknown, failed: failed)
    }

    func verify(_ workload: ChatWorkload, _ expectation: RunExpectation, reader: InMemoryMessageReader,
                options: VerifierOptions = .init()) async throws -> VerificationReport {
        try await Verifier(expectation: expectation, identity: RunMessageIdentity(workload: workload), reader: reader, options: options).run()
    }

    @Test func messageIDsInvertToTheirIndexes() {
        let identity = RunMessageIdentity(workload: workload())
        for index: UInt64 in [0, 1, 2, 999, 123_456_789, 10_000_000_000] {
            #expect(identity.index(of: identity.messageID(of: index)) == index)
        }
        let other = RunMessageIdentity(workload: ChatWorkload(mix: .write, run: RunIdentity(id: "another", epochMillis: run.epochMillis)))
        #expect(identity.index(of: other.messageID(of: 5)) == nil)
        #expect(identity.index(of: UUID()) == nil)
    }

    @Test func findsExactlyTheWrittenMessages() async throws {
        let workload = workload()
        let reader = InMemoryMessageReader()
        reader.write(workload, indexes: 0..<2_000)
        let report = try await verify(workload, expectation(workload, total: 2_000), reader: reader)
        #expect(report.expected == 2_000)
        #expect(report.acknowledgedFound == 2_000)
        #expect(report.found == 2_000)
        #expect(report.lost == 0)
        #expect(report.phantoms == 0)
        #expect(report.partitionsScanned == 20)
        #expect(report.rowsRead == 2_000)
        #expect(report.passed)
        #expect(report.rendered().contains("PASS"))
    }

    @Test func deletedRowsAreReportedLostWithTheirIndexes() async throws {
        let workload = workload()
        let reader = InMemoryMessageReader()
        reader.write(workload, indexes: 0..<1_000)
        let deleted: [UInt64] = [3, 500, 999]
        for index in deleted {
            let message = workload.factory.message(at: index)
            reader.delete(conversation: message.conversationID, messageID: message.messageID)
        }
        let report = try await verify(workload, expectation(workload, total: 1_000), reader: reader)
        #expect(report.lost == 3)
        #expect(report.acknowledgedFound == 997)
        #expect(report.lostSamples.map(\.index) == deleted)
        #expect(report.lostSamples[1].messageID == workload.factory.messageID(of: 500))
        #expect(!report.passed)
        #expect(report.rendered().contains("FAIL: 3 acknowledged messages are missing"))
    }

    @Test func windowedPassesGiveTheSameAnswer() async throws {
        let workload = workload()
        for honour in [true, false] {
            let reader = InMemoryMessageReader(honourBounds: honour)
            reader.write(workload, indexes: 0..<1_000)
            reader.write(workload, indexes: 1_003..<1_005)  // phantoms beyond the total
            let missing = workload.factory.message(at: 640)
            reader.delete(conversation: missing.conversationID, messageID: missing.messageID)
            let report = try await verify(workload, expectation(workload, total: 1_000), reader: reader,
                                          options: VerifierOptions(concurrency: 3, windowSize: 128))
            #expect(report.lost == 1)
            #expect(report.lostSamples.first?.index == 640)
            #expect(report.phantoms == 2)
            #expect(Set(report.phantomSamples.compactMap(\.index)) == [1_003, 1_004])
            #expect(report.expected == 1_000)
            #expect(report.partitionsScanned == 20 * 8)
        }
    }

    @Test func unknownOutcomesAreSeparatedFromLostWrites() async throws {
        let workload = workload()
        let reader = InMemoryMessageReader()
        reader.write(workload, indexes: (0..<500).filter { $0 != 10 && $0 != 11 && $0 != 40 })
        // 10 and 11 had unknown outcomes (10 absent, 12 found); 40 was refused and is absent.
        let believed = expectation(workload, total: 500, completed: false, unknown: [10, 12], failed: [11, 40])
        let report = try await verify(workload, believed, reader: reader)
        #expect(report.unknownAbsent == 1)
        #expect(report.unknownFound == 1)
        #expect(report.unknownAbsentSamples.map(\.index) == [10])
        #expect(report.failedAbsent == 2)
        #expect(report.failedFound == 0)
        #expect(report.lost == 0)
        #expect(report.passed)  // not a completed fixed-total run: only lost acknowledged writes fail it

        let completed = expectation(workload, total: 500, completed: true, unknown: [10, 12], failed: [11, 40])
        let strict = try await verify(workload, completed, reader: reader)
        #expect(!strict.passed)  // found 497 != expected 500
        #expect(strict.found == 497)
    }

    @Test func foreignRowsAreIgnoredAndMisplacedOnesArePhantoms() async throws {
        let workload = workload()
        let reader = InMemoryMessageReader()
        reader.write(workload, indexes: 0..<300)
        let conversation = workload.factory.dataset.conversations[0]
        let otherRun = ChatWorkload(mix: .write, run: RunIdentity(id: "someone-else", epochMillis: 1))
        reader.insert(conversation: conversation, messageID: otherRun.factory.messageID(of: 7))
        // Message 5 written into a conversation it does not belong to.
        let stray = (0..<20).first { workload.factory.conversationIndex(of: 5) != $0 }!
        reader.insert(conversation: workload.factory.dataset.conversations[stray], messageID: workload.factory.messageID(of: 5))
        let report = try await verify(workload, expectation(workload, total: 300), reader: reader)
        #expect(report.otherRows == 1)
        #expect(report.phantoms == 1)
        #expect(report.phantomSamples.first?.reason == "in the wrong conversation")
        #expect(report.acknowledgedFound == 300)
        #expect(!report.passed)
    }

    @Test func mixedWorkloadExpectsOnlyItsWrites() async throws {
        let workload = workload(.mixed)
        let reader = InMemoryMessageReader()
        reader.write(workload, indexes: 0..<1_000)
        let writes = (0..<UInt64(1_000)).filter { workload.operation(at: $0).operation == 0 }.count
        let report = try await verify(workload, expectation(workload, total: 1_000), reader: reader)
        #expect(report.expected == UInt64(writes))
        #expect(writes > 200 && writes < 400)
        #expect(report.found == UInt64(writes))
        #expect(report.passed)
    }
}

@Suite struct CountAttributionTests {
    let run = RunIdentity(id: "run-interrupted", epochMillis: 1_700_000_500_000)

    func verify(written: [UInt64], resultsJSON: String) async throws -> VerificationReport {
        var options = ChatWorkload.Options()
        options.conversations = 10
        options.users = 50
        let workload = ChatWorkload(mix: .write, run: run, options: options)
        let reader = InMemoryMessageReader()
        reader.write(workload, indexes: written)
        let expectation = try RunExpectation.load(resultsJSON: Data(resultsJSON.utf8))
        return try await Verifier(expectation: expectation, identity: RunMessageIdentity(workload: workload), reader: reader).run()
    }

    /// A RunResults-shaped document of an interrupted run: 600 of 1000 acknowledged, indexes not listed.
    func results(stopReason: String) -> String {
        """
        {"run_id": "run-interrupted", "run_epoch_millis": 1700000500000, "target": 1000, "workload": "chat-write",
         "stop_reason": "\(stopReason)", "total_messages": 600, "unknown_outcomes": 0,
         "config": {"senders": "50", "conversations": "10", "members_per_conversation": "8", "vietnamese": "false",
                    "seeded_rows": "false", "users": "100"}}
        """
    }

    @Test func missingMessagesAreAttributedToUnacknowledgedWritesFirst() async throws {
        let report = try await verify(written: Array(0..<600), resultsJSON: results(stopReason: "interrupted"))
        #expect(report.expected == 1000)
        #expect(report.lost == 0)
        #expect(report.unacknowledgedAbsent == 400)
        #expect(report.acknowledgedByRun == 600)
        #expect(report.unacknowledgedAbsentSamples.first?.index == 600)
        #expect(report.passed)
    }

    @Test func anExcessOfMissingMessagesIsLost() async throws {
        let report = try await verify(written: (0..<600).filter { $0 != 42 }, resultsJSON: results(stopReason: "interrupted"))
        #expect(report.lost == 1)
        #expect(report.unacknowledgedAbsent == 400)
        #expect(!report.passed)
    }

    @Test func aCompletedRunMustHoldEveryMessage() async throws {
        let report = try await verify(written: Array(0..<600), resultsJSON: results(stopReason: "completed"))
        #expect(report.isCompletedFixedTotal)
        #expect(!report.passed)  // found 600, expected exactly 1000
    }
}

@Suite struct TokenRangeTests {
    let run = RunIdentity(id: "run-ring", epochMillis: 1_700_000_900_000)

    @Test func rangesCoverTheRingOnce() {
        let ranges = TokenRange.split(count: 7)
        #expect(ranges.first?.start == Int64.min)
        #expect(ranges.last?.end == Int64.max)
        for (a, b) in zip(ranges, ranges.dropFirst()) { #expect(a.end == b.start) }
    }

    @Test func tokenRangeScansMatchPartitionScansAndSeeStrayPartitions() async throws {
        var options = ChatWorkload.Options()
        options.conversations = 25
        options.users = 100
        let workload = ChatWorkload(mix: .write, run: run, options: options)
        let reader = InMemoryMessageReader()
        reader.write(workload, indexes: (0..<3_000).filter { $0 != 17 })
        // One of the run's messages in a partition that is not one of its conversations.
        reader.insert(conversation: UUID(), messageID: workload.factory.messageID(of: 5))
        let expectation = RunExpectation(run: run, options: options, total: 3_000)
        let identity = RunMessageIdentity(workload: workload)
        let byPartition = try await Verifier(expectation: expectation, identity: identity, reader: reader).run()
        let byRing = try await Verifier(expectation: expectation, identity: identity, reader: reader, ringReader: reader,
                                        options: VerifierOptions(concurrency: 4, windowSize: 1024, tokenRanges: 16)).run()
        #expect(byPartition.lost == 1 && byRing.lost == 1)
        #expect(byRing.lostSamples.first?.index == 17)
        #expect(byRing.acknowledgedFound == byPartition.acknowledgedFound)
        #expect(byPartition.phantoms == 0)  // partition scans only read the run's conversations
        #expect(byRing.phantoms == 1)
        #expect(byRing.phantomSamples.first?.reason == "in a conversation outside the run's dataset")
        #expect(byRing.strategy == "token-ranges")
    }
}
