import Foundation
import ServiceLifecycle

/// What an operator (the dashboard) may do with a coordinator's runs right now.
public struct RunControlStatus: Sendable, Equatable {
    /// The coordinator keeps its workers between runs and accepts `startNextRun(_:)` once a run has finished.
    public var keepsWorkers: Bool
    /// Runs started so far (0: an interactive coordinator still waiting for its first run).
    public var runsStarted: Int
    /// The current run's whole users (closed model) and arrival rate (open model), after any change by the operator.
    public var users: Int
    public var rate: Double
}

extension FleetCoordinator {
    /// Changes the whole users (closed model) or arrival rate (open model) of the running run. The coordinator divides
    /// the new total among the live workers by capacity (whole users, adding up exactly) and sends each its share at
    /// once; workers apply it on their engine's next tick. Throws `.actionRefused` when no run is running and for
    /// fixed-total or staged runs.
    public func adjustLoad(users: Int? = nil, rate: Double? = nil) async throws(FleetError) {
        try await state.adjustLoad(users: users, rate: rate)
    }

    /// Starts another run on the connected workers once the previous one has finished (an interactive coordinator,
    /// `CoordinatorConfiguration.keepWorkers`). The run gets its own journal, statistics and results; workers that
    /// connect later join it. Returns its id.
    @discardableResult
    public func startNextRun(_ run: FleetRunConfiguration) async throws(FleetError) -> String {
        try await state.startNextRun(run)
    }

    /// What the operator may change now.
    public func runControlStatus() async -> RunControlStatus {
        await state.runControlStatus()
    }

    /// The results file of one run of an interactive coordinator: `distributed_results.json` becomes
    /// `distributed_results-<run id>.json` beside it.
    public static func resultsPath(_ base: String, runID: String) -> String {
        let url = URL(fileURLWithPath: base)
        let stem = url.deletingPathExtension().lastPathComponent
        let name = url.pathExtension.isEmpty ? "\(stem)-\(runID)" : "\(stem)-\(runID).\(url.pathExtension)"
        return url.deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// Serves an interactive coordinator until the task is cancelled or a graceful shutdown begins: the worker port,
    /// the timer, and every finished run, whose results are written (to `resultsPath` and to its per-run name, see
    /// ``resultsPath(_:runID:)``) and handed to `onRunFinished`. A run still under way at shutdown is stopped and
    /// reported first (waiting at most twice the liveness timeout); then the idle workers are told to exit.
    public func serveRuns(onRunFinished: @escaping @Sendable (DistributedResults) async -> Void) async throws {
        let serving = Task { try await self.server.serve() }
        var reported: String?
        func reportFinishedRun() async {
            guard let results = await state.finishedResults, results.runID != reported else { return }
            reported = results.runID
            if let path = configuration.resultsPath {
                do {
                    try results.write(to: path)
                    try results.write(to: Self.resultsPath(path, runID: results.runID))
                } catch {
                    logger.error("results could not be written", metadata: ["run": "\(results.runID)", "error": "\(error)"])
                }
            }
            await onRunFinished(results)
        }
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            await state.tick()
            await reportFinishedRun()
            try? await Task.sleep(for: .milliseconds(100))
        }
        // Shutdown, outside the cancelled task: finish the run under way, then let the workers go.
        let shared = self.state
        let timeout = configuration.livenessTimeout * 2
        await Task.detached {
            if await shared.phase != .finished {
                await shared.beginStop(reason: "coordinator-shutdown")
                let deadline = ContinuousClock.now + timeout
                while await shared.phase != .finished, ContinuousClock.now < deadline {
                    await shared.tick()
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
        }.value
        await reportFinishedRun()
        await state.dismissWorkers()
        // Let the workers read their Finished messages before the server goes away.
        await Task.detached { try? await Task.sleep(for: .milliseconds(200)) }.value
        server.beginGracefulShutdown()
        try await serving.value
    }
}

extension CoordinatorState {
    func runControlStatus() -> RunControlStatus {
        RunControlStatus(keepsWorkers: configuration.keepWorkers, runsStarted: runsStarted, users: currentUsers, rate: currentRate)
    }
}
