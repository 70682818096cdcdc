import CQLProtocol
import Foundation

/// Cassandra's sort order of values of one type, as used for clustering keys and range restrictions.
enum CQLValueOrdering {
    /// Negative, zero or positive as `lhs` sorts before, with or after `rhs`. Null sorts first.
    static func compare(_ lhs: CQLValue, _ rhs: CQLValue, type: CQLDataType) -> Int {
        switch (lhs, rhs) {
        case (.null, .null): return 0
        case (.null, _): return -1
        case (_, .null): return 1
        default: break
        }
        switch (lhs, rhs) {
        case (.boolean(let a), .boolean(let b)): return a == b ? 0 : (a ? 1 : -1)
        case (.tinyint(let a), .tinyint(let b)): return order(a, b)
        case (.smallint(let a), .smallint(let b)): return order(a, b)
        case (.int(let a), .int(let b)): return order(a, b)
        case (.bigint(let a), .bigint(let b)): return order(a, b)
        case (.timestamp(let a), .timestamp(let b)): return order(a, b)
        case (.time(let a), .time(let b)): return order(a, b)
        case (.date(let a), .date(let b)): return order(a, b)
        case (.float(let a), .float(let b)): return a < b ? -1 : (a > b ? 1 : 0)
        case (.double(let a), .double(let b)): return a < b ? -1 : (a > b ? 1 : 0)
        case (.decimal(let a), .decimal(let b)): return order(a.doubleValue, b.doubleValue)
        case (.varint(let a), .varint(let b)):
            if let x = a.int64Value, let y = b.int64Value { return order(x, y) }
            return order(a.description.count, b.description.count)
        case (.text(let a), .text(let b)): return lexicographic(Array(a.utf8), Array(b.utf8))
        case (.blob(let a), .blob(let b)): return lexicographic(a, b)
        case (.inet(let a), .inet(let b)): return lexicographic(a.bytes, b.bytes)
        case (.uuid(let a), .uuid(let b)):
            if case .timeuuid = type { return compareTimeUUID(a, b) }
            return compareUUID(a, b)
        case (.list(let a), .list(let b)), (.set(let a), .set(let b)), (.tuple(let a), .tuple(let b)):
            let elementTypes = elementTypes(of: type, count: max(a.count, b.count))
            for index in 0..<min(a.count, b.count) {
                let result = compare(a[index], b[index], type: elementTypes[index])
                if result != 0 { return result }
            }
            return order(a.count, b.count)
        case (.map(let a), .map(let b)):
            guard case .map(let keyType, let valueType) = type else { return order(a.count, b.count) }
            for index in 0..<min(a.count, b.count) {
                let keys = compare(a[index].key, b[index].key, type: keyType)
                if keys != 0 { return keys }
                let values = compare(a[index].value, b[index].value, type: valueType)
                if values != 0 { return values }
            }
            return order(a.count, b.count)
        default:
            return lexicographic(Array(lhs.description.utf8), Array(rhs.description.utf8))
        }
    }

    /// Compares two clustering keys, honouring each column's declared direction.
    static func compareKeys(_ lhs: [CQLValue], _ rhs: [CQLValue], types: [CQLDataType], descending: [Bool]) -> Int {
        for index in 0..<min(lhs.count, rhs.count) {
            let result = compare(lhs[index], rhs[index], type: types[index])
            if result != 0 { return descending[index] ? -result : result }
        }
        return order(lhs.count, rhs.count)
    }

    private static func elementTypes(of type: CQLDataType, count: Int) -> [CQLDataType] {
        switch type {
        case .list(let element), .set(let element): return Array(repeating: element, count: count)
        case .tuple(let elements): return elements + Array(repeating: .blob, count: max(0, count - elements.count))
        default: return Array(repeating: .blob, count: count)
        }
    }

    @inline(__always)
    static func order<T: Comparable>(_ a: T, _ b: T) -> Int { a < b ? -1 : (a > b ? 1 : 0) }

    static func lexicographic(_ a: [UInt8], _ b: [UInt8]) -> Int {
        for index in 0..<min(a.count, b.count) where a[index] != b[index] {
            return a[index] < b[index] ? -1 : 1
        }
        return order(a.count, b.count)
    }

    /// The 60-bit timestamp of a version-1 UUID.
    static func timestamp(ofTimeUUID uuid: UUID) -> UInt64 {
        let u = uuid.uuid
        let timeLow = UInt64(u.0) << 24 | UInt64(u.1) << 16 | UInt64(u.2) << 8 | UInt64(u.3)
        let timeMid = UInt64(u.4) << 8 | UInt64(u.5)
        let timeHigh = UInt64(u.6 & 0x0F) << 8 | UInt64(u.7)
        return timeHigh << 48 | timeMid << 32 | timeLow
    }

    /// TimeUUIDs sort by time, then by their bytes as signed values (Cassandra's TimeUUIDType).
    static func compareTimeUUID(_ a: UUID, _ b: UUID) -> Int {
        let byTime = order(timestamp(ofTimeUUID: a), timestamp(ofTimeUUID: b))
        if byTime != 0 { return byTime }
        let x = a.cqlBytes, y = b.cqlBytes
        for index in 8..<16 where x[index] != y[index] {
            return Int8(bitPattern: x[index]) < Int8(bitPattern: y[index]) ? -1 : 1
        }
        return 0
    }

    /// UUIDs sort by version, then by time for version 1, then by bytes (Cassandra's UUIDType).
    static func compareUUID(_ a: UUID, _ b: UUID) -> Int {
        let byVersion = order(a.cqlVersion, b.cqlVersion)
        if byVersion != 0 { return byVersion }
        if a.cqlVersion == 1 { return compareTimeUUID(a, b) }
        return lexicographic(a.cqlBytes, b.cqlBytes)
    }
}
