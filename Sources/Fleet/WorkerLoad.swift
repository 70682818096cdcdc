import LoadEngine

/// What a worker was told to run.
public struct WorkerAssignment: Sendable {
    public var configuration: FleetRunConfiguration
    public var workerID: String
    /// The start barrier on this process's monotonic clock (`MonotonicClock.nanoseconds()`).
    public var startMonotonicNanos: UInt64
    /// Rate and user runs: this worker's own index space starts here (disjoint across workers).
    public var indexBase: UInt64
    /// This worker's fraction (0–1) of the run's users or arrival rate; 1 for fixed-total runs.
    public var share: Double
}

/// One run of the load engine on a worker, as the fleet drives it. `LoadEngine.LoadRunner` conforms; tests use
/// simulated runners.
public protocol FleetRun: Sendable {
    /// Runs until the work source is exhausted or `stop()` is called. Calls `onInterval` once per second, in order,
    /// with that second's metrics (every sample in exactly one interval). Returns the final totals.
    func run(startingAt start: UInt64?, onInterval: @escaping @Sendable (IntervalReport) async -> Void) async throws
        -> MetricsSnapshot
    /// No new operation starts; in-flight ones finish and are recorded.
    func stop()
    /// This worker's new fraction of the run's users or arrival rate.
    func setShare(_ share: Double)
    /// Stop working on these chunks: the coordinator no longer counts them from this worker.
    func revokeChunks(_ ids: Set<UInt64>)
}

/// Makes the engine run for an assignment (connects to the database, builds the workload). The CLI supplies one
/// backed by the real CQL client; tests supply simulated ones.
public protocol FleetRunFactory: Sendable {
    func makeRun(for assignment: WorkerAssignment, source: any WorkSource) async throws -> any FleetRun
}

extension LoadRunner: FleetRun {
    public func run(startingAt start: UInt64?, onInterval: @escaping @Sendable (IntervalReport) async -> Void) async throws
        -> MetricsSnapshot
    {
        let outcome: EngineOutcome = try await run(startingAt: start, onInterval: onInterval)
        return outcome.totals
    }

    public func stop() {
        stop(.interrupted)
    }
}
