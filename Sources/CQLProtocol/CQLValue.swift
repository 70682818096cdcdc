import Foundation
import NIOCore

/// A key/value pair of a CQL map value, kept in order.
public struct CQLMapEntry: Sendable, Hashable {
    public var key: CQLValue
    public var value: CQLValue
    public init(key: CQLValue, value: CQLValue) {
        self.key = key
        self.value = value
    }
}

/// A CQL value of any type, or null / unset.
///
/// The case names the value's representation; the column type decides which wire form is used
/// (`text` and `ascii` both use `.text`, `uuid` and `timeuuid` both use `.uuid`, `bigint` and `counter` both use `.bigint`).
public enum CQLValue: Sendable, Hashable {
    case null
    /// "Leave this column unchanged" (protocol v4 and later).
    case unset
    case boolean(Bool)
    case tinyint(Int8)
    case smallint(Int16)
    case int(Int32)
    case bigint(Int64)
    case float(Float)
    case double(Double)
    case decimal(CQLDecimal)
    case varint(CQLVarint)
    case text(String)
    case blob([UInt8])
    case uuid(UUID)
    /// Milliseconds since the Unix epoch.
    case timestamp(Int64)
    /// Days since the epoch with the epoch at 2^31 (the wire form of `date`).
    case date(UInt32)
    /// Nanoseconds since midnight.
    case time(Int64)
    case duration(CQLDuration)
    case inet(CQLInet)
    case list([CQLValue])
    case set([CQLValue])
    case map([CQLMapEntry])
    case tuple([CQLValue])
    /// Field values of a user-defined type, in the type's field order.
    case udt([CQLValue])

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

extension CQLValue: CustomStringConvertible {
    /// A CQL-literal-like rendering, used by tools and error messages.
    public var description: String {
        switch self {
        case .null: "null"
        case .unset: "unset"
        case .boolean(let value): String(value)
        case .tinyint(let value): String(value)
        case .smallint(let value): String(value)
        case .int(let value): String(value)
        case .bigint(let value): String(value)
        case .float(let value): String(value)
        case .double(let value): String(value)
        case .decimal(let value): value.description
        case .varint(let value): value.description
        case .text(let value): "'" + value.replacingOccurrences(of: "'", with: "''") + "'"
        case .blob(let value): "0x" + value.map { String(format: "%02x", $0) }.joined()
        case .uuid(let value): value.uuidString.lowercased()
        case .timestamp(let value): String(value)
        case .date(let value): String(Int64(value) - (1 << 31))
        case .time(let value): String(value)
        case .duration(let value): value.description
        case .inet(let value): "'\(value)'"
        case .list(let values): "[" + values.map(\.description).joined(separator: ", ") + "]"
        case .set(let values): "{" + values.map(\.description).joined(separator: ", ") + "}"
        case .map(let entries): "{" + entries.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        case .tuple(let values): "(" + values.map(\.description).joined(separator: ", ") + ")"
        case .udt(let values): "{" + values.map(\.description).joined(separator: ", ") + "}"
        }
    }
}

// MARK: - Wire codec

extension CQLValue {
    /// Writes this value as `[value]`: an `[int]` length then the serialized bytes (-1 for null, -2 for unset).
    ///
    /// Throws `typeMismatch` when the value cannot be represented as `type`.
    public func write(as type: CQLDataType, into buffer: inout ByteBuffer) throws {
        switch self {
        case .null:
            buffer.writeInteger(Int32(-1))
        case .unset:
            buffer.writeInteger(Int32(-2))
        default:
            let lengthIndex = buffer.writerIndex
            buffer.writeInteger(Int32(0))
            try writeBody(as: type, into: &buffer)
            buffer.setInteger(Int32(truncatingIfNeeded: buffer.writerIndex - lengthIndex - 4), at: lengthIndex)
        }
    }

