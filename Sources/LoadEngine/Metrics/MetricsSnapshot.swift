/// Metrics of every operation over one span of time, plus the load generator's own counters.
///
/// The unit the distributed layer ships every second (per worker) and adds up on the coordinator with ``merge(_:)``.
public struct MetricsSnapshot: Sendable, Equatable {
    /// Per operation name (e.g. `send_message`, `read_messages`).
    public var operations: [String: OperationMetrics]
    /// Operations the open model could not start for lack of capacity (in-flight bound reached or too late).
    public var dropped: UInt64
    /// Operations in flight when the snapshot was taken (summed across workers).
    public var inFlight: Int
    /// The highest in-flight count sampled during the span (summed across workers: an upper bound).
    public var maxInFlight: Int

    public init(operations: [String: OperationMetrics] = [:], dropped: UInt64 = 0, inFlight: Int = 0, maxInFlight: Int = 0) {
        self.operations = operations
        self.dropped = dropped
        self.inFlight = inFlight
        self.maxInFlight = maxInFlight
    }

    /// Adds `other` (another worker's, or the next interval's) into this snapshot. Exact for counts and histograms.
    public mutating func merge(_ other: MetricsSnapshot) {
        for (name, metrics) in other.operations {
            operations[name, default: OperationMetrics()].merge(metrics)
        }
        dropped &+= other.dropped
        inFlight += other.inFlight
        maxInFlight += other.maxInFlight
    }

    /// Adds a later interval of the same worker: counts add, in-flight is the later value and the maximum the larger.
    public mutating func accumulate(later other: MetricsSnapshot) {
        for (name, metrics) in other.operations {
            operations[name, default: OperationMetrics()].merge(metrics)
        }
        dropped &+= other.dropped
        inFlight = other.inFlight
        maxInFlight = Swift.max(maxInFlight, other.maxInFlight)
    }

    /// All operations merged into one.
    public var combined: OperationMetrics {
        var result = OperationMetrics()
        for name in operations.keys.sorted() {
            if let metrics = operations[name] { result.merge(metrics) }
        }
        return result
    }
}

/// One second of a run: its metrics and how the load generator itself was doing.
public struct IntervalReport: Sendable, Equatable {
    /// Seconds since the run's start instant: this report covers [second, second + 1).
    public var second: Int
    public var metrics: MetricsSnapshot
    public var health: GeneratorHealth

    public init(second: Int, metrics: MetricsSnapshot, health: GeneratorHealth) {
        self.second = second
        self.metrics = metrics
        self.health = health
    }

    /// Adds another worker's report for the same second.
    public mutating func merge(_ other: IntervalReport) {
        metrics.merge(other.metrics)
        health.merge(other.health)
    }
}
