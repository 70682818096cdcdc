import ArgumentParser
import Dispatch
import Fleet
import Foundation
import Logging
import Synchronization

extension DistributedRun {
    /// An interactive coordinator (`stampede coordinator --keep-workers`), in the spirit of Locust's web UI: the
    /// dashboard and the workers stay up between runs. The flags' run (if they give one) starts once the workers are
    /// connected; later runs start from the dashboard's form on the connected workers. Every finished run's results
    /// and reports are written under its own run id. Ctrl-C stops the run under way; Ctrl-C while idle (or a second one)
    /// shuts the coordinator down and the workers exit. Returns the results of every run, in order.
    func runKeepingWorkers(logger: Logger) async throws -> [DistributedResults] {
        let coordinator = try await makeCoordinator(logger: logger)
        let dashboard = try startDashboard(coordinator, logger: logger)
        if let url = dashboard?.url { Self.say("dashboard: \(url) (start runs there; Ctrl-C stops a run, Ctrl-C while idle quits)") }
        let progress = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(2))
                let now = await coordinator.progress()
                if now.phase != .finished { Self.say(CoordinatorProgressLine.render(now)) }
            }
        }
        defer { progress.cancel() }
        let finished = FinishedRuns()
        let resultsPath = configuration.resultsPath
        let serving = Task {
            try await coordinator.serveRuns { results in
                finished.append(results)
                Self.say(CoordinatorProgressLine.summary(results))
                if let path = resultsPath {
                    Self.say("results written to \(FleetCoordinator.resultsPath(path, runID: results.runID)) (and \(path))")
                }
                if let dashboard {
                    let reports = await dashboard.finish(results: results)
                    if let first = reports.first { Self.say("reports written to \((first as NSString).deletingLastPathComponent)") }
                }
                Self.say("workers stay connected: start the next run from the dashboard, or press Ctrl-C to quit")
            }
        }
        // Ctrl-C / SIGTERM: stop the run under way; when there is none, shut down.
        let (shutdown, requestShutdown) = AsyncStream<Void>.makeStream()
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let signals = [SIGINT, SIGTERM].map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                Task {
                    switch await coordinator.progress().phase {
                    case .running, .waitingForWorkers:
                        FileHandle.standardError.write(Data("stopping the run (signal \(number)); Ctrl-C again quits\n".utf8))
                        await coordinator.stop(reason: "operator")
                    case .stopping, .finished:
                        FileHandle.standardError.write(Data("shutting down (signal \(number)); the workers exit\n".utf8))
                        requestShutdown.yield()
                    }
                }
            }
            source.resume()
            return source
        }
        defer { signals.forEach { $0.cancel() } }
        var spawned: [Process] = []
        do {
            if localWorkers > 0 {
                let port = try await coordinator.listeningPort()
                spawned = try LocalWorkerProcesses.spawn(
                    count: localWorkers, coordinatorPort: port, token: configuration.token, logLevel: logLevel)
            }
            Self.say("coordinator listening on \(configuration.host):\(configuration.port); workers stay connected between runs")
            await withTaskCancellationHandler {
                for await _ in shutdown { break }
            } onCancel: {
                requestShutdown.finish()
            }
            serving.cancel()
            try await serving.value
        } catch {
            serving.cancel()
            for process in spawned where process.isRunning { process.terminate() }
            await dashboard?.stop()
            throw error
        }
        for process in spawned { process.waitUntilExit() }
        await dashboard?.stop()
        return finished.all
    }
}

/// The runs an interactive coordinator finished, in order.
private final class FinishedRuns: Sendable {
    private let list = Mutex<[DistributedResults]>([])
    func append(_ results: DistributedResults) { list.withLock { $0.append(results) } }
    var all: [DistributedResults] { list.withLock { $0 } }
}
