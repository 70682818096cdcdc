import Histogram

/// A latency histogram in microseconds with the settings every Stampede process uses.
///
/// All instances share one bucket layout (lowest discernible value 1 µs, 3 significant digits, auto-resizing),
/// so any two of them merge exactly and never trap, whichever process recorded them. The whole-run histogram of a
/// distributed run is the sum of every worker's interval histograms, and its percentiles equal those of one
/// histogram fed every sample.
public struct LatencyHistogram: Sendable, Equatable {
    /// The highest value tracked before the histogram grows; values above it still record (it resizes).
    public static let initialHighestTrackableMicros: UInt64 = 60_000_000

    @usableFromInline var storage: Histogram<UInt64>

    /// An empty histogram.
    public init() {
        var histogram = Histogram<UInt64>(
            lowestDiscernibleValue: 1,
            highestTrackableValue: Self.initialHighestTrackableMicros,
            numberOfSignificantValueDigits: .three
        )
        histogram.autoResize = true
        storage = histogram
    }

    /// Records one latency, in microseconds.
    @inlinable
    public mutating func record(micros: UInt64) {
        storage.record(micros)
    }

    /// Records `count` occurrences of a latency, in microseconds.
    @inlinable
    public mutating func record(micros: UInt64, count: UInt64) {
        guard count > 0 else { return }
        storage.record(micros, count: count)
    }

    /// Adds every sample of `other` into this histogram. Exact: no sample is lost or moved to another bucket.
    public mutating func merge(_ other: LatencyHistogram) {
        guard other.storage.totalCount > 0 else { return }
        storage.add(other.storage)
    }

    /// Forgets every sample, keeping the buckets' memory (and any size it grew to).
    public mutating func reset() {
        storage.reset()
    }

    /// The number of recorded samples.
    public var count: UInt64 { storage.totalCount }

    /// True when nothing has been recorded.
    public var isEmpty: Bool { storage.totalCount == 0 }

    /// The value at a percentile (0–100), in microseconds; 0 when empty.
    public func valueAtPercentile(_ percentile: Double) -> UInt64 {
        guard storage.totalCount > 0 else { return 0 }
        return storage.valueAtPercentile(percentile)
    }

    /// The largest recorded value, exactly as recorded, in microseconds; 0 when empty.
    public var maxMicros: UInt64 { storage.totalCount == 0 ? 0 : storage.maxRecorded }

    /// The smallest recorded value, exactly as recorded, in microseconds; 0 when empty.
    public var minMicros: UInt64 { storage.totalCount == 0 ? 0 : storage.min }

    /// The mean of the recorded values (bucket-precise), in microseconds; 0 when empty.
    public var meanMicros: Double { storage.totalCount == 0 ? 0 : storage.mean }

    /// The recorded (bucket value, count) pairs in increasing value order.
    ///
    /// Each value is the highest value equivalent to its bucket, so recording the pairs into an empty
    /// histogram rebuilds these buckets exactly.
    public var buckets: [(value: UInt64, count: UInt64)] {
        var result: [(value: UInt64, count: UInt64)] = []
        for item in storage.recordedValues() {
            result.append((item.value, item.count))
        }
        return result
    }

    /// True when `a` and `b` fall in the same bucket.
    func sameBucket(_ a: UInt64, _ b: UInt64) -> Bool {
        storage.valuesAreEquivalent(a, b)
    }

    public static func == (lhs: LatencyHistogram, rhs: LatencyHistogram) -> Bool {
        lhs.storage == rhs.storage && lhs.maxMicros == rhs.maxMicros
    }
}
