/// The work ledger of a fixed-total run: the target cut into chunks of message indexes, leased to workers and
/// acknowledged by them, so that each index is counted exactly once whatever workers join, die or come back.
///
/// Pure value type, no I/O and no clock: the coordinator feeds it events and journals them.
///
/// Rules:
/// - Pending chunks are leased lowest id first, so returned chunks are retried before fresh ones.
/// - A lost worker's leased (unacknowledged) chunks return to the pool.
/// - A completion is counted if and only if its chunk is not already done, whatever the lease epoch: a message's
///   identity is a pure function of the run id and its index, so a chunk written by a worker that was declared lost
///   is as good as one written by its new holder. When a late completion is counted while another worker holds the
///   chunk, the ledger tells the caller to revoke it from that holder.
public struct ChunkLedger: Sendable, Hashable {
    /// One chunk: a range of message indexes.
    public struct Chunk: Sendable, Hashable {
        /// Chunk id, from 0.
        public var id: UInt64
        /// Message indexes `[lowerBound, upperBound)`.
        public var range: Range<UInt64>
        /// Number of messages in the chunk.
        public var count: UInt64 { range.upperBound - range.lowerBound }
    }

    /// A chunk handed to a worker.
    public struct Lease: Sendable, Hashable {
        public var chunk: Chunk
        /// Increases every time the chunk is leased.
        public var epoch: UInt64
        public var worker: String
    }

    /// Where a chunk is.
    public enum ChunkState: Sendable, Hashable {
        case pending
        case leased(worker: String, epoch: UInt64)
        case done(worker: String, acknowledged: UInt64)
    }

    /// The result of reporting a completed chunk.
    public enum CompletionOutcome: Sendable, Hashable {
        /// Counted: the chunk was not done before. `revokeFrom` names another worker that held it and must stop.
        case counted(revokeFrom: String?)
        /// Not counted: the chunk was already done (each index counts once).
        case alreadyDone
        /// Not counted: no such chunk.
        case unknownChunk
    }

    /// The exact number of messages of the run.
    public let target: UInt64
    /// Messages per chunk (the last chunk may be shorter).
    public let chunkSize: UInt64
    /// Number of chunks.
    public let chunkCount: UInt64

    private var states: [ChunkState]
    private var epochs: [UInt64]
    /// Chunks leased before and returned to the pool, sorted ascending; leased before fresh ones.
    private var returned: [UInt64] = []
    /// Chunks `nextFresh..<chunkCount` have never been leased.
    private var nextFresh: UInt64 = 0
    private var leasedBy: [String: Set<UInt64>]
    /// Messages in chunks that are done.
    public private(set) var completedMessages: UInt64 = 0
    /// Messages acknowledged by the server in chunks that are done (≤ `completedMessages`; the rest failed).
    public private(set) var acknowledgedMessages: UInt64 = 0
    /// Number of chunks done.
    public private(set) var completedChunks: UInt64 = 0

    /// Cuts `target` messages into chunks of `chunkSize`.
    public init(target: UInt64, chunkSize: UInt64) throws(FleetError) {
        guard chunkSize > 0 else { throw FleetError(.invalidConfiguration, "chunk size must be at least 1") }
        let count = target / chunkSize + (target % chunkSize == 0 ? 0 : 1)
        guard count <= 10_000_000 else {
            throw FleetError(.invalidConfiguration, "target \(target) with chunk size \(chunkSize) makes \(count) chunks; use a larger chunk size")
        }
        self.target = target
        self.chunkSize = chunkSize
        self.chunkCount = count
        self.states = Array(repeating: .pending, count: Int(count))
        self.epochs = Array(repeating: 0, count: Int(count))
        self.leasedBy = [:]
    }

    /// True when every chunk is done.
    public var isComplete: Bool { completedChunks == chunkCount }
    /// Number of chunks waiting for a worker.
    public var pendingChunks: UInt64 { UInt64(returned.count) + (chunkCount - nextFresh) }

    /// The chunk with this id.
    public func chunk(_ id: UInt64) -> Chunk? {
        guard id < chunkCount else { return nil }
        let lower = id * chunkSize
        return Chunk(id: id, range: lower..<min(lower + chunkSize, target))
    }

    /// Where chunk `id` is.
    public func state(of id: UInt64) -> ChunkState? {
        guard id < chunkCount else { return nil }
        return states[Int(id)]
    }

    /// How many times chunk `id` was leased (0: never handed to a worker).
    public func leaseCount(of id: UInt64) -> UInt64 {
        id < chunkCount ? epochs[Int(id)] : 0
    }

    /// The chunks a worker holds now, ascending.
    public func leases(of worker: String) -> [UInt64] {
        (leasedBy[worker] ?? []).sorted()
    }

