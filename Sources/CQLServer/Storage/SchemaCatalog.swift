import CQLProtocol
import Foundation

/// Every keyspace and table, system ones included, plus the schema version reported to drivers.
struct SchemaCatalog: Sendable {
    private(set) var keyspaces: [String: KeyspaceSchema] = [:]
    /// Changes on every DDL; identical on every node (all nodes share one catalog).
    private(set) var version: UUID

    init() throws(CQLServerError) {
        version = UUID()
        for (keyspace, statements) in SystemSchemaDefinitions.keyspaces {
            keyspaces[keyspace] = KeyspaceSchema(
                name: keyspace, replication: ["class": "org.apache.cassandra.locator.LocalStrategy"], durableWrites: true,
                tables: [:], isSystem: true)
            for text in statements {
                guard case .createTable(let statement) = try CQLParser.parse(text).statement else { continue }
                let table = try Self.makeTable(statement, keyspace: keyspace, id: Self.systemTableID(keyspace, statement.table.name))
                keyspaces[keyspace]?.tables[table.name] = table
            }
        }
    }

    /// Stable ids for system tables, derived from their names.
    private static func systemTableID(_ keyspace: String, _ table: String) -> UUID {
        let hash = Murmur3Partitioner.hash128(Array("\(keyspace).\(table)".utf8))
        var bytes: [UInt8] = []
        withUnsafeBytes(of: hash.h1.bigEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: hash.h2.bigEndian) { bytes.append(contentsOf: $0) }
        bytes[6] = bytes[6] & 0x0F | 0x30
        bytes[8] = bytes[8] & 0x3F | 0x80
        return UUID(cqlBytes: bytes)
    }

    /// User keyspaces and system keyspaces, sorted by name.
    var sortedKeyspaces: [KeyspaceSchema] { keyspaces.values.sorted { $0.name < $1.name } }

    func keyspace(_ name: String) throws(CQLServerError) -> KeyspaceSchema {
        guard let keyspace = keyspaces[name] else { throw CQLServerError(.invalid, "Keyspace '\(name)' does not exist") }
        return keyspace
    }

    /// Resolves a table name against the session keyspace.
    func table(_ name: QualifiedName, sessionKeyspace: String?) throws(CQLServerError) -> TableSchema {
        guard let keyspaceName = name.keyspace ?? sessionKeyspace else {
            throw CQLServerError(.invalid, "No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename")
        }
        guard let keyspace = keyspaces[keyspaceName] else {
            throw CQLServerError(.invalid, "Keyspace \(keyspaceName) does not exist")
        }
        guard let table = keyspace.tables[name.name] else {
            throw CQLServerError(.invalid, "table \(name.name) does not exist")
        }
        return table
    }

    // MARK: DDL

    /// Creates a keyspace. Returns false when it exists and `IF NOT EXISTS` was given.
    mutating func createKeyspace(_ statement: CreateKeyspaceStatement) throws(CQLServerError) -> Bool {
        if keyspaces[statement.name] != nil {
            if statement.ifNotExists { return false }
            throw CQLServerError(.alreadyExists(keyspace: statement.name, table: ""), "Cannot add existing keyspace \"\(statement.name)\"")
        }
        try Self.validateName(statement.name, what: "Keyspace")
        keyspaces[statement.name] = KeyspaceSchema(
            name: statement.name, replication: try Self.normalizeReplication(statement.replication), durableWrites: statement.durableWrites,
            tables: [:], isSystem: false)
        version = UUID()
        return true
    }

    mutating func alterKeyspace(_ statement: CreateKeyspaceStatement) throws(CQLServerError) {
        guard var keyspace = keyspaces[statement.name], !keyspace.isSystem else {
            throw CQLServerError(.invalid, "Keyspace \(statement.name) does not exist or cannot be altered")
        }
        if !statement.replication.isEmpty { keyspace.replication = try Self.normalizeReplication(statement.replication) }
        keyspace.durableWrites = statement.durableWrites
        keyspaces[statement.name] = keyspace
        version = UUID()
    }

