import LoadEngine

/// What a run believed it wrote: its identity, workload, how many indexes it issued, and which of them did not end
/// acknowledged. Everything else in `0..<total` that is a write is taken as acknowledged.
public struct RunExpectation: Sendable {
    /// The run's identity (id + epoch): every message is a pure function of it and its index.
    public var run: RunIdentity
    /// Which chat workload wrote the messages (`chat-mixed` writes only some indexes).
    public var mix: ChatWorkload.Mix
    /// The workload's dataset settings (users, conversations, members, seeded rows, Vietnamese).
    public var options: ChatWorkload.Options
    /// Indexes `0..<total` were issued.
    public var total: UInt64
    /// A completed fixed-total run: then found must equal expected exactly.
    public var isCompletedFixedTotal: Bool
    /// Indexes whose last attempt had an unknown outcome (timeout, connection lost), as ranges.
    public private(set) var unknownIndexes: IndexRangeSet
    /// Indexes the server definitely refused and that were never written, as ranges (none of them unknown).
    public private(set) var failedIndexes: IndexRangeSet
    /// Indexes of `0..<total` the run never executed (it stopped first), as ranges: not expected in the database.
    public private(set) var notExecutedIndexes: IndexRangeSet
    /// How many writes the run saw acknowledged (`total_messages`), when it reports only counts: then missing
    /// messages are attributed to the unacknowledged ones first, and only the excess counts as lost.
    public var acknowledgedCount: UInt64?
    /// Where the outcome lists came from, for the report ("the run's index lists", "counts only", ...).
    public var outcomeSource: String?

    /// Indexes with an unknown outcome, ascending (small sets; for tests).
    public var unknownOutcome: [UInt64] { unknownIndexes.indexes }
    /// Failed indexes, ascending (small sets; for tests).
    public var failed: [UInt64] { failedIndexes.indexes }

    public init(
        run: RunIdentity, mix: ChatWorkload.Mix = .write, options: ChatWorkload.Options = .init(), total: UInt64,
        isCompletedFixedTotal: Bool = true, unknownOutcome: [UInt64] = [], failed: [UInt64] = [], acknowledgedCount: UInt64? = nil
    ) {
        var unknown = IndexRangeSet()
        for index in unknownOutcome { unknown.insert(index) }
        var refused = IndexRangeSet()
        for index in failed { refused.insert(index) }
        self.init(run: run, mix: mix, options: options, total: total, isCompletedFixedTotal: isCompletedFixedTotal,
                  outcomes: IndexOutcomes(unknown: unknown, failed: refused, issued: total), acknowledgedCount: acknowledgedCount)
    }

    /// What a run believed, with its index lists as ranges (`index_outcomes` of the results). Indexes at or beyond
    /// `outcomes.issued` were never handed out, so they count as not executed.
    public init(
        run: RunIdentity, mix: ChatWorkload.Mix = .write, options: ChatWorkload.Options = .init(), total: UInt64,
        isCompletedFixedTotal: Bool = true, outcomes: IndexOutcomes, acknowledgedCount: UInt64? = nil
    ) {
        self.acknowledgedCount = acknowledgedCount
        self.run = run
        self.mix = mix
        self.options = options
        self.total = total
        self.isCompletedFixedTotal = isCompletedFixedTotal
        unknownIndexes = outcomes.unknown
        failedIndexes = outcomes.failed
        var notExecuted = outcomes.notExecuted
        if outcomes.issued < total { notExecuted.insert(outcomes.issued..<total) }
        notExecutedIndexes = notExecuted
    }

    /// What the run believed about one index.
    public enum Outcome: String, Sendable, Hashable, Codable {
        case acknowledged
        case unknown
        case failed
        /// Never attempted: the run stopped first.
        case notExecuted = "not-executed"
    }

    /// A cursor that answers `outcome(of:)` for increasing indexes in O(1) amortised time.
    struct OutcomeCursor {
        struct Walker {
            let ranges: [Range<UInt64>]
            var position: Int

            init(_ set: IndexRangeSet, from start: UInt64) {
                ranges = set.ranges
                position = ranges.partitioningIndex { $0.upperBound > start }
            }

            mutating func contains(_ index: UInt64) -> Bool {
                while position < ranges.count, ranges[position].upperBound <= index { position += 1 }
                return position < ranges.count && ranges[position].contains(index)
            }
        }
        var unknown: Walker
        var failed: Walker
        var notExecuted: Walker

        init(_ expectation: RunExpectation, from start: UInt64) {
            unknown = Walker(expectation.unknownIndexes, from: start)
            failed = Walker(expectation.failedIndexes, from: start)
            notExecuted = Walker(expectation.notExecutedIndexes, from: start)
        }

        /// The outcome of `index`; indexes must be asked in increasing order. Unknown wins over failed, and both
        /// over not executed (an index given up was attempted).
        mutating func outcome(of index: UInt64) -> Outcome {
            if unknown.contains(index) { return .unknown }
            if failed.contains(index) { return .failed }
            if notExecuted.contains(index) { return .notExecuted }
            return .acknowledged
        }
    }
}

extension Array {
    /// The first index whose element satisfies `predicate`, for a predicate that is false then true (binary search).
    func partitioningIndex(where predicate: (Element) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if predicate(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
