import ArgumentParser
import CQLClient
import Dispatch
import Fleet
import Foundation
import LoadEngine
import Logging

/// One distributed run driven from this process, shared by `stampede coordinator` and `stampede run --local-workers`:
/// the coordinator (with its dashboard when a web port is given), worker processes spawned on this machine, live
/// progress, Ctrl-C handling, the summary and the results document.
struct DistributedRun {
    /// The dashboard beside the coordinator.
    struct Web {
        var host = "127.0.0.1"
        var port = 8089
        var basicAuth: String?
        var reportDirectory = "reports"
        var linger: Duration = .seconds(5)
    }

    var configuration: CoordinatorConfiguration
    /// Worker processes of this binary to spawn on this machine.
    var localWorkers = 0
    /// Passed to the spawned workers.
    var logLevel = "notice"
    /// nil: no dashboard.
    var web: Web?
    /// CQL statements to apply before the run (the chat schema or a profile's), nil for none.
    var schema: [String]?
    /// Print the progress line every 2 s.
    var showProgress = true
    /// Check the cluster before the run (`stampede doctor`) and the workers' clock skew once they are connected.
    var doctor = false

    /// Runs to the end and returns the results (also written to `configuration.resultsPath`).
    func run(logger: Logger) async throws -> DistributedResults {
        let coordinator = try await makeCoordinator(logger: logger)
        if doctor, !configuration.run.contactPoints.isEmpty {
            let report = await CoordinatorDoctor.checkCluster(configuration, logger: logger)
            Self.say(report.rendered())
            if report.hasFailures {
                throw ValidationError("the doctor found problems (FAIL above); fix them, or start without --doctor")
            }
        }
        // The Cassandra side before the run (system_views over CQL; reported as not exposed where absent).
        var serverMetrics: ServerMetricsCapture?
        if !configuration.run.contactPoints.isEmpty {
            serverMetrics = await ServerMetricsCapture.begin(run: configuration.run, logger: logger)
        }
        let dashboard = try startDashboard(coordinator, logger: logger)
        if let url = dashboard?.url { Self.say("dashboard: \(url)") }
        let showProgress = self.showProgress
        let progress = Task {
            while showProgress, !Task.isCancelled {
                try? await Task.sleep(for: .seconds(2))
                Self.say(CoordinatorProgressLine.render(await coordinator.progress()))
            }
        }
        defer { progress.cancel() }
        let clocks = Task {
            guard doctor else { return }
            if let lines = await CoordinatorDoctor.workerClockChecks(coordinator) { Self.say(lines) }
        }
        defer { clocks.cancel() }
        let running = Task { try await coordinator.runToCompletion() }
        // Ctrl-C / SIGTERM: stop the run; workers report and the results are still written.
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let signals = [SIGINT, SIGTERM].map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                FileHandle.standardError.write(Data("stopping the run (signal \(number)); workers are reporting...\n".utf8))
                Task { await coordinator.stop(reason: "operator") }
            }
            source.resume()
            return source
        }
        defer { signals.forEach { $0.cancel() } }
        var spawned: [Process] = []
        let results: DistributedResults
        do {
            var port = configuration.port
            if localWorkers > 0 || port == 0 {
                // The server listens once `runToCompletion` has started it.
                port = try await coordinator.listeningPort()
            }
            if localWorkers > 0 {
                spawned = try LocalWorkerProcesses.spawn(
                    count: localWorkers, coordinatorPort: port, token: configuration.token, logLevel: logLevel)
            }
            Self.say(
                "coordinator listening on \(configuration.host):\(port) for run \(configuration.run.runID); "
                    + "waiting for \(configuration.expectWorkers) worker(s)")
            results = try await withTaskCancellationHandler {
                try await running.value
            } onCancel: {
                Task { await coordinator.stop(reason: "operator") }
            }
        } catch {
            running.cancel()
            for process in spawned where process.isRunning { process.terminate() }
            await dashboard?.stop()
            throw error
        }
        for process in spawned { process.waitUntilExit() }
        Self.say(CoordinatorProgressLine.summary(results))
        if let path = configuration.resultsPath { Self.say("results written to \(path)") }
        let serverDelta = await serverMetrics?.finish(logger: logger)
        if let serverDelta {
            Self.say(serverDelta.rendered())
            let directory = configuration.resultsPath.map { ($0 as NSString).deletingLastPathComponent } ?? ""
            let path = (directory as NSString).appendingPathComponent("server_metrics.json")
            if (try? ServerMetricsCapture.json(serverDelta).write(to: URL(fileURLWithPath: path))) != nil {
                Self.say("server-side metrics written to \(path)")
            }
        }
        if let dashboard, let web {
            let reports = await dashboard.finish(results: results, serverMetrics: serverDelta?.reportSection)
            if let first = reports.first { Self.say("reports written to \((first as NSString).deletingLastPathComponent)") }
            if web.linger > .zero {
                Self.say("the dashboard stays at \(dashboard.url) for \(web.linger)")
                try? await Task.sleep(for: web.linger)
            }
            await dashboard.stop()
        }
        return results
    }

    /// The exit status of a finished run: 99 when a threshold failed (as `stampede run`), 1 when a fixed total was
    /// not completed, else 0.
    static func exitCode(for results: DistributedResults) -> Int32 {
        if !results.thresholdsPassed { return RunExitCode.thresholdsFailed }
        return results.completed ? RunExitCode.success : RunExitCode.runFailed
    }

    static func apply(_ statements: [String], run: FleetRunConfiguration, logger: Logger) async throws {
        var configuration = CQLSessionConfiguration(contactPoints: run.contactPoints)
        if !run.username.isEmpty {
            configuration.connection.credentials = CQLCredentials(username: run.username, password: run.password)
        }
        let session = try await CQLSession.connect(configuration, logger: logger)
        do {
            for statement in statements { try await session.run(statement) }
        } catch {
            await session.close()
            throw error
        }
        await session.close()
    }

    /// The coordinator of this configuration, with the run's schema applied on its contact points.
    func makeCoordinator(logger: Logger) async throws -> FleetCoordinator {
        let coordinator: FleetCoordinator
        do {
            coordinator = try FleetCoordinator(configuration: configuration, logger: logger)
        } catch {
            throw ValidationError(error.description)
        }
        if let schema, !schema.isEmpty { try await Self.apply(schema, run: configuration.run, logger: logger) }
        return coordinator
    }

    /// The coordinator's dashboard, when the web options ask for one.
    func startDashboard(_ coordinator: FleetCoordinator, logger: Logger) throws -> CoordinatorDashboard? {
        try web.flatMap { web in
            try CoordinatorDashboard.start(
                coordinator: coordinator, host: web.host, port: web.port, basicAuth: web.basicAuth, token: configuration.token,
                reportDirectory: web.reportDirectory, logger: logger)
        }
    }

    /// Reads and validates a workload profile once; errors name the file and line.
    static func readProfile(_ path: String) throws -> (text: String, profile: WorkloadProfile) {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ValidationError("cannot read the profile \(path): \(error.localizedDescription)")
        }
        do {
            return (text, try WorkloadProfileParser.parse(text, file: path))
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// Writes a line to standard output at once (unbuffered, so scripts and logs see progress live).
    static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
