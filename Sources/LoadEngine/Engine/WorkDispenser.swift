import Synchronization

/// A chunk being worked on: its untaken remainder and its outcome counts.
final class ActiveChunk: Sendable {
    let chunk: WorkChunk
    struct State {
        var cursor: UInt64
        var pending: UInt64
        var succeeded: UInt64 = 0
        var failed: UInt64 = 0
        var unexecuted: [Range<UInt64>] = []
        var revoked = false
    }
    let state: Mutex<State>

    init(chunk: WorkChunk) {
        self.chunk = chunk
        state = Mutex(State(cursor: chunk.range.lowerBound, pending: chunk.count))
    }

    var isRevoked: Bool { state.withLock { $0.revoked } }
}

/// Indexes leased by one task from one chunk.
struct WorkLease: Sendable {
    let chunk: ActiveChunk
    let range: Range<UInt64>
}

/// Splits a ``WorkSource``'s chunks among the engine's tasks, prefetching the next chunk before the current one runs
/// out, and reports each chunk's completion once its last index is done.
final class WorkDispenser: Sendable {
    let source: any WorkSource
    /// Which indexes were issued, given up or never executed (for the results' outcome lists).
    let outcomeLog = IndexOutcomeLog()

    struct State {
        var queue: [ActiveChunk] = []
        var exhausted = false
        var closed = false
        var fetching = false
        var failure: (any Error)?
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    let state = Mutex(State())

    init(source: any WorkSource) {
        self.source = source
    }

    enum TakeAction {
        case lease(WorkLease, prefetch: Bool)
        case exhausted
        case fetch
        case wait
        case failed(any Error)
    }

    /// What ``tryTake(maximum:)`` found.
    enum TryTake {
        case lease(WorkLease)
        case exhausted
        /// A chunk is being fetched: ask again (with ``take(maximum:)`` to wait for it).
        case pending
        case failed(any Error)
    }

    /// Up to `maximum` consecutive indexes if some are at hand, without waiting (a fetch it has to start runs in a
    /// task of its own).
    func tryTake(maximum: Int) -> TryTake {
        switch takeAction(maximum: maximum) {
        case .lease(let lease, let prefetch):
            if prefetch { Task { await self.fetch() } }
            return .lease(lease)
        case .exhausted:
            return .exhausted
        case .failed(let error):
            return .failed(error)
        case .fetch:
            Task { await self.fetch() }
            return .pending
        case .wait:
            return .pending
        }
    }