    /// Writes the serialized bytes of this value without a length prefix.
    public func writeBody(as type: CQLDataType, into buffer: inout ByteBuffer) throws {
        // Fast paths for the most common shapes (text and uuid columns), before the general pair switch.
        switch self {
        case .text(let string):
            if case .varchar = type {
                buffer.writeString(string)
                return
            }
        case .uuid(let uuid):
            if case .uuid = type {
                uuid.writeCQLBytes(into: &buffer)
                return
            }
        default:
            break
        }
        switch (type, self) {
        case (.boolean, .boolean(let value)):
            buffer.writeInteger(UInt8(value ? 1 : 0))
        case (.tinyint, .tinyint(let value)):
            buffer.writeInteger(value)
        case (.smallint, .smallint(let value)):
            buffer.writeInteger(value)
        case (.int, .int(let value)):
            buffer.writeInteger(value)
        case (.bigint, .bigint(let value)), (.counter, .bigint(let value)), (.timestamp, .timestamp(let value)),
            (.timestamp, .bigint(let value)), (.time, .time(let value)), (.time, .bigint(let value)):
            buffer.writeInteger(value)
        case (.float, .float(let value)):
            buffer.writeInteger(value.bitPattern)
        case (.double, .double(let value)):
            buffer.writeInteger(value.bitPattern)
        case (.decimal, .decimal(let value)):
            buffer.writeInteger(value.scale)
            buffer.writeBytes(value.unscaled.bytes)
        case (.varint, .varint(let value)):
            buffer.writeBytes(value.bytes)
        case (.varint, .bigint(let value)):
            buffer.writeBytes(CQLVarint(value).bytes)
        case (.ascii, .text(let value)):
            guard value.utf8.allSatisfy({ $0 < 0x80 }) else {
                throw CQLProtocolError(.typeMismatch, "value for an ascii column contains non-ASCII characters")
            }
            buffer.writeString(value)
        case (.varchar, .text(let value)):
            buffer.writeString(value)
        case (.blob, .blob(let value)), (.custom, .blob(let value)):
            buffer.writeBytes(value)
        case (.uuid, .uuid(let value)):
            value.writeCQLBytes(into: &buffer)
        case (.timeuuid, .uuid(let value)):
            guard value.cqlVersion == 1 else {
                throw CQLProtocolError(.typeMismatch, "value for a timeuuid column is a version \(value.cqlVersion) UUID")
            }
            value.writeCQLBytes(into: &buffer)
        case (.date, .date(let value)):
            buffer.writeInteger(value)
        case (.duration, .duration(let value)):
            buffer.writeCQLVInt(Int64(value.months))
            buffer.writeCQLVInt(Int64(value.days))
            buffer.writeCQLVInt(value.nanoseconds)
        case (.inet, .inet(let value)):
            buffer.writeBytes(value.bytes)
        case (.list(let element), .list(let values)), (.set(let element), .set(let values)),
            (.list(let element), .set(let values)), (.set(let element), .list(let values)):
            buffer.writeInteger(Int32(truncatingIfNeeded: values.count))
            for value in values { try value.write(as: element, into: &buffer) }
        case (.map(let keyType, let valueType), .map(let entries)):
            buffer.writeInteger(Int32(truncatingIfNeeded: entries.count))
            for entry in entries {
                try entry.key.write(as: keyType, into: &buffer)
                try entry.value.write(as: valueType, into: &buffer)
            }
        case (.tuple(let types), .tuple(let values)):
            guard values.count <= types.count else {
                throw CQLProtocolError(.typeMismatch, "tuple of \(types.count) elements given \(values.count) values")
            }
            for (index, value) in values.enumerated() { try value.write(as: types[index], into: &buffer) }
        case (.udt(_, let name, let fields), .udt(let values)):
            guard values.count <= fields.count else {
                throw CQLProtocolError(.typeMismatch, "type \(name) has \(fields.count) fields, given \(values.count) values")
            }
            for (index, value) in values.enumerated() { try value.write(as: fields[index].type, into: &buffer) }
        case (_, .null), (_, .unset):
            throw CQLProtocolError(.typeMismatch, "null and unset have no serialized body")
        default:
            throw CQLProtocolError(.typeMismatch, "cannot write \(self.kindName) as \(type.cqlName)")
        }
    }

