import Foundation
import SwiftProtobuf

/// One line of the run journal.
public enum JournalEntry: Sendable, Equatable, Codable {
    /// The run's configuration (without the password); always the first entry.
    case configuration(FleetRunConfiguration)
    /// The start barrier instant (coordinator clock, Unix nanoseconds).
    case started(atUnixNanos: Int64)
    /// A chunk leased to a worker.
    case leased(chunk: UInt64, epoch: UInt64, worker: String)
    /// A chunk reported complete (the ledger decides whether it counts, as it did live).
    case completed(chunk: UInt64, epoch: UInt64, worker: String, acknowledged: UInt64)
    /// A worker's chunks returned to the pool (lost, or the coordinator restarted).
    case released(worker: String)
    /// One chunk returned to the pool.
    case releasedChunk(chunk: UInt64, worker: String)
    /// One interval report, in its exact wire form (protobuf, base64 in the file).
    case stats(worker: String, instance: String, interval: Data)
    /// A worker was declared lost.
    case lost(worker: String, atUnixNanos: Int64)
    /// The run ended.
    case finished(atUnixNanos: Int64, reason: String)
}

/// The coordinator's append-only journal of a run: configuration, ledger events and every accepted stats interval,
/// one JSON object per line. Replaying it rebuilds the ledger and the merged statistics, so `--resume RUN_ID`
/// continues a fixed-total run where it stopped. A torn last line (the coordinator died mid-write) is ignored.
///
/// Not thread-safe by itself: owned by the coordinator's state actor.
public final class RunJournal {
    /// The journal file.
    public let path: String
    private let handle: FileHandle
    private let encoder: JSONEncoder

    /// The journal file of `runID` in `directory`.
    public static func path(directory: String, runID: String) -> String {
        (directory as NSString).appendingPathComponent("\(runID).journal")
    }

    /// Opens the journal for appending, creating the file (and directory) when needed.
    public init(path: String) throws(FleetError) {
        self.path = path
        let manager = FileManager.default
        let directory = (path as NSString).deletingLastPathComponent
        do {
            if !directory.isEmpty { try manager.createDirectory(atPath: directory, withIntermediateDirectories: true) }
            if !manager.fileExists(atPath: path) {
                guard manager.createFile(atPath: path, contents: nil) else {
                    throw FleetError(.journal, "cannot create the run journal", subject: path)
                }
            }
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.seekToEnd()
        } catch let error as FleetError {
            throw error
        } catch {
            throw FleetError(.journal, "cannot open the run journal: \(error.localizedDescription)", subject: path)
        }
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
    }

    deinit {
        try? handle.close()
    }

    /// Appends one entry (one line). The bytes reach the kernel before this returns, so they survive the
    /// coordinator process dying.
    public func append(_ entry: JournalEntry) throws(FleetError) {
        do {
            var data = try encoder.encode(entry)
            data.append(0x0A)
            try handle.write(contentsOf: data)
        } catch {
            throw FleetError(.journal, "cannot append to the run journal: \(error.localizedDescription)", subject: path)
        }
    }

    /// Forces the journal to disk.
    public func sync() {
        try? handle.synchronize()
    }

    /// Reads every complete entry of a journal file. A malformed last line is ignored (torn write); a malformed line
    /// before the end is an error naming the line.
    public static func read(path: String) throws(FleetError) -> [JournalEntry] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FleetError(.journal, "no run journal found; is the run id right?", subject: path)
        }
        let lines = data.split(separator: 0x0A, omittingEmptySubsequences: true)
        let decoder = JSONDecoder()
        var entries: [JournalEntry] = []
        for (index, line) in lines.enumerated() {
            do {
                entries.append(try decoder.decode(JournalEntry.self, from: Data(line)))
            } catch {
                if index == lines.count - 1 { break }
                throw FleetError(.journal, "run journal line \(index + 1) is malformed", subject: path)
            }
        }
        return entries
    }
}

/// The state of a run rebuilt from its journal.
public struct JournalReplay: Sendable {
    public var configuration: FleetRunConfiguration
    public var ledger: ChunkLedger?
    public var stats: StatsAggregator
    public var startedAtUnixNanos: Int64?
    public var finished: Bool
    /// Workers seen in the run (for the report), in order of first appearance.
    public var workers: [String]
    public var lostWorkers: Set<String>

    /// Replays journal entries. Chunks leased when the journal ends return to the pool (their workers stopped when
    /// the coordinator died).
    public init(entries: [JournalEntry]) throws(FleetError) {
        guard case .configuration(let configuration)? = entries.first else {
            throw FleetError(.journal, "the run journal does not start with the run configuration")
        }
        self.configuration = configuration
        ledger = configuration.model == .fixedTotal
            ? try ChunkLedger(target: configuration.target, chunkSize: configuration.chunkSize) : nil
        stats = StatsAggregator()
        finished = false
        workers = []
        lostWorkers = []
        var seen: Set<String> = []
        func saw(_ worker: String) {
            if seen.insert(worker).inserted { workers.append(worker) }
        }
        for entry in entries.dropFirst() {
            switch entry {
            case .configuration:
                throw FleetError(.journal, "the run journal holds a second configuration")
            case .started(let at):
                startedAtUnixNanos = at
            case .leased(let chunk, let epoch, let worker):
                saw(worker)
                guard let lease = ledger?.lease(to: worker), lease.chunk.id == chunk, lease.epoch == epoch else {
                    throw FleetError(.journal, "the run journal's lease of chunk \(chunk) does not replay")
                }
            case .completed(let chunk, let epoch, let worker, let acknowledged):
                saw(worker)
                _ = ledger?.complete(chunk: chunk, epoch: epoch, by: worker, acknowledged: acknowledged)
            case .released(let worker):
                ledger?.release(worker: worker)
            case .releasedChunk(let chunk, let worker):
                ledger?.release(chunk: chunk, from: worker)
            case .stats(let worker, let instance, let data):
                saw(worker)
                let wire: Stampede_Fleet_V1_IntervalStats
                do {
                    wire = try Stampede_Fleet_V1_IntervalStats(serializedBytes: data)
                } catch {
                    throw FleetError(.journal, "the run journal holds a malformed stats interval of \(worker)")
                }
                stats.ingest(try WorkerInterval(wire: wire), from: worker, instance: instance)
            case .lost(let worker, _):
                lostWorkers.insert(worker)
            case .finished:
                finished = true
            }
        }
    }

    /// Returns every chunk still leased to the pool (call when resuming). Returns the workers whose chunks returned.
    public mutating func releaseAllLeases() -> [String] {
        var released: [String] = []
        for worker in workers where !(ledger?.leases(of: worker).isEmpty ?? true) {
            ledger?.release(worker: worker)
            released.append(worker)
        }
        return released
    }
}
