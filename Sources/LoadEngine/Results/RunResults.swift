import Foundation

/// The results document (`results.json` / `distributed_results.json`): the seed's fields plus the richer ones.
///
/// Latencies are in milliseconds, durations in seconds. The single-process run and the coordinator build it the same
/// way, from merged totals and per-second reports.
public struct RunResults: Codable, Sendable, Equatable {
    public var runID: String
    /// The run's epoch (part of its identity, with `run_id`).
    public var runEpochMillis: Int64
    /// The operations target of a fixed-total run.
    public var target: UInt64?
    public var workload: String
    public var startedAt: String
    public var stopReason: String
    /// Acknowledged writes of messages (the seed's `total_messages`).
    public var totalMessages: UInt64
    /// Operations that reached a final outcome (writes and reads).
    public var totalOperations: UInt64
    /// Seconds from start to the end of the last operation.
    public var totalTime: Double
    /// Acknowledged operations per second over the run.
    public var throughput: Double
    public var p50: Double
    public var p95: Double
    public var p99: Double
    public var p999: Double
    public var max: Double
    public var mean: Double
    public var successes: UInt64
    public var failures: UInt64
    public var unknownOutcomes: UInt64
    public var retries: UInt64
    public var dropped: UInt64
    public var errorsByKind: [String: UInt64]
    public var operations: [String: OperationSummary]
    public var perSecond: [SecondSummary]
    public var thresholds: [ThresholdResult]
    public var thresholdsPassed: Bool
    public var generator: GeneratorSummary
    /// Per-worker entries (distributed runs; empty for one process).
    public var workers: [WorkerSummary]
    /// The run's configuration, as flags and values.
    public var config: [String: String]
    /// Which indexes were issued, given up (unknown outcome / failed) or never executed, as compact index ranges:
    /// what `stampede verify` needs to tell lost writes from unacknowledged ones exactly.
    public var indexOutcomes: IndexOutcomes?

    enum CodingKeys: String, CodingKey {
        case runID = "run_id", runEpochMillis = "run_epoch_millis", target, workload, startedAt = "started_at", stopReason = "stop_reason"
        case totalMessages = "total_messages", totalOperations = "total_operations", totalTime = "total_time", throughput
        case p50, p95, p99, p999 = "p99_9", max, mean
        case successes, failures, unknownOutcomes = "unknown_outcomes", retries, dropped, errorsByKind = "errors_by_kind"
        case operations, perSecond = "per_second", thresholds, thresholdsPassed = "thresholds_passed", generator, workers, config
        case indexOutcomes = "index_outcomes"
    }

    /// One operation's figures.
    public struct OperationSummary: Codable, Sendable, Equatable {
        public var count: UInt64
        public var successes: UInt64
        public var failures: UInt64
        public var unknownOutcomes: UInt64
        public var throughput: Double
        public var p50: Double
        public var p95: Double
        public var p99: Double
        public var p999: Double
        public var max: Double
        public var mean: Double
        public var errorsByKind: [String: UInt64]

        enum CodingKeys: String, CodingKey {
            case count, successes, failures, unknownOutcomes = "unknown_outcomes", throughput, p50, p95, p99, p999 = "p99_9", max, mean
            case errorsByKind = "errors_by_kind"
        }

        public init(_ metrics: OperationMetrics, seconds: Double) {
            count = metrics.operations
            successes = metrics.successes
            failures = metrics.failures
            unknownOutcomes = metrics.unknownOutcomes
            throughput = seconds > 0 ? Double(metrics.successes) / seconds : 0
            p50 = ms(metrics.latency.valueAtPercentile(50))
            p95 = ms(metrics.latency.valueAtPercentile(95))
            p99 = ms(metrics.latency.valueAtPercentile(99))
            p999 = ms(metrics.latency.valueAtPercentile(99.9))
            max = ms(metrics.latency.maxMicros)
            mean = (metrics.latency.meanMicros / 1000 * 1000).rounded() / 1000
            errorsByKind = Dictionary(uniqueKeysWithValues: ErrorKind.allCases.map { ($0.description, metrics.errors($0)) })
        }
    }

    /// One second of the run.
    public struct SecondSummary: Codable, Sendable, Equatable {
        public var second: Int
        public var operations: UInt64
        public var successes: UInt64
        public var errors: UInt64
        public var throughput: Double
        public var p50: Double
        public var p95: Double
        public var p99: Double
        public var max: Double
        public var inFlight: Int
        public var dropped: UInt64
        public var cpu: Double
        public var limitedBy: [String]

        enum CodingKeys: String, CodingKey {
            case second, operations, successes, errors, throughput, p50, p95, p99, max, inFlight = "in_flight", dropped, cpu
            case limitedBy = "limited_by"
        }

        public init(_ report: IntervalReport) {
            let combined = report.metrics.combined
            second = report.second
            operations = combined.operations
            successes = combined.successes
            errors = combined.errors
            throughput = Double(combined.successes)
            p50 = ms(combined.latency.valueAtPercentile(50))
            p95 = ms(combined.latency.valueAtPercentile(95))
            p99 = ms(combined.latency.valueAtPercentile(99))
            max = ms(combined.latency.maxMicros)
            inFlight = report.metrics.inFlight
            dropped = report.metrics.dropped
            cpu = (report.health.cpuUtilization * 1000).rounded() / 1000
            limitedBy = report.health.reasons
        }
    }

