import CQLClient
import Dashboard
import Fleet
import Foundation
import LoadEngine
import Logging
import Verification

/// Server-side metrics around a run: a snapshot over CQL before it, one after, and the deltas for the console, the
/// HTML report and the bundle. Never fails the run: what cannot be read is reported as not exposed.
struct ServerMetricsCapture: Sendable {
    let collector: ServerMetricsCollector
    let session: CQLSessionConfiguration
    let before: ServerMetricsSnapshot

    /// Takes the "before" snapshot of every node the cluster reports (peers included).
    static func begin(session configuration: CQLSessionConfiguration, keyspace: String, logger: Logger) async -> ServerMetricsCapture {
        let collector = ServerMetricsCollector(keyspace: keyspace, connection: configuration.connection, logger: logger)
        return ServerMetricsCapture(
            collector: collector, session: configuration, before: await snapshot(collector, configuration, logger: logger))
    }

    /// Takes the "before" snapshot of a distributed run's cluster, as the coordinator reaches it.
    static func begin(run: FleetRunConfiguration, logger: Logger) async -> ServerMetricsCapture {
        var configuration = CQLSessionConfiguration(contactPoints: run.contactPoints)
        if !run.username.isEmpty {
            configuration.connection.credentials = CQLCredentials(username: run.username, password: run.password)
        }
        return await begin(session: configuration, keyspace: run.keyspace.isEmpty ? ChatSchema.keyspace : run.keyspace, logger: logger)
    }

    /// Takes the "after" snapshot and compares.
    func finish(logger: Logger) async -> ServerMetricsDelta {
        ServerMetricsDelta(before: before, after: await Self.snapshot(collector, session, logger: logger))
    }

    /// The delta as pretty JSON (`server_metrics.json`).
    static func json(_ delta: ServerMetricsDelta) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(delta)
    }

    static func snapshot(_ collector: ServerMetricsCollector, _ configuration: CQLSessionConfiguration, logger: Logger) async -> ServerMetricsSnapshot {
        do {
            let session = try await CQLSession.connect(configuration, logger: logger)
            let snapshot = await collector.snapshot(session: session)
            await session.close()
            return snapshot
        } catch {
            var node = NodeMetricsSnapshot(node: configuration.contactPoints.joined(separator: ","))
            node.virtualTablesUnavailable = "the cluster could not be reached: \(error)"
            node.sizeEstimatesUnavailable = "the cluster could not be reached"
            return ServerMetricsSnapshot(keyspace: collector.keyspace, nodes: [node])
        }
    }
}

extension ServerMetricsDelta {
    /// The report's "Cassandra side" section.
    var reportSection: ServerSideMetrics {
        let table = reportTable()
        return ServerSideMetrics(
            keyspace: keyspace, secondsBetweenSnapshots: seconds, nodes: nodes, columns: table.columns,
            tables: table.rows.map { ServerSideMetrics.TableRow(table: $0.table, values: $0.values) },
            nodeFigures: table.nodeFigures.map { ServerSideMetrics.NodeFigure(name: $0.name, value: $0.value) },
            notes: table.notes)
    }
}
