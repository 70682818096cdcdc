import NIOCore

/// A bound value as it travels: serialized bytes, null, or unset.
public enum CQLBoundValue: Sendable, Hashable {
    case null
    case unset
    case bytes(ByteBuffer)

    func write(into buffer: inout ByteBuffer) {
        switch self {
        case .null: buffer.writeInteger(Int32(-1))
        case .unset: buffer.writeInteger(Int32(-2))
        case .bytes(let bytes): buffer.writeCQLBytes(bytes)
        }
    }

    static func read(from buffer: inout ByteBuffer) throws -> CQLBoundValue {
        let length = try buffer.readCQLInt("bound value length")
        switch length {
        case -1: return .null
        case -2: return .unset
        case ..<0: throw CQLProtocolError.malformed("bound value length \(length)")
        default:
            guard let slice = buffer.readSlice(length: Int(length)) else { throw CQLProtocolError.truncated("bound value") }
            return .bytes(slice)
        }
    }

    /// Decodes the value as `type`.
    public func decode(as type: CQLDataType) throws -> CQLValue {
        switch self {
        case .null: return .null
        case .unset: return .unset
        case .bytes(var bytes): return try CQLValue.decode(type, body: &bytes)
        }
    }
}

/// The values bound to a statement.
public enum CQLBoundValues: Sendable, Hashable {
    case none
    case positional([CQLBoundValue])
    case named([(name: String, value: CQLBoundValue)])
    /// `count` values already written one after the other as `[value]`s; the fast path of prepared writes.
    case encoded(count: Int, bytes: ByteBuffer)

    /// Serializes `values` with the given column types into one buffer.
    public static func typed(_ values: [CQLValue], types: [CQLDataType], allocator: ByteBufferAllocator = .init()) throws -> CQLBoundValues {
        guard values.count == types.count else {
            throw CQLProtocolError(.typeMismatch, "statement takes \(types.count) values, given \(values.count)")
        }
        var buffer = allocator.buffer(capacity: values.count * 16)
        for (index, value) in values.enumerated() {
            try value.write(as: types[index], into: &buffer)
        }
        return .encoded(count: values.count, bytes: buffer)
    }

    /// Serializes values using each value's natural type (for unprepared statements, where the server
    /// gives no types): text as varchar, `.uuid` as uuid, and so on.
    public static func natural(_ values: [CQLValue], allocator: ByteBufferAllocator = .init()) throws -> CQLBoundValues {
        try typed(values, types: values.map(\.naturalType), allocator: allocator)
    }

    public var count: Int {
        switch self {
        case .none: 0
        case .positional(let values): values.count
        case .named(let values): values.count
        case .encoded(let count, _): count
        }
    }

    /// The values as a positional list, splitting an encoded buffer. Named values keep their order.
    public func positionalValues() throws -> [CQLBoundValue] {
        switch self {
        case .none: return []
        case .positional(let values): return values
        case .named(let values): return values.map(\.value)
        case .encoded(let count, var bytes):
            var values: [CQLBoundValue] = []
            for _ in 0..<count { values.append(try CQLBoundValue.read(from: &bytes)) }
            return values
        }
    }

    public static func == (lhs: CQLBoundValues, rhs: CQLBoundValues) -> Bool {
        switch (lhs, rhs) {
        case (.named(let left), .named(let right)):
            return left.map(\.name) == right.map(\.name) && left.map(\.value) == right.map(\.value)
        case (.named, _), (_, .named):
            return false
        default:
            return (try? lhs.positionalValues()) == (try? rhs.positionalValues())
        }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
    }
}

extension CQLValue {
    /// The type a value is sent as when the statement's types are unknown.
    public var naturalType: CQLDataType {
        switch self {
        case .null, .unset: .blob
        case .boolean: .boolean
        case .tinyint: .tinyint
        case .smallint: .smallint
        case .int: .int
        case .bigint: .bigint
        case .float: .float
        case .double: .double
        case .decimal: .decimal
        case .varint: .varint
        case .text: .varchar
        case .blob: .blob
        case .uuid(let uuid): uuid.cqlVersion == 1 ? .timeuuid : .uuid
        case .timestamp: .timestamp
        case .date: .date
        case .time: .time
        case .duration: .duration
        case .inet: .inet
        case .list(let values): .list(values.first?.naturalType ?? .blob)
        case .set(let values): .set(values.first?.naturalType ?? .blob)
        case .map(let entries): .map(entries.first?.key.naturalType ?? .blob, entries.first?.value.naturalType ?? .blob)
        case .tuple(let values): .tuple(values.map(\.naturalType))
        case .udt(let values): .tuple(values.map(\.naturalType))
        }
    }
}

