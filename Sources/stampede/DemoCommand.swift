import ArgumentParser
import CQLClient
import CQLServer
import Fleet
import Foundation
import LoadEngine
import Logging
import NIOConcurrencyHelpers
import Verification

/// `stampede demo`: the whole mission on one machine — an embedded 3-node cluster, the chat schema and seed data,
/// a coordinator with its dashboard, local worker processes writing an exact total, then verification.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the whole thing locally: embedded 3-node cluster, coordinator + dashboard, 4 workers, 1,000,000 messages, verification.",
        discussion: """
            Examples:
              stampede demo                                   (1,000,000 messages, 4 workers, dashboard on http://127.0.0.1:8089)
              stampede demo --messages 100000 --workers 2     (a smaller run)
            Everything listens on loopback. Results, reports and the verification report go to --report-dir.
            Exit status: 0 when the run completed and verification found every acknowledged message; 1 otherwise.
            """
    )

    @Option(help: "Messages to write (an exact total).")
    var messages: UInt64 = 1_000_000
    @Option(help: "Local worker processes.")
    var workers = 4
    @Option(help: "Nodes of the embedded cluster (127.0.0.1, 127.0.0.2, ... on --cql-port).")
    var nodes = 3
    @Option(name: .customLong("cql-port"), help: "CQL port of the embedded cluster.")
    var cqlPort = 9042
    @Option(name: .customLong("coordinator-port"), help: "gRPC port of the coordinator (loopback).")
    var coordinatorPort = 5557
    @Option(name: .customLong("web-port"), help: "Port of the dashboard on 127.0.0.1 (0 disables it).")
    var webPort = 8089
    @Option(help: "Writes in flight per worker.")
    var concurrency = 128
    @Option(name: .customLong("chunk-size"), help: "Messages per leased chunk.")
    var chunkSize: UInt64 = 5_000
    @Option(name: .customLong("seed-users"), help: "Users to seed before the run.")
    var seedUsers = 2_000
    @Option(name: .customLong("seed-conversations"), help: "Conversations to seed before the run.")
    var seedConversations = 500
    @Option(name: .customLong("report-dir"), help: "Where results and reports are written.")
    var reportDirectory = "stampede-demo"
    @Flag(name: .customLong("no-verify"), help: "Skip reading the messages back.")
    var noVerify = false
    @Flag(help: "Keep the dashboard (and the cluster) up after the run until Ctrl-C, to look around.")
    var hold = false
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "warning"

    func validate() throws {
        guard messages > 0 else { throw ValidationError("--messages must be at least 1") }
        guard (1...64).contains(workers) else { throw ValidationError("--workers must be from 1 to 64") }
        guard (1...8).contains(nodes) else { throw ValidationError("--nodes must be from 1 to 8") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .warning
        CommandLogging.bootstrap(level: level)
        let logger = Logger(label: "stampede.demo")
        try FileManager.default.createDirectory(atPath: reportDirectory, withIntermediateDirectories: true)
        let clock = ContinuousClock()
        let demoStart = clock.now

        // 1. The cluster.
        step("starting the embedded cluster (\(nodes) node\(nodes == 1 ? "" : "s"))")
        let cluster: EmbeddedCQLCluster
        do {
            cluster = try await EmbeddedCQLCluster.start(EmbeddedCQLServerConfiguration(host: "127.0.0.1", port: cqlPort, nodes: nodes, summaryInterval: .seconds(3600)))
        } catch {
            throw CommandLineError("cannot start the embedded cluster on port \(cqlPort): \(error) (is another server using it? try --cql-port)")
        }
        let contactPoints = cluster.endpoints.map { "\($0.host):\($0.port)" }
        detail("nodes: \(contactPoints.joined(separator: ", "))")
        var exitCode: Int32 = 0
        do {
            exitCode = try await runDemo(contactPoints: contactPoints, logger: logger)
        } catch {
            try? await cluster.shutdown()
            throw error
        }
        try? await cluster.shutdown()
        let total = clock.now - demoStart
        detail(String(format: "demo finished in %.1f s", Double(total.components.seconds) + Double(total.components.attoseconds) / 1e18))
        if exitCode != 0 { throw ExitCode(exitCode) }
    }

    private func runDemo(contactPoints: [String], logger: Logger) async throws -> Int32 {
        // 2. Schema and seed data.
        step("applying the chat schema and seeding \(seedUsers) users, \(seedConversations) conversations")
        let session = try await CQLSession.connect(CQLSessionConfiguration(contactPoints: contactPoints), logger: logger)
        defer { Task { await session.close() } }
        for statement in ChatSchema.statements() { try await session.run(statement) }
        var seedOptions = ChatSeedOptions()
        seedOptions.users = seedUsers
        seedOptions.conversations = seedConversations
        let seeded = try await ChatSeeder(options: seedOptions).seed(session: session)
        detail("seeded \(seeded.users) users, \(seeded.directConversations) direct and \(seeded.groupConversations) group conversations, "
               + "\(seeded.memberships) memberships (\(seeded.rowsWritten) rows in \(String(format: "%.1f", seeded.elapsedSeconds)) s)")

        // The Cassandra side before the run (the embedded server exposes no system_views: reported as such).
        let serverMetrics = await ServerMetricsCapture.begin(
            session: CQLSessionConfiguration(contactPoints: contactPoints), keyspace: ChatSchema.keyspace, logger: logger)

        // 3. The coordinator, with its dashboard.
        let identity = RunIdentity.generate()
        let resultsPath = (reportDirectory as NSString).appendingPathComponent("distributed_results.json")
        let run = FleetRunConfiguration(
            runID: identity.id, runEpochMillis: 0, workload: "chat-write", contactPoints: contactPoints, keyspace: ChatSchema.keyspace,
            consistency: "ONE", model: .fixedTotal, target: messages, chunkSize: min(chunkSize, max(1, messages / UInt64(workers * 4))),
            concurrency: concurrency, seededRows: true)
        let coordinatorConfiguration = CoordinatorConfiguration(
            host: "127.0.0.1", port: coordinatorPort, token: nil, expectWorkers: workers, livenessTimeout: .seconds(5),
            journalDirectory: (reportDirectory as NSString).appendingPathComponent("runs"), resultsPath: resultsPath,
            version: Stampede.version, run: run, resume: false)
        let coordinator: FleetCoordinator
        do {
            coordinator = try FleetCoordinator(configuration: coordinatorConfiguration, logger: logger)
        } catch {
            throw CommandLineError("\(error)")
        }
        step("coordinator on 127.0.0.1:\(coordinatorPort), run \(run.runID): \(messages) messages by \(workers) workers")
        let dashboard = try CoordinatorDashboard.start(coordinator: coordinator, port: webPort, reportDirectory: reportDirectory, logger: logger)
        if let url = dashboard?.url { detail("dashboard: \(url)") }

        // 4. Workers, progress, results.
        let progress = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(2))
                let now = await coordinator.progress()
                print(CoordinatorProgressLine.render(now))
            }
        }
        let results: DistributedResults
        let spawned: [Process]
        do {
            async let finished = coordinator.runToCompletion()
            let port = try await coordinator.listeningPort()
            spawned = try LocalWorkerProcesses.spawn(count: workers, coordinatorPort: port, token: nil, logLevel: logLevel)
            results = try await finished
        } catch {
            progress.cancel()
            await dashboard?.stop()
            throw error
        }
        progress.cancel()
        for process in spawned { process.waitUntilExit() }
        print(CoordinatorProgressLine.summary(results))
        let serverDelta = await serverMetrics.finish(logger: logger)
        print(serverDelta.rendered())
        let serverMetricsPath = (reportDirectory as NSString).appendingPathComponent("server_metrics.json")
        try? ServerMetricsCapture.json(serverDelta).write(to: URL(fileURLWithPath: serverMetricsPath))
        let reportFiles = await dashboard?.finish(results: results, serverMetrics: serverDelta.reportSection) ?? []

        // 5. Verification.
        var verified = true
        if !noVerify {
            step("verifying: reading every message back")
            let expectation = try RunExpectation.load(resultsFile: resultsPath)
            let report = try await Verifier.verify(session: session, expectation: expectation)
            print(report.rendered())
            verified = report.passed
            let reportPath = (reportDirectory as NSString).appendingPathComponent("verification.json")
            try JSONEncoder().encode(report).write(to: URL(fileURLWithPath: reportPath))
        }
        step("reports")
        detail("results: \(resultsPath)")
        detail("server-side metrics: \(serverMetricsPath)")
        for path in reportFiles { detail(path) }
        if let url = dashboard?.url {
            if hold {
                detail("the dashboard stays at \(url); press Ctrl-C to finish")
                await Self.waitForInterrupt()
            } else {
                detail("the dashboard at \(url) closes now (--hold keeps it open); the HTML report keeps its charts")
            }
        }
        await dashboard?.stop()
        return results.completed && verified ? 0 : 1
    }

    /// Returns when SIGINT or SIGTERM arrives.
    static func waitForInterrupt() async {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let fired = NIOLockedValueBox(false)
            let sources = [SIGINT, SIGTERM].map { DispatchSource.makeSignalSource(signal: $0, queue: .global()) }
            for source in sources {
                source.setEventHandler {
                    guard fired.withLockedValue({ value in defer { value = true }; return !value }) else { return }
                    sources.forEach { $0.cancel() }
                    continuation.resume()
                }
                source.resume()
            }
        }
    }

    private func step(_ text: String) { print("==> \(text)") }
    private func detail(_ text: String) { print("    \(text)") }
}

/// An error of the demo, with a message that says what to do.
struct CommandLineError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