    /// Leases the next pending chunk to `worker`, or returns nil when none is pending.
    public mutating func lease(to worker: String) -> Lease? {
        let id: UInt64
        if !returned.isEmpty {
            id = returned.removeFirst()
        } else if nextFresh < chunkCount {
            id = nextFresh
            nextFresh += 1
        } else {
            return nil
        }
        epochs[Int(id)] += 1
        let epoch = epochs[Int(id)]
        states[Int(id)] = .leased(worker: worker, epoch: epoch)
        leasedBy[worker, default: []].insert(id)
        // `chunk(id)` is non-nil: `id` < chunkCount.
        guard let chunk = chunk(id) else { return nil }
        return Lease(chunk: chunk, epoch: epoch, worker: worker)
    }

    /// Records that `worker` wrote chunk `id` (leased at `epoch`) with `acknowledged` of its messages acknowledged.
    public mutating func complete(chunk id: UInt64, epoch: UInt64, by worker: String, acknowledged: UInt64) -> CompletionOutcome {
        guard id < nextFresh else { return .unknownChunk }
        let index = Int(id)
        var revokeFrom: String?
        switch states[index] {
        case .done:
            leasedBy[worker]?.remove(id)
            return .alreadyDone
        case .pending:
            if let at = returned.firstIndex(of: id) { returned.remove(at: at) }
        case .leased(let holder, _):
            leasedBy[holder]?.remove(id)
            if holder != worker { revokeFrom = holder }
        }
        leasedBy[worker]?.remove(id)
        let size = chunk(id)?.count ?? 0
        let acked = min(acknowledged, size)
        states[index] = .done(worker: worker, acknowledged: acked)
        completedMessages += size
        acknowledgedMessages += acked
        completedChunks += 1
        _ = epoch
        return .counted(revokeFrom: revokeFrom)
    }

    /// Returns every chunk `worker` holds to the pool (the worker is lost, or refused them). Returns their ids.
    @discardableResult
    public mutating func release(worker: String) -> [UInt64] {
        let ids = (leasedBy.removeValue(forKey: worker) ?? []).sorted()
        for id in ids { returnToPool(id) }
        return ids
    }

    /// Returns one chunk to the pool if `worker` holds it (e.g. after a revoke was acknowledged).
    public mutating func release(chunk id: UInt64, from worker: String) {
        guard leasedBy[worker]?.remove(id) != nil else { return }
        returnToPool(id)
    }

    private mutating func returnToPool(_ id: UInt64) {
        guard case .leased = states[Int(id)] else { return }
        states[Int(id)] = .pending
        let at = returned.partitioningIndex { $0 > id }
        returned.insert(id, at: at)
    }

    /// Messages of done chunks credited to each worker (the one whose completion counted); adds up to
    /// `completedMessages`. `acknowledged` excludes finally failed messages.
    public func credited() -> [String: (messages: UInt64, acknowledged: UInt64, chunks: UInt64)] {
        var result: [String: (messages: UInt64, acknowledged: UInt64, chunks: UInt64)] = [:]
        for (index, state) in states.enumerated() {
            guard case .done(let worker, let acknowledged) = state else { continue }
            let size = chunk(UInt64(index))?.count ?? 0
            var entry = result[worker] ?? (0, 0, 0)
            entry.messages += size
            entry.acknowledged += acknowledged
            entry.chunks += 1
            result[worker] = entry
        }
        return result
    }

    /// For a reconnecting worker: the chunks leased to it that it does not claim, because the lease was lost with the
    /// connection that carried it. Each returns to the pool (or the chunk would stay leased to a live worker that never
    /// writes it, and the run would never complete). Returns their ids.
    @discardableResult
    public mutating func releaseUnclaimed(by worker: String, claimed: [UInt64]) -> [UInt64] {
        let unclaimed = (leasedBy[worker] ?? []).subtracting(claimed).sorted()
        for id in unclaimed { release(chunk: id, from: worker) }
        return unclaimed
    }

    /// For a reconnecting worker: of the chunks it says it holds, the ones it no longer holds (stop writing them).
    public func staleChunks(claimedBy worker: String, claimed: [UInt64]) -> [UInt64] {
        let held = leasedBy[worker] ?? []
        return claimed.filter { !held.contains($0) }
    }
}

extension Array where Element == UInt64 {
    /// The first index whose element satisfies `predicate`, assuming the array is partitioned by it.
    fileprivate func partitioningIndex(where predicate: (UInt64) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let mid = (low + high) / 2
            if predicate(self[mid]) { high = mid } else { low = mid + 1 }
        }
        return low
    }
}
