import Dashboard
import Fleet
import Foundation
import LoadEngine
import NIOConcurrencyHelpers

/// Feeds the dashboard from a running coordinator: snapshots from the coordinator's live view, start and stop
/// from the dashboard's buttons. A coordinator serves one run, so "start" starts it early with the workers that are
/// connected, and load adjustments are refused with a message saying so.
final class FleetDashboardSource: DashboardDataSource {
    let coordinator: FleetCoordinator
    private let version: String
    private struct State {
        var series = SecondSeriesCache()
        /// Per worker: (operations, instant) at the previous snapshot, for its current rate.
        var lastWorkerSample: [String: (operations: UInt64, at: ContinuousClock.Instant)] = [:]
        var workerRates: [String: Double] = [:]
        var results: [UInt8]?
        /// The run's start and length, kept once it has ended (the live view only knows them while it runs).
        var startedAt: Date?
        var elapsed: Duration = .zero
    }
    private let state = NIOLockedValueBox(State())

    init(coordinator: FleetCoordinator, version: String) {
        self.coordinator = coordinator
        self.version = version
    }

    /// Keeps the final `distributed_results.json` so reports carry it verbatim.
    func finish(results: DistributedResults) {
        let bytes = try? JSONEncoder().encode(results)
        state.withLockedValue { state in
            state.results = bytes.map { Array($0) }
            state.elapsed = .milliseconds(Int64(results.totalTime * 1000))
        }
    }

    func snapshot() async -> RunSnapshot {
        let view = await coordinator.liveView()
        let now = ContinuousClock.now
        let currentSecond = Int(view.elapsed.components.seconds)
        let (series, rates, startedAt, elapsed) = state.withLockedValue { state -> ([SecondSample], [String: Double], Date?, Duration) in
            if view.startedAt != nil {
                state.startedAt = view.startedAt
                state.elapsed = max(state.elapsed, view.elapsed)
            }
            state.series.update(perSecond: view.perSecond, currentSecond: view.startedAt != nil ? currentSecond : Int(state.elapsed.components.seconds) + 1)
            for worker in view.workers {
                let operations = worker.metrics.combined.operations
                if let previous = state.lastWorkerSample[worker.id] {
                    let seconds = Double((now - previous.at).components.attoseconds) / 1e18 + Double((now - previous.at).components.seconds)
                    if seconds >= 0.5 {
                        state.workerRates[worker.id] = Double(operations - min(operations, previous.operations)) / seconds
                        state.lastWorkerSample[worker.id] = (operations, now)
                    }
                } else {
                    state.lastWorkerSample[worker.id] = (operations, now)
                }
            }
            return (state.series.samples, state.workerRates, state.startedAt, state.elapsed)
        }
        let runState: RunState
        switch view.progress.phase {
        case .waitingForWorkers: runState = .starting
        case .running: runState = .running
        case .stopping: runState = .stopping
        case .finished: runState = .finished
        }
        let latestComplete = view.perSecond.keys.max().map { $0 - 1 } ?? -1
        let workers = view.workers.map { worker in
            WorkerStatus(
                id: worker.id, host: worker.host, state: worker.state.rawValue, currentRPS: worker.state == .running ? rates[worker.id] ?? 0 : 0,
                total: worker.metrics.combined.successes, failures: worker.metrics.combined.failures, cpu: worker.health["cpu_utilization"],
                secondsSinceHeartbeat: worker.secondsSinceHeartbeat, joinedMidRun: false, wasLost: worker.wasLost)
        }
        let run = view.configuration
        var failures: [FailureRecord] = []
        for (name, metrics) in view.total.operations {
            for kind in ErrorKind.allCases where metrics.errors(kind) > 0 {
                failures.append(FailureRecord(operation: name, kind: kind, message: "\(kind) errors reported by workers", count: metrics.errors(kind)))
            }
        }
        return RunSnapshot(
            runID: run.runID, state: runState, workload: run.workload, loadDescription: Self.describe(run),
            startedAt: startedAt, elapsed: elapsed, target: run.target > 0 ? run.target : nil, plannedDuration: run.duration,
            completed: view.progress.completed, users: run.users > 0 ? run.users : nil, rate: run.rate > 0 ? run.rate : nil,
            total: view.total, recent: view.perSecond[latestComplete] ?? MetricsSnapshot(), series: series, failures: failures,
            workers: workers,
            configuration: ["contact_points": run.contactPoints.joined(separator: ","), "consistency": run.consistency,
                            "chunk_size": String(run.chunkSize), "concurrency": String(run.concurrency)],
            message: view.progress.lostWorkers.isEmpty ? nil : "lost workers: \(view.progress.lostWorkers.joined(separator: ", "))")
    }

    static func describe(_ run: FleetRunConfiguration) -> String {
        switch run.model {
        case .fixedTotal: "fixed total of \(run.target), \(run.concurrency) in flight per worker"
        case .closed: "\(run.users) users"
        case .open: "\(Int(run.rate)) ops/s"
        }
    }

    func start(_ request: RunStartRequest) async throws -> String {
        let progress = await coordinator.progress()
        guard progress.phase == .waitingForWorkers else {
            throw DashboardError(.actionRefused, "run \(progress.runID) is already \(progress.phase.rawValue); this coordinator serves one run — start a new coordinator for another")
        }
        await coordinator.start()
        return progress.runID
    }

    func stop() async throws {
        await coordinator.stop(reason: "stopped from the dashboard")
    }

    func adjust(_ adjustment: LoadAdjustment) async throws {
        throw DashboardError(.actionRefused, "changing users or rate while running is not supported by the coordinator yet")
    }

    func secondHistograms() async -> [SecondHistogram] {
        let view = await coordinator.liveView()
        return view.perSecond.keys.sorted().map { SecondHistogram(second: $0, histogram: view.perSecond[$0]!.combined.latency) }
    }

    func bundleContext() async -> RunBundleContext {
        let run = await coordinator.liveView().configuration
        return RunBundleContext(
            stampedeVersion: version,
            driverSettings: ["contact_points": run.contactPoints.joined(separator: ","), "consistency": run.consistency,
                             "concurrency_per_worker": String(run.concurrency), "keyspace": run.keyspace])
    }

    func resultsJSON() async -> [UInt8]? {
        state.withLockedValue { $0.results }
    }
}
