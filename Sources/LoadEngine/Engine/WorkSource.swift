import Synchronization

/// A contiguous range of work indexes handed out as one unit.
public struct WorkChunk: Sendable, Hashable, Codable {
    /// The source's id for the chunk (a coordinator's lease id).
    public var id: UInt64
    /// The indexes, e.g. message numbers 120_000..<130_000.
    public var range: Range<UInt64>

    public init(id: UInt64, range: Range<UInt64>) {
        self.id = id
        self.range = range
    }

    public var count: UInt64 { UInt64(range.count) }
}

/// How a chunk ended on this worker, reported once per chunk when no index of it is still pending.
public struct ChunkCompletion: Sendable, Hashable {
    public var chunk: WorkChunk
    /// Indexes that were acknowledged (possibly after retries).
    public var succeeded: UInt64
    /// Indexes that finally failed.
    public var failed: UInt64
    /// Indexes never attempted (the run stopped first); a coordinator can lease them again.
    public var unexecuted: [Range<UInt64>]
    /// The chunk's given-up indexes whose last attempt had an unknown outcome.
    public var unknownIndexes: IndexRangeSet
    /// The chunk's given-up indexes that definitely failed.
    public var failedIndexes: IndexRangeSet

    public init(
        chunk: WorkChunk, succeeded: UInt64, failed: UInt64, unexecuted: [Range<UInt64>],
        unknownIndexes: IndexRangeSet = IndexRangeSet(), failedIndexes: IndexRangeSet = IndexRangeSet()
    ) {
        self.chunk = chunk
        self.succeeded = succeeded
        self.failed = failed
        self.unexecuted = unexecuted
        self.unknownIndexes = unknownIndexes
        self.failedIndexes = failedIndexes
    }

    /// True when every index was attempted.
    public var isFullyExecuted: Bool { unexecuted.isEmpty }
}

/// Where the engine gets work indexes from: a fixed local range, or chunks leased from a coordinator.
///
/// The engine pulls chunks when it needs more (prefetching one ahead), splits them among its tasks, and reports each
/// chunk's completion. Called concurrently; implementations must be thread-safe.
public protocol WorkSource: Sendable {
    /// The next chunk to run, or `nil` when there is no more work (the run then ends when in-flight work completes).
    func nextChunk() async throws -> WorkChunk?
    /// Reports that every index of a chunk has a final outcome (or was left unexecuted because the run stopped).
    func chunkCompleted(_ completion: ChunkCompletion) async
}

/// Hands out `[0, total)` in chunks: an exact total of operations, never one more.
public final class FixedRangeWorkSource: WorkSource {
    public let total: UInt64
    public let chunkSize: UInt64
    let state = Mutex<(next: UInt64, chunkID: UInt64, completions: [ChunkCompletion])>((0, 0, []))

    /// - Parameters:
    ///   - total: how many indexes (operations) in all.
    ///   - start: the first index (for splitting a range by hand).
    ///   - chunkSize: indexes per chunk.
    public init(total: UInt64, start: UInt64 = 0, chunkSize: UInt64 = 65_536) {
        self.total = total
        self.chunkSize = max(1, chunkSize)
        state.withLock { $0.next = start }
        self.start = start
    }

    let start: UInt64

    public func nextChunk() async throws -> WorkChunk? {
        state.withLock { state in
            let end = start + total
            guard state.next < end else { return nil }
            let upper = min(end, state.next + chunkSize)
            let chunk = WorkChunk(id: state.chunkID, range: state.next..<upper)
            state.next = upper
            state.chunkID += 1
            return chunk
        }
    }

    public func chunkCompleted(_ completion: ChunkCompletion) async {
        state.withLock { $0.completions.append(completion) }
    }

    /// Every completion reported so far, in report order.
    public var completions: [ChunkCompletion] { state.withLock { $0.completions } }
}

/// Hands out indexes without end (runs stopped by duration, stages or Ctrl-C).
public final class UnboundedWorkSource: WorkSource {
    let next = Mutex<(index: UInt64, id: UInt64)>((0, 0))
    let chunkSize: UInt64

    public init(start: UInt64 = 0, chunkSize: UInt64 = 65_536) {
        self.chunkSize = max(1, chunkSize)
        next.withLock { $0.index = start }
    }

    public func nextChunk() async throws -> WorkChunk? {
        next.withLock { state in
            let lower = state.index
            let (upper, overflow) = lower.addingReportingOverflow(chunkSize)
            guard !overflow else { return nil }
            state.index = upper
            state.id += 1
            return WorkChunk(id: state.id - 1, range: lower..<upper)
        }
    }

    public func chunkCompleted(_ completion: ChunkCompletion) async {}
}
