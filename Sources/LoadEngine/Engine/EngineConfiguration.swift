/// Everything the engine needs to know about how to run, validated once with ``validated()``.
public struct EngineConfiguration: Sendable {
    /// Closed or open model, with its stages.
    public var model: LoadModel
    /// Stop after this long; `nil` stops when the work runs out, at the end of the stages, or on ``LoadRunner/stop(_:)``.
    public var duration: Duration?
    /// Pass/fail criteria, evaluated on the whole run (and every second when `abortOnThresholdFailure`).
    public var thresholds: [Threshold] = []
    /// Stop the run as soon as a threshold fails.
    public var abortOnThresholdFailure = false
    /// Attempts per operation, the first included (3). Retryable failures (timeouts, unavailable, overloaded) are
    /// retried; unknown outcomes only for idempotent statements.
    public var maxAttempts = 3
    /// Pause before retry n is n × this (10 ms).
    public var retryBackoff: Duration = .milliseconds(10)
    /// This process's fraction of the users or arrival rate (1 when alone; the coordinator sets it per worker).
    public var share: Double = 1
    /// Recorder shards (16).
    public var metricsShards = 16
    /// How long to wait for in-flight operations after the run stops before cancelling them (10 s).
    public var stopGracePeriod: Duration = .seconds(10)
    /// Take a lag sample of the executor this often (100 ms).
    public var probeInterval: Duration = .milliseconds(100)
    /// Record each operation's latency and outcome (true). Off only to measure what recording costs
    /// (`stampede bench writes --engine`): successes are then neither timed nor counted, failures still are.
    public var recordsOperationMetrics = true

    public init(model: LoadModel, duration: Duration? = nil) {
        self.model = model
        self.duration = duration
    }

    /// Checks the values; throws a message naming the bad one.
    public func validated() throws(LoadEngineError) -> EngineConfiguration {
        func bad(_ message: String) -> LoadEngineError { LoadEngineError(.invalidConfiguration, message) }
        switch model {
        case .closed(let closed):
            guard closed.users >= 0, closed.peakUsers <= 1_000_000 else { throw bad("users must be between 0 and 1,000,000") }
            // Without stages nothing would ever run: an exact total would then never be reached.
            if closed.stages.isEmpty, closed.users == 0 { throw bad("users must be at least 1 (to start from 0, ramp up with stages)") }
            if let rate = closed.spawnRate, !(rate > 0 && rate.isFinite) { throw bad("spawn rate must be a positive number") }
            if case .between(let low, let high) = closed.thinkTime, low > high { throw bad("think time 'between' needs low ≤ high") }
        case .open(let open):
            guard open.rate >= 0, open.rate.isFinite else { throw bad("rate must be a non-negative number") }
            if open.stages.isEmpty, open.rate == 0 { throw bad("rate must be positive (to start from 0, ramp up with stages)") }
            guard (1...1_000_000).contains(open.maxInFlight) else { throw bad("max in-flight must be between 1 and 1,000,000") }
            guard open.maxLateness > .zero else { throw bad("max lateness must be positive") }
        }
        if let duration, duration <= .zero { throw bad("duration must be positive") }
        guard maxAttempts >= 1 else { throw bad("attempts must be at least 1") }
        guard share >= 0, share.isFinite else { throw bad("share must be a non-negative number") }
        return self
    }

    /// When the run stops by time: the duration, else the end of the stages, else never.
    var effectiveDuration: Duration? { duration ?? model.stagesDuration }
}

/// Why a run stopped.
public enum StopReason: String, Sendable, Hashable, Codable {
    /// The work source ran out and every operation finished (e.g. exactly the target total was reached).
    case completed
    /// The duration (or the end of the stages) was reached.
    case duration
    /// ``LoadRunner/stop(_:)`` was called (Ctrl-C, or the coordinator).
    case interrupted
    /// A threshold failed with abort-on-fail set.
    case thresholdFailed = "threshold-failed"
    /// The work source failed.
    case workSourceFailed = "work-source-failed"
}

/// What a finished run produced.
public struct EngineOutcome: Sendable {
    /// The whole run: the sum of the intervals.
    public var totals: MetricsSnapshot
    /// One report per second, in order (the last may be partial).
    public var intervals: [IntervalReport]
    /// From the start instant to the end of the last operation.
    public var elapsed: Duration
    public var stopReason: StopReason
    /// Each configured threshold evaluated on the whole run.
    public var thresholdResults: [ThresholdResult]
    /// The generator's health over the whole run (worst values; CPU seconds summed).
    public var health: GeneratorHealth
    /// The workload's operation names and which of them write messages.
    public var operationNames: [String]
    public var writeOperationNames: Set<String>
    /// Which indexes were handed out, and which of them were given up (unknown outcome or failed) or never executed.
    public var indexOutcomes = IndexOutcomes()
    /// What the workload said while getting ready (``Workload/setupNotes``), e.g. that seeded rows were missing.
    public var setupNotes: [String] = []

    /// True when every threshold passed.
    public var thresholdsPassed: Bool { thresholdResults.allSatisfy(\.passed) }
}
