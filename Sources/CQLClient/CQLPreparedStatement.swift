import CQLProtocol
import NIOCore

/// A statement prepared on the cluster: its id, the types of its bind markers and of its result columns.
public struct CQLPreparedStatement: Sendable, Hashable {
    public let query: String
    /// The keyspace the statement was prepared in (the session's at the time).
    public let keyspace: String?
    public let id: [UInt8]
    public let bindColumns: [CQLColumnSpec]
    public let partitionKeyIndexes: [Int]
    public let resultColumns: [CQLColumnSpec]

    init(query: String, keyspace: String?, prepared: CQLPrepared) {
        self.query = query
        self.keyspace = keyspace
        self.id = prepared.id
        self.bindColumns = prepared.bindColumns
        self.partitionKeyIndexes = prepared.partitionKeyIndexes
        self.resultColumns = prepared.resultColumns
    }

    /// The keyspace of the statement's table (for replica lookup).
    var routingKeyspace: String? { bindColumns.first?.keyspace ?? keyspace }

    /// Serializes `values` with the bind markers' types and computes the routing key on the way.
    ///
    /// - Returns: the encoded values and the serialized partition key (CompositeType form for composite keys),
    ///   or `nil` for the key when a component is null/unset or there is no key.
    public func bind(_ values: [CQLValue], allocator: ByteBufferAllocator = .init()) throws -> (values: CQLBoundValues, routingKey: ByteBuffer?) {
        guard values.count == bindColumns.count else {
            throw CQLClientError(.invalidArgument, "statement takes \(bindColumns.count) values, given \(values.count): \(query)")
        }
        var buffer = allocator.buffer(capacity: values.count * 24)
        var keyRanges = [Range<Int>?](repeating: nil, count: partitionKeyIndexes.count)
        for (index, value) in values.enumerated() {
            let start = buffer.writerIndex + 4
            do {
                try value.write(as: bindColumns[index].type, into: &buffer)
            } catch {
                throw CQLClientError(.invalidArgument, "value \(index) (\(bindColumns[index].name)): \(error)")
            }
            if let keyPosition = partitionKeyIndexes.firstIndex(of: index), buffer.writerIndex >= start {
                switch value {
                case .null, .unset: break
                default: keyRanges[keyPosition] = start..<buffer.writerIndex
                }
            }
        }
        return (.encoded(count: values.count, bytes: buffer), Self.routingKey(from: buffer, ranges: keyRanges, allocator: allocator))
    }

    static func routingKey(from buffer: ByteBuffer, ranges: [Range<Int>?], allocator: ByteBufferAllocator) -> ByteBuffer? {
        guard !ranges.isEmpty, ranges.allSatisfy({ $0 != nil }) else { return nil }
        if ranges.count == 1, let range = ranges[0] {
            return buffer.getSlice(at: range.lowerBound, length: range.count)
        }
        var key = allocator.buffer(capacity: ranges.reduce(0) { $0 + ($1?.count ?? 0) + 3 })
        for case let range? in ranges {
            key.writeInteger(UInt16(truncatingIfNeeded: range.count))
            key.writeImmutableBuffer(buffer.getSlice(at: range.lowerBound, length: range.count)!)
            key.writeInteger(UInt8(0))
        }
        return key
    }
}

/// The answer to a statement: rows (possibly one page of many), or nothing.
public struct CQLQueryResult: Sendable {
    public var columns: [CQLColumnSpec]
    public var rows: [[CQLValue]]
    /// Set when more pages follow; pass it back in `CQLStatementOptions.pagingState`.
    public var pagingState: ByteBuffer?
    /// The host that answered.
    public var host: CQLHostAddress?
    /// For schema changes, what changed.
    public var schemaChange: CQLSchemaChange?

    public init(columns: [CQLColumnSpec] = [], rows: [[CQLValue]] = [], pagingState: ByteBuffer? = nil,
                host: CQLHostAddress? = nil, schemaChange: CQLSchemaChange? = nil) {
        self.columns = columns
        self.rows = rows
        self.pagingState = pagingState
        self.host = host
        self.schemaChange = schemaChange
    }

    /// The index of a column by name.
    public func columnIndex(_ name: String) -> Int? {
        columns.firstIndex { $0.name == name }
    }

    /// The value of `column` in row `row`, or `nil` when the column does not exist.
    public func value(row: Int, column name: String) -> CQLValue? {
        guard let index = columnIndex(name), rows.indices.contains(row) else { return nil }
        return rows[row][index]
    }
}
