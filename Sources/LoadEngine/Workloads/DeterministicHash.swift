/// Stable, process-independent hashing for deterministic workloads (Swift's `Hasher` is seeded per process).
public enum DeterministicHash {
    /// SplitMix64's finaliser: a fast, well-mixed 64-bit permutation.
    @inlinable
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A hash of `(seed, stream, index)`: independent values per stream for the same index.
    @inlinable
    public static func hash(seed: UInt64, stream: UInt64, index: UInt64) -> UInt64 {
        mix(seed ^ mix(index &+ mix(stream &* 0xD6E8_FEB8_6659_FD93)))
    }

    /// FNV-1a over the UTF-8 bytes of `text`.
    public static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }

    /// A uniformly distributed value in `0..<bound` from a hash (Lemire's multiply-shift; `bound` > 0).
    @inlinable
    public static func bounded(_ hash: UInt64, _ bound: UInt64) -> UInt64 {
        hash.multipliedFullWidth(by: bound).high
    }

    /// A uniformly distributed `Double` in `[0, 1)` from a hash.
    @inlinable
    public static func unit(_ hash: UInt64) -> Double {
        Double(hash >> 11) * 0x1.0p-53
    }
}

/// A small deterministic random generator (SplitMix64) for building pools and tables at start-up.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
