import CQLProtocol
import Foundation
import NIOCore

/// A value ready to be stored: serialized bytes, null (a tombstone) or unset (leave unchanged).
enum CellInput: Sendable, Hashable {
    case bytes([UInt8])
    case null
    case unset
}

/// Turns terms into typed values, given the statement's bound values.
///
/// Literals are converted the way Cassandra does (an integer literal fits any integer or floating type,
/// a string fits text, timestamp, date, time and inet, ...); anything else is an `Invalid` error.
struct TermEvaluator {
    var boundValues: [CQLBoundValue]
    /// The statement's time, microseconds since the epoch, used by `now()` and friends.
    var nowMicros: Int64
    var timeUUIDs: TimeUUIDGenerator

    init(boundValues: [CQLBoundValue], nowMicros: Int64, timeUUIDs: TimeUUIDGenerator) {
        self.boundValues = boundValues
        self.nowMicros = nowMicros
        self.timeUUIDs = timeUUIDs
    }

    private func bound(_ index: Int) throws(CQLServerError) -> CQLBoundValue {
        guard index < boundValues.count else {
            throw CQLServerError(.invalid, "There were \(boundValues.count) markers(?) in CQL but \(index + 1) or more values expected")
        }
        return boundValues[index]
    }

    /// The value of `term` for a receiver of `type`, decoded.
    func value(_ term: CQLTerm, as type: CQLDataType, receiver: String) throws(CQLServerError) -> CQLValue {
        switch term {
        case .bindMarker(let index):
            do {
                return try bound(index).decode(as: type)
            } catch let error as CQLServerError {
                throw error
            } catch {
                throw CQLServerError(.invalid, "Invalid value for \(receiver) of type \(type.cqlName): \(error)")
            }
        default:
            return try Self.literal(term, as: type, receiver: receiver, evaluator: self)
        }
    }

    /// The serialized form of `term` for a receiver of `type`. Bound bytes pass through after a size check.
    func cell(_ term: CQLTerm, as type: CQLDataType, receiver: String) throws(CQLServerError) -> CellInput {
        if case .bindMarker(let index) = term {
            switch try checkedBound(index, as: type, receiver: receiver) {
            case .null: return .null
            case .unset: return .unset
            case .bytes(let buffer): return .bytes(Array(buffer.readableBytesView))
            }
        }
        let value = try value(term, as: type, receiver: receiver)
        return try Self.serialize(value, as: type, receiver: receiver)
    }

    /// Bound value `index` checked for a receiver of `type` as ``cell(_:as:receiver:)`` checks it, without copying
    /// its bytes: `.null` (an empty collection too), `.unset`, or the valid bytes.
    func checkedBound(_ index: Int, as type: CQLDataType, receiver: String) throws(CQLServerError) -> CQLBoundValue {
        let value = try bound(index)
        guard case .bytes(let buffer) = value else { return value }
        try Self.validate(buffer, as: type, receiver: receiver)
        if type.isCollection, buffer.getInteger(at: buffer.readerIndex, as: Int32.self) == 0 { return .null }
        return value
    }

    static func serialize(_ value: CQLValue, as type: CQLDataType, receiver: String) throws(CQLServerError) -> CellInput {
        switch value {
        case .null: return .null
        case .unset: return .unset
        case .list(let elements) where elements.isEmpty: return .null
        case .set(let elements) where elements.isEmpty: return .null
        case .map(let entries) where entries.isEmpty: return .null
        default:
            var buffer = ByteBuffer()
            do {
                try value.writeBody(as: type, into: &buffer)
            } catch {
                throw CQLServerError(.invalid, "Invalid value for \(receiver) of type \(type.cqlName): \(error)")
            }
            return .bytes(Array(buffer.readableBytesView))
        }
    }

    /// Checks that bound bytes are a valid value of `type` (fixed sizes, UUID versions, collections decode).
    static func validate(_ buffer: ByteBuffer, as type: CQLDataType, receiver: String) throws(CQLServerError) {
        let size = buffer.readableBytes
        func expect(_ sizes: Int...) throws(CQLServerError) {
            guard sizes.contains(size) else {
                throw CQLServerError(.invalid, "Invalid value for \(receiver): expected \(sizes.map(String.init).joined(separator: " or ")) bytes for \(type.cqlName), got \(size)")
            }
        }
        switch type {
        case .boolean, .tinyint: try expect(1)
        case .smallint: try expect(2)
        case .int, .float, .date: try expect(4)
        case .bigint, .counter, .double, .timestamp, .time: try expect(8)
        case .uuid: try expect(16)
        case .timeuuid:
            try expect(16)
            if let byte = buffer.getInteger(at: buffer.readerIndex + 6, as: UInt8.self), byte >> 4 != 1 {
                throw CQLServerError(.invalid, "Invalid value for \(receiver): Unsupported UUID type for timeuuid (version \(byte >> 4))")
            }
        case .inet: try expect(4, 16)
        case .ascii, .varchar, .blob, .varint, .decimal, .duration, .custom:
            break
        case .list, .set, .map, .tuple, .udt:
            var copy = buffer
            do {
                _ = try CQLValue.decode(type, body: &copy)
            } catch {
                throw CQLServerError(.invalid, "Invalid value for \(receiver) of type \(type.cqlName): \(error)")
            }
        }
    }