/// The `<query_parameters>` of QUERY and EXECUTE (spec section 4.1.4).
public struct CQLQueryParameters: Sendable, Hashable {
    public var consistency: CQLConsistency
    public var values: CQLBoundValues
    /// Ask the server to omit result metadata (the client has it from PREPARE).
    public var skipMetadata: Bool
    public var pageSize: Int32?
    public var pagingState: ByteBuffer?
    public var serialConsistency: CQLConsistency?
    /// Client-side default timestamp in microseconds since the epoch.
    public var defaultTimestamp: Int64?

    public init(
        consistency: CQLConsistency = .one, values: CQLBoundValues = .none, skipMetadata: Bool = false,
        pageSize: Int32? = nil, pagingState: ByteBuffer? = nil, serialConsistency: CQLConsistency? = nil,
        defaultTimestamp: Int64? = nil
    ) {
        self.consistency = consistency
        self.values = values
        self.skipMetadata = skipMetadata
        self.pageSize = pageSize
        self.pagingState = pagingState
        self.serialConsistency = serialConsistency
        self.defaultTimestamp = defaultTimestamp
    }

    struct Flags: OptionSet {
        let rawValue: UInt8
        static let values = Flags(rawValue: 0x01)
        static let skipMetadata = Flags(rawValue: 0x02)
        static let pageSize = Flags(rawValue: 0x04)
        static let pagingState = Flags(rawValue: 0x08)
        static let serialConsistency = Flags(rawValue: 0x10)
        static let defaultTimestamp = Flags(rawValue: 0x20)
        static let namesForValues = Flags(rawValue: 0x40)
    }

    func write(into buffer: inout ByteBuffer) {
        buffer.writeInteger(consistency.rawValue)
        var flags: Flags = []
        if values.count > 0 { flags.insert(.values) }
        if case .named = values { flags.insert(.namesForValues) }
        if skipMetadata { flags.insert(.skipMetadata) }
        if pageSize != nil { flags.insert(.pageSize) }
        if pagingState != nil { flags.insert(.pagingState) }
        if serialConsistency != nil { flags.insert(.serialConsistency) }
        if defaultTimestamp != nil { flags.insert(.defaultTimestamp) }
        buffer.writeInteger(flags.rawValue)
        if flags.contains(.values) {
            buffer.writeInteger(UInt16(truncatingIfNeeded: values.count))
            switch values {
            case .none: break
            case .positional(let list):
                for value in list { value.write(into: &buffer) }
            case .named(let list):
                for (name, value) in list {
                    buffer.writeCQLString(name)
                    value.write(into: &buffer)
                }
            case .encoded(_, var bytes):
                buffer.writeBuffer(&bytes)
            }
        }
        if let pageSize { buffer.writeInteger(pageSize) }
        if let pagingState { buffer.writeCQLBytes(pagingState) }
        if let serialConsistency { buffer.writeInteger(serialConsistency.rawValue) }
        if let defaultTimestamp { buffer.writeInteger(defaultTimestamp) }
    }

    static func read(from buffer: inout ByteBuffer) throws -> CQLQueryParameters {
        var parameters = CQLQueryParameters(consistency: try buffer.readCQLConsistency())
        let flags = Flags(rawValue: try buffer.readCQLByte("query flags"))
        if flags.contains(.values) {
            let count = try buffer.readCQLShort("value count")
            if flags.contains(.namesForValues) {
                var named: [(name: String, value: CQLBoundValue)] = []
                for _ in 0..<count {
                    let name = try buffer.readCQLString("value name")
                    named.append((name, try CQLBoundValue.read(from: &buffer)))
                }
                parameters.values = .named(named)
            } else {
                var positional: [CQLBoundValue] = []
                positional.reserveCapacity(Int(count))
                for _ in 0..<count { positional.append(try CQLBoundValue.read(from: &buffer)) }
                parameters.values = .positional(positional)
            }
        }
        parameters.skipMetadata = flags.contains(.skipMetadata)
        if flags.contains(.pageSize) { parameters.pageSize = try buffer.readCQLInt("page size") }
        if flags.contains(.pagingState) {
            parameters.pagingState = try buffer.readCQLBytes("paging state")
        }
        if flags.contains(.serialConsistency) { parameters.serialConsistency = try buffer.readCQLConsistency() }
        if flags.contains(.defaultTimestamp) { parameters.defaultTimestamp = try buffer.readCQLLong("timestamp") }
        return parameters
    }
}
