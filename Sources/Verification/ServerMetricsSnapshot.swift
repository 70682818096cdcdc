import Foundation

/// What one node exposed over CQL at one moment: the `system_views` virtual tables of Cassandra 4.0+ and
/// `system.size_estimates`, as flat named values so that versions with more or fewer tables compare cleanly.
public struct NodeMetricsSnapshot: Sendable, Hashable, Codable {
    /// The node, `host:port`.
    public var node: String
    public var releaseVersion: String?
    /// Why virtual tables could not be read ("not available on this server"), when they could not.
    public var virtualTablesUnavailable: String?
    /// Why size estimates could not be read, when they could not.
    public var sizeEstimatesUnavailable: String?
    /// The virtual tables the node has (`system_virtual_schema.tables`).
    public var virtualTables: [String] = []
    /// Per-table values: `table -> "metric.column" -> value`, e.g.
    /// `messages_by_conversation -> "local_write_latency.count" -> 1_000_000`.
    public var tables: [String: [String: Double]] = [:]
    /// Node-wide values: `"thread_pools.<pool>.<column>"`, `"cql_metrics.<name>"`, ...
    public var nodeValues: [String: Double] = [:]

    public init(node: String, releaseVersion: String? = nil) {
        self.node = node
        self.releaseVersion = releaseVersion
    }
}

/// Every node's metrics at one moment (before or after a run).
public struct ServerMetricsSnapshot: Sendable, Hashable, Codable {
    public var keyspace: String
    public var takenAt: Date
    public var nodes: [NodeMetricsSnapshot]

    public init(keyspace: String, takenAt: Date = Date(), nodes: [NodeMetricsSnapshot]) {
        self.keyspace = keyspace
        self.takenAt = takenAt
        self.nodes = nodes
    }
}

/// The difference between two snapshots, summed over nodes, with the "recent" latency figures of the later one:
/// the `nodetool tablestats` view of a run, over CQL.
public struct ServerMetricsDelta: Sendable, Hashable, Codable {
    /// One table's figures.
    public struct TableFigures: Sendable, Hashable, Codable {
        public var table: String
        /// Count deltas, summed over nodes.
        public var localWrites: Double?
        public var localReads: Double?
        public var coordinatorWrites: Double?
        public var coordinatorReads: Double?
        /// Recent (decaying) latencies at the end, worst node, in milliseconds.
        public var localWriteP50Ms: Double?
        public var localWriteP99Ms: Double?
        public var localWriteMaxMs: Double?
        public var coordinatorWriteP99Ms: Double?
        /// Disk usage change and final value, MiB (rounded up by Cassandra), summed over nodes.
        public var diskUsageDeltaMiB: Double?
        public var diskUsageMiB: Double?
        /// Estimated partitions at the end (size_estimates: may be up to 5 minutes old).
        public var estimatedPartitions: Double?
        /// Largest SSTable at the end (5.0+), MiB.
        public var maxSSTableMiB: Double?
    }

    public var keyspace: String
    public var seconds: Double
    public var tables: [TableFigures]
    /// Node-wide deltas summed over nodes.
    public var memtableFlushes: Double?
    public var compactionsCompleted: Double?
    /// Pending tasks at the end, summed over nodes.
    public var pendingCompactions: Double?
    public var mutationStagePending: Double?
    /// Lines that explain what could not be measured ("not available on this server").
    public var notes: [String]
    /// Nodes whose counters went down: they restarted during the run, so their deltas are not meaningful.
    public var restartedNodes: [String]

