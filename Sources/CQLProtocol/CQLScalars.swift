import Foundation
import NIOCore

/// Consistency levels (spec section 3, `[consistency]`).
public enum CQLConsistency: UInt16, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case any = 0x0000
    case one = 0x0001
    case two = 0x0002
    case three = 0x0003
    case quorum = 0x0004
    case all = 0x0005
    case localQuorum = 0x0006
    case eachQuorum = 0x0007
    case serial = 0x0008
    case localSerial = 0x0009
    case localOne = 0x000A

    public var description: String {
        switch self {
        case .any: "ANY"
        case .one: "ONE"
        case .two: "TWO"
        case .three: "THREE"
        case .quorum: "QUORUM"
        case .all: "ALL"
        case .localQuorum: "LOCAL_QUORUM"
        case .eachQuorum: "EACH_QUORUM"
        case .serial: "SERIAL"
        case .localSerial: "LOCAL_SERIAL"
        case .localOne: "LOCAL_ONE"
        }
    }

    /// Parses names such as `ONE`, `local_quorum` or `LOCAL-QUORUM`.
    public init?(name: String) {
        let normalized = name.uppercased().replacingOccurrences(of: "-", with: "_")
        guard let match = Self.allCases.first(where: { $0.description == normalized }) else { return nil }
        self = match
    }

    /// How many replicas must answer for this level, given a replication factor (for preflight checks).
    public func requiredReplicas(replicationFactor: Int) -> Int {
        switch self {
        case .any, .one, .localOne: 1
        case .two: 2
        case .three: 3
        case .quorum, .localQuorum, .eachQuorum, .serial, .localSerial: replicationFactor / 2 + 1
        case .all: replicationFactor
        }
    }
}

extension UUID {
    /// Builds a UUID from 16 big-endian bytes.
    public init(cqlBytes bytes: [UInt8]) {
        precondition(bytes.count == 16, "a UUID has 16 bytes")
        self.init(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                         bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }

    /// The 16 bytes of the UUID in network order.
    public var cqlBytes: [UInt8] {
        let u = uuid
        return [u.0, u.1, u.2, u.3, u.4, u.5, u.6, u.7, u.8, u.9, u.10, u.11, u.12, u.13, u.14, u.15]
    }

    /// Writes the 16 bytes without building an array (the hot path of every uuid/timeuuid value).
    @inlinable
    public func writeCQLBytes(into buffer: inout ByteBuffer) {
        withUnsafeBytes(of: uuid) { buffer.writeBytes($0) }
    }

    /// The version nibble (1 for time-based UUIDs).
    public var cqlVersion: Int { Int(uuid.6 >> 4) }
}

/// An IPv4 or IPv6 address as raw bytes.
public struct CQLInet: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Parses dotted IPv4 (`127.0.0.1`) or IPv6 (`::1`, `fe80::1`) text.
    public init?(_ text: String) {
        if text.contains(":") {
            guard let bytes = Self.parseIPv6(text) else { return nil }
            self.bytes = bytes
        } else {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4 else { return nil }
            var bytes: [UInt8] = []
            for part in parts {
                guard let octet = UInt8(part) else { return nil }
                bytes.append(octet)
            }
            self.bytes = bytes
        }
    }

    public var description: String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        var groups: [String] = []
        for index in stride(from: 0, to: 16, by: 2) {
            groups.append(String(UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1]), radix: 16))
        }
        // Compress the longest run of zero groups.
        var bestStart = -1, bestLength = 0, start = -1
        for (index, group) in (groups + ["x"]).enumerated() {
            if group == "0" {
                if start < 0 { start = index }
            } else if start >= 0 {
                if index - start > bestLength { bestStart = start; bestLength = index - start }
                start = -1
            }
        }
        guard bestLength >= 2 else { return groups.joined(separator: ":") }
        let head = groups[..<bestStart].joined(separator: ":")
        let tail = groups[(bestStart + bestLength)...].joined(separator: ":")
        return head + "::" + tail
    }

    private static func parseIPv6(_ text: String) -> [UInt8]? {
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            for group in part.split(separator: ":", omittingEmptySubsequences: false) {
                guard let value = UInt16(group, radix: 16) else { return nil }
                result.append(value)
            }
            return result
        }
        guard let head = groups(halves[0]) else { return nil }
        var all = head
        if halves.count == 2 {
            guard let tail = groups(halves[1]), head.count + tail.count < 8 else { return nil }
            all += Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard all.count == 8 else { return nil }
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }
}