    // MARK: - Literals

    private static func mismatch(_ term: CQLTerm, _ type: CQLDataType, _ receiver: String) -> CQLServerError {
        CQLServerError(.invalid, "Invalid \(termKind(term)) constant (\(termText(term))) for \"\(receiver)\" of type \(type.cqlName)")
    }

    static func termKind(_ term: CQLTerm) -> String {
        switch term {
        case .string: "STRING"
        case .integer: "INTEGER"
        case .float: "FLOAT"
        case .boolean: "BOOLEAN"
        case .uuid: "UUID"
        case .hex: "HEX"
        case .null: "NULL"
        case .bindMarker: "bind marker"
        case .list: "list literal"
        case .set: "set literal"
        case .map: "map literal"
        case .tuple: "tuple literal"
        case .function(let name, _): "\(name)()"
        }
    }

    static func termText(_ term: CQLTerm) -> String {
        switch term {
        case .string(let text): text
        case .integer(let text), .float(let text): text
        case .boolean(let value): String(value)
        case .uuid(let uuid): uuid.uuidString.lowercased()
        case .hex(let bytes): "0x" + bytes.map { String(format: "%02x", $0) }.joined()
        case .null: "null"
        case .bindMarker: "?"
        case .list, .set, .map, .tuple: "..."
        case .function(let name, _): "\(name)(...)"
        }
    }

