import Foundation
import LoadEngine

/// Everything a live view of the run (the dashboard, a terminal UI) needs, merged exactly from the workers' intervals.
public struct CoordinatorLiveView: Sendable {
    /// One connected (or lost, or finished) worker.
    public struct Worker: Sendable {
        public var id: String
        public var host: String
        public var state: WorkerRegistry.State
        public var wasLost: Bool
        /// Seconds since the coordinator last heard from it.
        public var secondsSinceHeartbeat: Double
        /// Its merged metrics over the run.
        public var metrics: MetricsSnapshot
        /// Latest self-reported health (CPU, event-loop lag, ...), by name.
        public var health: [String: Double]
        /// Estimated clock offset (worker clock minus coordinator clock), in nanoseconds.
        public var clockOffsetNanos: Int64 = 0
    }

    public var progress: CoordinatorProgress
    public var configuration: FleetRunConfiguration
    /// Wall-clock start of the run, once it started.
    public var startedAt: Date?
    /// Time since the start.
    public var elapsed: Duration
    /// Whole-run merged metrics.
    public var total: MetricsSnapshot
    /// Merged metrics per second of the run (second 0 is the start), complete seconds and the current one.
    public var perSecond: [Int: MetricsSnapshot]
    public var workers: [Worker]
}

extension CoordinatorState {
    func liveView() -> CoordinatorLiveView {
        let now = ContinuousClock.now
        var startedAt: Date?
        var elapsed = Duration.zero
        if case .running(let wallNanos, let instant) = phase {
            startedAt = Date(timeIntervalSince1970: Double(wallNanos) / 1e9)
            elapsed = instant < now ? now - instant : .zero
        }
        let workers = registry.workers.values.sorted { $0.id < $1.id }.map { worker in
            CoordinatorLiveView.Worker(
                id: worker.id, host: hosts[worker.id] ?? worker.host, state: worker.state, wasLost: worker.wasLost,
                secondsSinceHeartbeat: Double((now - worker.lastHeard).components.seconds),
                metrics: stats.perWorker[worker.id] ?? MetricsSnapshot(), health: stats.latestHealth[worker.id] ?? [:],
                clockOffsetNanos: worker.clockOffsetNanos)
        }
        return CoordinatorLiveView(
            progress: progress(), configuration: configuration.run, startedAt: startedAt, elapsed: elapsed, total: stats.total,
            perSecond: stats.perSecond, workers: workers)
    }
}

extension FleetCoordinator {
    /// A consistent view of the run for live displays.
    public func liveView() async -> CoordinatorLiveView {
        await state.liveView()
    }
}
