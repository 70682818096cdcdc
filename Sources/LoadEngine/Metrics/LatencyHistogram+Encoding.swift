/// The compact binary form of a ``LatencyHistogram``, for shipping interval histograms between processes.
///
/// Layout (all integers LEB128 varints):
/// `version(=1) · totalCount · min · max · pairCount · (valueDelta · count) × pairCount`
/// where each value is its bucket's highest equivalent value and `valueDelta` is the difference from the previous
/// pair's value (the first from 0). Decoding records each pair back, placing the exact minimum and maximum in their
/// buckets, so the decoded histogram equals the original (same buckets, counts, minimum and maximum).
extension LatencyHistogram {
    static let encodingVersion: UInt64 = 1

    /// Encodes the histogram compactly (a few bytes per non-empty bucket).
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        let pairs = buckets
        bytes.reserveCapacity(8 + pairs.count * 4)
        VarInt.append(Self.encodingVersion, to: &bytes)
        VarInt.append(count, to: &bytes)
        VarInt.append(minMicros, to: &bytes)
        VarInt.append(maxMicros, to: &bytes)
        VarInt.append(UInt64(pairs.count), to: &bytes)
        var previous: UInt64 = 0
        for pair in pairs {
            VarInt.append(pair.value &- previous, to: &bytes)
            VarInt.append(pair.count, to: &bytes)
            previous = pair.value
        }
        return bytes
    }

    /// Rebuilds a histogram from ``encoded()`` bytes.
    ///
    /// - Throws: ``LoadEngineError`` with code `.malformedHistogram` when the bytes are truncated, have an unknown
    ///   version, or are inconsistent (counts that do not add up, values out of order).
    public init(encoded bytes: [UInt8]) throws(LoadEngineError) {
        var reader = VarInt.Reader(bytes: bytes)
        func next(_ what: String) throws(LoadEngineError) -> UInt64 {
            guard let value = reader.read() else {
                throw LoadEngineError(.malformedHistogram, "encoded histogram is truncated at byte \(reader.offset) (reading \(what))")
            }
            return value
        }
        let version = try next("version")
        guard version == Self.encodingVersion else {
            throw LoadEngineError(.malformedHistogram, "encoded histogram has unknown version \(version)")
        }
        let total = try next("total count")
        let minimum = try next("minimum")
        let maximum = try next("maximum")
        let pairCount = try next("pair count")
        guard pairCount <= UInt64(bytes.count) else {
            throw LoadEngineError(.malformedHistogram, "encoded histogram claims \(pairCount) buckets in \(bytes.count) bytes")
        }
        self.init()
        var value: UInt64 = 0
        var sum: UInt64 = 0
        for index in 0..<Int(pairCount) {
            let delta = try next("bucket \(index) value")
            let count = try next("bucket \(index) count")
            guard index == 0 || delta > 0, count > 0 else {
                throw LoadEngineError(.malformedHistogram, "encoded histogram bucket \(index) is out of order or empty")
            }
            let (newValue, overflow) = value.addingReportingOverflow(delta)
            guard !overflow, newValue <= UInt64.max / 4 else {
                throw LoadEngineError(.malformedHistogram, "encoded histogram bucket \(index) value is out of range")
            }
            value = newValue
            sum &+= count
            var remaining = count
            // Place the exact extremes in their buckets so min/max survive the round trip.
            if remaining > 0, minimum != 0, sameBucket(value, minimum) {
                record(micros: minimum)
                remaining -= 1
            }
            if remaining > 0, sameBucket(value, maximum), !(maximum == minimum && remaining < count) {
                record(micros: maximum)
                remaining -= 1
            }
            // The rest of the maximum's bucket goes at the maximum itself: the bucket's representative value is its
            // top, which would raise the recorded maximum above the real one.
            record(micros: sameBucket(value, maximum) ? maximum : value, count: remaining)
        }
        guard sum == total else {
            throw LoadEngineError(.malformedHistogram, "encoded histogram counts add up to \(sum), header says \(total)")
        }
        guard reader.isAtEnd else {
            throw LoadEngineError(.malformedHistogram, "encoded histogram has \(bytes.count - reader.offset) trailing bytes")
        }
    }
}

/// Unsigned LEB128 variable-length integers.
enum VarInt {
    static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    struct Reader {
        let bytes: [UInt8]
        var offset = 0

        var isAtEnd: Bool { offset == bytes.count }

        mutating func read() -> UInt64? {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while offset < bytes.count {
                let byte = bytes[offset]
                offset += 1
                guard shift < 64 else { return nil }
                result |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return result }
                shift += 7
            }
            return nil
        }
    }
}
