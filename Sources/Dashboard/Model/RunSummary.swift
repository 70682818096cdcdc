import Foundation
import LoadEngine

/// Latency percentiles in milliseconds, as shown on the page and in reports.
public struct LatencySummary: Sendable, Hashable, Codable {
    public var p50: Double
    public var p95: Double
    public var p99: Double
    public var p999: Double
    public var max: Double
    public var mean: Double
    public var min: Double

    public init(p50: Double = 0, p95: Double = 0, p99: Double = 0, p999: Double = 0, max: Double = 0, mean: Double = 0, min: Double = 0) {
        self.p50 = p50
        self.p95 = p95
        self.p99 = p99
        self.p999 = p999
        self.max = max
        self.mean = mean
        self.min = min
    }

    /// The percentiles of a histogram (microseconds in, milliseconds out).
    public init(_ histogram: LatencyHistogram) {
        func ms(_ micros: UInt64) -> Double { Double(micros) / 1000 }
        self.init(
            p50: ms(histogram.valueAtPercentile(50)), p95: ms(histogram.valueAtPercentile(95)),
            p99: ms(histogram.valueAtPercentile(99)), p999: ms(histogram.valueAtPercentile(99.9)),
            max: ms(histogram.maxMicros), mean: histogram.meanMicros / 1000, min: ms(histogram.minMicros)
        )
    }
}

/// The headline figures of a run (`/api/run`): progress, rates, failures and latency now and for the whole run.
public struct RunSummary: Sendable, Hashable, Codable {
    public var runID: String
    public var state: RunState
    public var workload: String
    public var loadDescription: String
    /// ISO 8601 start time, once started.
    public var startedAt: String?
    public var elapsedSeconds: Double
    public var target: UInt64?
    public var plannedSeconds: Double?
    /// Operations counted toward the target (or successes when there is none).
    public var completed: UInt64
    /// 0–1 progress toward the target (or through the planned duration); `nil` when open-ended.
    public var progress: Double?
    /// Estimated seconds to the end at the average rate; `nil` when unknown.
    public var etaSeconds: Double?
    public var users: Int?
    public var rate: Double?
    /// Operations per second over the last complete second.
    public var currentRPS: Double
    /// Operations per second over the whole run.
    public var averageRPS: Double
    /// Operations that reached a final outcome (successes + failures).
    public var requests: UInt64
    public var failures: UInt64
    /// Failures over requests (0–1).
    public var failureRatio: Double
    /// Failures per second over the last complete second.
    public var currentFailuresPerSecond: Double
    /// Attempts whose outcome is unknown (timeouts: may or may not have applied).
    public var unknownOutcomes: UInt64
    public var retries: UInt64
    /// Operations the open model could not start.
    public var dropped: UInt64
    /// Latency over the last complete second.
    public var now: LatencySummary
    /// Latency over the whole run.
    public var run: LatencySummary
    public var workersRunning: Int
    public var workersLost: Int
    public var message: String?

    /// Derives the summary from a snapshot.
    public init(_ snapshot: RunSnapshot) {
        let total = snapshot.total.combined
        let recent = snapshot.recent.combined
        let elapsed = snapshot.elapsed.seconds
        runID = snapshot.runID
        state = snapshot.state
        workload = snapshot.workload
        loadDescription = snapshot.loadDescription
        startedAt = snapshot.startedAt.map { ISO8601DateFormatter().string(from: $0) }
        elapsedSeconds = elapsed
        target = snapshot.target
        plannedSeconds = snapshot.plannedDuration?.seconds
        completed = snapshot.completed ?? total.successes
        users = snapshot.users
        rate = snapshot.rate
        currentRPS = Double(recent.operations)
        averageRPS = elapsed > 0 ? Double(total.operations) / elapsed : 0
        requests = total.operations
        failures = total.failures
        failureRatio = total.operations > 0 ? Double(total.failures) / Double(total.operations) : 0
        currentFailuresPerSecond = Double(recent.failures)
        unknownOutcomes = total.unknownOutcomes
        retries = total.retries
        dropped = snapshot.total.dropped
        now = LatencySummary(recent.latency)
        run = LatencySummary(total.latency)
        workersRunning = snapshot.workers.filter { $0.state == "running" }.count
        workersLost = snapshot.workers.filter { $0.state == "lost" }.count
        message = snapshot.message
        if let target, target > 0 {
            progress = Swift.min(1, Double(completed) / Double(target))
            let rateForETA = averageRPS > 0 ? Double(completed) / Swift.max(elapsed, 0.001) : 0
            etaSeconds = completed >= target ? 0 : (rateForETA > 0 ? Double(target - completed) / rateForETA : nil)
        } else if let planned = plannedSeconds, planned > 0 {
            progress = Swift.min(1, elapsed / planned)
            etaSeconds = Swift.max(0, planned - elapsed)
        } else {
            progress = nil
            etaSeconds = nil
        }
        if !state.isActive, state != .idle { etaSeconds = nil }
    }
}