    /// Up to `maximum` consecutive indexes, or `nil` when the source has no more work.
    func take(maximum: Int) async throws -> WorkLease? {
        while true {
            switch takeAction(maximum: maximum) {
            case .lease(let lease, let prefetch):
                if prefetch { Task { await self.fetch() } }
                return lease
            case .exhausted:
                return nil
            case .failed(let error):
                throw error
            case .fetch:
                await fetch()
            case .wait:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { state -> Bool in
                        guard state.fetching else { return true }
                        state.waiters.append(continuation)
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
        }
    }

    /// Leases from the first chunk with indexes left, or says what to do instead (sets `fetching` for `.fetch`).
    private func takeAction(maximum: Int) -> TakeAction {
        state.withLock { state in
            while let first = state.queue.first {
                let taken: Range<UInt64>? = first.state.withLock { chunk in
                    guard !chunk.revoked, chunk.cursor < first.chunk.range.upperBound else { return nil }
                    let upper = min(first.chunk.range.upperBound, chunk.cursor + UInt64(max(1, maximum)))
                    defer { chunk.cursor = upper }
                    return chunk.cursor..<upper
                }
                if let taken {
                    let remaining = first.chunk.range.upperBound - taken.upperBound
                    let prefetch = !state.fetching && !state.exhausted && state.queue.count == 1 && remaining * 2 <= first.chunk.count
                    if prefetch { state.fetching = true }
                    return .lease(WorkLease(chunk: first, range: taken), prefetch: prefetch)
                }
                state.queue.removeFirst()
            }
            if let failure = state.failure { return .failed(failure) }
            if state.exhausted { return .exhausted }
            if !state.fetching {
                state.fetching = true
                return .fetch
            }
            return .wait
        }
    }

    /// Fetches one chunk from the source (the caller set `fetching`).
    func fetch() async {
        var chunk: WorkChunk?
        var failure: (any Error)?
        do { chunk = try await source.nextChunk() } catch { failure = error }
        var lateChunk: WorkChunk?
        let waiters = state.withLock { state in
            if let chunk, !chunk.range.isEmpty, state.closed {
                lateChunk = chunk
            } else if let chunk, !chunk.range.isEmpty {
                outcomeLog.recordIssued(chunk.range)
                state.queue.append(ActiveChunk(chunk: chunk))
            } else if let failure {
                state.failure = LoadEngineError(.workSourceFailed, "the work source failed: \(failure)")
            } else if chunk == nil {
                state.exhausted = true
            }
            state.fetching = false
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
        if let lateChunk {
            // Leased after the run closed (a prefetch in flight): give it back untouched.
            outcomeLog.recordIssued(lateChunk.range)
            outcomeLog.recordNotExecuted([lateChunk.range])
            await source.chunkCompleted(ChunkCompletion(chunk: lateChunk, succeeded: 0, failed: 0, unexecuted: [lateChunk.range]))
        }
    }

    /// Reports the outcome of a lease: how many of its indexes succeeded or failed, and which were not attempted.
    func finish(_ lease: WorkLease, succeeded: UInt64, failed: UInt64, unexecuted: Range<UInt64>? = nil) async {
        let completion: ChunkCompletion? = lease.chunk.state.withLock { chunk in
            chunk.succeeded += succeeded
            chunk.failed += failed
            var done = succeeded + failed
            if let unexecuted, !unexecuted.isEmpty {
                chunk.unexecuted.append(unexecuted)
                done += UInt64(unexecuted.count)
            }
            chunk.pending -= min(done, chunk.pending)
            guard chunk.pending == 0, !chunk.revoked else { return nil }
            return ChunkCompletion(chunk: lease.chunk.chunk, succeeded: chunk.succeeded, failed: chunk.failed, unexecuted: Self.coalesced(chunk.unexecuted))
        }
        if var completion {
            outcomeLog.recordNotExecuted(completion.unexecuted)
            if completion.failed > 0 {
                (completion.unknownIndexes, completion.failedIndexes) = outcomeLog.givenUp(in: completion.chunk.range)
            }
            await source.chunkCompleted(completion)
        }
    }

    /// Marks every untaken index as unexecuted and reports the chunks that are then complete. Call after the run's
    /// tasks have finished.
    func close() async {
        let chunks = state.withLock { state -> [ActiveChunk] in
            defer { state.queue.removeAll() }
            state.exhausted = true
            state.closed = true
            return state.queue
        }
        for active in chunks {
            let rest: Range<UInt64>? = active.state.withLock { chunk in
                guard chunk.cursor < active.chunk.range.upperBound else { return nil }
                defer { chunk.cursor = active.chunk.range.upperBound }
                return chunk.cursor..<active.chunk.range.upperBound
            }
            if let rest {
                await finish(WorkLease(chunk: active, range: rest), succeeded: 0, failed: 0, unexecuted: rest)
            }
        }
    }

    /// Stops handing out (and reporting) the chunks with these ids; tasks stop at their next index.
    func revoke(chunkIDs: Set<UInt64>) {
        let chunks = state.withLock { $0.queue }
        for active in chunks where chunkIDs.contains(active.chunk.id) {
            active.state.withLock { $0.revoked = true }
        }
    }

    static func coalesced(_ ranges: [Range<UInt64>]) -> [Range<UInt64>] {
        let sorted = ranges.sorted { $0.lowerBound < $1.lowerBound }
        var result: [Range<UInt64>] = []
        for range in sorted {
            if let last = result.last, last.upperBound >= range.lowerBound {
                result[result.count - 1] = last.lowerBound..<max(last.upperBound, range.upperBound)
            } else {
                result.append(range)
            }
        }
        return result
    }
}