    /// Drops a keyspace; returns its tables' ids (so their data can go), or nil when absent with IF EXISTS.
    mutating func dropKeyspace(_ name: String, ifExists: Bool) throws(CQLServerError) -> [UUID]? {
        guard let keyspace = keyspaces[name] else {
            if ifExists { return nil }
            throw CQLServerError(.invalid, "Cannot drop non existing keyspace '\(name)'.")
        }
        guard !keyspace.isSystem else { throw CQLServerError(.unauthorized, "\(name) keyspace is not user-modifiable.") }
        keyspaces[name] = nil
        version = UUID()
        return keyspace.tables.values.map(\.id)
    }

    /// Creates a table; nil when it exists and `IF NOT EXISTS` was given.
    mutating func createTable(_ statement: CreateTableStatement, sessionKeyspace: String?, id: UUID = UUID()) throws(CQLServerError) -> TableSchema? {
        guard let keyspaceName = statement.table.keyspace ?? sessionKeyspace else {
            throw CQLServerError(.invalid, "No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename")
        }
        guard let keyspace = keyspaces[keyspaceName] else {
            throw CQLServerError(.invalid, "Keyspace '\(keyspaceName)' doesn't exist")
        }
        guard !keyspace.isSystem else { throw CQLServerError(.unauthorized, "\(keyspaceName) keyspace is not user-modifiable.") }
        if keyspace.tables[statement.table.name] != nil {
            if statement.ifNotExists { return nil }
            throw CQLServerError(
                .alreadyExists(keyspace: keyspaceName, table: statement.table.name),
                "Cannot add already existing table \"\(statement.table.name)\" to keyspace \"\(keyspaceName)\"")
        }
        try Self.validateName(statement.table.name, what: "Table")
        let table = try Self.makeTable(statement, keyspace: keyspaceName, id: id)
        keyspaces[keyspaceName]?.tables[table.name] = table
        version = UUID()
        return table
    }

    /// Drops a table; returns it, or nil when absent with IF EXISTS.
    mutating func dropTable(_ name: QualifiedName, sessionKeyspace: String?, ifExists: Bool) throws(CQLServerError) -> TableSchema? {
        guard let keyspaceName = name.keyspace ?? sessionKeyspace else {
            throw CQLServerError(.invalid, "No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename")
        }
        guard let keyspace = keyspaces[keyspaceName], let table = keyspace.tables[name.name] else {
            if ifExists { return nil }
            throw CQLServerError(.invalid, "Table '\(keyspaceName).\(name.name)' doesn't exist")
        }
        guard !keyspace.isSystem else { throw CQLServerError(.unauthorized, "\(keyspaceName) keyspace is not user-modifiable.") }
        keyspaces[keyspaceName]?.tables[name.name] = nil
        version = UUID()
        return table
    }

