import Testing
@testable import Fleet

@Suite struct ChunkLedgerTests {
    @Test func cutsTargetIntoChunksWithAShorterLastOne() throws {
        let ledger = try ChunkLedger(target: 2_500, chunkSize: 1_000)
        #expect(ledger.chunkCount == 3)
        #expect(ledger.chunk(0)?.range == 0..<1_000)
        #expect(ledger.chunk(2)?.range == 2_000..<2_500)
        #expect(ledger.chunk(3) == nil)
        #expect(ledger.pendingChunks == 3)
    }

    @Test func rejectsZeroChunkSize() {
        #expect(throws: FleetError.self) { try ChunkLedger(target: 10, chunkSize: 0) }
    }

    @Test func leasesInOrderAndCountsEachCompletionOnce() throws {
        var ledger = try ChunkLedger(target: 10, chunkSize: 4)
        let a = try lease(&ledger, "w1")
        let b = try lease(&ledger, "w2")
        #expect(a.chunk.id == 0 && a.epoch == 1)
        #expect(b.chunk.id == 1)
        #expect(ledger.complete(chunk: 0, epoch: 1, by: "w1", acknowledged: 4) == .counted(revokeFrom: nil))
        #expect(ledger.complete(chunk: 0, epoch: 1, by: "w1", acknowledged: 4) == .alreadyDone)
        #expect(ledger.completedMessages == 4)
        #expect(ledger.leases(of: "w2") == [1])
    }

    @Test func completionOfAChunkNeverLeasedIsUnknown() throws {
        var ledger = try ChunkLedger(target: 10, chunkSize: 4)
        #expect(ledger.complete(chunk: 2, epoch: 1, by: "w1", acknowledged: 2) == .unknownChunk)
        #expect(ledger.complete(chunk: 99, epoch: 1, by: "w1", acknowledged: 2) == .unknownChunk)
        #expect(ledger.completedMessages == 0)
    }

    @Test func lostWorkersChunksReturnToThePoolAndAreLeasedFirst() throws {
        var ledger = try ChunkLedger(target: 100, chunkSize: 10)
        _ = ledger.lease(to: "w1")  // 0
        _ = ledger.lease(to: "w2")  // 1
        _ = ledger.lease(to: "w1")  // 2
        #expect(ledger.release(worker: "w1") == [0, 2])
        #expect(ledger.state(of: 0) == .pending)
        let next = try lease(&ledger, "w3")
        #expect(next.chunk.id == 0)
        #expect(next.epoch == 2)
        #expect(try lease(&ledger, "w3").chunk.id == 2)
        #expect(try lease(&ledger, "w3").chunk.id == 3)
    }

    @Test func lateCompletionFromALostWorkerCountsOnceAndRevokesTheNewHolder() throws {
        var ledger = try ChunkLedger(target: 20, chunkSize: 10)
        _ = ledger.lease(to: "old")
        ledger.release(worker: "old")
        let again = try lease(&ledger, "new")
        #expect(again.chunk.id == 0 && again.epoch == 2)
        // The lost worker actually finished the chunk: it counts, and the new holder must stop.
        #expect(ledger.complete(chunk: 0, epoch: 1, by: "old", acknowledged: 10) == .counted(revokeFrom: "new"))
        #expect(ledger.leases(of: "new").isEmpty)
        // The new holder's completion arrives later: not counted again.
        #expect(ledger.complete(chunk: 0, epoch: 2, by: "new", acknowledged: 10) == .alreadyDone)
        #expect(ledger.completedMessages == 10)
    }

    @Test func lateCompletionOfAChunkBackInThePoolRemovesItFromThePool() throws {
        var ledger = try ChunkLedger(target: 20, chunkSize: 10)
        _ = ledger.lease(to: "old")
        ledger.release(worker: "old")
        #expect(ledger.pendingChunks == 2)
        #expect(ledger.complete(chunk: 0, epoch: 1, by: "old", acknowledged: 10) == .counted(revokeFrom: nil))
        #expect(ledger.pendingChunks == 1)
        #expect(try lease(&ledger, "w").chunk.id == 1)
    }

    @Test func randomChurnEndsAtExactlyTheTarget() throws {
        // Deterministic pseudo-random churn: workers lease, complete, die and come back.
        var ledger = try ChunkLedger(target: 12_345, chunkSize: 100)
        var generator = SplitMix(seed: 42)
        let workers = ["a", "b", "c", "d"]
        var held: [String: [ChunkLedger.Lease]] = [:]
        var steps = 0
        while !ledger.isComplete && steps < 100_000 {
            steps += 1
            let worker = workers[Int(generator.next() % 4)]
            switch generator.next() % 10 {
            case 0:
                // Lost: its chunks go back, but it may still report a late completion.
                ledger.release(worker: worker)
                if var stale = held[worker], !stale.isEmpty, generator.next() % 2 == 0 {
                    let late = stale.removeFirst()
                    _ = ledger.complete(chunk: late.chunk.id, epoch: late.epoch, by: worker, acknowledged: late.chunk.count)
                }
                held[worker] = []
            case 1...4:
                if let lease = ledger.lease(to: worker) { held[worker, default: []].append(lease) }
            default:
                if var list = held[worker], !list.isEmpty {
                    let lease = list.removeFirst()
                    held[worker] = list
                    _ = ledger.complete(chunk: lease.chunk.id, epoch: lease.epoch, by: worker, acknowledged: lease.chunk.count)
                }
            }
        }
        #expect(ledger.isComplete)
        #expect(ledger.completedMessages == 12_345)
        #expect(ledger.acknowledgedMessages == 12_345)
        #expect(ledger.pendingChunks == 0)
    }

    @Test func staleChunksOfAReconnectingWorker() throws {
        var ledger = try ChunkLedger(target: 30, chunkSize: 10)
        _ = ledger.lease(to: "w")  // 0
        _ = ledger.lease(to: "w")  // 1
        ledger.release(chunk: 0, from: "w")
        #expect(ledger.staleChunks(claimedBy: "w", claimed: [0, 1]) == [0])
    }

    @Test func leasesAReconnectingWorkerDoesNotClaimReturnToThePool() throws {
        var ledger = try ChunkLedger(target: 50, chunkSize: 10)
        _ = ledger.lease(to: "w")  // 0
        _ = ledger.lease(to: "w")  // 1
        _ = ledger.lease(to: "w")  // 2
        _ = ledger.lease(to: "v")  // 3
        // The worker received chunk 0 and 2 only: the lease of 1 was lost with its connection.
        #expect(ledger.releaseUnclaimed(by: "w", claimed: [0, 2, 7]) == [1])
        #expect(ledger.leases(of: "w") == [0, 2])
        #expect(ledger.leases(of: "v") == [3])
        #expect(ledger.state(of: 1) == .pending)
        // Returned chunks are leased again before fresh ones, with a new epoch.
        let leasedAgain = ledger.lease(to: "v")
        let again = try #require(leasedAgain)
        #expect(again.chunk.id == 1 && again.epoch == 2)
        #expect(ledger.releaseUnclaimed(by: "w", claimed: [0, 2]).isEmpty)
        #expect(ledger.releaseUnclaimed(by: "nobody", claimed: []).isEmpty)
    }
}

/// A small deterministic generator for tests.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Leases the next chunk or fails the test.
func lease(_ ledger: inout ChunkLedger, _ worker: String) throws -> ChunkLedger.Lease {
    let lease = ledger.lease(to: worker)
    return try #require(lease)
}
