import Foundation

/// What makes a run's data unique: every message's identity and content is a pure function of this and its index.
///
/// The distributed coordinator creates it once and hands it to every worker; a resumed run reuses it, so rewriting an
/// index rewrites the same row.
public struct RunIdentity: Sendable, Hashable, Codable {
    /// The run's name, e.g. `run-20250101-120000-3fa2`.
    public var id: String
    /// The base time of the run's timeuuids, in milliseconds since the Unix epoch.
    public var epochMillis: Int64

    public init(id: String, epochMillis: Int64) {
        self.id = id
        self.epochMillis = epochMillis
    }

    /// A fresh identity named after the current time, with a random suffix.
    public static func generate(now: Date = Date()) -> RunIdentity {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        let suffix = String(UInt16.random(in: 0...UInt16.max), radix: 16)
        let millis = Int64((now.timeIntervalSince1970 * 1000).rounded(.down))
        return RunIdentity(id: "run-\(formatter.string(from: now))-\(suffix)", epochMillis: millis)
    }

    /// The 64-bit seed every deterministic generator of the run derives from.
    public var seed: UInt64 { DeterministicHash.mix(DeterministicHash.fnv1a(id) ^ UInt64(bitPattern: epochMillis)) }
}

/// Version-1 (time-based) UUIDs derived deterministically from a run and an index.
///
/// The timestamp is the run's epoch plus one microsecond per index, so ids are unique across indexes of a run and
/// time-ordered by index; the clock sequence and node come from the run's seed, so two runs do not collide.
public struct TimeUUIDGenerator: Sendable {
    /// 100-ns intervals between 1582-10-15 (the UUID epoch) and 1970-01-01.
    static let gregorianOffset: UInt64 = 0x01B2_1DD2_1381_4000
    let baseTimestamp: UInt64
    let clockSequenceHigh: UInt8
    let clockSequenceLow: UInt8
    let node: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)

    public init(run: RunIdentity, stream: UInt64 = 0) {
        let millis = UInt64(max(0, run.epochMillis))
        baseTimestamp = Self.gregorianOffset &+ millis &* 10_000
        let bits = DeterministicHash.hash(seed: run.seed, stream: 0x7155_1D00 &+ stream, index: 0)
        clockSequenceHigh = 0x80 | UInt8((bits >> 56) & 0x3F)
        clockSequenceLow = UInt8((bits >> 48) & 0xFF)
        node = (
            UInt8((bits >> 40) & 0xFF) | 0x01, UInt8((bits >> 32) & 0xFF), UInt8((bits >> 24) & 0xFF),
            UInt8((bits >> 16) & 0xFF), UInt8((bits >> 8) & 0xFF), UInt8(bits & 0xFF)
        )
    }

    /// The 60-bit UUID timestamp (100-ns units since 1582-10-15) of `index`.
    public func timestamp(of index: UInt64) -> UInt64 {
        (baseTimestamp &+ index &* 10) & 0x0FFF_FFFF_FFFF_FFFF
    }

    /// The milliseconds since the Unix epoch encoded in `index`'s UUID.
    public func unixMillis(of index: UInt64) -> Int64 {
        Int64((timestamp(of: index) &- Self.gregorianOffset) / 10_000)
    }

    /// The version-1 UUID of `index`.
    public func uuid(for index: UInt64) -> UUID {
        let t = timestamp(of: index)
        let timeLow = UInt32(truncatingIfNeeded: t)
        let timeMid = UInt16(truncatingIfNeeded: t >> 32)
        let timeHigh = UInt16(truncatingIfNeeded: t >> 48) & 0x0FFF | 0x1000
        return UUID(uuid: (
            UInt8(timeLow >> 24), UInt8((timeLow >> 16) & 0xFF), UInt8((timeLow >> 8) & 0xFF), UInt8(timeLow & 0xFF),
            UInt8(timeMid >> 8), UInt8(timeMid & 0xFF), UInt8(timeHigh >> 8), UInt8(timeHigh & 0xFF),
            clockSequenceHigh, clockSequenceLow, node.0, node.1, node.2, node.3, node.4, node.5
        ))
    }
}

extension UUID {
    /// A version-4-shaped UUID that is a pure function of its inputs (for generated users, conversations, ...).
    public static func deterministic(seed: UInt64, stream: UInt64, index: UInt64) -> UUID {
        let high = DeterministicHash.hash(seed: seed, stream: stream, index: index)
        let low = DeterministicHash.hash(seed: seed, stream: stream &+ 0x5151, index: index)
        return UUID(uuid: (
            UInt8(high >> 56), UInt8((high >> 48) & 0xFF), UInt8((high >> 40) & 0xFF), UInt8((high >> 32) & 0xFF),
            UInt8((high >> 24) & 0xFF), UInt8((high >> 16) & 0xFF), UInt8((high >> 8) & 0x0F) | 0x40, UInt8(high & 0xFF),
            UInt8((low >> 56) & 0x3F) | 0x80, UInt8((low >> 48) & 0xFF), UInt8((low >> 40) & 0xFF), UInt8((low >> 32) & 0xFF),
            UInt8((low >> 24) & 0xFF), UInt8((low >> 16) & 0xFF), UInt8((low >> 8) & 0xFF), UInt8(low & 0xFF)
        ))
    }
}