    /// Reads one `[value]` of `type`: `nil` length means null.
    public static func read(_ type: CQLDataType, from buffer: inout ByteBuffer) throws -> CQLValue {
        let length = try buffer.readCQLInt("value length")
        if length == -1 { return .null }
        if length == -2 { return .unset }
        guard length >= 0 else { throw CQLProtocolError.malformed("value length \(length)") }
        guard var body = buffer.readSlice(length: Int(length)) else { throw CQLProtocolError.truncated("\(type.cqlName) value") }
        return try decode(type, body: &body)
    }

    /// Decodes a value of `type` from exactly the readable bytes of `body`.
    public static func decode(_ type: CQLDataType, body: inout ByteBuffer) throws -> CQLValue {
        func fixed<T: FixedWidthInteger>(_: T.Type) throws -> T {
            guard body.readableBytes == MemoryLayout<T>.size, let value = body.readInteger(as: T.self) else {
                throw CQLProtocolError.malformed("\(type.cqlName) value of \(body.readableBytes) bytes")
            }
            return value
        }
        switch type {
        case .boolean:
            return .boolean(try fixed(UInt8.self) != 0)
        case .tinyint:
            return .tinyint(try fixed(Int8.self))
        case .smallint:
            return .smallint(try fixed(Int16.self))
        case .int:
            return .int(try fixed(Int32.self))
        case .bigint, .counter:
            return .bigint(try fixed(Int64.self))
        case .timestamp:
            return .timestamp(try fixed(Int64.self))
        case .time:
            return .time(try fixed(Int64.self))
        case .date:
            return .date(try fixed(UInt32.self))
        case .float:
            return .float(Float(bitPattern: try fixed(UInt32.self)))
        case .double:
            return .double(Double(bitPattern: try fixed(UInt64.self)))
        case .decimal:
            guard let scale = body.readInteger(as: Int32.self), body.readableBytes > 0 else {
                throw CQLProtocolError.malformed("decimal value")
            }
            return .decimal(CQLDecimal(unscaled: CQLVarint(bytes: body.readBytes(length: body.readableBytes)!), scale: scale))
        case .varint:
            guard body.readableBytes > 0 else { throw CQLProtocolError.malformed("empty varint value") }
            return .varint(CQLVarint(bytes: body.readBytes(length: body.readableBytes)!))
        case .ascii, .varchar:
            guard let string = body.readString(length: body.readableBytes) else {
                throw CQLProtocolError.malformed("text value")
            }
            return .text(string)
        case .blob, .custom:
            return .blob(body.readBytes(length: body.readableBytes) ?? [])
        case .uuid, .timeuuid:
            guard body.readableBytes == 16, let bytes = body.readBytes(length: 16) else {
                throw CQLProtocolError.malformed("uuid value of \(body.readableBytes) bytes")
            }
            return .uuid(UUID(cqlBytes: bytes))
        case .inet:
            guard let bytes = body.readBytes(length: body.readableBytes), let inet = CQLInet(bytes: bytes) else {
                throw CQLProtocolError.malformed("inet value of \(body.readableBytes) bytes")
            }
            return .inet(inet)
        case .duration:
            let months = try body.readCQLVInt()
            let days = try body.readCQLVInt()
            let nanos = try body.readCQLVInt()
            guard let months32 = Int32(exactly: months), let days32 = Int32(exactly: days) else {
                throw CQLProtocolError.malformed("duration value out of range")
            }
            return .duration(CQLDuration(months: months32, days: days32, nanoseconds: nanos))
        case .list(let element), .set(let element):
            let count = try body.readCQLInt("collection size")
            guard count >= 0, Int(count) <= body.readableBytes / 4 else {
                throw CQLProtocolError.malformed("collection size \(count)")
            }
            var values: [CQLValue] = []
            values.reserveCapacity(Int(count))
            for _ in 0..<count { values.append(try read(element, from: &body)) }
            if case .list = type { return .list(values) }
            return .set(values)
        case .map(let keyType, let valueType):
            let count = try body.readCQLInt("map size")
            guard count >= 0, Int(count) <= body.readableBytes / 8 else {
                throw CQLProtocolError.malformed("map size \(count)")
            }
            var entries: [CQLMapEntry] = []
            entries.reserveCapacity(Int(count))
            for _ in 0..<count {
                let key = try read(keyType, from: &body)
                entries.append(CQLMapEntry(key: key, value: try read(valueType, from: &body)))
            }
            return .map(entries)
        case .tuple(let types):
            var values: [CQLValue] = []
            for elementType in types {
                if body.readableBytes == 0 { values.append(.null); continue }
                values.append(try read(elementType, from: &body))
            }
            return .tuple(values)
        case .udt(_, _, let fields):
            var values: [CQLValue] = []
            for field in fields {
                if body.readableBytes == 0 { values.append(.null); continue }
                values.append(try read(field.type, from: &body))
            }
            return .udt(values)
        }
    }