    /// Whether the load generator limited the results, and why.
    public struct GeneratorSummary: Codable, Sendable, Equatable {
        public var limitedByGenerator: Bool
        public var reasons: [String]
        public var limitedWorkers: [String]
        public var cpuSeconds: Double
        public var maxCPUUtilization: Double
        public var maxResidentMemoryBytes: UInt64
        public var maxEventLoopLagMs: Double
        public var maxScheduleLagMs: Double
        /// Acknowledged operations per client CPU-second.
        public var operationsPerCPUSecond: Double

        enum CodingKeys: String, CodingKey {
            case limitedByGenerator = "limited_by_generator", reasons, limitedWorkers = "limited_workers", cpuSeconds = "cpu_seconds"
            case maxCPUUtilization = "max_cpu_utilization", maxResidentMemoryBytes = "max_resident_memory_bytes"
            case maxEventLoopLagMs = "max_event_loop_lag_ms", maxScheduleLagMs = "max_schedule_lag_ms"
            case operationsPerCPUSecond = "operations_per_cpu_second"
        }
    }

    /// One worker's share of a distributed run (the seed's per-worker entries).
    public struct WorkerSummary: Codable, Sendable, Equatable {
        public var workerID: String
        public var totalMessages: UInt64
        public var duration: Double
        public var throughput: Double
        public var failures: UInt64
        public var status: String

        enum CodingKeys: String, CodingKey {
            case workerID = "worker_id", totalMessages = "total_messages", duration, throughput, failures, status
        }

        public init(workerID: String, totalMessages: UInt64, duration: Double, throughput: Double, failures: UInt64, status: String = "completed") {
            self.workerID = workerID
            self.totalMessages = totalMessages
            self.duration = duration
            self.throughput = throughput
            self.failures = failures
            self.status = status
        }
    }

    /// Builds the document from merged totals and per-second reports (one process, or a coordinator's merge).
    public init(
        run: RunIdentity, workload: String, startedAt: Date, totals: MetricsSnapshot, intervals: [IntervalReport], elapsed: Duration,
        writeOperations: Set<String>, stopReason: StopReason, thresholds: [ThresholdResult], health: GeneratorHealth,
        target: UInt64? = nil, workers: [WorkerSummary] = [], config: [String: String] = [:], indexOutcomes: IndexOutcomes? = nil
    ) {
        let seconds = elapsed.seconds
        let combined = totals.combined
        runID = run.id
        runEpochMillis = run.epochMillis
        self.target = target
        self.workload = workload
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        self.startedAt = formatter.string(from: startedAt)
        self.stopReason = stopReason.rawValue
        totalMessages = totals.operations.filter { writeOperations.contains($0.key) }.reduce(0) { $0 + $1.value.successes }
        totalOperations = combined.operations
        totalTime = (seconds * 1000).rounded() / 1000
        throughput = seconds > 0 ? ((Double(combined.successes) / seconds) * 10).rounded() / 10 : 0
        p50 = ms(combined.latency.valueAtPercentile(50))
        p95 = ms(combined.latency.valueAtPercentile(95))
        p99 = ms(combined.latency.valueAtPercentile(99))
        p999 = ms(combined.latency.valueAtPercentile(99.9))
        max = ms(combined.latency.maxMicros)
        mean = (combined.latency.meanMicros).rounded() / 1000
        successes = combined.successes
        failures = combined.failures
        unknownOutcomes = combined.unknownOutcomes
        retries = combined.retries
        dropped = totals.dropped
        errorsByKind = Dictionary(uniqueKeysWithValues: ErrorKind.allCases.map { ($0.description, combined.errors($0)) })
        operations = totals.operations.mapValues { OperationSummary($0, seconds: seconds) }
        perSecond = intervals.map(SecondSummary.init)
        self.thresholds = thresholds
        thresholdsPassed = thresholds.allSatisfy(\.passed)
        generator = GeneratorSummary(
            limitedByGenerator: health.isLimitingResults, reasons: health.reasons, limitedWorkers: health.limitedWorkers,
            cpuSeconds: (health.cpuSeconds * 1000).rounded() / 1000, maxCPUUtilization: (health.cpuUtilization * 1000).rounded() / 1000,
            maxResidentMemoryBytes: health.residentMemoryBytes, maxEventLoopLagMs: Double(health.eventLoopLagMicros) / 1000,
            maxScheduleLagMs: Double(health.scheduleLagMicros) / 1000,
            operationsPerCPUSecond: health.cpuSeconds > 0 ? (Double(combined.successes) / health.cpuSeconds).rounded() : 0)
        self.workers = workers
        self.config = config
        self.indexOutcomes = indexOutcomes
    }

    /// Builds the document from a finished single-process run.
    public init(
        run: RunIdentity, workload: String, startedAt: Date, outcome: EngineOutcome, target: UInt64? = nil, config: [String: String] = [:]
    ) {
        self.init(
            run: run, workload: workload, startedAt: startedAt, totals: outcome.totals, intervals: outcome.intervals,
            elapsed: outcome.elapsed, writeOperations: outcome.writeOperationNames, stopReason: outcome.stopReason,
            thresholds: outcome.thresholdResults, health: outcome.health, target: target, config: config,
            indexOutcomes: outcome.indexOutcomes)
    }

    /// Pretty-printed JSON with sorted keys.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}

/// Microseconds to milliseconds, rounded to the microsecond.
func ms(_ micros: UInt64) -> Double { Double(micros) / 1000 }
