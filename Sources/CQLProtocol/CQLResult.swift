import NIOCore

/// The description of one result or bind column.
public struct CQLColumnSpec: Sendable, Hashable {
    public var keyspace: String
    public var table: String
    public var name: String
    public var type: CQLDataType

    public init(keyspace: String, table: String, name: String, type: CQLDataType) {
        self.keyspace = keyspace
        self.table = table
        self.name = name
        self.type = type
    }
}

/// Metadata of a Rows result (spec section 4.2.5.2).
public struct CQLRowsMetadata: Sendable, Hashable {
    /// The columns, or `nil` when the server sent none (`no_metadata`, after `skipMetadata`).
    public var columns: [CQLColumnSpec]?
    /// Present when more pages follow.
    public var pagingState: ByteBuffer?
    /// Column count, known even without column specs.
    public var columnCount: Int

    public init(columns: [CQLColumnSpec], pagingState: ByteBuffer? = nil) {
        self.columns = columns
        self.pagingState = pagingState
        self.columnCount = columns.count
    }

    public init(noMetadataColumnCount: Int, pagingState: ByteBuffer? = nil) {
        self.columns = nil
        self.pagingState = pagingState
        self.columnCount = noMetadataColumnCount
    }

    func write(into buffer: inout ByteBuffer) {
        var flags: Int32 = 0
        let globalSpec = columns.flatMap(Self.globalTableSpec)
        if columns == nil { flags |= 0x0004 } else if globalSpec != nil { flags |= 0x0001 }
        if pagingState != nil { flags |= 0x0002 }
        buffer.writeInteger(flags)
        buffer.writeInteger(Int32(columnCount))
        if let pagingState { buffer.writeCQLBytes(pagingState) }
        guard let columns else { return }
        writeColumnSpecs(columns, globalSpec: globalSpec, into: &buffer)
    }

    static func read(from buffer: inout ByteBuffer) throws -> CQLRowsMetadata {
        let flags = try buffer.readCQLInt("rows metadata flags")
        let count = try buffer.readCQLInt("column count")
        guard count >= 0, count <= 65535 else { throw CQLProtocolError.malformed("column count \(count)") }
        var pagingState: ByteBuffer?
        if flags & 0x0002 != 0 { pagingState = try buffer.readCQLBytes("paging state") }
        if flags & 0x0004 != 0 { return CQLRowsMetadata(noMetadataColumnCount: Int(count), pagingState: pagingState) }
        let columns = try readColumnSpecs(count: Int(count), global: flags & 0x0001 != 0, from: &buffer)
        return CQLRowsMetadata(columns: columns, pagingState: pagingState)
    }

    static func globalTableSpec(_ columns: [CQLColumnSpec]) -> (String, String)? {
        guard let first = columns.first else { return nil }
        guard columns.allSatisfy({ $0.keyspace == first.keyspace && $0.table == first.table }) else { return nil }
        return (first.keyspace, first.table)
    }
}

func writeColumnSpecs(_ columns: [CQLColumnSpec], globalSpec: (String, String)?, into buffer: inout ByteBuffer) {
    if let (keyspace, table) = globalSpec {
        buffer.writeCQLString(keyspace)
        buffer.writeCQLString(table)
    }
    for column in columns {
        if globalSpec == nil {
            buffer.writeCQLString(column.keyspace)
            buffer.writeCQLString(column.table)
        }
        buffer.writeCQLString(column.name)
        buffer.writeCQLOption(column.type)
    }
}

func readColumnSpecs(count: Int, global: Bool, from buffer: inout ByteBuffer) throws -> [CQLColumnSpec] {
    var keyspace = "", table = ""
    if global {
        keyspace = try buffer.readCQLString("keyspace")
        table = try buffer.readCQLString("table")
    }
    var columns: [CQLColumnSpec] = []
    columns.reserveCapacity(min(count, 1024))
    for _ in 0..<count {
        var columnKeyspace = keyspace, columnTable = table
        if !global {
            columnKeyspace = try buffer.readCQLString("keyspace")
            columnTable = try buffer.readCQLString("table")
        }
        let name = try buffer.readCQLString("column name")
        columns.append(CQLColumnSpec(keyspace: columnKeyspace, table: columnTable, name: name, type: try buffer.readCQLOption()))
    }
    return columns
}

