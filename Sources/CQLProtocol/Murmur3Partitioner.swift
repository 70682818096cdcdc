/// Cassandra's `Murmur3Partitioner`: the token of a partition key is the first 64 bits of
/// MurmurHash3 x64/128 (seed 0) over the serialized partition key.
///
/// Cassandra's hash reads the tail bytes as *signed* bytes (sign-extended before shifting), so for keys
/// whose length is not a multiple of 16 and whose tail holds bytes ≥ 0x80 the result differs from the
/// reference MurmurHash3. Drivers reproduce that quirk, and so does this type.
public enum Murmur3Partitioner {
    /// The partitioner's class name as reported in `system.local`.
    public static let className = "org.apache.cassandra.dht.Murmur3Partitioner"

    /// The smallest token (it never results from hashing; it is the ring's start).
    public static let minimumToken = Int64.min

    /// The token of a serialized partition key (for a composite key, its `CompositeType` encoding).
    public static func token<Bytes: Collection>(of key: Bytes) -> Int64 where Bytes.Element == UInt8 {
        let hash = hash128(key).h1
        return hash == Int64.min ? Int64.max : hash
    }

    /// The serialized key of a composite partition key: for each component `[unsigned short length][bytes][0]`.
    /// A single-component key is its component's bytes unchanged.
    public static func serializedKey(components: [[UInt8]]) -> [UInt8] {
        if components.count == 1 { return components[0] }
        var key: [UInt8] = []
        key.reserveCapacity(components.reduce(0) { $0 + $1.count + 3 })
        for component in components {
            key.append(UInt8(truncatingIfNeeded: component.count >> 8))
            key.append(UInt8(truncatingIfNeeded: component.count))
            key.append(contentsOf: component)
            key.append(0)
        }
        return key
    }

    /// Splits a composite key back into its components; `nil` when the bytes are not a valid encoding.
    public static func components(ofCompositeKey key: [UInt8], count: Int) -> [[UInt8]]? {
        if count == 1 { return [key] }
        var components: [[UInt8]] = []
        var index = 0
        while index < key.count {
            guard index + 2 <= key.count else { return nil }
            let length = Int(key[index]) << 8 | Int(key[index + 1])
            index += 2
            guard index + length + 1 <= key.count else { return nil }
            components.append(Array(key[index..<index + length]))
            index += length + 1
        }
        return components.count == count ? components : nil
    }

    /// MurmurHash3 x64/128 with seed 0 and Cassandra's signed-tail quirk. Both halves, as signed integers.
    public static func hash128<Bytes: Collection>(_ key: Bytes) -> (h1: Int64, h2: Int64) where Bytes.Element == UInt8 {
        if let hash = key.withContiguousStorageIfAvailable({ hash128(buffer: $0) }) { return hash }
        let bytes = Array(key)
        return bytes.withUnsafeBufferPointer { hash128(buffer: $0) }
    }

    private static let c1: UInt64 = 0x87c3_7b91_1142_53d5
    private static let c2: UInt64 = 0x4cf5_ad43_2745_937f

    @inline(__always)
    private static func rotl(_ value: UInt64, _ shift: UInt64) -> UInt64 {
        (value << shift) | (value >> (64 - shift))
    }

    @inline(__always)
    private static func fmix(_ value: UInt64) -> UInt64 {
        var k = value
        k ^= k >> 33
        k &*= 0xff51_afd7_ed55_8ccd
        k ^= k >> 33
        k &*= 0xc4ce_b9fe_1a85_ec53
        k ^= k >> 33
        return k
    }

    private static func hash128(buffer: UnsafeBufferPointer<UInt8>) -> (h1: Int64, h2: Int64) {
        let length = buffer.count
        let blockCount = length / 16
        var h1: UInt64 = 0
        var h2: UInt64 = 0

        func littleEndianWord(at offset: Int) -> UInt64 {
            var word: UInt64 = 0
            for index in 0..<8 { word |= UInt64(buffer[offset + index]) << UInt64(8 * index) }
            return word
        }

        for block in 0..<blockCount {
            var k1 = littleEndianWord(at: block * 16)
            var k2 = littleEndianWord(at: block * 16 + 8)
            k1 &*= c1; k1 = rotl(k1, 31); k1 &*= c2; h1 ^= k1
            h1 = rotl(h1, 27); h1 &+= h2; h1 = h1 &* 5 &+ 0x52dc_e729
            k2 &*= c2; k2 = rotl(k2, 33); k2 &*= c1; h2 ^= k2
            h2 = rotl(h2, 31); h2 &+= h1; h2 = h2 &* 5 &+ 0x3849_5ab5
        }

        // Tail: bytes are sign-extended, as Cassandra's `(long) key.get(i)` does.
        let tail = blockCount * 16
        func signed(_ index: Int) -> UInt64 { UInt64(bitPattern: Int64(Int8(bitPattern: buffer[tail + index]))) }
        var k1: UInt64 = 0
        var k2: UInt64 = 0
        let remainder = length & 15
        if remainder > 8 {
            for index in stride(from: remainder - 1, through: 8, by: -1) { k2 ^= signed(index) << UInt64(8 * (index - 8)) }
            k2 &*= c2; k2 = rotl(k2, 33); k2 &*= c1; h2 ^= k2
        }
        if remainder > 0 {
            for index in stride(from: min(remainder, 8) - 1, through: 0, by: -1) { k1 ^= signed(index) << UInt64(8 * index) }
            k1 &*= c1; k1 = rotl(k1, 31); k1 &*= c2; h1 ^= k1
        }

        h1 ^= UInt64(length)
        h2 ^= UInt64(length)
        h1 &+= h2
        h2 &+= h1
        h1 = fmix(h1)
        h2 = fmix(h2)
        h1 &+= h2
        h2 &+= h1
        return (Int64(bitPattern: h1), Int64(bitPattern: h2))
    }
}
