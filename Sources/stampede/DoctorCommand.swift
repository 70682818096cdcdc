import ArgumentParser
import CQLClient
import CQLProtocol
import Foundation
import Verification

/// `stampede doctor`: the pre-run checklist, automated.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the cluster before a run: nodes, versions, schema, replication vs consistency, ports, clocks.",
        discussion: "Each check prints OK, WARN or FAIL with a one-line fix. Exit code 1 when any check fails."
    )

    @OptionGroup var cluster: VerifyCommand.ClusterOptions

    @Option(help: "The consistency level the run will use.")
    var consistency = "ONE"
    @Option(help: "The coordinator's host:port to probe (as workers would reach it).")
    var coordinator: String?
    @Option(name: .customLong("worker-clock"), help: "A worker's measured clock offset, NAME=MILLISECONDS (repeatable).")
    var workerClocks: [String] = []
    @Flag(name: .customLong("no-node-clocks"), help: "Do not compare this machine's clock with the nodes'.")
    var noNodeClocks = false
    @Flag(help: "Print the report as JSON.")
    var json = false
    @Option(name: .customLong("metrics-snapshot"), help: "Also save a server-metrics snapshot (system_views) here, for `verify --metrics-before`.")
    var metricsSnapshot: String?

    func run() async throws {
        guard let level = CQLConsistency(name: consistency) else { throw ValidationError("unknown consistency '\(consistency)'") }
        var offsets: [(name: String, offset: Duration)] = []
        for entry in workerClocks {
            let parts = entry.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let millis = Int64(parts[1]) else {
                throw ValidationError("--worker-clock takes NAME=MILLISECONDS, got '\(entry)'")
            }
            offsets.append((String(parts[0]), .milliseconds(millis)))
        }
        var options = DoctorOptions(
            contactPoints: cluster.contactPoints.split(separator: ",").map(String.init), keyspace: cluster.keyspace,
            consistency: level, coordinatorAddress: coordinator, workerClockOffsets: offsets, checkNodeClocks: !noNodeClocks)
        options.connection.credentials = cluster.sessionConfiguration().connection.credentials
        let report = await Doctor(options: options).run()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.rendered())
        }
        if let metricsSnapshot {
            var configuration = CQLSessionConfiguration(contactPoints: options.contactPoints)
            configuration.connection = options.connection
            configuration.connectionsPerHost = 1
            let session = try await CQLSession.connect(configuration)
            let snapshot = await ServerMetricsCollector(keyspace: cluster.keyspace, connection: options.connection).snapshot(session: session)
            await session.close()
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(snapshot).write(to: URL(fileURLWithPath: metricsSnapshot))
            let unavailable = snapshot.nodes.filter { $0.virtualTablesUnavailable != nil }.count
            print("server metrics snapshot of \(snapshot.nodes.count) node(s) written to \(metricsSnapshot)"
                  + (unavailable > 0 ? " (\(unavailable) without system_views: not available on this server)" : ""))
        }
        if report.hasFailures { throw ExitCode.failure }
    }
}