extension ByteBuffer {
    /// Writes a type as `[option]`.
    public mutating func writeCQLOption(_ type: CQLDataType) {
        writeInteger(type.optionID)
        switch type {
        case .custom(let className):
            writeCQLString(className)
        case .list(let element), .set(let element):
            writeCQLOption(element)
        case .map(let key, let value):
            writeCQLOption(key)
            writeCQLOption(value)
        case .udt(let keyspace, let name, let fields):
            writeCQLString(keyspace)
            writeCQLString(name)
            writeInteger(UInt16(truncatingIfNeeded: fields.count))
            for field in fields {
                writeCQLString(field.name)
                writeCQLOption(field.type)
            }
        case .tuple(let elements):
            writeInteger(UInt16(truncatingIfNeeded: elements.count))
            for element in elements { writeCQLOption(element) }
        default:
            break
        }
    }

    /// Reads a type `[option]`. Nesting deeper than 32 levels is rejected as malformed.
    public mutating func readCQLOption(depth: Int = 0) throws -> CQLDataType {
        guard depth < 32 else { throw CQLProtocolError.malformed("type nested more than 32 levels") }
        let id = try readCQLShort("type option id")
        switch id {
        case 0x0000: return .custom(try readCQLString("custom type class"))
        case 0x0001: return .ascii
        case 0x0002: return .bigint
        case 0x0003: return .blob
        case 0x0004: return .boolean
        case 0x0005: return .counter
        case 0x0006: return .decimal
        case 0x0007: return .double
        case 0x0008: return .float
        case 0x0009: return .int
        case 0x000B: return .timestamp
        case 0x000C: return .uuid
        case 0x000D: return .varchar
        case 0x000E: return .varint
        case 0x000F: return .timeuuid
        case 0x0010: return .inet
        case 0x0011: return .date
        case 0x0012: return .time
        case 0x0013: return .smallint
        case 0x0014: return .tinyint
        case 0x0015: return .duration
        case 0x0020: return .list(try readCQLOption(depth: depth + 1))
        case 0x0021:
            let key = try readCQLOption(depth: depth + 1)
            return .map(key, try readCQLOption(depth: depth + 1))
        case 0x0022: return .set(try readCQLOption(depth: depth + 1))
        case 0x0030:
            let keyspace = try readCQLString("udt keyspace")
            let name = try readCQLString("udt name")
            let count = try readCQLShort("udt field count")
            var fields: [CQLUDTField] = []
            for _ in 0..<count {
                let fieldName = try readCQLString("udt field name")
                fields.append(CQLUDTField(name: fieldName, type: try readCQLOption(depth: depth + 1)))
            }
            return .udt(keyspace: keyspace, name: name, fields: fields)
        case 0x0031:
            let count = try readCQLShort("tuple size")
            var elements: [CQLDataType] = []
            for _ in 0..<count { elements.append(try readCQLOption(depth: depth + 1)) }
            return .tuple(elements)
        default:
            throw CQLProtocolError.malformed("type option id 0x\(String(id, radix: 16))")
        }
    }
}

/// A Rows result. The row content stays in wire form until it is decoded, so a client that only
/// counts rows or forwards them pays nothing for decoding.
public struct CQLRows: Sendable, Hashable {
    public var metadata: CQLRowsMetadata
    public var rowCount: Int
    /// `rowCount × columnCount` `[bytes]` cells.
    public var content: ByteBuffer

    public init(metadata: CQLRowsMetadata, rowCount: Int, content: ByteBuffer) {
        self.metadata = metadata
        self.rowCount = rowCount
        self.content = content
    }

    /// Builds the wire form of `rows`, each cell encoded with its column's type.
    public init(columns: [CQLColumnSpec], rows: [[CQLValue]], pagingState: ByteBuffer? = nil, skipMetadata: Bool = false) throws {
        var content = ByteBuffer()
        for row in rows {
            guard row.count == columns.count else {
                throw CQLProtocolError(.typeMismatch, "row of \(row.count) cells for \(columns.count) columns")
            }
            for (index, cell) in row.enumerated() {
                try cell.write(as: columns[index].type, into: &content)
            }
        }
        let metadata =
            skipMetadata
            ? CQLRowsMetadata(noMetadataColumnCount: columns.count, pagingState: pagingState)
            : CQLRowsMetadata(columns: columns, pagingState: pagingState)
        self.init(metadata: metadata, rowCount: rows.count, content: content)
    }

    /// Decodes every cell. `columns` overrides the metadata's (needed after `skipMetadata`).
    public func decodeRows(columns: [CQLColumnSpec]? = nil) throws -> [[CQLValue]] {
        guard let columns = columns ?? metadata.columns else {
            throw CQLProtocolError(.malformed, "rows without metadata and no prepared metadata to decode them")
        }
        guard columns.count == metadata.columnCount else {
            throw CQLProtocolError(.malformed, "rows of \(metadata.columnCount) columns decoded with \(columns.count) column specs")
        }
        guard rowCount >= 0 else { throw CQLProtocolError.malformed("row count \(rowCount)") }
        var cursor = content
        var rows: [[CQLValue]] = []
        // Every cell takes at least 4 bytes, so the content bounds the rows worth reserving for.
        rows.reserveCapacity(min(rowCount, cursor.readableBytes / max(4 * columns.count, 1) + 1))
        for _ in 0..<rowCount {
            var row: [CQLValue] = []
            row.reserveCapacity(columns.count)
            for column in columns { row.append(try CQLValue.read(column.type, from: &cursor)) }
            rows.append(row)
        }
        return rows
    }
}