    private static func literal(_ term: CQLTerm, as type: CQLDataType, receiver: String, evaluator: TermEvaluator) throws(CQLServerError) -> CQLValue {
        switch (term, type) {
        case (.null, _):
            return .null
        case (.function(let name, let arguments), _):
            return try evaluator.function(name, arguments, as: type, receiver: receiver)
        case (.bindMarker, _):
            return try evaluator.value(term, as: type, receiver: receiver)
        case (.boolean(let value), .boolean):
            return .boolean(value)
        case (.integer(let text), _):
            switch type {
            case .tinyint: if let value = Int8(text) { return .tinyint(value) }
            case .smallint: if let value = Int16(text) { return .smallint(value) }
            case .int: if let value = Int32(text) { return .int(value) }
            case .bigint, .counter: if let value = Int64(text) { return .bigint(value) }
            case .timestamp: if let value = Int64(text) { return .timestamp(value) }
            case .time: if let value = Int64(text) { return .time(value) }
            case .date: if let value = Int64(text), let raw = UInt32(exactly: value + (1 << 31)) { return .date(raw) }
            case .varint: if let value = Int64(text) { return .varint(CQLVarint(value)) }
            case .float: if let value = Float(text) { return .float(value) }
            case .double: if let value = Double(text) { return .double(value) }
            case .decimal: if let value = CQLDecimal(text) { return .decimal(value) }
            default: break
            }
            throw mismatch(term, type, receiver)
        case (.float(let text), _):
            let normalized = text.lowercased() == "infinity" ? "inf" : (text.lowercased() == "-infinity" ? "-inf" : text)
            switch type {
            case .float: if let value = Float(normalized) { return .float(value) }
            case .double: if let value = Double(normalized) { return .double(value) }
            case .decimal: if let value = CQLDecimal(text) { return .decimal(value) }
            default: break
            }
            throw mismatch(term, type, receiver)
        case (.string(let text), _):
            switch type {
            case .varchar: return .text(text)
            case .ascii:
                guard text.utf8.allSatisfy({ $0 < 0x80 }) else { throw mismatch(term, type, receiver) }
                return .text(text)
            case .timestamp:
                if let millis = CQLTimeText.parseTimestamp(text) { return .timestamp(millis) }
            case .date:
                if let days = CQLTimeText.parseDate(text) { return .date(UInt32(truncatingIfNeeded: days + (1 << 31))) }
            case .time:
                if let nanos = CQLTimeText.parseTime(text) { return .time(nanos) }
            case .inet:
                if let inet = CQLInet(text) { return .inet(inet) }
            case .uuid, .timeuuid:
                if let uuid = UUID(uuidString: text) { return try literal(.uuid(uuid), as: type, receiver: receiver, evaluator: evaluator) }
            default: break
            }
            throw mismatch(term, type, receiver)
        case (.uuid(let uuid), .uuid):
            return .uuid(uuid)
        case (.uuid(let uuid), .timeuuid):
            guard uuid.cqlVersion == 1 else {
                throw CQLServerError(.invalid, "Invalid UUID constant (\(uuid.uuidString.lowercased())) for \"\(receiver)\" of type timeuuid")
            }
            return .uuid(uuid)
        case (.hex(let bytes), .blob):
            return .blob(bytes)
        case (.list(let elements), .list(let elementType)):
            var values: [CQLValue] = []
            for element in elements { values.append(try evaluator.value(element, as: elementType, receiver: receiver)) }
            return .list(values)
        case (.set(let elements), .set(let elementType)), (.list(let elements), .set(let elementType)):
            var values: [CQLValue] = []
            for element in elements {
                let value = try evaluator.value(element, as: elementType, receiver: receiver)
                if !values.contains(value) { values.append(value) }
            }
            values.sort { CQLValueOrdering.compare($0, $1, type: elementType) < 0 }
            return .set(values)
        case (.map(let pairs), .map(let keyType, let valueType)):
            var entries: [CQLMapEntry] = []
            for pair in pairs {
                let key = try evaluator.value(pair.key, as: keyType, receiver: receiver)
                let value = try evaluator.value(pair.value, as: valueType, receiver: receiver)
                entries.removeAll { $0.key == key }
                entries.append(CQLMapEntry(key: key, value: value))
            }
            entries.sort { CQLValueOrdering.compare($0.key, $1.key, type: keyType) < 0 }
            return .map(entries)
        case (.map(let pairs), .set) where pairs.isEmpty:
            return .set([])
        case (.map(let pairs), .list) where pairs.isEmpty:
            return .list([])
        case (.tuple(let elements), .tuple(let types)):
            guard elements.count <= types.count else { throw mismatch(term, type, receiver) }
            var values: [CQLValue] = []
            for (index, element) in elements.enumerated() {
                values.append(try evaluator.value(element, as: types[index], receiver: receiver))
            }
            return .tuple(values)
        default:
            throw mismatch(term, type, receiver)
        }
    }

    private func function(_ name: String, _ arguments: [CQLTerm], as type: CQLDataType, receiver: String) throws(CQLServerError) -> CQLValue {
        let nowMillis = nowMicros / 1000
        switch name.lowercased() {
        case "now", "currenttimeuuid":
            guard arguments.isEmpty, type == .timeuuid || type == .uuid else { break }
            return .uuid(timeUUIDs.next(micros: nowMicros))
        case "uuid":
            guard arguments.isEmpty, type == .uuid else { break }
            return .uuid(UUID())
        case "currenttimestamp":
            guard arguments.isEmpty, type == .timestamp else { break }
            return .timestamp(nowMillis)
        case "currentdate":
            guard arguments.isEmpty, type == .date else { break }
            return .date(UInt32(truncatingIfNeeded: nowMillis / 86_400_000 + (1 << 31)))
        case "totimestamp", "dateof":
            guard arguments.count == 1, type == .timestamp else { break }
            if case .uuid(let uuid) = try value(arguments[0], as: .timeuuid, receiver: receiver) {
                return .timestamp(TimeUUIDGenerator.millis(of: uuid))
            }
        case "tounixtimestamp", "unixtimestampof":
            guard arguments.count == 1, type == .bigint else { break }
            if case .uuid(let uuid) = try value(arguments[0], as: .timeuuid, receiver: receiver) {
                return .bigint(TimeUUIDGenerator.millis(of: uuid))
            }
        case "mintimeuuid", "maxtimeuuid":
            guard arguments.count == 1, type == .timeuuid else { break }
            if case .timestamp(let millis) = try value(arguments[0], as: .timestamp, receiver: receiver) {
                return .uuid(TimeUUIDGenerator.bound(millis: millis, maximum: name.lowercased() == "maxtimeuuid"))
            }
        default:
            throw CQLServerError(.invalid, "Unknown function \(name) called")
        }
        throw CQLServerError(.invalid, "Type error: \(name)(...) cannot be passed as argument \"\(receiver)\" of type \(type.cqlName)")
    }
}
