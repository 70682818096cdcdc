import CQLProtocol

/// CQL text for keyspaces and tables, as Cassandra's server-side DESCRIBE prints it.
/// Also used to write the schema part of a snapshot.
enum SchemaDescriber {
    /// Quotes an identifier when it is not a plain lower-case name.
    static func quote(_ name: String) -> String {
        let plain = name.first.map { $0.isLetter && $0.isLowercase } ?? false
            && name.allSatisfy { ($0.isLetter && $0.isLowercase && $0.isASCII) || $0.isNumber || $0 == "_" }
        return plain ? name : "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }

    static func mapLiteral(_ map: [String: String]) -> String {
        "{" + map.sorted { $0.key < $1.key }.map { "\(literal($0.key)): \(literal($0.value))" }.joined(separator: ", ") + "}"
    }

    static func createKeyspace(_ keyspace: KeyspaceSchema) -> String {
        "CREATE KEYSPACE \(quote(keyspace.name)) WITH replication = \(mapLiteral(keyspace.replication))  AND durable_writes = \(keyspace.durableWrites);"
    }

    static func createTable(_ table: TableSchema) -> String {
        var lines: [String] = []
        let singleKey = table.partitionKey.count == 1 && table.clustering.isEmpty
        for index in table.selectStarOrder {
            let column = table.columns[index]
            var line = "    \(quote(column.name)) \(column.typeText)"
            if column.kind == .static { line += " static" }
            if singleKey && column.kind == .partitionKey { line += " PRIMARY KEY" }
            lines.append(line)
        }
        if !singleKey {
            let partition = table.partitionKey.map { quote(table.columns[$0].name) }
            var key = partition.count == 1 ? partition[0] : "(" + partition.joined(separator: ", ") + ")"
            for index in table.clustering { key += ", " + quote(table.columns[index].name) }
            lines.append("    PRIMARY KEY (\(key))")
        }
        var text = "CREATE TABLE \(quote(table.keyspace)).\(quote(table.name)) (\n" + lines.joined(separator: ",\n") + "\n)"
        var options: [String] = []
        if !table.clustering.isEmpty {
            let order = table.clustering.map { "\(quote(table.columns[$0].name)) \(table.columns[$0].descending ? "DESC" : "ASC")" }
            options.append("CLUSTERING ORDER BY (\(order.joined(separator: ", ")))")
        }
        for name in optionNames {
            let value = SystemTableRows.optionValue(name, of: table, type: optionTypes[name] ?? .varchar)
            options.append("\(name) = \(optionLiteral(value))")
        }
        text += " WITH " + options.joined(separator: "\n    AND ") + ";"
        return text
    }

    private static let optionNames = [
        "additional_write_policy", "bloom_filter_fp_chance", "caching", "cdc", "comment", "compaction", "compression",
        "crc_check_chance", "default_time_to_live", "extensions", "gc_grace_seconds", "max_index_interval",
        "memtable_flush_period_in_ms", "min_index_interval", "read_repair", "speculative_retry",
    ]

    private static let optionTypes: [String: CQLDataType] = [
        "bloom_filter_fp_chance": .double, "caching": .map(.varchar, .varchar), "cdc": .boolean,
        "compaction": .map(.varchar, .varchar), "compression": .map(.varchar, .varchar), "crc_check_chance": .double,
        "default_time_to_live": .int, "extensions": .map(.varchar, .blob), "gc_grace_seconds": .int, "max_index_interval": .int,
        "memtable_flush_period_in_ms": .int, "min_index_interval": .int,
    ]

    private static func optionLiteral(_ value: CQLValue) -> String {
        switch value {
        case .text(let text): return literal(text)
        case .map(let entries):
            return "{" + entries.map { entry in
                let key = entry.key.description
                if case .blob(let bytes) = entry.value { return "\(key): 0x" + bytes.map { String(format: "%02x", $0) }.joined() }
                return "\(key): \(entry.value.description)"
            }.joined(separator: ", ") + "}"
        default: return value.description
        }
    }

    /// The whole DDL of the non-system keyspaces, in an order that can be replayed.
    static func schemaScript(_ catalog: SchemaCatalog) -> [String] {
        var statements: [String] = []
        for keyspace in catalog.sortedKeyspaces where !keyspace.isSystem {
            statements.append(createKeyspace(keyspace))
            for table in keyspace.tables.values.sorted(by: { $0.name < $1.name }) { statements.append(createTable(table)) }
        }
        return statements
    }
}

/// Executes DESCRIBE statements against the catalog (cqlsh sends them to the server unchanged).
struct DescribeExecutor {
    var catalog: SchemaCatalog
    var topology: ClusterTopology
    var sessionKeyspace: String?

