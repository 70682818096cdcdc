import CQLProtocol
import Foundation
import LoadEngine
import Synchronization
import Testing
@testable import Verification

/// A database without a server: applies writes, except that it refuses some indexes, times out on others (applying
/// some of those anyway, as a real timeout may), and can stop the run after a number of executions.
final class ScriptedOutcomeExecutor: StatementExecutor {
    typealias Prepared = Int

    struct Timeout: Error {}
    struct Refused: Error {}

    let refused: Set<UUID>
    let timesOut: Set<UUID>
    /// Timed-out writes the server applied anyway.
    let appliedDespiteTimeout: Set<UUID>
    let stopAfter: Int?
    let onStop = Mutex<(@Sendable () -> Void)?>(nil)
    let state = Mutex<(written: [UUID: UUID], attempted: Set<UUID>, executions: Int)>(([:], [], 0))

    init(workload: ChatWorkload, refused: [UInt64], timesOut: [UInt64], appliedDespiteTimeout: [UInt64], stopAfter: Int? = nil) {
        self.refused = Set(refused.map(workload.factory.messageID(of:)))
        self.timesOut = Set(timesOut.map(workload.factory.messageID(of:)))
        self.appliedDespiteTimeout = Set(appliedDespiteTimeout.map(workload.factory.messageID(of:)))
        self.stopAfter = stopAfter
    }

    func prepare(_ cql: String) async throws -> Int { cql.count }
    func bindTypes(of statement: Int) -> [CQLDataType] { [] }

    func execute(_ statement: Int, values: [CQLValue], consistency: CQLConsistency, isIdempotent: Bool) async throws -> Int {
        guard values.count >= 2, case .uuid(let conversation) = values[0], case .uuid(let id) = values[1] else { return 0 }
        let executions = state.withLock { state -> Int in
            state.executions += 1
            state.attempted.insert(id)
            return state.executions
        }
        if let stopAfter, executions == stopAfter { onStop.withLock { $0 }?() }
        if refused.contains(id) { throw Refused() }
        if timesOut.contains(id) {
            if appliedDespiteTimeout.contains(id) { state.withLock { $0.written[id] = conversation } }
            throw Timeout()
        }
        state.withLock { $0.written[id] = conversation }
        return 0
    }

    func executeUnloggedBatch(_ statement: Int, values: [[CQLValue]], consistency: CQLConsistency) async throws {
        for row in values { _ = try await execute(statement, values: row, consistency: consistency, isIdempotent: true) }
    }

    func run(_ cql: String) async throws {}
    func rows(_ cql: String) async throws -> [[CQLValue]] { [] }

    func classify(_ error: any Error) -> OperationFailure {
        if error is Timeout { return OperationFailure(kind: .timeout, outcomeUnknown: true, isRetryable: true, message: "timeout") }
        return OperationFailure(kind: .other, outcomeUnknown: false, isRetryable: false, message: "refused")
    }

    /// What the "database" holds: message id -> conversation id.
    var written: [UUID: UUID] { state.withLock { $0.written } }
    /// Message ids attempted at least once.
    var attempted: Set<UUID> { state.withLock { $0.attempted } }
}

@Suite struct OutcomeListTests {
    let run = RunIdentity(id: "run-outcome-lists", epochMillis: 1_700_000_000_000)

    func workload() -> ChatWorkload {
        var options = ChatWorkload.Options()
        options.users = 100
        options.conversations = 16
        return ChatWorkload(mix: .write, run: run, options: options)
    }

    /// Runs the engine on `executor` over a fixed total and returns its results document.
    func runEngine(_ workload: ChatWorkload, executor: ScriptedOutcomeExecutor, total: UInt64) async throws -> RunResults {
        var configuration = EngineConfiguration(model: .closed(ClosedModel(users: 8)))
        configuration.maxAttempts = 2
        configuration.retryBackoff = .milliseconds(1)
        let runner = LoadRunner(
            configuration: configuration, workload: workload, executor: executor,
            source: FixedRangeWorkSource(total: total, chunkSize: 256))
        executor.onStop.withLock { $0 = { runner.stop(.interrupted) } }
        let outcome = try await runner.run()
        return RunResults(run: run, workload: workload.name, startedAt: Date(), outcome: outcome, target: total)
    }

