import CQLClient
import CQLProtocol
import Foundation
import Logging

/// Takes ``ServerMetricsSnapshot``s over CQL, node by node (virtual tables are node-local), without JMX.
///
/// ```swift
/// let collector = ServerMetricsCollector(keyspace: "realtime_chat_app")
/// let before = await collector.snapshot(session: session)
/// // ... the run ...
/// let after = await collector.snapshot(session: session)
/// print(ServerMetricsDelta(before: before, after: after).rendered())
/// ```
public struct ServerMetricsCollector: Sendable {
    public var keyspace: String
    public var connection: CQLConnectionConfiguration
    let logger: Logger

    /// Per-table metric tables of `system_views` (one row per keyspace and table).
    public static let tableMetricTables = [
        "local_read_latency", "local_write_latency", "local_scan_latency", "coordinator_read_latency",
        "coordinator_write_latency", "coordinator_scan_latency", "tombstones_per_read", "rows_per_read", "disk_usage",
        "max_partition_size", "max_sstable_size",
    ]

    public init(keyspace: String, connection: CQLConnectionConfiguration = CQLConnectionConfiguration(),
                logger: Logger = Logger(label: "stampede.server-metrics")) {
        self.keyspace = keyspace
        var connection = connection
        connection.heartbeatInterval = nil
        self.connection = connection
        self.logger = logger
    }

    /// A snapshot of every node the session knows.
    public func snapshot(session: CQLSession) async -> ServerMetricsSnapshot {
        await snapshot(nodes: session.hosts.map(\.address))
    }

    /// A snapshot of the given nodes. Never throws: what cannot be read is noted in the node's snapshot.
    public func snapshot(nodes: [CQLHostAddress]) async -> ServerMetricsSnapshot {
        var snapshots: [NodeMetricsSnapshot] = []
        for address in nodes {
            snapshots.append(await snapshot(node: address))
        }
        return ServerMetricsSnapshot(keyspace: keyspace, takenAt: Date(), nodes: snapshots)
    }

    func snapshot(node address: CQLHostAddress) async -> NodeMetricsSnapshot {
        var snapshot = NodeMetricsSnapshot(node: address.description)
        let node: NodeConnection
        do {
            node = try await NodeConnection.open(address, configuration: connection, logger: logger)
        } catch {
            snapshot.virtualTablesUnavailable = "node not reachable: \(Doctor.describe(error))"
            snapshot.sizeEstimatesUnavailable = "node not reachable"
            return snapshot
        }
        snapshot.releaseVersion = try? await node.rows("SELECT release_version FROM system.local WHERE key = 'local'").first?["release_version"]?.text
        await readVirtualTables(node, into: &snapshot)
        await readSizeEstimates(node, into: &snapshot)
        await node.close()
        return snapshot
    }

    private func readVirtualTables(_ node: NodeConnection, into snapshot: inout NodeMetricsSnapshot) async {
        let available: Set<String>
        do {
            let rows = try await node.rows("SELECT table_name FROM system_virtual_schema.tables WHERE keyspace_name = 'system_views'")
            available = Set(rows.compactMap { $0["table_name"]?.text })
        } catch {
            let major = snapshot.releaseVersion.flatMap { $0.split(separator: ".").first }.flatMap { Int($0) }
            if let version = snapshot.releaseVersion, let major, major < 4 {
                snapshot.virtualTablesUnavailable = "Cassandra \(version) has no virtual tables (they need 4.0+)"
            } else {
                snapshot.virtualTablesUnavailable = "no system_virtual_schema, although the server reports version \(snapshot.releaseVersion ?? "unknown") (embedded or compatible server)"
            }
            return
        }
        guard !available.isEmpty else {
            snapshot.virtualTablesUnavailable = "no system_views tables on this server"
            return
        }
        snapshot.virtualTables = available.sorted()
        for table in Self.tableMetricTables where available.contains(table) {
            guard let rows = try? await node.rows("SELECT * FROM system_views.\(table)") else { continue }
            for row in rows where row["keyspace_name"]?.text == keyspace {
                guard let name = row["table_name"]?.text else { continue }
                for (column, value) in row where column != "keyspace_name" && column != "table_name" {
                    if let number = value.number { snapshot.tables[name, default: [:]]["\(table).\(column)"] = number }
                }
            }
        }
        if available.contains("thread_pools"), let rows = try? await node.rows("SELECT * FROM system_views.thread_pools") {
            for row in rows {
                guard let name = row["name"]?.text else { continue }
                for (column, value) in row where column != "name" {
                    if let number = value.number { snapshot.nodeValues["thread_pools.\(name).\(column)"] = number }
                }
            }
        }
        if available.contains("clients"), let rows = try? await node.rows("SELECT * FROM system_views.clients") {
            // This connection is one of them.
            snapshot.nodeValues["clients.connections"] = Double(rows.count)
            snapshot.nodeValues["clients.request_count"] = rows.compactMap { $0["request_count"]?.number }.reduce(0, +)
        }
        if available.contains("cql_metrics"), let rows = try? await node.rows("SELECT * FROM system_views.cql_metrics") {
            for row in rows {
                if let name = row["name"]?.text, let value = row["value"]?.number { snapshot.nodeValues["cql_metrics.\(name)"] = value }
            }
        }
    }

    private func readSizeEstimates(_ node: NodeConnection, into snapshot: inout NodeMetricsSnapshot) async {
        // 4.0+: system.table_estimates (primary ranges); its deprecated predecessor size_estimates otherwise.
        if let rows = try? await node.rows(
            "SELECT table_name, range_type, partitions_count, mean_partition_size FROM system.table_estimates WHERE keyspace_name = ?",
            values: [.text(keyspace)]) {
            for row in rows where row["range_type"]?.text == "primary" {
                guard let table = row["table_name"]?.text else { continue }
                if let count = row["partitions_count"]?.number {
                    snapshot.tables[table, default: [:]]["size_estimates.partitions_count", default: 0] += count
                }
                if let mean = row["mean_partition_size"]?.number {
                    snapshot.tables[table, default: [:]]["size_estimates.mean_partition_size"] = mean
                }
            }
            return
        }
        do {
            let rows = try await node.rows(
                "SELECT table_name, partitions_count, mean_partition_size FROM system.size_estimates WHERE keyspace_name = ?",
                values: [.text(keyspace)])
            for row in rows {
                guard let table = row["table_name"]?.text else { continue }
                if let count = row["partitions_count"]?.number {
                    snapshot.tables[table, default: [:]]["size_estimates.partitions_count", default: 0] += count
                }
                if let mean = row["mean_partition_size"]?.number {
                    snapshot.tables[table, default: [:]]["size_estimates.mean_partition_size"] = mean
                }
            }
        } catch {
            snapshot.sizeEstimatesUnavailable = "system.size_estimates cannot be read: \(error.localizedServerMessage)"
        }
    }
}

extension Error {
    /// The server's message without the host prefix (for notes that are grouped across nodes).
    var localizedServerMessage: String {
        if let error = self as? CQLClientError, let server = error.serverError { return "\(server)" }
        return Doctor.describe(self)
    }
}