/// One row of the statistics table (Locust's): one operation, or the aggregate of all.
public struct OperationStatsRow: Sendable, Hashable, Codable {
    /// The request type column (`CQL` for every Stampede operation; empty for the aggregate row).
    public var type: String
    /// The operation's name, or `Aggregated`.
    public var name: String
    public var requests: UInt64
    public var failures: UInt64
    public var unknownOutcomes: UInt64
    public var retries: UInt64
    /// Milliseconds.
    public var latency: LatencySummary
    /// Latency at each of ``SecondSample/percentiles``, in milliseconds.
    public var percentiles: [Double]
    /// Whole-run operations per second.
    public var averageRPS: Double
    /// Whole-run failures per second.
    public var averageFailuresPerSecond: Double
    /// Operations per second over the last complete second.
    public var currentRPS: Double
    public var currentFailuresPerSecond: Double

    /// The rows of a snapshot: one per operation (by name), then `Aggregated`.
    public static func rows(_ snapshot: RunSnapshot) -> [OperationStatsRow] {
        let elapsed = snapshot.elapsed.seconds
        var rows: [OperationStatsRow] = []
        for name in snapshot.total.operations.keys.sorted() {
            guard let metrics = snapshot.total.operations[name] else { continue }
            rows.append(OperationStatsRow(type: "CQL", name: name, metrics: metrics, recent: snapshot.recent.operations[name], elapsed: elapsed))
        }
        rows.append(OperationStatsRow(type: "", name: "Aggregated", metrics: snapshot.total.combined, recent: snapshot.recent.combined, elapsed: elapsed))
        return rows
    }

    init(type: String, name: String, metrics: OperationMetrics, recent: OperationMetrics?, elapsed: Double) {
        self.type = type
        self.name = name
        requests = metrics.operations
        failures = metrics.failures
        unknownOutcomes = metrics.unknownOutcomes
        retries = metrics.retries
        latency = LatencySummary(metrics.latency)
        percentiles = SecondSample.percentiles.map {
            Double($0 >= 100 ? metrics.latency.maxMicros : metrics.latency.valueAtPercentile($0)) / 1000
        }
        averageRPS = elapsed > 0 ? Double(metrics.operations) / elapsed : 0
        averageFailuresPerSecond = elapsed > 0 ? Double(metrics.failures) / elapsed : 0
        currentRPS = Double(recent?.operations ?? 0)
        currentFailuresPerSecond = Double(recent?.failures ?? 0)
    }
}

/// Failed attempts of one error kind over the whole run.
public struct ErrorKindCount: Sendable, Hashable, Codable {
    public var kind: String
    public var count: UInt64
}

/// Everything one live update carries (`/api/live` events, and the page's first load).
public struct DashboardUpdate: Sendable, Codable {
    public var run: RunSummary
    public var operations: [OperationStatsRow]
    public var failures: [FailureRecord]
    public var errorsByKind: [ErrorKindCount]
    public var workers: [WorkerStatus]
    /// The per-second series, or its last few samples in live updates.
    public var series: [SecondSample]

    /// Derives an update from a snapshot, keeping the last `seriesTail` samples (all when `nil`).
    public init(_ snapshot: RunSnapshot, seriesTail: Int? = nil) {
        run = RunSummary(snapshot)
        operations = OperationStatsRow.rows(snapshot)
        failures = snapshot.failures.sorted { $0.count > $1.count }
        let combined = snapshot.total.combined
        errorsByKind = ErrorKind.allCases.map { ErrorKindCount(kind: $0.description, count: combined.errors($0)) }
        workers = snapshot.workers.sorted { $0.id < $1.id }
        if let seriesTail {
            series = Array(snapshot.series.suffix(seriesTail))
        } else {
            series = snapshot.series
        }
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
