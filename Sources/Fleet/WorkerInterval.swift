import LoadEngine

/// One interval of statistics from one worker, numbered so that resends are recognised.
public struct WorkerInterval: Sendable, Equatable {
    /// Per-worker sequence number, from 1, gap-free.
    public var sequence: UInt64
    /// Seconds since the run's start instant: covers [second, second + 1).
    public var second: Int
    public var metrics: MetricsSnapshot
    /// How the load generator was doing (cpu_percent, schedule_lag_ms, ...).
    public var health: [String: Double]
    /// Self-diagnosis notes.
    public var notes: [String]

    public init(sequence: UInt64, second: Int, metrics: MetricsSnapshot, health: [String: Double] = [:], notes: [String] = []) {
        self.sequence = sequence
        self.second = second
        self.metrics = metrics
        self.health = health
        self.notes = notes
    }
}