    private static func validateName(_ name: String, what: String) throws(CQLServerError) {
        guard !name.isEmpty, name.count <= 48, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw CQLServerError(.invalid, "\(what) name must not be empty, more than 48 characters long, or contain non-alphanumeric-underscore characters (got \"\(name)\")")
        }
    }

    static func normalizeReplication(_ options: [String: String]) throws(CQLServerError) -> [String: String] {
        guard let rawClass = options["class"] else {
            throw CQLServerError(.configError, "Missing replication strategy class")
        }
        var result = options
        let shortName = rawClass.split(separator: ".").last.map(String.init) ?? rawClass
        switch shortName {
        case "SimpleStrategy":
            guard let factor = options["replication_factor"], Int(factor) != nil else {
                throw CQLServerError(.configError, "SimpleStrategy requires a replication_factor strategy option.")
            }
        case "NetworkTopologyStrategy":
            for (key, value) in options where key != "class" {
                guard Int(value) != nil else {
                    throw CQLServerError(.configError, "Replication factor must be numeric; found \(value)")
                }
            }
        default:
            throw CQLServerError(.configError, "Unable to find replication strategy class '\(rawClass)'")
        }
        result["class"] = "org.apache.cassandra.locator." + shortName
        return result
    }

    /// Validates a CREATE TABLE and builds the schema.
    static func makeTable(_ statement: CreateTableStatement, keyspace: String, id: UUID) throws(CQLServerError) -> TableSchema {
        var seen = Set<String>()
        var columns: [ColumnSchema] = []
        for definition in statement.columns {
            guard seen.insert(definition.name).inserted else {
                throw CQLServerError(.invalid, "Duplicate column '\(definition.name)' declaration for table \(keyspace).\(statement.table.name)")
            }
            let parsed = try CQLTypeName.parse(definition.type)
            columns.append(
                ColumnSchema(
                    name: definition.name, type: parsed.type, typeText: parsed.text, kind: definition.isStatic ? .static : .regular,
                    position: -1, descending: false, slot: -1))
        }
        guard !statement.partitionKey.isEmpty else {
            throw CQLServerError(.invalid, "No PRIMARY KEY specifed for table '\(statement.table.name)' (exactly one required)")
        }
        func index(of name: String) throws(CQLServerError) -> Int {
            guard let index = columns.firstIndex(where: { $0.name == name }) else {
                throw CQLServerError(.invalid, "Unknown definition \(name) referenced in PRIMARY KEY")
            }
            return index
        }
        for (position, name) in statement.partitionKey.enumerated() {
            let column = try index(of: name)
            guard columns[column].kind == .regular else { throw CQLServerError(.invalid, "Column \(name) is repeated in PRIMARY KEY or is static") }
            if columns[column].type.isCollection && !columns[column].typeText.hasPrefix("frozen") {
                throw CQLServerError(.invalid, "Invalid non-frozen collection type for PRIMARY KEY component \(name)")
            }
            columns[column].kind = .partitionKey
            columns[column].position = position
        }
        for (position, name) in statement.clusteringKey.enumerated() {
            let column = try index(of: name)
            guard columns[column].kind == .regular else { throw CQLServerError(.invalid, "Column \(name) is repeated in PRIMARY KEY or is static") }
            if columns[column].type.isCollection && !columns[column].typeText.hasPrefix("frozen") {
                throw CQLServerError(.invalid, "Invalid non-frozen collection type for PRIMARY KEY component \(name)")
            }
            columns[column].kind = .clustering
            columns[column].position = position
            columns[column].descending = statement.clusteringOrder[name] ?? false
        }
        if !statement.clusteringOrderColumns.isEmpty {
            guard statement.clusteringOrderColumns.count <= statement.clusteringKey.count,
                statement.clusteringOrderColumns == Array(statement.clusteringKey.prefix(statement.clusteringOrderColumns.count))
            else {
                throw CQLServerError(.invalid, "The order of columns in the CLUSTERING ORDER directive must match that of the clustering columns")
            }
        }
        if statement.clusteringKey.isEmpty, columns.contains(where: { $0.kind == .static }) {
            throw CQLServerError(.invalid, "Static columns are only useful (and thus allowed) if the table has at least one clustering column")
        }
        for (name, _) in statement.options where !knownTableOptions.contains(name) {
            throw CQLServerError(.syntaxError, "Unknown property '\(name)'")
        }
        if case .number(let text)? = statement.options["default_time_to_live"], (Int32(text) ?? -1) < 0 {
            throw CQLServerError(.invalid, "default_time_to_live must be greater than or equal to 0 (got \(text))")
        }
        return TableSchema(keyspace: keyspace, name: statement.table.name, id: id, columns: columns, options: statement.options)
    }

    static let knownTableOptions: Set<String> = [
        "additional_write_policy", "bloom_filter_fp_chance", "caching", "cdc", "comment", "compaction", "compression",
        "crc_check_chance", "dclocal_read_repair_chance", "default_time_to_live", "extensions", "gc_grace_seconds",
        "max_index_interval", "memtable_flush_period_in_ms", "min_index_interval", "read_repair", "read_repair_chance",
        "speculative_retry", "id", "memtable", "allow_auto_snapshot", "incremental_backups",
    ]
}