/// The result of PREPARE (spec section 4.2.5.4).
public struct CQLPrepared: Sendable, Hashable {
    public var id: [UInt8]
    /// Bind variables.
    public var bindColumns: [CQLColumnSpec]
    /// Indexes into `bindColumns` of the partition key components, in key order (for token routing).
    public var partitionKeyIndexes: [Int]
    /// Columns of the rows the statement returns (empty for writes).
    public var resultColumns: [CQLColumnSpec]

    public init(id: [UInt8], bindColumns: [CQLColumnSpec], partitionKeyIndexes: [Int], resultColumns: [CQLColumnSpec]) {
        self.id = id
        self.bindColumns = bindColumns
        self.partitionKeyIndexes = partitionKeyIndexes
        self.resultColumns = resultColumns
    }

    func write(into buffer: inout ByteBuffer) {
        buffer.writeCQLShortBytes(id)
        let globalSpec = CQLRowsMetadata.globalTableSpec(bindColumns)
        buffer.writeInteger(Int32(globalSpec != nil ? 0x0001 : 0))
        buffer.writeInteger(Int32(bindColumns.count))
        buffer.writeInteger(Int32(partitionKeyIndexes.count))
        for index in partitionKeyIndexes { buffer.writeInteger(UInt16(truncatingIfNeeded: index)) }
        writeColumnSpecs(bindColumns, globalSpec: globalSpec, into: &buffer)
        if resultColumns.isEmpty {
            buffer.writeInteger(Int32(0x0004))  // no_metadata
            buffer.writeInteger(Int32(0))
        } else {
            CQLRowsMetadata(columns: resultColumns).write(into: &buffer)
        }
    }

    static func read(from buffer: inout ByteBuffer) throws -> CQLPrepared {
        let id = try buffer.readCQLShortBytes("prepared id")
        let flags = try buffer.readCQLInt("prepared metadata flags")
        let count = try buffer.readCQLInt("bind column count")
        let keyCount = try buffer.readCQLInt("partition key count")
        guard count >= 0, count <= 65535, keyCount >= 0, keyCount <= count else {
            throw CQLProtocolError.malformed("prepared metadata counts \(count)/\(keyCount)")
        }
        var keyIndexes: [Int] = []
        for _ in 0..<keyCount {
            let index = Int(try buffer.readCQLShort("partition key index"))
            guard index < count else { throw CQLProtocolError.malformed("partition key index \(index) of \(count)") }
            keyIndexes.append(index)
        }
        let bindColumns = try readColumnSpecs(count: Int(count), global: flags & 0x0001 != 0, from: &buffer)
        let resultMetadata = try CQLRowsMetadata.read(from: &buffer)
        return CQLPrepared(id: id, bindColumns: bindColumns, partitionKeyIndexes: keyIndexes, resultColumns: resultMetadata.columns ?? [])
    }
}

/// What a schema change touched (SCHEMA_CHANGE result and event).
public struct CQLSchemaChange: Sendable, Hashable {
    public enum Change: String, Sendable, Hashable {
        case created = "CREATED"
        case updated = "UPDATED"
        case dropped = "DROPPED"
    }

    public enum Target: Sendable, Hashable {
        case keyspace(String)
        case table(keyspace: String, name: String)
        case type(keyspace: String, name: String)
        case function(keyspace: String, name: String, argumentTypes: [String])
        case aggregate(keyspace: String, name: String, argumentTypes: [String])
    }

    public var change: Change
    public var target: Target

    public init(change: Change, target: Target) {
        self.change = change
        self.target = target
    }

    func write(into buffer: inout ByteBuffer) {
        buffer.writeCQLString(change.rawValue)
        switch target {
        case .keyspace(let keyspace):
            buffer.writeCQLString("KEYSPACE")
            buffer.writeCQLString(keyspace)
        case .table(let keyspace, let name):
            buffer.writeCQLString("TABLE")
            buffer.writeCQLString(keyspace)
            buffer.writeCQLString(name)
        case .type(let keyspace, let name):
            buffer.writeCQLString("TYPE")
            buffer.writeCQLString(keyspace)
            buffer.writeCQLString(name)
        case .function(let keyspace, let name, let arguments):
            buffer.writeCQLString("FUNCTION")
            buffer.writeCQLString(keyspace)
            buffer.writeCQLString(name)
            buffer.writeCQLStringList(arguments)
        case .aggregate(let keyspace, let name, let arguments):
            buffer.writeCQLString("AGGREGATE")
            buffer.writeCQLString(keyspace)
            buffer.writeCQLString(name)
            buffer.writeCQLStringList(arguments)
        }
    }

