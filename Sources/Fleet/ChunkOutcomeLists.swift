import LoadEngine

/// The index outcome lists of a fixed-total distributed run, built by the coordinator from the chunk completions it
/// counted (each chunk's lists come from the worker whose completion counted, so a chunk written twice is listed once).
///
/// Pure value; the coordinator feeds it counted completions and asks for the lists when it writes the results.
struct ChunkOutcomeLists: Sendable {
    var unknown = IndexRangeSet()
    var failed = IndexRangeSet()
    /// False after a coordinator restart (`--resume`): completions counted before it were not kept.
    var coversWholeRun = true

    /// Adds the lists of a counted completion.
    mutating func counted(_ completed: Stampede_Fleet_V1_ChunkCompleted) {
        Self.insert(pairs: completed.unknownRanges, into: &unknown)
        Self.insert(pairs: completed.failedRanges, into: &failed)
    }

    /// The run's lists: chunks never leased are not executed; chunks leased but not done at the end have an outcome
    /// the coordinator does not know (a worker may have written part of them), so they count as unknown.
    /// `nil` when the lists do not cover the whole run.
    func outcomes(ledger: ChunkLedger) -> IndexOutcomes? {
        guard coversWholeRun else { return nil }
        var outcomes = IndexOutcomes(unknown: unknown, failed: failed, issued: ledger.target)
        for id in 0..<ledger.chunkCount {
            guard let chunk = ledger.chunk(id), let state = ledger.state(of: id) else { continue }
            switch state {
            case .done:
                continue
            case .leased:
                outcomes.unknown.insert(chunk.range)
            case .pending:
                if ledger.leaseCount(of: id) == 0 {
                    outcomes.notExecuted.insert(chunk.range)
                } else {
                    outcomes.unknown.insert(chunk.range)
                }
            }
        }
        return outcomes
    }

    /// Flattened `first, end` pairs into `set`; a malformed pair (odd count, end before first) is skipped.
    static func insert(pairs: [UInt64], into set: inout IndexRangeSet) {
        var position = 0
        while position + 1 < pairs.count {
            if pairs[position] <= pairs[position + 1] { set.insert(pairs[position]..<pairs[position + 1]) }
            position += 2
        }
    }

    /// A range set as flattened `first, end` pairs (for `ChunkCompleted`).
    static func pairs(_ set: IndexRangeSet) -> [UInt64] {
        set.ranges.flatMap { [$0.lowerBound, $0.upperBound] }
    }
}