    private static let elementColumns = ["keyspace_name", "type", "name"]
    private static let statementColumns = ["keyspace_name", "type", "name", "create_statement"]

    func run(_ statement: DescribeStatement) throws(CQLServerError) -> CQLRows {
        switch statement {
        case .cluster:
            return try rows(
                ["cluster", "partitioner", "snitch"],
                [[topology.clusterName, "Murmur3Partitioner", "DynamicEndpointSnitch"]])
        case .keyspaces:
            return try rows(Self.elementColumns, catalog.sortedKeyspaces.map { [$0.name, "keyspace", $0.name] })
        case .tables:
            var result: [[String]] = []
            for keyspace in catalog.sortedKeyspaces {
                for table in keyspace.tables.keys.sorted() { result.append([keyspace.name, "table", table]) }
            }
            return try rows(Self.elementColumns, result)
        case .types, .functions, .aggregates:
            return try rows(Self.elementColumns, [])
        case .keyspace(let name, let only):
            guard let name = name ?? sessionKeyspace else {
                throw CQLServerError(.invalid, "No keyspace specified and no current keyspace")
            }
            return try rows(Self.statementColumns, try keyspaceRows(name, only: only))
        case .table(let name):
            let table = try lookupTable(name)
            return try rows(Self.statementColumns, [[table.keyspace, "table", table.name, SchemaDescriber.createTable(table)]])
        case .schema(let full):
            var result: [[String]] = []
            for keyspace in catalog.sortedKeyspaces where full || !keyspace.isSystem {
                result += try keyspaceRows(keyspace.name, only: false)
            }
            return try rows(Self.statementColumns, result)
        case .name(let name):
            if name.keyspace == nil, catalog.keyspaces[name.name] != nil {
                return try rows(Self.statementColumns, try keyspaceRows(name.name, only: false))
            }
            let table = try lookupTable(name)
            return try rows(Self.statementColumns, [[table.keyspace, "table", table.name, SchemaDescriber.createTable(table)]])
        }
    }

    private func lookupTable(_ name: QualifiedName) throws(CQLServerError) -> TableSchema {
        guard let keyspaceName = name.keyspace ?? sessionKeyspace else {
            throw CQLServerError(.invalid, "No keyspace specified and no current keyspace")
        }
        guard let keyspace = catalog.keyspaces[keyspaceName] else {
            throw CQLServerError(.invalid, "'\(keyspaceName)' not found in keyspaces")
        }
        guard let table = keyspace.tables[name.name] else {
            throw CQLServerError(.invalid, "'\(name.name)' not found in keyspace '\(keyspaceName)'")
        }
        return table
    }

    private func keyspaceRows(_ name: String, only: Bool) throws(CQLServerError) -> [[String]] {
        guard let keyspace = catalog.keyspaces[name] else { throw CQLServerError(.invalid, "'\(name)' not found in keyspaces") }
        var result = [[keyspace.name, "keyspace", keyspace.name, SchemaDescriber.createKeyspace(keyspace)]]
        if !only {
            for table in keyspace.tables.values.sorted(by: { $0.name < $1.name }) {
                result.append([keyspace.name, "table", table.name, SchemaDescriber.createTable(table)])
            }
        }
        return result
    }

    private func rows(_ columns: [String], _ values: [[String]]) throws(CQLServerError) -> CQLRows {
        let specs = columns.map { CQLColumnSpec(keyspace: "system", table: "describe", name: $0, type: .varchar) }
        do {
            return try CQLRows(columns: specs, rows: values.map { $0.map(CQLValue.text) })
        } catch {
            throw CQLServerError(.serverError, "could not encode DESCRIBE output: \(error)")
        }
    }
}
