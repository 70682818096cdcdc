import Foundation
import LoadEngine
import Testing
@testable import Verification

@Suite struct RunExpectationTests {
    @Test func readsAResultsFile() throws {
        let json = """
        {"run": {"id": "run-1", "epochMillis": 1700000000000}, "total_messages": 999, "target": 1000,
         "workload": "chat-mixed", "status": "completed",
         "configuration": {"options": {"conversations": "50", "vietnamese": "true"}},
         "unknown_indexes": [7, 3, 7], "failed_indexes": [9]}
        """
        let expectation = try RunExpectation.load(resultsJSON: Data(json.utf8))
        #expect(expectation.run == RunIdentity(id: "run-1", epochMillis: 1_700_000_000_000))
        #expect(expectation.total == 1000)
        #expect(expectation.mix == .mixed)
        #expect(expectation.isCompletedFixedTotal)
        #expect(expectation.options.conversations == 50)
        #expect(expectation.options.vietnamese)
        #expect(expectation.unknownOutcome == [3, 7])
        #expect(expectation.failed == [9])
    }

    @Test func namesWhatIsMissing() {
        #expect(throws: VerificationError.self) { try RunExpectation.load(resultsJSON: Data("{\"run_id\": \"x\"}".utf8)) }
        do {
            _ = try RunExpectation.load(resultsJSON: Data("{\"run_id\": \"x\", \"target\": 5}".utf8), source: "r.json")
            Issue.record("expected an error")
        } catch let error as VerificationError {
            #expect(error.description.contains("r.json"))
            #expect(error.description.contains("epoch"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func outcomeCursorWalksInOrder() {
        let expectation = RunExpectation(run: RunIdentity(id: "r", epochMillis: 0), total: 20, unknownOutcome: [2, 5], failed: [5, 8])
        var cursor = RunExpectation.OutcomeCursor(expectation, from: 0)
        let outcomes = (0..<10).map { cursor.outcome(of: UInt64($0)) }
        #expect(outcomes[2] == .unknown)
        #expect(outcomes[5] == .unknown)  // unknown wins over failed
        #expect(outcomes[8] == .failed)
        #expect(outcomes.filter { $0 == .acknowledged }.count == 7)
    }
}
