import CQLProtocol
import Foundation

/// What role a column plays in its table.
enum ColumnKind: String, Sendable, Hashable {
    case partitionKey = "partition_key"
    case clustering = "clustering"
    case regular = "regular"
    case `static` = "static"
}

/// One column of a table.
struct ColumnSchema: Sendable, Hashable {
    var name: String
    var type: CQLDataType
    /// The type as CQL text, frozen wrappers kept (what `system_schema.columns.type` reports).
    var typeText: String
    var kind: ColumnKind
    /// Position within the partition key or clustering key; -1 for other columns.
    var position: Int
    /// Clustering columns only: whether the declared order is DESC.
    var descending: Bool
    /// Index of the column's cell in a row (regular columns) or in the static row (static columns); -1 for key columns.
    var slot: Int
}

/// A table definition, with the lookups the executor needs.
struct TableSchema: Sendable, Hashable {
    var keyspace: String
    var name: String
    var id: UUID
    /// Columns in declaration order.
    var columns: [ColumnSchema]
    var partitionKey: [Int]
    var clustering: [Int]
    /// Regular columns, indexed by slot.
    var regular: [Int]
    /// Static columns, indexed by slot.
    var statics: [Int]
    /// The column order of `SELECT *`: partition key, clustering key, then the rest alphabetically.
    var selectStarOrder: [Int]
    var options: [String: TableOptionValue]
    private var columnIndex: [String: Int]

    init(keyspace: String, name: String, id: UUID, columns: [ColumnSchema], options: [String: TableOptionValue]) {
        self.keyspace = keyspace
        self.name = name
        self.id = id
        self.options = options
        var columns = columns
        var regular: [Int] = []
        var statics: [Int] = []
        for index in columns.indices {
            switch columns[index].kind {
            case .regular:
                columns[index].slot = regular.count
                regular.append(index)
            case .static:
                columns[index].slot = statics.count
                statics.append(index)
            case .partitionKey, .clustering:
                columns[index].slot = -1
            }
        }
        self.columns = columns
        self.regular = regular
        self.statics = statics
        self.partitionKey = columns.indices.filter { columns[$0].kind == .partitionKey }.sorted { columns[$0].position < columns[$1].position }
        self.clustering = columns.indices.filter { columns[$0].kind == .clustering }.sorted { columns[$0].position < columns[$1].position }
        let others = columns.indices.filter { columns[$0].kind == .regular || columns[$0].kind == .static }.sorted {
            columns[$0].name < columns[$1].name
        }
        self.selectStarOrder = partitionKey + clustering + others
        self.columnIndex = Dictionary(uniqueKeysWithValues: columns.enumerated().map { ($1.name, $0) })
    }

    func columnIndex(named name: String) -> Int? { columnIndex[name] }

    func column(named name: String) throws(CQLServerError) -> ColumnSchema {
        guard let index = columnIndex[name] else { throw undefinedColumn(name) }
        return columns[index]
    }

    /// The error for a column name this table does not have.
    func undefinedColumn(_ name: String) -> CQLServerError {
        CQLServerError(.invalid, "Undefined column name \(name) in table \(keyspace).\(name == self.name ? name : self.name)")
    }

    var clusteringTypes: [CQLDataType] { clustering.map { columns[$0].type } }
    var clusteringDescending: [Bool] { clustering.map { columns[$0].descending } }

    /// The table's default TTL in seconds (0 = none).
    var defaultTimeToLive: Int32 {
        if case .number(let text) = options["default_time_to_live"], let value = Int32(text) { return value }
        return 0
    }

    func spec(_ columnIndex: Int) -> CQLColumnSpec {
        CQLColumnSpec(keyspace: keyspace, table: name, name: columns[columnIndex].name, type: columns[columnIndex].type)
    }
}

/// A keyspace definition.
struct KeyspaceSchema: Sendable, Hashable {
    var name: String
    /// Replication options with `class` expanded to the full class name.
    var replication: [String: String]
    var durableWrites: Bool
    var tables: [String: TableSchema]
    /// System keyspaces are served from live state, not storage.
    var isSystem: Bool
}

/// Canonical CQL type text and parsed type from what a user wrote in CREATE TABLE.
enum CQLTypeName {
    /// Parses `text`, `varchar`, `frozen<list<text>>`, ... Returns the protocol type and the canonical text.
    static func parse(_ raw: String) throws(CQLServerError) -> (type: CQLDataType, text: String) {
        let text = try canonical(raw.lowercased().replacingOccurrences(of: " ", with: ""))
        guard let type = CQLDataType(cqlName: text) else {
            throw CQLServerError(.invalid, "Unknown type \(raw)")
        }
        if case .counter = type { throw CQLServerError(.invalid, "counter columns are not supported by the Stampede embedded server") }
        if case .custom = type { throw CQLServerError(.invalid, "custom types are not supported by the Stampede embedded server") }
        return (type, text)
    }

    private static let scalars: Set<String> = [
        "ascii", "bigint", "blob", "boolean", "counter", "decimal", "double", "float", "int", "timestamp", "uuid", "text",
        "varint", "timeuuid", "inet", "date", "time", "smallint", "tinyint", "duration",
    ]

    private static func canonical(_ text: String) throws(CQLServerError) -> String {
        guard let open = text.firstIndex(of: "<") else {
            let name = text == "varchar" ? "text" : text
            guard scalars.contains(name) else {
                throw CQLServerError(.invalid, "Unknown type \(text) (user-defined types are not supported by the Stampede embedded server)")
            }
            return name
        }
        guard text.hasSuffix(">") else { throw CQLServerError(.syntaxError, "malformed type \(text)") }
        let base = String(text[..<open])
        let inner = String(text[text.index(after: open)..<text.index(before: text.endIndex)])
        let arguments = inner.splitTopLevel(",")
        var canonicalArguments: [String] = []
        for argument in arguments { canonicalArguments.append(try canonical(argument)) }
        let expected: Int
        switch base {
        case "frozen", "list", "set": expected = 1
        case "map": expected = 2
        case "tuple": expected = arguments.count
        default: throw CQLServerError(.invalid, "Unknown type \(base)<...>")
        }
        guard arguments.count == expected, expected > 0 else { throw CQLServerError(.invalid, "Wrong number of type arguments in \(text)") }
        return "\(base)<\(canonicalArguments.joined(separator: ", "))>"
    }
}

extension String {
    /// Splits at `separator` outside of angle brackets.
    func splitTopLevel(_ separator: Character) -> [String] {
        var parts: [String] = []
        var depth = 0
        var current = ""
        for character in self {
            if character == "<" { depth += 1 }
            if character == ">" { depth -= 1 }
            if character == separator && depth == 0 {
                parts.append(current.trimmingCharacters(in: .whitespaces))
                current = ""
            } else {
                current.append(character)
            }
        }
        parts.append(current.trimmingCharacters(in: .whitespaces))
        return parts
    }
}