    /// Compares two snapshots of the same nodes.
    public init(before: ServerMetricsSnapshot, after: ServerMetricsSnapshot) {
        keyspace = after.keyspace
        seconds = after.takenAt.timeIntervalSince(before.takenAt)
        var notes: [String] = []
        var restarted: [String] = []
        var unavailable: [String: [String]] = [:]
        let beforeByNode = Dictionary(before.nodes.map { ($0.node, $0) }, uniquingKeysWith: { first, _ in first })
        var tableNames = Set<String>()
        for node in after.nodes { tableNames.formUnion(node.tables.keys) }

        func sum(_ values: [Double?]) -> Double? {
            let present = values.compactMap { $0 }
            return present.isEmpty ? nil : present.reduce(0, +)
        }

        var figures: [String: TableFigures] = [:]
        for table in tableNames.sorted() { figures[table] = TableFigures(table: table) }
        var flushes: [Double?] = []
        var compactions: [Double?] = []
        var pending: [Double?] = []
        var mutationPending: [Double?] = []
        for node in after.nodes {
            if let reason = node.virtualTablesUnavailable {
                unavailable["server metrics not available on this server: \(reason)", default: []].append(node.node)
            }
            if let reason = node.sizeEstimatesUnavailable {
                unavailable["size estimates not available: \(reason)", default: []].append(node.node)
            }
            guard let old = beforeByNode[node.node] else {
                notes.append("\(node.node): no 'before' snapshot; deltas skipped")
                continue
            }
            func delta(_ new: Double?, _ previous: Double?) -> Double? {
                guard let new, let previous else { return nil }
                if new < previous, !restarted.contains(node.node) { restarted.append(node.node) }
                return new - previous
            }
            for table in tableNames {
                let newValues = node.tables[table] ?? [:]
                let oldValues = old.tables[table] ?? [:]
                var f = figures[table] ?? TableFigures(table: table)
                func count(_ metric: String) -> Double? { delta(newValues[metric], oldValues[metric]) }
                f.localWrites = sum([f.localWrites, count("local_write_latency.count")])
                f.localReads = sum([f.localReads, count("local_read_latency.count")])
                f.coordinatorWrites = sum([f.coordinatorWrites, count("coordinator_write_latency.count")])
                f.coordinatorReads = sum([f.coordinatorReads, count("coordinator_read_latency.count")])
                f.localWriteP50Ms = Self.maximum(f.localWriteP50Ms, newValues["local_write_latency.p50th_ms"])
                f.localWriteP99Ms = Self.maximum(f.localWriteP99Ms, newValues["local_write_latency.p99th_ms"])
                f.localWriteMaxMs = Self.maximum(f.localWriteMaxMs, newValues["local_write_latency.max_ms"])
                f.coordinatorWriteP99Ms = Self.maximum(f.coordinatorWriteP99Ms, newValues["coordinator_write_latency.p99th_ms"])
                f.diskUsageDeltaMiB = sum([f.diskUsageDeltaMiB, newValues["disk_usage.mebibytes"].map { $0 - (oldValues["disk_usage.mebibytes"] ?? 0) }])
                f.diskUsageMiB = sum([f.diskUsageMiB, newValues["disk_usage.mebibytes"]])
                f.estimatedPartitions = sum([f.estimatedPartitions, newValues["size_estimates.partitions_count"]])
                f.maxSSTableMiB = Self.maximum(f.maxSSTableMiB, newValues["max_sstable_size.mebibytes"])
                figures[table] = f
            }
            flushes.append(delta(node.nodeValues["thread_pools.MemtableFlushWriter.completed_tasks"],
                                 old.nodeValues["thread_pools.MemtableFlushWriter.completed_tasks"]))
            compactions.append(delta(node.nodeValues["thread_pools.CompactionExecutor.completed_tasks"],
                                     old.nodeValues["thread_pools.CompactionExecutor.completed_tasks"]))
            pending.append(node.nodeValues["thread_pools.CompactionExecutor.pending_tasks"])
            mutationPending.append(node.nodeValues["thread_pools.MutationStage.pending_tasks"])
        }
        tables = figures.values.sorted { $0.table < $1.table }
        memtableFlushes = sum(flushes)
        compactionsCompleted = sum(compactions)
        pendingCompactions = sum(pending)
        mutationStagePending = sum(mutationPending)
        for (reason, nodes) in unavailable.sorted(by: { $0.key < $1.key }) {
            notes.insert("\(nodes.count == after.nodes.count && nodes.count > 1 ? "all \(nodes.count) nodes" : nodes.joined(separator: ", ")): \(reason)", at: 0)
        }
        if !after.nodes.isEmpty, after.nodes.allSatisfy({ $0.virtualTablesUnavailable == nil }) {
            notes.append("SSTable counts, memtable sizes and per-table pending compactions are not exposed over CQL before Cassandra 5.1")
        }
        self.notes = notes
        restartedNodes = restarted.sorted()
    }

    static func maximum(_ a: Double?, _ b: Double?) -> Double? {
        switch (a, b) {
        case (let a?, let b?): max(a, b)
        case (let a?, nil): a
        case (nil, let b?): b
        case (nil, nil): nil
        }
    }

    /// Whether anything was measured at all.
    public var hasFigures: Bool {
        memtableFlushes != nil || tables.contains { $0.localWrites != nil || $0.estimatedPartitions != nil || $0.diskUsageMiB != nil }
    }

    /// A `nodetool tablestats`-like block for reports.
    public func rendered() -> String {
        func f(_ value: Double?, _ digits: Int = 0) -> String {
            guard let value else { return "-" }
            return digits == 0 ? Int64(value.rounded()).formatted(.number.grouping(.automatic)) : String(format: "%.\(digits)f", value)
        }
        var lines = ["Server-side metrics for \(keyspace) over CQL (\(String(format: "%.1f", seconds)) s between snapshots)"]
        if hasFigures {
            for t in tables where t.localWrites != nil || t.localReads != nil || t.estimatedPartitions != nil || t.diskUsageMiB != nil {
                lines.append("  \(t.table):")
                lines.append("    local writes +\(f(t.localWrites)), local reads +\(f(t.localReads)), coordinated writes +\(f(t.coordinatorWrites))")
                if t.localWriteP99Ms != nil {
                    lines.append("    recent local write latency p50 \(f(t.localWriteP50Ms, 3)) ms, p99 \(f(t.localWriteP99Ms, 3)) ms, max \(f(t.localWriteMaxMs, 3)) ms")
                }
                lines.append("    disk usage \(f(t.diskUsageMiB)) MiB (+\(f(t.diskUsageDeltaMiB)) MiB), partitions (estimate) \(f(t.estimatedPartitions))"
                             + (t.maxSSTableMiB.map { ", largest SSTable \(f($0)) MiB" } ?? ""))
            }
            lines.append("  memtable flushes +\(f(memtableFlushes)), compactions +\(f(compactionsCompleted)), pending compactions \(f(pendingCompactions)), pending mutations \(f(mutationStagePending))")
        } else {
            lines.append("  no server-side metrics: not available on this server (Cassandra 4.0+ exposes them in system_views)")
        }
        for node in restartedNodes { lines.append("  warning: \(node) restarted between the snapshots; its deltas are not meaningful") }
        for note in notes { lines.append("  note: \(note)") }
        return lines.joined(separator: "\n")
    }
}
