import Synchronization

/// Collects, during a run, which indexes did not end acknowledged. Written only when an operation is given up or a
/// chunk is handed back, never on the success path, so one lock is enough.
final class IndexOutcomeLog: Sendable {
    private let state = Mutex(IndexOutcomes())

    /// Records that `index` was given up; `unknown` when its last attempt may have been applied.
    func recordGivenUp(_ index: UInt64, unknown: Bool) {
        state.withLock { state in
            if unknown { state.unknown.insert(index) } else { state.failed.insert(index) }
        }
    }

    /// Records a chunk taken from the work source.
    func recordIssued(_ range: Range<UInt64>) {
        state.withLock { $0.issued = max($0.issued, range.upperBound) }
    }

    /// Records indexes that were handed out but never attempted.
    func recordNotExecuted(_ ranges: [Range<UInt64>]) {
        state.withLock { state in
            for range in ranges { state.notExecuted.insert(range) }
        }
    }

    /// The unknown and failed indexes of `range` (one chunk's part, for its completion report).
    func givenUp(in range: Range<UInt64>) -> (unknown: IndexRangeSet, failed: IndexRangeSet) {
        state.withLock { ($0.unknown.restricted(to: range), $0.failed.restricted(to: range)) }
    }

    /// Everything recorded.
    var outcomes: IndexOutcomes { state.withLock { $0 } }
}