    static func read(from buffer: inout ByteBuffer) throws -> CQLSchemaChange {
        let rawChange = try buffer.readCQLString("schema change type")
        guard let change = Change(rawValue: rawChange) else { throw CQLProtocolError.malformed("schema change type \(rawChange)") }
        let target: Target
        switch try buffer.readCQLString("schema change target") {
        case "KEYSPACE": target = .keyspace(try buffer.readCQLString())
        case "TABLE": target = .table(keyspace: try buffer.readCQLString(), name: try buffer.readCQLString())
        case "TYPE": target = .type(keyspace: try buffer.readCQLString(), name: try buffer.readCQLString())
        case "FUNCTION":
            target = .function(keyspace: try buffer.readCQLString(), name: try buffer.readCQLString(), argumentTypes: try buffer.readCQLStringList())
        case "AGGREGATE":
            target = .aggregate(keyspace: try buffer.readCQLString(), name: try buffer.readCQLString(), argumentTypes: try buffer.readCQLStringList())
        case let other: throw CQLProtocolError.malformed("schema change target \(other)")
        }
        return CQLSchemaChange(change: change, target: target)
    }
}

/// A RESULT message body.
public enum CQLResult: Sendable, Hashable {
    case void
    case rows(CQLRows)
    case setKeyspace(String)
    case prepared(CQLPrepared)
    case schemaChange(CQLSchemaChange)

    public func writeBody(into buffer: inout ByteBuffer) {
        switch self {
        case .void:
            buffer.writeInteger(Int32(0x0001))
        case .rows(let rows):
            buffer.writeInteger(Int32(0x0002))
            rows.metadata.write(into: &buffer)
            buffer.writeInteger(Int32(rows.rowCount))
            var content = rows.content
            buffer.writeBuffer(&content)
        case .setKeyspace(let keyspace):
            buffer.writeInteger(Int32(0x0003))
            buffer.writeCQLString(keyspace)
        case .prepared(let prepared):
            buffer.writeInteger(Int32(0x0004))
            prepared.write(into: &buffer)
        case .schemaChange(let change):
            buffer.writeInteger(Int32(0x0005))
            change.write(into: &buffer)
        }
    }

    public static func decode(from buffer: inout ByteBuffer) throws -> CQLResult {
        let kind = try buffer.readCQLInt("result kind")
        switch kind {
        case 0x0001:
            return .void
        case 0x0002:
            let metadata = try CQLRowsMetadata.read(from: &buffer)
            let rowCount = try buffer.readCQLInt("row count")
            guard rowCount >= 0 else { throw CQLProtocolError.malformed("row count \(rowCount)") }
            let content = buffer.readSlice(length: buffer.readableBytes)!
            let rows = CQLRows(metadata: metadata, rowCount: Int(rowCount), content: content)
            try rows.validateCellFraming()
            return .rows(rows)
        case 0x0003:
            return .setKeyspace(try buffer.readCQLString("keyspace"))
        case 0x0004:
            return .prepared(try CQLPrepared.read(from: &buffer))
        case 0x0005:
            return .schemaChange(try CQLSchemaChange.read(from: &buffer))
        default:
            throw CQLProtocolError.malformed("result kind \(kind)")
        }
    }
}

extension CQLRows {
    /// Checks that the content holds exactly `rowCount × columnCount` well-formed `[bytes]` cells.
    func validateCellFraming() throws {
        var cursor = content
        // Rows of no columns take no bytes, so nothing would bound a forged row count: refuse them.
        guard metadata.columnCount > 0 || rowCount == 0 else {
            throw CQLProtocolError.malformed("\(rowCount) rows of no columns")
        }
        let cells = rowCount.multipliedReportingOverflow(by: metadata.columnCount)
        guard !cells.overflow, cells.partialValue <= cursor.readableBytes / 4 || cells.partialValue == 0 else {
            throw CQLProtocolError.malformed("\(rowCount) rows of \(metadata.columnCount) columns in \(cursor.readableBytes) bytes")
        }
        for _ in 0..<cells.partialValue {
            let length = try cursor.readCQLInt("cell length")
            if length < 0 { continue }
            guard cursor.readableBytes >= Int(length) else { throw CQLProtocolError.truncated("cell") }
            cursor.moveReaderIndex(forwardBy: Int(length))
        }
    }
}
