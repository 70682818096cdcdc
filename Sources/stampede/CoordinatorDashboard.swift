import Dashboard
import Fleet
import Foundation
import Logging
import ServiceLifecycle

/// The dashboard of a coordinator, run beside it: started on a port, told the final results, and stopped.
final class CoordinatorDashboard: Sendable {
    let source: FleetDashboardSource
    let server: DashboardServer
    private let group: ServiceGroup
    private let task: Task<Void, Never>
    let url: String
    let reportDirectory: String?

    private init(source: FleetDashboardSource, server: DashboardServer, group: ServiceGroup, task: Task<Void, Never>, url: String, reportDirectory: String?) {
        self.source = source
        self.server = server
        self.group = group
        self.task = task
        self.url = url
        self.reportDirectory = reportDirectory
    }

    /// Starts serving `coordinator` on `host:port`; `nil` when `port` is 0 (disabled).
    static func start(
        coordinator: FleetCoordinator, host: String = "127.0.0.1", port: Int, basicAuth: String? = nil, token: String? = nil,
        reportDirectory: String?, logger: Logger
    ) throws -> CoordinatorDashboard? {
        guard port > 0 else { return nil }
        let configuration: DashboardConfiguration
        do {
            configuration = try DashboardConfiguration(
                host: host, port: port, basicAuth: try basicAuth.map { try BasicCredentials(parsing: $0) }, token: token,
                reportDirectory: reportDirectory, stampedeVersion: Stampede.version
            ).validated()
        } catch {
            throw CommandLineError("dashboard: \(error)")
        }
        let source = FleetDashboardSource(coordinator: coordinator, version: Stampede.version)
        let server = DashboardServer(configuration: configuration, dataSource: source, logger: logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [.init(service: server.makeApplication())], logger: logger))
        let task = Task {
            do {
                try await group.run()
            } catch {
                logger.error("the dashboard stopped: \(error) (is port \(port) in use? choose another with --web-port)")
            }
        }
        return CoordinatorDashboard(
            source: source, server: server, group: group, task: task, url: "http://\(host):\(port)", reportDirectory: reportDirectory)
    }

    /// Hands the final results to the dashboard and writes the reports into the report directory.
    @discardableResult
    func finish(results: DistributedResults, serverMetrics: ServerSideMetrics? = nil) async -> [String] {
        source.finish(results: results)
        // After `finish`, which starts a new run's state when the run id changed.
        source.setServerMetrics(serverMetrics)
        do {
            return try await server.writeReports()
        } catch {
            print("    reports could not be written: \(error)")
            return []
        }
    }

    /// Stops serving, letting open requests finish.
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.value
    }
}

/// Worker processes of this binary on this machine, pointed at a local coordinator.
enum LocalWorkerProcesses {
    static func spawn(count: Int, coordinatorPort: Int, token: String?, logLevel: String) throws -> [Process] {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        var processes: [Process] = []
        for index in 0..<count {
            let process = Process()
            process.executableURL = executable
            process.arguments = ["worker", "--coordinator", "127.0.0.1:\(coordinatorPort)", "--id", "local-\(index + 1)", "--log-level", logLevel]
            var environment = ProcessInfo.processInfo.environment
            if let token { environment["STAMPEDE_TOKEN"] = token }
            process.environment = environment
            do {
                try process.run()
            } catch {
                for started in processes where started.isRunning { started.terminate() }
                throw CommandLineError("cannot start worker process \(executable.path): \(error)")
            }
            processes.append(process)
        }
        return processes
    }
}

/// The coordinator's one-line progress and end-of-run summary, shared by `coordinator` and `demo`.
enum CoordinatorProgressLine {
    static func render(_ now: CoordinatorProgress) -> String {
        let workers = now.workers.values.filter { $0 == .running || $0 == .registered }.count
        var line = "[\(now.phase.rawValue)] \(now.completed)"
        if now.target > 0 { line += "/\(now.target)" }
        line += " · \(workers) workers · \(Int(now.lastSecondRate)) ops/s · p50 \(now.p50Millis) ms · p99 \(now.p99Millis) ms"
        if now.failures > 0 { line += " · \(now.failures) failed" }
        if !now.lostWorkers.isEmpty { line += " · lost: \(now.lostWorkers.joined(separator: ", "))" }
        return line
    }

    static func summary(_ results: DistributedResults) -> String {
        var lines = [
            "run \(results.runID): \(results.totalMessages) messages in \(String(format: "%.2f", results.totalTime)) s "
                + "(\(Int(results.throughput)) msg/s) · p50 \(results.p50) ms · p95 \(results.p95) ms · p99 \(results.p99) ms "
                + "· p99.9 \(results.p999) ms · max \(results.max) ms · stop: \(results.stopReason)",
            "failures \(results.failures) · unknown outcomes \(results.unknownOutcomes) · retries \(results.retries)",
        ]
        for worker in results.workers {
            lines.append(
                "  \(worker.workerID) [\(worker.status)]: \(worker.totalMessages) messages, \(Int(worker.throughput)) msg/s, "
                    + "\(worker.failures) failed")
        }
        if !results.lostWorkers.isEmpty { lines.append("lost workers: \(results.lostWorkers.joined(separator: ", "))") }
        for threshold in results.thresholds {
            lines.append("threshold \(threshold.expression): \(threshold.passed ? "passed" : "FAILED") (observed \(threshold.observedText))")
        }
        return lines.joined(separator: "\n")
    }
}
