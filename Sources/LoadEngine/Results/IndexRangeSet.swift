/// A bounded set of work indexes, kept as sorted, disjoint, non-adjacent half-open ranges.
///
/// Runs list the indexes whose outcome is unknown or failed, and the ones never executed, so that verification can
/// tell lost writes from writes that were never acknowledged. Such indexes come in runs (a node down, a stopped run),
/// so ranges stay few; the set is still bounded by ``rangeLimit``: an index that would need a new range beyond it is
/// counted in ``overflow`` instead, and the set is then incomplete (verification falls back to counts).
///
/// Encoded as `{"ranges": [[first, end], ...], "count": n, "overflow": m}` (`end` exclusive).
public struct IndexRangeSet: Sendable, Hashable, Codable {
    /// Ranges kept at most (100,000: about 2 MB of JSON).
    public static let defaultRangeLimit = 100_000

    /// The ranges, ascending, disjoint and non-adjacent.
    public private(set) var ranges: [Range<UInt64>]
    /// Indexes in ``ranges``.
    public private(set) var count: UInt64
    /// Indexes that were not kept because the range limit was reached.
    public private(set) var overflow: UInt64
    /// Ranges kept at most.
    public let rangeLimit: Int

    public init(rangeLimit: Int = IndexRangeSet.defaultRangeLimit) {
        ranges = []
        count = 0
        overflow = 0
        self.rangeLimit = max(1, rangeLimit)
    }

    /// The set of the given ranges (they may overlap or touch).
    public init<S: Sequence>(ranges: S, rangeLimit: Int = IndexRangeSet.defaultRangeLimit) where S.Element == Range<UInt64> {
        self.init(rangeLimit: rangeLimit)
        for range in ranges { insert(range) }
    }

    /// Every index is listed (nothing overflowed).
    public var isComplete: Bool { overflow == 0 }
    public var isEmpty: Bool { ranges.isEmpty && overflow == 0 }

    /// Whether `index` is listed.
    public func contains(_ index: UInt64) -> Bool {
        let position = firstRange(endingAtOrAfter: index + 1)
        return position < ranges.count && ranges[position].contains(index)
    }

    /// The position of the first range whose `upperBound` is at least `bound`.
    func firstRange(endingAtOrAfter bound: UInt64) -> Int {
        var low = 0
        var high = ranges.count
        while low < high {
            let middle = (low + high) / 2
            if ranges[middle].upperBound >= bound { high = middle } else { low = middle + 1 }
        }
        return low
    }

    /// Adds one index.
    public mutating func insert(_ index: UInt64) {
        guard index < UInt64.max else { return }
        insert(index..<index + 1)
    }

    /// Adds every index of `range`.
    public mutating func insert(_ range: Range<UInt64>) {
        guard !range.isEmpty else { return }
        // Ranges that overlap or touch `range`: [first, last).
        let first = firstRange(endingAtOrAfter: range.lowerBound)
        var last = first
        var lower = range.lowerBound
        var upper = range.upperBound
        var absorbed: UInt64 = 0
        while last < ranges.count, ranges[last].lowerBound <= range.upperBound {
            lower = min(lower, ranges[last].lowerBound)
            upper = max(upper, ranges[last].upperBound)
            absorbed += UInt64(ranges[last].count)
            last += 1
        }
        if first == last, ranges.count >= rangeLimit {
            overflow += UInt64(range.count)
            return
        }
        ranges.replaceSubrange(first..<last, with: [lower..<upper])
        count = count - absorbed + (upper - lower)
    }

    /// Adds every index of `other` (its overflow too).
    public mutating func formUnion(_ other: IndexRangeSet) {
        for range in other.ranges { insert(range) }
        overflow += other.overflow
    }

    /// The listed indexes that fall in `window` (overflow is not attributed to windows).
    public func restricted(to window: Range<UInt64>) -> IndexRangeSet {
        var result = IndexRangeSet(rangeLimit: rangeLimit)
        var position = firstRange(endingAtOrAfter: window.lowerBound + 1)
        while position < ranges.count, ranges[position].lowerBound < window.upperBound {
            result.insert(ranges[position].clamped(to: window))
            position += 1
        }
        return result
    }

    /// Every listed index, ascending (for tests and small sets).
    public var indexes: [UInt64] { ranges.flatMap { Array($0) } }

    enum CodingKeys: String, CodingKey { case ranges, count, overflow }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let pairs = try container.decodeIfPresent([[UInt64]].self, forKey: .ranges) ?? []
        self.init(rangeLimit: max(Self.defaultRangeLimit, pairs.count))
        for pair in pairs {
            guard pair.count == 2, pair[0] <= pair[1] else {
                throw DecodingError.dataCorruptedError(
                    forKey: .ranges, in: container, debugDescription: "an index range must be [first, end] with first <= end, got \(pair)")
            }
            insert(pair[0]..<pair[1])
        }
        overflow = try container.decodeIfPresent(UInt64.self, forKey: .overflow) ?? 0
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(ranges.map { [$0.lowerBound, $0.upperBound] }, forKey: .ranges)
        try container.encode(count, forKey: .count)
        try container.encode(overflow, forKey: .overflow)
    }
}

/// Which indexes of a run did not end acknowledged: the exact lists verification needs to tell lost writes apart.
public struct IndexOutcomes: Sendable, Hashable, Codable {
    /// Indexes whose last attempt had an unknown outcome (timeout, connection lost): written or not.
    public var unknown: IndexRangeSet
    /// Indexes the server refused (or that failed before being sent) and were given up.
    public var failed: IndexRangeSet
    /// Indexes handed out but never attempted (the run stopped first).
    public var notExecuted: IndexRangeSet
    /// Indexes `0..<issued` were handed out (one past the highest index of any chunk taken).
    public var issued: UInt64

    enum CodingKeys: String, CodingKey {
        case unknown, failed, notExecuted = "not_executed", issued
    }

    public init(unknown: IndexRangeSet = .init(), failed: IndexRangeSet = .init(), notExecuted: IndexRangeSet = .init(), issued: UInt64 = 0) {
        self.unknown = unknown
        self.failed = failed
        self.notExecuted = notExecuted
        self.issued = issued
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        unknown = try container.decodeIfPresent(IndexRangeSet.self, forKey: .unknown) ?? IndexRangeSet()
        failed = try container.decodeIfPresent(IndexRangeSet.self, forKey: .failed) ?? IndexRangeSet()
        notExecuted = try container.decodeIfPresent(IndexRangeSet.self, forKey: .notExecuted) ?? IndexRangeSet()
        issued = try container.decode(UInt64.self, forKey: .issued)
    }

    /// Every list is complete (no overflow).
    public var isComplete: Bool { unknown.isComplete && failed.isComplete && notExecuted.isComplete }
}
