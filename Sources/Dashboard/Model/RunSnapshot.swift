import Foundation
import LoadEngine

/// Where a run is in its life, as the dashboard shows it.
public enum RunState: String, Sendable, Hashable, Codable, CaseIterable {
    /// No run yet (or the last one was cleared): the start form is offered.
    case idle
    /// Waiting for workers, preparing the schema, or at the start barrier.
    case starting
    /// Load is being generated.
    case running
    /// A stop was asked for; workers are finishing.
    case stopping
    /// The run ended normally (target reached, duration over, or stopped).
    case finished
    /// The run ended with an error (see ``RunSnapshot/message``).
    case failed

    /// True while load may still be generated.
    public var isActive: Bool {
        switch self {
        case .starting, .running, .stopping: true
        case .idle, .finished, .failed: false
        }
    }
}

/// One second of a run, reduced to what the charts and the history CSV need.
public struct SecondSample: Sendable, Hashable, Codable {
    /// The percentiles kept per second (Locust's set), in the order of ``percentilesMicros``.
    public static let percentiles: [Double] = [50, 66, 75, 80, 90, 95, 98, 99, 99.9, 99.99, 100]

    /// Seconds since the run's start instant; the sample covers [second, second + 1).
    public var second: Int
    /// Operations that reached a final outcome in that second (successes + failures).
    public var requests: UInt64
    /// Operations that finally failed in that second.
    public var failures: UInt64
    /// Latency at each of ``percentiles`` for that second's successful operations, in microseconds (0 when none).
    public var percentilesMicros: [UInt64]
    /// Mean latency of that second's successful operations, in microseconds.
    public var meanMicros: Double
    /// Users (closed model) or target rate (open model) in force during that second, if known.
    public var load: Double?

    /// A sample with explicit figures; `percentilesMicros` follows ``percentiles`` (missing entries read as 0).
    public init(second: Int, requests: UInt64, failures: UInt64, percentilesMicros: [UInt64], meanMicros: Double = 0, load: Double? = nil) {
        self.second = second
        self.requests = requests
        self.failures = failures
        self.percentilesMicros = percentilesMicros
        self.meanMicros = meanMicros
        self.load = load
    }

    /// Reduces one second's merged metrics (every operation, every worker) to a sample.
    public init(second: Int, metrics: MetricsSnapshot, load: Double? = nil) {
        let combined = metrics.combined
        self.init(
            second: second, requests: combined.operations, failures: combined.failures,
            percentilesMicros: Self.percentiles.map { $0 >= 100 ? combined.latency.maxMicros : combined.latency.valueAtPercentile($0) },
            meanMicros: combined.latency.meanMicros, load: load
        )
    }

    /// The latency at one of ``percentiles`` (0 when absent).
    public func micros(at percentile: Double) -> UInt64 {
        guard let index = Self.percentiles.firstIndex(of: percentile), index < percentilesMicros.count else { return 0 }
        return percentilesMicros[index]
    }

    public var p50Micros: UInt64 { micros(at: 50) }
    public var p95Micros: UInt64 { micros(at: 95) }
    public var p99Micros: UInt64 { micros(at: 99) }
    public var maxMicros: UInt64 { micros(at: 100) }
}

/// Failures of one operation with one error kind and message, counted over the run (Locust's failures table).
public struct FailureRecord: Sendable, Hashable, Codable {
    /// The operation's name (e.g. `send_message`).
    public var operation: String
    public var kind: ErrorKind
    /// A short human description, never bind values.
    public var message: String
    /// Failed attempts with this operation, kind and message.
    public var count: UInt64

    public init(operation: String, kind: ErrorKind, message: String, count: UInt64) {
        self.operation = operation
        self.kind = kind
        self.message = message
        self.count = count
    }

    enum CodingKeys: String, CodingKey { case operation, kind, message, count }

    /// Encodes the kind by name (`timeout`, `unavailable`, `overloaded`, `other`).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(operation, forKey: .operation)
        try container.encode(kind.description, forKey: .kind)
        try container.encode(message, forKey: .message)
        try container.encode(count, forKey: .count)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        operation = try container.decode(String.self, forKey: .operation)
        let name = try container.decode(String.self, forKey: .kind)
        guard let kind = ErrorKind.allCases.first(where: { $0.description == name }) else {
            throw DecodingError.dataCorruptedError(forKey: .kind, in: container, debugDescription: "unknown error kind '\(name)'")
        }
        self.kind = kind
        message = try container.decode(String.self, forKey: .message)
        count = try container.decode(UInt64.self, forKey: .count)
    }
}