    /// A short name of the representation, for error messages.
    public var kindName: String {
        switch self {
        case .null: "null"
        case .unset: "unset"
        case .boolean: "boolean"
        case .tinyint: "tinyint"
        case .smallint: "smallint"
        case .int: "int"
        case .bigint: "bigint"
        case .float: "float"
        case .double: "double"
        case .decimal: "decimal"
        case .varint: "varint"
        case .text: "text"
        case .blob: "blob"
        case .uuid: "uuid"
        case .timestamp: "timestamp"
        case .date: "date"
        case .time: "time"
        case .duration: "duration"
        case .inet: "inet"
        case .list: "list"
        case .set: "set"
        case .map: "map"
        case .tuple: "tuple"
        case .udt: "udt"
        }
    }
}

extension ByteBuffer {
    /// Writes a signed variable-length integer (zig-zag, then Cassandra's unsigned vint: the count of leading
    /// one bits in the first byte is the number of extra bytes).
    public mutating func writeCQLVInt(_ value: Int64) {
        let zigzag = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        writeCQLUnsignedVInt(zigzag)
    }

    public mutating func writeCQLUnsignedVInt(_ value: UInt64) {
        let significantBits = 64 - value.leadingZeroBitCount
        // Each extra byte holds 8 bits, and the first byte holds (7 - extra) bits.
        var extraBytes = max(0, (significantBits - 1) / 7)
        if extraBytes > 8 { extraBytes = 8 }
        if extraBytes == 0 {
            writeInteger(UInt8(value))
            return
        }
        var bytes = [UInt8](repeating: 0, count: extraBytes + 1)
        var remaining = value
        for index in stride(from: extraBytes, through: 1, by: -1) {
            bytes[index] = UInt8(truncatingIfNeeded: remaining)
            remaining >>= 8
        }
        let prefix: UInt8 = extraBytes == 8 ? 0xFF : ~(UInt8(0xFF) >> UInt8(extraBytes))
        bytes[0] = prefix | UInt8(truncatingIfNeeded: remaining)
        writeBytes(bytes)
    }

    public mutating func readCQLVInt() throws -> Int64 {
        let raw = try readCQLUnsignedVInt()
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    public mutating func readCQLUnsignedVInt() throws -> UInt64 {
        let first = try readCQLByte("vint")
        let extraBytes = first.leadingZeroBitCount == 8 ? 0 : (~first).leadingZeroBitCount
        var value = extraBytes >= 8 ? UInt64(0) : UInt64(first & (UInt8(0xFF) >> UInt8(extraBytes)))
        for _ in 0..<extraBytes {
            value = (value << 8) | UInt64(try readCQLByte("vint"))
        }
        return value
    }
}
