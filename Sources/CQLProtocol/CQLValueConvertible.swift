import Foundation

/// A Swift type with a CQL representation: `UUID`, `Date`, `String`, integers, collections and so on.
///
/// ```swift
/// let values: [CQLValue] = [UUID().cqlValue, "hello".cqlValue, Date().cqlValue]
/// let text = try String(cqlValue: row[1])
/// ```
public protocol CQLValueConvertible: Sendable {
    var cqlValue: CQLValue { get }
    init(cqlValue: CQLValue) throws
}

extension CQLValueConvertible {
    static func mismatch(_ value: CQLValue) -> CQLProtocolError {
        CQLProtocolError(.typeMismatch, "cannot read a \(value.kindName) value as \(Self.self)")
    }
}

extension Bool: CQLValueConvertible {
    public var cqlValue: CQLValue { .boolean(self) }
    public init(cqlValue: CQLValue) throws {
        guard case .boolean(let value) = cqlValue else { throw Self.mismatch(cqlValue) }
        self = value
    }
}

/// Integers convert from any CQL integer kind whose value fits.
extension CQLValue {
    var integerValue: Int64? {
        switch self {
        case .tinyint(let value): Int64(value)
        case .smallint(let value): Int64(value)
        case .int(let value): Int64(value)
        case .bigint(let value), .timestamp(let value), .time(let value): value
        case .varint(let value): value.int64Value
        default: nil
        }
    }
}

extension Int8: CQLValueConvertible {
    public var cqlValue: CQLValue { .tinyint(self) }
    public init(cqlValue: CQLValue) throws {
        guard let value = cqlValue.integerValue.flatMap(Int8.init(exactly:)) else { throw Self.mismatch(cqlValue) }
        self = value
    }
}

extension Int16: CQLValueConvertible {
    public var cqlValue: CQLValue { .smallint(self) }
    public init(cqlValue: CQLValue) throws {
        guard let value = cqlValue.integerValue.flatMap(Int16.init(exactly:)) else { throw Self.mismatch(cqlValue) }
        self = value
    }
}

extension Int32: CQLValueConvertible {
    public var cqlValue: CQLValue { .int(self) }
    public init(cqlValue: CQLValue) throws {
        guard let value = cqlValue.integerValue.flatMap(Int32.init(exactly:)) else { throw Self.mismatch(cqlValue) }
        self = value
    }
}

extension Int64: CQLValueConvertible {
    public var cqlValue: CQLValue { .bigint(self) }
    public init(cqlValue: CQLValue) throws {
        guard let value = cqlValue.integerValue else { throw Self.mismatch(cqlValue) }
        self = value
    }
}

extension Int: CQLValueConvertible {
    /// `Int` is sent as `bigint`.
    public var cqlValue: CQLValue { .bigint(Int64(self)) }
    public init(cqlValue: CQLValue) throws {
        guard let value = cqlValue.integerValue.flatMap(Int.init(exactly:)) else { throw Self.mismatch(cqlValue) }
        self = value
    }
}

extension Float: CQLValueConvertible {
    public var cqlValue: CQLValue { .float(self) }
    public init(cqlValue: CQLValue) throws {
        guard case .float(let value) = cqlValue else { throw Self.mismatch(cqlValue) }
        self = value
    }
}

extension Double: CQLValueConvertible {
    public var cqlValue: CQLValue { .double(self) }
    public init(cqlValue: CQLValue) throws {
        switch cqlValue {
        case .double(let value): self = value
        case .float(let value): self = Double(value)
        case .decimal(let value): self = value.doubleValue
        default: throw Self.mismatch(cqlValue)
        }
    }
}

extension String: CQLValueConvertible {
    public var cqlValue: CQLValue { .text(self) }
    public init(cqlValue: CQLValue) throws {
        guard case .text(let value) = cqlValue else { throw Self.mismatch(cqlValue) }
        self = value
    }
}

extension UUID: CQLValueConvertible {
    public var cqlValue: CQLValue { .uuid(self) }
    public init(cqlValue: CQLValue) throws {
        guard case .uuid(let value) = cqlValue else { throw Self.mismatch(cqlValue) }
        self = value
    }
}

