import Foundation
import NIOConcurrencyHelpers

/// Version-1 (time-based) UUIDs as Cassandra's `timeuuid` and `now()` use them.
///
/// UUIDs from one generator are strictly increasing in time order; two processes never produce the same
/// UUID because each generator draws a random 48-bit node id (multicast bit set, as RFC 4122 asks for ids
/// that are not MAC addresses) and a random 14-bit clock sequence.
public final class CQLTimeUUIDGenerator: Sendable {
    /// 100-ns intervals between 1582-10-15 (the UUID epoch) and 1970-01-01.
    public static let gregorianOffset: Int64 = 0x01B2_1DD2_1381_4000

    /// The process-wide generator.
    public static let shared = CQLTimeUUIDGenerator()

    private let node: UInt64
    private let clockSequence: UInt16
    private let last = NIOLockedValueBox<Int64>(0)

    public init(node: UInt64 = UInt64.random(in: 0...0xFFFF_FFFF_FFFF) | 0x0100_0000_0000, clockSequence: UInt16 = UInt16.random(in: 0...0x3FFF)) {
        self.node = node & 0xFFFF_FFFF_FFFF
        self.clockSequence = clockSequence & 0x3FFF
    }

    /// A new UUID for the current time, later than every UUID this generator returned before.
    public func next(now: Date = Date()) -> UUID {
        let wanted = Int64(now.timeIntervalSince1970 * 10_000_000) + Self.gregorianOffset
        let timestamp = last.withLockedValue { last in
            last = max(wanted, last + 1)
            return last
        }
        return Self.make(timestamp: timestamp, clockSequence: clockSequence, node: node)
    }

    /// Builds a version-1 UUID from its parts.
    /// - Parameter timestamp: 100-ns intervals since the UUID epoch (60 bits used).
    public static func make(timestamp: Int64, clockSequence: UInt16, node: UInt64) -> UUID {
        let time = UInt64(bitPattern: timestamp) & 0x0FFF_FFFF_FFFF_FFFF
        let timeLow = UInt32(truncatingIfNeeded: time)
        let timeMid = UInt16(truncatingIfNeeded: time >> 32)
        let timeHighAndVersion = UInt16(truncatingIfNeeded: time >> 48) | 0x1000
        let sequence = (clockSequence & 0x3FFF) | 0x8000  // RFC 4122 variant
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<4 { bytes[index] = UInt8(truncatingIfNeeded: timeLow >> (24 - 8 * index)) }
        bytes[4] = UInt8(truncatingIfNeeded: timeMid >> 8)
        bytes[5] = UInt8(truncatingIfNeeded: timeMid)
        bytes[6] = UInt8(truncatingIfNeeded: timeHighAndVersion >> 8)
        bytes[7] = UInt8(truncatingIfNeeded: timeHighAndVersion)
        bytes[8] = UInt8(truncatingIfNeeded: sequence >> 8)
        bytes[9] = UInt8(truncatingIfNeeded: sequence)
        for index in 0..<6 { bytes[10 + index] = UInt8(truncatingIfNeeded: node >> (40 - 8 * index)) }
        return UUID(cqlBytes: bytes)
    }

    /// The timestamp of a version-1 UUID in 100-ns intervals since the UUID epoch, or `nil` for other versions.
    public static func timestamp(of uuid: UUID) -> Int64? {
        let bytes = uuid.cqlBytes
        guard bytes[6] >> 4 == 1 else { return nil }
        let low = UInt64(bytes[0]) << 24 | UInt64(bytes[1]) << 16 | UInt64(bytes[2]) << 8 | UInt64(bytes[3])
        let mid = UInt64(bytes[4]) << 8 | UInt64(bytes[5])
        let high = UInt64(bytes[6] & 0x0F) << 8 | UInt64(bytes[7])
        return Int64(high << 48 | mid << 32 | low)
    }

    /// Milliseconds since the Unix epoch encoded in a version-1 UUID.
    public static func unixMilliseconds(of uuid: UUID) -> Int64? {
        timestamp(of: uuid).map { ($0 - gregorianOffset) / 10_000 }
    }

    /// Cassandra's ordering of timeuuids: by timestamp, then by the raw bytes.
    public static func compare(_ lhs: UUID, _ rhs: UUID) -> Bool {
        let left = timestamp(of: lhs) ?? 0, right = timestamp(of: rhs) ?? 0
        if left != right { return left < right }
        return lhs.cqlBytes.lexicographicallyPrecedes(rhs.cqlBytes)
    }
}