/// One row of the workers table.
public struct WorkerStatus: Sendable, Hashable, Codable {
    /// The worker's id (`--id`, or its host name and process id).
    public var id: String
    /// The host the worker connected from.
    public var host: String
    /// Its state as the coordinator sees it: `registered`, `running`, `lost`, `finished`, ...
    public var state: String
    /// Operations per second over the last complete second.
    public var currentRPS: Double
    /// Operations it completed during the run.
    public var total: UInt64
    /// Operations it finally failed during the run.
    public var failures: UInt64
    /// Its process CPU use as a fraction of its cores (0–1), if reported.
    public var cpu: Double?
    /// Seconds since it was last heard from (heartbeat or stats), if known.
    public var secondsSinceHeartbeat: Double?
    /// True when it joined after the run had started.
    public var joinedMidRun: Bool
    /// True when it was declared lost at least once during the run.
    public var wasLost: Bool

    public init(
        id: String, host: String, state: String, currentRPS: Double = 0, total: UInt64 = 0, failures: UInt64 = 0,
        cpu: Double? = nil, secondsSinceHeartbeat: Double? = nil, joinedMidRun: Bool = false, wasLost: Bool = false
    ) {
        self.id = id
        self.host = host
        self.state = state
        self.currentRPS = currentRPS
        self.total = total
        self.failures = failures
        self.cpu = cpu
        self.secondsSinceHeartbeat = secondsSinceHeartbeat
        self.joinedMidRun = joinedMidRun
        self.wasLost = wasLost
    }
}

/// Everything the dashboard shows about the current (or last) run, as the data source sees it now.
///
/// Raw figures: the dashboard derives rates, percentiles, tables and reports from it (see ``RunSummary``), so a data
/// source only hands over what it already has (the merged whole-run metrics, the last second, the per-second series).
public struct RunSnapshot: Sendable {
    /// The run's id (empty when idle).
    public var runID: String
    public var state: RunState
    /// The workload's name: `chat-write`, `chat-mixed`, or a profile file.
    public var workload: String
    /// A one-line description of the load model (e.g. `1000 users, spawn 100/s` or `5000 ops/s`).
    public var loadDescription: String
    /// When the run started (wall clock), once it has.
    public var startedAt: Date?
    /// Time since the start instant (or the whole run's length once finished).
    public var elapsed: Duration
    /// The fixed total to reach, if the run has one.
    public var target: UInt64?
    /// The planned duration, if the run has one (used for the ETA and progress when there is no target).
    public var plannedDuration: Duration?
    /// Operations counted toward the target (each message index once); `nil` uses the successes in ``total``.
    public var completed: UInt64?
    /// Users now (closed model).
    public var users: Int?
    /// Target arrival rate now, operations per second (open model).
    public var rate: Double?
    /// Whole-run metrics, all workers merged.
    public var total: MetricsSnapshot
    /// The last complete second, all workers merged (the "now" figures).
    public var recent: MetricsSnapshot
    /// One sample per second since the start, in order.
    public var series: [SecondSample]
    /// Failures by operation, kind and message.
    public var failures: [FailureRecord]
    /// The workers table (empty for a local run).
    public var workers: [WorkerStatus]
    /// The run's settings as key/value text (shown in the report and stored in the bundle).
    public var configuration: [String: String]
    /// A status or error message to show (e.g. why the run failed).
    public var message: String?

    public init(
        runID: String = "", state: RunState = .idle, workload: String = "", loadDescription: String = "",
        startedAt: Date? = nil, elapsed: Duration = .zero, target: UInt64? = nil, plannedDuration: Duration? = nil,
        completed: UInt64? = nil, users: Int? = nil, rate: Double? = nil,
        total: MetricsSnapshot = MetricsSnapshot(), recent: MetricsSnapshot = MetricsSnapshot(),
        series: [SecondSample] = [], failures: [FailureRecord] = [], workers: [WorkerStatus] = [],
        configuration: [String: String] = [:], message: String? = nil
    ) {
        self.runID = runID
        self.state = state
        self.workload = workload
        self.loadDescription = loadDescription
        self.startedAt = startedAt
        self.elapsed = elapsed
        self.target = target
        self.plannedDuration = plannedDuration
        self.completed = completed
        self.users = users
        self.rate = rate
        self.total = total
        self.recent = recent
        self.series = series
        self.failures = failures
        self.workers = workers
        self.configuration = configuration
        self.message = message
    }

    /// An idle snapshot: no run yet.
    public static let idle = RunSnapshot()
}

/// One second's whole-run latency histogram (all operations, all workers), for the HDR histogram log.
public struct SecondHistogram: Sendable {
    public var second: Int
    public var histogram: LatencyHistogram

    public init(second: Int, histogram: LatencyHistogram) {
        self.second = second
        self.histogram = histogram
    }
}