extension Date: CQLValueConvertible {
    /// A `Date` is a `timestamp` (milliseconds since the epoch).
    public var cqlValue: CQLValue { .timestamp(Int64((timeIntervalSince1970 * 1000).rounded(.down))) }
    public init(cqlValue: CQLValue) throws {
        switch cqlValue {
        case .timestamp(let milliseconds), .bigint(let milliseconds):
            self = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
        case .uuid(let uuid):
            guard let milliseconds = CQLTimeUUIDGenerator.unixMilliseconds(of: uuid) else { throw Self.mismatch(cqlValue) }
            self = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
        default:
            throw Self.mismatch(cqlValue)
        }
    }
}

extension Data: CQLValueConvertible {
    public var cqlValue: CQLValue { .blob([UInt8](self)) }
    public init(cqlValue: CQLValue) throws {
        guard case .blob(let value) = cqlValue else { throw Self.mismatch(cqlValue) }
        self = Data(value)
    }
}

extension CQLInet: CQLValueConvertible {
    public var cqlValue: CQLValue { .inet(self) }
    public init(cqlValue: CQLValue) throws {
        guard case .inet(let value) = cqlValue else { throw Self.mismatch(cqlValue) }
        self = value
    }
}

extension CQLDecimal: CQLValueConvertible {
    public var cqlValue: CQLValue { .decimal(self) }
    public init(cqlValue: CQLValue) throws {
        guard case .decimal(let value) = cqlValue else { throw Self.mismatch(cqlValue) }
        self = value
    }
}

extension CQLVarint: CQLValueConvertible {
    public var cqlValue: CQLValue { .varint(self) }
    public init(cqlValue: CQLValue) throws {
        switch cqlValue {
        case .varint(let value): self = value
        default:
            guard let integer = cqlValue.integerValue else { throw Self.mismatch(cqlValue) }
            self = CQLVarint(integer)
        }
    }
}

extension CQLDuration: CQLValueConvertible {
    public var cqlValue: CQLValue { .duration(self) }
    public init(cqlValue: CQLValue) throws {
        guard case .duration(let value) = cqlValue else { throw Self.mismatch(cqlValue) }
        self = value
    }
}

extension Optional: CQLValueConvertible where Wrapped: CQLValueConvertible {
    public var cqlValue: CQLValue { map(\.cqlValue) ?? .null }
    public init(cqlValue: CQLValue) throws {
        self = cqlValue.isNull ? nil : try Wrapped(cqlValue: cqlValue)
    }
}

extension Array: CQLValueConvertible where Element: CQLValueConvertible {
    /// Arrays are lists. An empty or null list reads as `[]`, as in Cassandra.
    public var cqlValue: CQLValue { .list(map(\.cqlValue)) }
    public init(cqlValue: CQLValue) throws {
        switch cqlValue {
        case .null: self = []
        case .list(let values), .set(let values): self = try values.map(Element.init(cqlValue:))
        default: throw Self.mismatch(cqlValue)
        }
    }
}

extension Set: CQLValueConvertible where Element: CQLValueConvertible {
    public var cqlValue: CQLValue { .set(map(\.cqlValue)) }
    public init(cqlValue: CQLValue) throws {
        switch cqlValue {
        case .null: self = []
        case .set(let values), .list(let values): self = Set(try values.map(Element.init(cqlValue:)))
        default: throw Self.mismatch(cqlValue)
        }
    }
}

extension Dictionary: CQLValueConvertible where Key: CQLValueConvertible, Value: CQLValueConvertible {
    public var cqlValue: CQLValue { .map(map { CQLMapEntry(key: $0.key.cqlValue, value: $0.value.cqlValue) }) }
    public init(cqlValue: CQLValue) throws {
        switch cqlValue {
        case .null: self = [:]
        case .map(let entries):
            var dictionary: [Key: Value] = [:]
            for entry in entries { dictionary[try Key(cqlValue: entry.key)] = try Value(cqlValue: entry.value) }
            self = dictionary
        default: throw Self.mismatch(cqlValue)
        }
    }
}

extension Array where Element == CQLValue {
    /// Reads cell `index` of a row as `T`.
    public func decode<T: CQLValueConvertible>(_ type: T.Type, at index: Int) throws -> T {
        guard indices.contains(index) else {
            throw CQLProtocolError(.typeMismatch, "row has \(count) columns; column \(index) does not exist")
        }
        return try T(cqlValue: self[index])
    }
}
