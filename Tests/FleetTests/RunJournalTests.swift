import Foundation
import LoadEngine
import Testing
@testable import Fleet

@Suite struct RunJournalTests {
    func temporaryPath() -> String {
        NSTemporaryDirectory() + "stampede-journal-\(UUID().uuidString)/run.journal"
    }

    @Test func replayRebuildsLedgerAndStats() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let configuration = FleetRunConfiguration(runID: "r1", password: "secret", target: 35, chunkSize: 10)
        var ledger = try ChunkLedger(target: 35, chunkSize: 10)
        do {
            let journal = try RunJournal(path: path)
            try journal.append(.configuration(configuration.journaled))
            try journal.append(.started(atUnixNanos: 5))
            for worker in ["a", "b", "a"] {
                let lease = try lease(&ledger, worker)
                try journal.append(.leased(chunk: lease.chunk.id, epoch: lease.epoch, worker: worker))
            }
            _ = ledger.complete(chunk: 0, epoch: 1, by: "a", acknowledged: 10)
            try journal.append(.completed(chunk: 0, epoch: 1, worker: "a", acknowledged: 10))
            ledger.release(worker: "b")
            try journal.append(.released(worker: "b"))
            var metrics = OperationMetrics()
            metrics.recordSuccess(latencyMicros: 1234)
            let interval = WorkerInterval(sequence: 1, second: 0, metrics: MetricsSnapshot(operations: ["insert": metrics]))
            try journal.append(.stats(worker: "a", instance: "i", interval: try interval.wire.serializedData()))
        }
        // A torn last line, as if the coordinator died mid-write.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"completed\":{\"chu".utf8))
        try handle.close()

        var replay = try JournalReplay(entries: try RunJournal.read(path: path))
        #expect(replay.configuration.password == "")
        #expect(replay.configuration.target == 35)
        #expect(replay.startedAtUnixNanos == 5)
        #expect(replay.ledger?.completedMessages == 10)
        #expect(replay.ledger?.leases(of: "a") == [2])
        #expect(replay.stats.total.operations["insert"]?.successes == 1)
        #expect(replay.stats.contiguousThrough(worker: "a", instance: "i") == 1)
        #expect(replay.releaseAllLeases() == ["a"])
        #expect(replay.ledger?.pendingChunks == 3)
        #expect(replay.workers == ["a", "b"])
    }

    @Test func missingJournalNamesTheFile() {
        #expect(throws: FleetError.self) { try RunJournal.read(path: "/nonexistent/nothing.journal") }
    }
}