/// An arbitrary-precision integer, stored as big-endian two's-complement bytes (the `varint` wire form).
public struct CQLVarint: Sendable, Hashable, CustomStringConvertible {
    /// Minimal two's-complement big-endian bytes.
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) {
        self.bytes = CQLVarint.minimized(bytes.isEmpty ? [0] : bytes)
    }

    public init(_ value: Int64) {
        var bytes: [UInt8] = []
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
        self.bytes = CQLVarint.minimized(bytes)
    }

    /// The value as `Int64` when it fits.
    public var int64Value: Int64? {
        guard bytes.count <= 8 else { return nil }
        var value: Int64 = (bytes[0] & 0x80) != 0 ? -1 : 0
        for byte in bytes { value = (value << 8) | Int64(byte) }
        return value
    }

    public var description: String {
        if let value = int64Value { return String(value) }
        return CQLVarint.decimalString(bytes)
    }

    static func minimized(_ bytes: [UInt8]) -> [UInt8] {
        var slice = bytes[...]
        while slice.count > 1 {
            let first = slice[slice.startIndex], second = slice[slice.startIndex + 1]
            if (first == 0x00 && second & 0x80 == 0) || (first == 0xFF && second & 0x80 != 0) {
                slice = slice.dropFirst()
            } else {
                break
            }
        }
        return Array(slice)
    }

    /// Base-10 rendering of a big two's-complement number by repeated division.
    static func decimalString(_ bytes: [UInt8]) -> String {
        let negative = bytes[0] & 0x80 != 0
        var magnitude = bytes
        if negative {  // two's complement negate
            var carry = 1
            for index in magnitude.indices.reversed() {
                let value = Int(~magnitude[index]) + carry
                magnitude[index] = UInt8(value & 0xFF)
                carry = value >> 8
            }
        }
        var digits: [Character] = []
        while magnitude.contains(where: { $0 != 0 }) {
            var remainder = 0
            for index in magnitude.indices {
                let current = remainder << 8 | Int(magnitude[index])
                magnitude[index] = UInt8(current / 10)
                remainder = current % 10
            }
            digits.append(Character(String(remainder)))
        }
        if digits.isEmpty { digits = ["0"] }
        return (negative ? "-" : "") + String(digits.reversed())
    }
}

/// A `decimal`: an unscaled varint and a base-10 scale (value = unscaled × 10^-scale).
public struct CQLDecimal: Sendable, Hashable, CustomStringConvertible {
    public var unscaled: CQLVarint
    public var scale: Int32

    public init(unscaled: CQLVarint, scale: Int32) {
        self.unscaled = unscaled
        self.scale = scale
    }

    /// Parses text such as `-12.345`.
    public init?(_ text: String) {
        let negative = text.hasPrefix("-")
        let body = negative || text.hasPrefix("+") ? String(text.dropFirst()) : text
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, !body.isEmpty else { return nil }
        let digits = parts.joined()
        guard !digits.isEmpty, digits.allSatisfy(\.isNumber), let magnitude = Int64(digits) else { return nil }
        self.unscaled = CQLVarint(negative ? -magnitude : magnitude)
        self.scale = parts.count == 2 ? Int32(parts[1].count) : 0
    }

    public var description: String {
        var digits = unscaled.description
        let negative = digits.hasPrefix("-")
        if negative { digits.removeFirst() }
        if scale > 0 {
            let scale = Int(self.scale)
            if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -scale))
        } else if scale < 0 {
            digits += String(repeating: "0", count: Int(-scale))
        }
        return (negative ? "-" : "") + digits
    }

    public var doubleValue: Double {
        Double(description) ?? .nan
    }
}

/// A `duration`: months, days and nanoseconds, each signed.
public struct CQLDuration: Sendable, Hashable, CustomStringConvertible {
    public var months: Int32
    public var days: Int32
    public var nanoseconds: Int64

    public init(months: Int32, days: Int32, nanoseconds: Int64) {
        self.months = months
        self.days = days
        self.nanoseconds = nanoseconds
    }

    public var description: String { "\(months)mo\(days)d\(nanoseconds)ns" }
}
