import CQLProtocol
import NIOCore

/// A statement prepared on the cluster: its id, the types of its bind markers and of its result columns.
///
/// A value type over one immutable storage object, so that passing it along the hot path (once per operation) is a
/// single reference count, not one per field.
public struct CQLPreparedStatement: Sendable, Hashable {
    private final class Storage: Sendable {
        let query: String
        let keyspace: String?
        let id: [UInt8]
        let bindColumns: [CQLColumnSpec]
        let partitionKeyIndexes: [Int]
        let resultColumns: [CQLColumnSpec]
        let encoder: CQLExecuteEncoder

        init(query: String, keyspace: String?, prepared: CQLPrepared) {
            self.query = query
            self.keyspace = keyspace
            id = prepared.id
            bindColumns = prepared.bindColumns
            partitionKeyIndexes = prepared.partitionKeyIndexes
            resultColumns = prepared.resultColumns
            encoder = CQLExecuteEncoder(id: prepared.id, types: prepared.bindColumns.map(\.type))
        }
    }

    private let storage: Storage

    public var query: String { storage.query }
    /// The keyspace the statement was prepared in (the session's at the time).
    public var keyspace: String? { storage.keyspace }
    public var id: [UInt8] { storage.id }
    public var bindColumns: [CQLColumnSpec] { storage.bindColumns }
    public var partitionKeyIndexes: [Int] { storage.partitionKeyIndexes }
    public var resultColumns: [CQLColumnSpec] { storage.resultColumns }
    /// Writes this statement's EXECUTE frames in place (the fast path of `CQLSession.execute`).
    public var encoder: CQLExecuteEncoder { storage.encoder }

    init(query: String, keyspace: String?, prepared: CQLPrepared) {
        storage = Storage(query: query, keyspace: keyspace, prepared: prepared)
    }

    public static func == (lhs: CQLPreparedStatement, rhs: CQLPreparedStatement) -> Bool {
        lhs.storage === rhs.storage
            || (lhs.query == rhs.query && lhs.keyspace == rhs.keyspace && lhs.id == rhs.id && lhs.bindColumns == rhs.bindColumns
                && lhs.partitionKeyIndexes == rhs.partitionKeyIndexes && lhs.resultColumns == rhs.resultColumns)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(query)
        hasher.combine(keyspace)
        hasher.combine(id)
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

    /// Encodes a whole EXECUTE frame binding `values` (stream and version are set by the connection that sends it)
    /// and finds the routing key in it: the same checks, errors, bytes and key as `bind` plus the general encoder.
    public func encodeExecute(
        _ values: [CQLValue], parameters: CQLQueryParameters, allocator: ByteBufferAllocator = .init()
    ) throws -> (frame: CQLEncodedRequest, routingKey: ByteBuffer?) {
        guard values.count == bindColumns.count else {
            throw CQLClientError(.invalidArgument, "statement takes \(bindColumns.count) values, given \(values.count): \(query)")
        }
        var frame = allocator.buffer(capacity: encoder.estimatedFrameSize(values))
        let layout: CQLExecuteEncoder.Layout
        do {
            layout = try encoder.writeFrame(values, stream: 0, parameters: parameters, into: &frame)
        } catch {
            // Again value by value, to name the value and column that do not fit.
            layout = try writeExecute(parameters: parameters, into: &frame) { writer in
                for value in values { try writer.write(value) }
            }
        }
        return (CQLEncodedRequest(trusted: frame), routingKey(inFrame: frame, valuesStart: layout.valuesStart, allocator: allocator))
    }

    /// Encodes a whole EXECUTE frame whose values `values` writes through a `CQLValueWriter`, and finds its routing key.
    public func encodeExecute(
        parameters: CQLQueryParameters, allocator: ByteBufferAllocator = .init(), values: (inout CQLValueWriter) throws -> Void
    ) throws -> (frame: CQLEncodedRequest, routingKey: ByteBuffer?) {
        var frame = allocator.buffer(capacity: 256 + id.count)
        let layout = try writeExecute(parameters: parameters, into: &frame, values: values)
        return (CQLEncodedRequest(trusted: frame), routingKey(inFrame: frame, valuesStart: layout.valuesStart, allocator: allocator))
    }

    private func writeExecute(
        parameters: CQLQueryParameters, into frame: inout ByteBuffer, values: (inout CQLValueWriter) throws -> Void
    ) throws -> CQLExecuteEncoder.Layout {
        do {
            return try encoder.writeFrame(stream: 0, parameters: parameters, into: &frame) { writer in
                do {
                    try values(&writer)
                } catch let error as CQLProtocolError {
                    let index = writer.valueCount
                    guard index < bindColumns.count else { throw error }
                    throw CQLClientError(.invalidArgument, "value \(index) (\(bindColumns[index].name)): \(error)")
                }
            }
        } catch let error as CQLProtocolError {
            throw CQLClientError(.invalidArgument, "\(error): \(query)")
        }
    }

    /// The routing key of a frame written by `encodeExecute`: the partition key's serialized values, found by
    /// walking the `[value]`s from `valuesStart`; `nil` when a component is null/unset or there is no key.
    func routingKey(inFrame frame: ByteBuffer, valuesStart: Int, allocator: ByteBufferAllocator) -> ByteBuffer? {
        guard !partitionKeyIndexes.isEmpty else { return nil }
        func range(ofValue target: Int) -> Range<Int>? {
            var offset = valuesStart
            for _ in 0..<target {
                guard let length = frame.getInteger(at: offset, as: Int32.self) else { return nil }
                offset += 4 + max(0, Int(length))
            }
            guard let length = frame.getInteger(at: offset, as: Int32.self), length >= 0 else { return nil }
            return (offset + 4)..<(offset + 4 + Int(length))
        }
        if partitionKeyIndexes.count == 1 {
            guard let range = range(ofValue: partitionKeyIndexes[0]) else { return nil }
            return frame.getSlice(at: range.lowerBound, length: range.count)
        }
        return Self.routingKey(from: frame, ranges: partitionKeyIndexes.map(range(ofValue:)), allocator: allocator)
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
