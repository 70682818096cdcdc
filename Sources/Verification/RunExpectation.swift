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
    /// Indexes whose last attempt had an unknown outcome (timeout, connection lost); sorted, unique.
    public private(set) var unknownOutcome: [UInt64]
    /// Indexes the server definitely refused and that were never written; sorted, unique.
    public private(set) var failed: [UInt64]
    /// How many writes the run saw acknowledged (`total_messages`), when it reports only counts: then missing
    /// messages are attributed to the unacknowledged ones first, and only the excess counts as lost.
    public var acknowledgedCount: UInt64?

    public init(
        run: RunIdentity, mix: ChatWorkload.Mix = .write, options: ChatWorkload.Options = .init(), total: UInt64,
        isCompletedFixedTotal: Bool = true, unknownOutcome: [UInt64] = [], failed: [UInt64] = [], acknowledgedCount: UInt64? = nil
    ) {
        self.acknowledgedCount = acknowledgedCount
        self.run = run
        self.mix = mix
        self.options = options
        self.total = total
        self.isCompletedFixedTotal = isCompletedFixedTotal
        self.unknownOutcome = Array(Set(unknownOutcome)).sorted()
        self.failed = Array(Set(failed).subtracting(unknownOutcome)).sorted()
    }

    /// What the run believed about one index.
    public enum Outcome: String, Sendable, Hashable, Codable {
        case acknowledged
        case unknown
        case failed
    }

    /// A cursor that answers `outcome(of:)` for increasing indexes in O(1) amortised time.
    struct OutcomeCursor {
        let unknown: [UInt64]
        let failed: [UInt64]
        var unknownPosition: Int
        var failedPosition: Int

        init(_ expectation: RunExpectation, from start: UInt64) {
            unknown = expectation.unknownOutcome
            failed = expectation.failed
            unknownPosition = unknown.partitioningIndex { $0 >= start }
            failedPosition = failed.partitioningIndex { $0 >= start }
        }

        /// The outcome of `index`; indexes must be asked in increasing order.
        mutating func outcome(of index: UInt64) -> Outcome {
            while unknownPosition < unknown.count, unknown[unknownPosition] < index { unknownPosition += 1 }
            if unknownPosition < unknown.count, unknown[unknownPosition] == index { return .unknown }
            while failedPosition < failed.count, failed[failedPosition] < index { failedPosition += 1 }
            if failedPosition < failed.count, failed[failedPosition] == index { return .failed }
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