    func reader(holding written: [UUID: UUID]) -> InMemoryMessageReader {
        let reader = InMemoryMessageReader()
        for (id, conversation) in written { reader.insert(conversation: conversation, messageID: id) }
        return reader
    }

    @Test func theEngineListsGivenUpIndexesAndVerifyClassifiesThemExactly() async throws {
        let workload = workload()
        let refused: [UInt64] = [5, 6, 7, 300, 1_999]
        let timesOut: [UInt64] = [10, 11, 12, 13, 800, 1_500]
        let applied: [UInt64] = [11, 800]
        let executor = ScriptedOutcomeExecutor(workload: workload, refused: refused, timesOut: timesOut, appliedDespiteTimeout: applied)
        let results = try await runEngine(workload, executor: executor, total: 2_000)

        // The engine's lists, as compact ranges.
        let lists = try #require(results.indexOutcomes)
        #expect(lists.unknown.indexes == timesOut)
        #expect(lists.unknown.ranges == [10..<14, 800..<801, 1_500..<1_501])
        #expect(lists.failed.indexes == refused)
        #expect(lists.notExecuted.isEmpty)
        #expect(lists.issued == 2_000)
        #expect(results.failures == UInt64(refused.count + timesOut.count))

        // Through the results JSON, as `stampede verify --results` reads it.
        let expectation = try RunExpectation.load(resultsJSON: try results.jsonData())
        #expect(expectation.acknowledgedCount == nil)
        var database = executor.written
        let lostIndex: UInt64 = 1_234
        database[workload.factory.messageID(of: lostIndex)] = nil  // an acknowledged write the database lost
        let report = try await Verifier(
            expectation: expectation, identity: RunMessageIdentity(workload: workload), reader: reader(holding: database)
        ).run()
        #expect(report.expected == 2_000)
        #expect(report.lost == 1)
        #expect(report.lostSamples.map(\.index) == [lostIndex])
        #expect(report.acknowledgedFound == 2_000 - UInt64(refused.count + timesOut.count) - 1)
        #expect(report.unknownFound == 2)
        #expect(report.unknownFoundSamples.map(\.index) == applied)
        #expect(report.unknownAbsent == 4)
        #expect(report.failedAbsent == UInt64(refused.count))
        #expect(report.failedFound == 0)
        #expect(report.unacknowledgedAbsent == 0)
        #expect(report.phantoms == 0)
        #expect(!report.passed)
        #expect(report.rendered().contains("the run's lists of unknown-outcome"))
    }

    @Test func aStoppedRunListsWhatItNeverExecutedAndVerifyDoesNotCallItLost() async throws {
        let workload = workload()
        let refused: [UInt64] = [3, 600]
        let timesOut: [UInt64] = [4, 9, 650]
        let executor = ScriptedOutcomeExecutor(
            workload: workload, refused: refused, timesOut: timesOut, appliedDespiteTimeout: [9, 650], stopAfter: 700)
        let results = try await runEngine(workload, executor: executor, total: 5_000)
        #expect(results.stopReason == StopReason.interrupted.rawValue)
        // Which scripted indexes the run reached before it stopped depends on scheduling; the lists must say exactly that.
        let attempted = executor.attempted
        let reached = { (indexes: [UInt64]) in indexes.filter { attempted.contains(workload.factory.messageID(of: $0)) } }
        let lists = try #require(results.indexOutcomes)
        #expect(lists.unknown.indexes == reached(timesOut))
        #expect(lists.failed.indexes == reached(refused))
        #expect(lists.issued < 5_000 || !lists.notExecuted.isEmpty)

        let expectation = try RunExpectation.load(resultsJSON: try results.jsonData())
        #expect(!expectation.isCompletedFixedTotal)
        let written = executor.written
        let report = try await Verifier(
            expectation: expectation, identity: RunMessageIdentity(workload: workload), reader: reader(holding: written)
        ).run()
        let unknownWritten = UInt64(reached(timesOut).filter { written[workload.factory.messageID(of: $0)] != nil }.count)
        let unknownCount = UInt64(reached(timesOut).count)
        // Exactly: every index the run did not execute is "not executed", every acknowledged one is found.
        #expect(report.lost == 0)
        #expect(report.acknowledgedFound == UInt64(written.count) - unknownWritten)
        #expect(report.unknownFound == unknownWritten)
        #expect(report.unknownAbsent == unknownCount - unknownWritten)
        #expect(report.failedAbsent == UInt64(reached(refused).count))
        #expect(report.expected == UInt64(attempted.count))
        #expect(report.notExecuted == 5_000 - report.expected)
        #expect(report.phantoms == 0)
        #expect(report.passed)
    }

