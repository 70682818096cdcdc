import Foundation
import LoadEngine
import Testing
@testable import Fleet

@Suite struct ChunkOutcomeListsTests {
    func completed(_ chunk: UInt64, unknown: [UInt64] = [], failed: [UInt64] = []) -> Stampede_Fleet_V1_ChunkCompleted {
        var message = Stampede_Fleet_V1_ChunkCompleted()
        message.chunkID = chunk
        message.unknownRanges = unknown
        message.failedRanges = failed
        return message
    }

    @Test func countedChunksGiveTheirListsAndUnfinishedOrUnleasedChunksAreClassified() throws {
        var ledger = try ChunkLedger(target: 1_000, chunkSize: 100)
        for _ in 0..<3 { _ = ledger.lease(to: "w1") }  // chunks 0, 1, 2
        _ = ledger.lease(to: "w2")  // chunk 3
        var lists = ChunkOutcomeLists()
        for (chunk, message) in [(UInt64(0), completed(0, unknown: [5, 7], failed: [50, 51])), (1, completed(1))] {
            if case .counted = ledger.complete(chunk: chunk, epoch: 1, by: "w1", acknowledged: 97) { lists.counted(message) }
        }
        ledger.release(worker: "w2")  // chunk 3 back to the pool, written in part perhaps
        let outcomes = try #require(lists.outcomes(ledger: ledger))
        #expect(outcomes.unknown.ranges == [5..<7, 200..<400])  // chunk 2 still leased, chunk 3 returned
        #expect(outcomes.failed.ranges == [50..<51])
        #expect(outcomes.notExecuted.ranges == [400..<1_000])
        #expect(outcomes.issued == 1_000)
    }

    @Test func malformedPairsAreSkippedAndAResumedRunHasNoLists() throws {
        var set = IndexRangeSet()
        ChunkOutcomeLists.insert(pairs: [1, 3, 9, 4, 20], into: &set)
        #expect(set.ranges == [1..<3])
        #expect(ChunkOutcomeLists.pairs(set) == [1, 3])
        var lists = ChunkOutcomeLists()
        lists.coversWholeRun = false
        #expect(lists.outcomes(ledger: try ChunkLedger(target: 10, chunkSize: 5)) == nil)
    }
}
