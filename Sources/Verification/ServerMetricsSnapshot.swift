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

    /// One thread pool of `system_views.thread_pools`, summed over nodes.
    public struct ThreadPoolFigures: Sendable, Hashable, Codable {
        public var name: String
        /// Tasks completed during the run.
        public var completedDelta: Double?
        /// Tasks active and pending at the end.
        public var activeAtEnd: Double?
        public var pendingAtEnd: Double?
        /// Tasks blocked during the run (`blocked_tasks_all_time` delta).
        public var blockedDelta: Double?
    }

    public var keyspace: String
    public var seconds: Double
    /// The nodes of the later snapshot.
    public var nodes: [String]
    public var tables: [TableFigures]
    /// Every thread pool the nodes expose, by name.
    public var threadPools: [ThreadPoolFigures]
    /// Client connections at the end (`system_views.clients`, the collector's own included) and requests they
    /// made during the run, summed over nodes.
    public var clientConnections: Double?
    public var clientRequests: Double?
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
        var pools: [String: ThreadPoolFigures] = [:]
        var connections: [Double?] = []
        var requests: [Double?] = []
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
            for key in node.nodeValues.keys where key.hasPrefix("thread_pools.") {
                let rest = key.dropFirst("thread_pools.".count)
                guard let dot = rest.lastIndex(of: "."), rest[rest.index(after: dot)...] == "completed_tasks" else { continue }
                let name = String(rest[..<dot])
                func value(_ column: String) -> Double? { node.nodeValues["thread_pools.\(name).\(column)"] }
                func previous(_ column: String) -> Double? { old.nodeValues["thread_pools.\(name).\(column)"] }
                var pool = pools[name] ?? ThreadPoolFigures(name: name)
                pool.completedDelta = sum([pool.completedDelta, delta(value("completed_tasks"), previous("completed_tasks"))])
                pool.activeAtEnd = sum([pool.activeAtEnd, value("active_tasks")])
                pool.pendingAtEnd = sum([pool.pendingAtEnd, value("pending_tasks")])
                pool.blockedDelta = sum([pool.blockedDelta, delta(value("blocked_tasks_all_time"), previous("blocked_tasks_all_time"))])
                pools[name] = pool
            }
            connections.append(node.nodeValues["clients.connections"])
            // Connections come and go, so the request total may fall without a restart: not a restart signal.
            if let new = node.nodeValues["clients.request_count"], let previous = old.nodeValues["clients.request_count"] {
                requests.append(max(0, new - previous))
            }
        }
        nodes = after.nodes.map(\.node)
        threadPools = pools.values.sorted { $0.name < $1.name }
        clientConnections = sum(connections)
        clientRequests = sum(requests)
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
            if clientConnections != nil || clientRequests != nil {
                lines.append("  clients: \(f(clientConnections)) connections at the end, +\(f(clientRequests)) requests")
            }
            let busy = threadPools.filter { ($0.completedDelta ?? 0) > 0 || ($0.pendingAtEnd ?? 0) > 0 || ($0.blockedDelta ?? 0) > 0 }
            if !busy.isEmpty {
                lines.append("  thread pools: " + busy.map { "\($0.name) +\(f($0.completedDelta))" + (($0.pendingAtEnd ?? 0) > 0 ? " (\(f($0.pendingAtEnd)) pending)" : "") }.joined(separator: ", "))
            }
        } else {
            lines.append("  no server-side metrics: not available on this server (Cassandra 4.0+ exposes them in system_views)")
        }
        for node in restartedNodes { lines.append("  warning: \(node) restarted between the snapshots; its deltas are not meaningful") }
        for note in notes { lines.append("  note: \(note)") }
        return lines.joined(separator: "\n")
    }
}

/// A server-metrics delta laid out for a report: preformatted cells, `nil` where the server does not expose a figure.
public struct ServerMetricsTable: Sendable, Hashable, Codable {
    public struct Row: Sendable, Hashable, Codable {
        public var table: String
        public var values: [String?]
    }

    public struct Figure: Sendable, Hashable, Codable {
        public var name: String
        public var value: String?
    }

    public var columns: [String]
    public var rows: [Row]
    public var nodeFigures: [Figure]
    public var notes: [String]
}

extension ServerMetricsDelta {
    /// Column titles of the per-table rows (the `nodetool tablestats` view).
    public static let reportColumns = [
        "Local writes Δ", "Local reads Δ", "Coordinator writes Δ", "Write latency p50 / p99 / max (recent, ms)",
        "Disk used MiB (Δ)", "Partitions (estimate)", "SSTables", "Largest SSTable MiB",
    ]

    /// The delta as report cells: one row per table, node-wide figures (flushes, compactions, clients, every thread
    /// pool) and notes. A `nil` cell is a figure this server does not expose (SSTable counts never are before 5.1).
    public func reportTable() -> ServerMetricsTable {
        func count(_ value: Double?) -> String? { value.map { Int64($0.rounded()).formatted(.number.grouping(.automatic)) } }
        func signed(_ value: Double?) -> String? { value.map { ($0 < 0 ? "" : "+") + (count($0) ?? "0") } }
        func millis(_ value: Double?) -> String { value.map { String(format: "%.3f", $0) } ?? "–" }
        let rows = tables.map { table -> ServerMetricsTable.Row in
            let latency: String? = table.localWriteP50Ms == nil && table.localWriteP99Ms == nil && table.localWriteMaxMs == nil
                ? nil : "\(millis(table.localWriteP50Ms)) / \(millis(table.localWriteP99Ms)) / \(millis(table.localWriteMaxMs))"
            let disk: String? = table.diskUsageMiB.map { total in
                (count(total) ?? "0") + (table.diskUsageDeltaMiB.map { " (\(signed($0) ?? "0"))" } ?? "")
            }
            return ServerMetricsTable.Row(table: table.table, values: [
                signed(table.localWrites), signed(table.localReads), signed(table.coordinatorWrites), latency, disk,
                count(table.estimatedPartitions),
                nil,  // SSTable counts are not exposed over CQL before Cassandra 5.1
                count(table.maxSSTableMiB),
            ])
        }
        var figures: [ServerMetricsTable.Figure] = [
            .init(name: "Memtable flushes Δ (MemtableFlushWriter)", value: signed(memtableFlushes)),
            .init(name: "Compactions Δ (CompactionExecutor)", value: signed(compactionsCompleted)),
            .init(name: "Pending compactions at the end (executor queue)", value: count(pendingCompactions)),
            .init(name: "Pending mutations at the end (MutationStage)", value: count(mutationStagePending)),
            .init(name: "Client connections at the end", value: count(clientConnections)),
            .init(name: "Client requests Δ", value: signed(clientRequests)),
        ]
        for pool in threadPools {
            var text = "\(signed(pool.completedDelta) ?? "?") completed"
            if let pending = pool.pendingAtEnd { text += ", \(count(pending) ?? "0") pending" }
            if let active = pool.activeAtEnd { text += ", \(count(active) ?? "0") active" }
            if let blocked = pool.blockedDelta, blocked > 0 { text += ", \(signed(blocked) ?? "0") blocked" }
            figures.append(.init(name: "Thread pool \(pool.name)", value: text))
        }
        var notes = notes
        for node in restartedNodes.reversed() { notes.insert("\(node) restarted between the snapshots; its deltas are not meaningful", at: 0) }
        return ServerMetricsTable(columns: Self.reportColumns, rows: rows, nodeFigures: figures, notes: notes)
    }
}