    @Test func countsOnlyResultsStillFallBackToAttribution() throws {
        let json = """
        {"run_id": "r", "run_epoch_millis": 1, "target": 100, "total_messages": 90, "stop_reason": "completed"}
        """
        let expectation = try RunExpectation.load(resultsJSON: Data(json.utf8))
        #expect(expectation.acknowledgedCount == 90)
        #expect(expectation.outcomeSource?.contains("counts only") == true)
    }

    @Test func overflowingListsFallBackToCountsForTheRest() throws {
        var unknown = IndexRangeSet(rangeLimit: 2)
        for index: UInt64 in [1, 3, 5] { unknown.insert(index) }
        #expect(!unknown.isComplete)
        let outcomes = IndexOutcomes(unknown: unknown, issued: 10)
        let data = try JSONEncoder().encode(outcomes)
        let json = "{\"run_id\": \"r\", \"run_epoch_millis\": 1, \"target\": 10, \"total_messages\": 7, \"index_outcomes\": "
            + String(decoding: data, as: UTF8.self) + "}"
        let expectation = try RunExpectation.load(resultsJSON: Data(json.utf8))
        #expect(expectation.unknownOutcome == [1, 3])
        #expect(expectation.acknowledgedCount == 7)
    }

    @Test func distributedRateAndUserRunsAreRefusedWithTheReason() {
        for model in ["open", "closed"] {
            let json = "{\"run_id\": \"r\", \"run_epoch_millis\": 1, \"target\": 0, \"total_messages\": 50, \"model\": \"\(model)\"}"
            do {
                _ = try RunExpectation.load(resultsJSON: Data(json.utf8), source: "d.json")
                Issue.record("expected a refusal for \(model)")
            } catch let error as VerificationError {
                #expect(error.description.contains("separate index spaces"))
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
        let fixed = "{\"run_id\": \"r\", \"run_epoch_millis\": 1, \"target\": 10, \"model\": \"fixed-total\"}"
        #expect((try? RunExpectation.load(resultsJSON: Data(fixed.utf8)))?.total == 10)
        // A single-process run's flags (`config.model`) are not a distributed model.
        let single = "{\"run_id\": \"r\", \"run_epoch_millis\": 1, \"target\": 10, \"config\": {\"model\": \"closed\"}}"
        #expect((try? RunExpectation.load(resultsJSON: Data(single.utf8)))?.total == 10)
    }

    @Test func malformedListsAreATypedError() {
        let json = "{\"run_id\": \"r\", \"run_epoch_millis\": 1, \"target\": 10, \"index_outcomes\": {\"unknown\": {\"ranges\": [[5, 2]]}}}"
        #expect(throws: VerificationError.self) { try RunExpectation.load(resultsJSON: Data(json.utf8)) }
    }

    @Test func chatMixedIsWriteMatchesTheExecutedOperation() {
        let mixed = ChatWorkload(mix: .mixed, run: run)
        var writes = 0
        var disagreements: [UInt64] = []
        for index in UInt64(0)..<200_000 {
            let isWrite = mixed.isWrite(at: index)
            if isWrite != (mixed.operation(at: index).operation == 0) { disagreements.append(index) }
            if isWrite { writes += 1 }
        }
        #expect(disagreements.isEmpty)
        // About 3 in 10.
        #expect((54_000...66_000).contains(writes))
        let far: [UInt64] = [9_999_999, 10_000_000, 123_456_789_012]
        for index in far { #expect(mixed.isWrite(at: index) == (mixed.operation(at: index).operation == 0)) }
        let write = ChatWorkload(mix: .write, run: run)
        #expect((0..<1_000).allSatisfy { write.isWrite(at: UInt64($0)) })
    }
}
