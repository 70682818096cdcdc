import CQLProtocol
import Foundation

/// Builds the rows of the system tables from the catalog and the topology, as seen by one node.
/// Each row holds one value per column of the table, in declaration order.
struct SystemTableRows {
    var catalog: SchemaCatalog
    var topology: ClusterTopology
    var nodeIndex: Int

    func rows(for table: TableSchema) throws(CQLServerError) -> [[CQLValue]] {
        let named: [[String: CQLValue]]
        switch (table.keyspace, table.name) {
        case ("system", "local"): named = [localRow()]
        case ("system", "peers_v2"): named = peerRows(v2: true)
        case ("system", "peers"): named = peerRows(v2: false)
        case ("system_schema", "keyspaces"): named = keyspaceRows()
        case ("system_schema", "tables"): named = tableRows()
        case ("system_schema", "columns"): named = columnRows()
        default: named = []
        }
        return named.map { row in table.columns.map { row[$0.name] ?? .null } }
    }

    private var node: CQLNodeDescriptor {
        topology.nodes[min(nodeIndex, topology.nodes.count - 1)]
    }

    private func inet(_ address: String) -> CQLValue {
        CQLInet(address).map(CQLValue.inet) ?? .null
    }

    private func localRow() -> [String: CQLValue] {
        [
            "key": .text("local"),
            "bootstrapped": .text("COMPLETED"),
            "broadcast_address": inet(node.address),
            "broadcast_port": .int(7000),
            "cluster_name": .text(topology.clusterName),
            "cql_version": .text(ClusterTopology.cqlVersion),
            "data_center": .text(node.dataCenter),
            "gossip_generation": .int(Int32(truncatingIfNeeded: Int(Date().timeIntervalSince1970))),
            "host_id": .uuid(node.hostID),
            "listen_address": inet(node.address),
            "listen_port": .int(7000),
            "native_protocol_version": .text(ClusterTopology.nativeProtocolVersion),
            "partitioner": .text(Murmur3Partitioner.className),
            "rack": .text(node.rack),
            "release_version": .text(ClusterTopology.releaseVersion),
            "rpc_address": inet(node.address),
            "rpc_port": .int(Int32(node.port)),
            "schema_version": .uuid(catalog.version),
            "tokens": .set([.text(String(node.token))]),
        ]
    }

    private func peerRows(v2: Bool) -> [[String: CQLValue]] {
        var rows: [[String: CQLValue]] = []
        for (index, peer) in topology.nodes.enumerated() where index != nodeIndex {
            var row: [String: CQLValue] = [
                "peer": inet(peer.address),
                "data_center": .text(peer.dataCenter),
                "host_id": .uuid(peer.hostID),
                "rack": .text(peer.rack),
                "release_version": .text(ClusterTopology.releaseVersion),
                "schema_version": .uuid(catalog.version),
                "tokens": .set([.text(String(peer.token))]),
                "preferred_ip": inet(peer.address),
            ]
            if v2 {
                row["peer_port"] = .int(7000 + Int32(index))
                row["native_address"] = inet(peer.address)
                row["native_port"] = .int(Int32(peer.port))
                row["preferred_port"] = .int(7000 + Int32(index))
            } else {
                row["rpc_address"] = inet(peer.address)
            }
            rows.append(row)
        }
        return rows
    }

    private func keyspaceRows() -> [[String: CQLValue]] {
        catalog.sortedKeyspaces.map { keyspace in
            [
                "keyspace_name": .text(keyspace.name),
                "durable_writes": .boolean(keyspace.durableWrites),
                "replication": .map(
                    keyspace.replication.sorted { $0.key < $1.key }.map { CQLMapEntry(key: .text($0.key), value: .text($0.value)) }),
            ]
        }
    }

    private static func textMap(_ map: [String: String]) -> CQLValue {
        .map(map.sorted { $0.key < $1.key }.map { CQLMapEntry(key: .text($0.key), value: .text($0.value)) })
    }

    /// Default table options, as Cassandra 4.1 reports them.
    static let defaultOptions: [String: CQLValue] = [
        "additional_write_policy": .text("99p"),
        "bloom_filter_fp_chance": .double(0.01),
        "caching": textMap(["keys": "ALL", "rows_per_partition": "NONE"]),
        "cdc": .boolean(false),
        "comment": .text(""),
        "compaction": textMap([
            "class": "org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy", "max_threshold": "32", "min_threshold": "4",
        ]),
        "compression": textMap(["chunk_length_in_kb": "16", "class": "org.apache.cassandra.io.compress.LZ4Compressor"]),
        "crc_check_chance": .double(1.0),
        "default_time_to_live": .int(0),
        "extensions": .map([]),
        "flags": .set([.text("compound")]),
        "gc_grace_seconds": .int(864_000),
        "max_index_interval": .int(2048),
        "memtable_flush_period_in_ms": .int(0),
        "min_index_interval": .int(128),
        "read_repair": .text("BLOCKING"),
        "speculative_retry": .text("99p"),
    ]

    /// The value of a table option as reported in system_schema.tables (defaults overridden by WITH options).
    static func optionValue(_ name: String, of table: TableSchema, type: CQLDataType) -> CQLValue {
        guard let option = table.options[name] else { return defaultOptions[name] ?? .null }
        switch (option, type) {
        case (.string(let text), .varchar): return .text(text)
        case (.number(let text), .double): return Double(text).map(CQLValue.double) ?? .null
        case (.number(let text), .int): return Int32(text).map(CQLValue.int) ?? .null
        case (.boolean(let value), .boolean): return .boolean(value)
        case (.map(let map), .map): return textMap(map)
        case (.number(let text), .varchar): return .text(text)
        default: return defaultOptions[name] ?? .null
        }
    }

    private func tableRows() -> [[String: CQLValue]] {
        guard let schema = catalog.keyspaces["system_schema"]?.tables["tables"] else { return [] }
        var rows: [[String: CQLValue]] = []
        for keyspace in catalog.sortedKeyspaces {
            for table in keyspace.tables.values.sorted(by: { $0.name < $1.name }) {
                var row: [String: CQLValue] = ["keyspace_name": .text(keyspace.name), "table_name": .text(table.name), "id": .uuid(table.id)]
                for column in schema.columns where row[column.name] == nil {
                    row[column.name] = Self.optionValue(column.name, of: table, type: column.type)
                }
                rows.append(row)
            }
        }
        return rows
    }

    private func columnRows() -> [[String: CQLValue]] {
        var rows: [[String: CQLValue]] = []
        for keyspace in catalog.sortedKeyspaces {
            for table in keyspace.tables.values.sorted(by: { $0.name < $1.name }) {
                for column in table.columns.sorted(by: { $0.name < $1.name }) {
                    let order = column.kind == .clustering ? (column.descending ? "desc" : "asc") : "none"
                    rows.append([
                        "keyspace_name": .text(keyspace.name),
                        "table_name": .text(table.name),
                        "column_name": .text(column.name),
                        "clustering_order": .text(order),
                        "column_name_bytes": .blob(Array(column.name.utf8)),
                        "kind": .text(column.kind.rawValue),
                        "position": .int(Int32(column.position)),
                        "type": .text(column.typeText),
                    ])
                }
            }
        }
        return rows
    }
}
