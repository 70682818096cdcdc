import Foundation
import LoadEngine

/// The results document of a distributed run (`distributed_results.json`): the seed's fields plus the richer ones.
/// Times in seconds, latencies in milliseconds.
public struct DistributedResults: Sendable, Codable, Equatable {
    /// One worker's part.
    public struct Worker: Sendable, Codable, Equatable {
        public var workerID: String
        public var host: String
        /// Messages credited to this worker (each index once across the run; adds up to `totalMessages`).
        public var totalMessages: UInt64
        /// Seconds the worker ran.
        public var duration: Double
        public var throughput: Double
        public var failures: UInt64
        public var unknownOutcomes: UInt64
        /// Operations the worker performed, rewrites of re-leased chunks included.
        public var operations: UInt64
        public var chunksCompleted: UInt64
        /// `finished`, `lost`, or `before-resume` (it worked for the coordinator that died before `--resume`).
        public var status: String
        /// Differences between its final totals and the sum of its intervals (empty when they reconcile).
        public var reconciliation: [String]
        public var notes: [String]

        enum CodingKeys: String, CodingKey {
            case workerID = "worker_id", host, totalMessages = "total_messages", duration, throughput, failures
            case unknownOutcomes = "unknown_outcomes", operations, chunksCompleted = "chunks_completed", status
            case reconciliation, notes
        }
    }

    /// One second of the run, all workers merged.
    public struct Second: Sendable, Codable, Equatable {
        public var second: Int
        public var operations: UInt64
        public var failures: UInt64
        public var p50: Double
        public var p99: Double
        public var max: Double
    }

    public var runID: String
    /// With `runID`, the run identity (`stampede verify --results` reads both).
    public var runEpochMillis: Int64
    public var workload: String
    public var model: String
    public var target: UInt64
    /// Distinct messages written (fixed-total: exactly the target when the run completed).
    public var totalMessages: UInt64
    /// Seconds from the start barrier to the end.
    public var totalTime: Double
    public var throughput: Double
    public var p50: Double
    public var p95: Double
    public var p99: Double
    public var p999: Double
    public var max: Double
    public var failures: UInt64
    public var unknownOutcomes: UInt64
    public var retries: UInt64
    public var dropped: UInt64
    /// Failed attempts by kind.
    public var errorsByKind: [String: UInt64]
    /// All operations performed, rewrites included.
    public var operations: UInt64
    public var completed: Bool
    public var stopReason: String
    public var workers: [Worker]
    public var lostWorkers: [String]
    public var perSecond: [Second]
    public var configuration: FleetRunConfiguration
    /// Fixed-total runs: the indexes given up (unknown outcome / failed) in counted chunks, the chunks left unfinished
    /// (unknown) and never leased (not executed), as compact ranges, for `stampede verify`. Absent for rate and user
    /// runs and after `--resume`.
    public var indexOutcomes: IndexOutcomes?
    /// The run's thresholds, evaluated by the coordinator on the merged statistics of every worker.
    public var thresholds: [ThresholdResult] = []
    /// False when a threshold failed (true when all passed or there were none).
    public var thresholdsPassed = true

    enum CodingKeys: String, CodingKey {
        case runID = "run_id", runEpochMillis = "run_epoch_millis", workload, model, target, totalMessages = "total_messages", totalTime = "total_time"
        case throughput, p50, p95, p99, p999 = "p99_9", max, failures, unknownOutcomes = "unknown_outcomes", retries
        case dropped, errorsByKind = "errors_by_kind", operations, completed, stopReason = "stop_reason", workers
        case lostWorkers = "lost_workers", perSecond = "per_second", configuration, indexOutcomes = "index_outcomes"
        case thresholds, thresholdsPassed = "thresholds_passed"
    }

    /// The document as pretty-printed JSON.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// Writes the document to `path`.
    public func write(to path: String) throws(FleetError) {
        do {
            try json().write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw FleetError(.invalidConfiguration, "cannot write results: \(error.localizedDescription)", subject: path)
        }
    }

    static func millis(_ micros: UInt64) -> Double { Double(micros) / 1000 }
}
