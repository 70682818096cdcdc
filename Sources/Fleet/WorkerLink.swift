import LoadEngine

/// A worker's side of the conversation, across reconnects: the chunks it holds, the chunk requests waiting for a
/// lease, completions and stats not yet acknowledged, and the current connection's outgoing stream (nil while
/// disconnected; what matters is kept and sent again after the next `Welcome`).
actor WorkerLink {
    private var outgoing: AsyncStream<WorkerMessage>.Continuation?
    private(set) var stats = WorkerStatsOutbox()
    private var pendingCompletions: [UInt64: Stampede_Fleet_V1_ChunkCompleted] = [:]
    /// Chunk id → lease epoch.
    private(set) var held: [UInt64: UInt64] = [:]
    private var waiters: [(id: UInt64, continuation: CheckedContinuation<WorkChunk?, Never>)] = []
    private var nextWaiterID: UInt64 = 0
    private var ready: [WorkChunk] = []
    private(set) var stopped = false
    private(set) var stopReason = ""
    private var completion: Stampede_Fleet_V1_Completion?
    private(set) var lastHeard = ContinuousClock.now
    /// Called with chunk ids the coordinator revoked (or that were stale after a reconnect).
    private var onRevoke: (@Sendable (Set<UInt64>) -> Void)?
    private var onStop: (@Sendable () -> Void)?
    private var onShare: (@Sendable (Double) -> Void)?
    /// A share update that arrived before the engine run existed.
    private var pendingShare: Double?

    func setHandlers(
        revoke: @escaping @Sendable (Set<UInt64>) -> Void, stop: @escaping @Sendable () -> Void,
        share: @escaping @Sendable (Double) -> Void
    ) {
        onRevoke = revoke
        onStop = stop
        onShare = share
        if let pendingShare {
            share(pendingShare)
            self.pendingShare = nil
        }
        if stopped { stop() }
    }

    // MARK: Connection

    /// A new connection is up; returns its outgoing stream.
    func connect() -> AsyncStream<WorkerMessage> {
        outgoing?.finish()
        let (stream, continuation) = AsyncStream<WorkerMessage>.makeStream(bufferingPolicy: .unbounded)
        outgoing = continuation
        lastHeard = .now
        return stream
    }

    func disconnect() {
        outgoing?.finish()
        outgoing = nil
    }

    func heard() {
        lastHeard = .now
    }

    /// Chunks held now or written and awaiting their acknowledgement, for `Register.held_chunk_ids`: the coordinator
    /// returns to the pool the leases a reconnecting worker does not claim (lost with the connection that carried them).
    var heldChunkIDs: [UInt64] { Set(held.keys).union(pendingCompletions.keys).sorted() }

    /// After `Welcome`: forget stale chunks, and send again everything not acknowledged.
    func welcomed(_ welcome: Stampede_Fleet_V1_Welcome) {
        let stale = Set(welcome.staleChunkIds)
        if !stale.isEmpty {
            for id in stale { held[id] = nil }
            onRevoke?(stale)
        }
        stats.acknowledge(through: welcome.ackedStatsThrough)
        for interval in stats.pending { send(.intervalStats(interval.wire)) }
        for id in pendingCompletions.keys.sorted() {
            if let message = pendingCompletions[id] { send(.chunkCompleted(message)) }
        }
        if !waiters.isEmpty {
            var request = Stampede_Fleet_V1_ChunkRequest()
            request.wanted = UInt32(clamping: waiters.count)
            send(.chunkRequest(request))
        }
        if let completion { send(.completion(completion)) }
    }

    func send(_ kind: Stampede_Fleet_V1_WorkerMessage.OneOf_Kind) {
        outgoing?.yield(.with(kind))
    }

    // MARK: Chunks

    /// The next leased chunk (asks the coordinator for one), or nil once the run is stopping.
    func nextLease() async -> WorkChunk? {
        if !ready.isEmpty { return ready.removeFirst() }
        if stopped { return nil }
        let id = nextWaiterID
        nextWaiterID += 1
        var request = Stampede_Fleet_V1_ChunkRequest()
        request.wanted = 1
        send(.chunkRequest(request))
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                waiters.append((id, continuation))
            }
        } onCancel: {
            Task { await self.cancelWaiter(id) }
        }
    }

    private func cancelWaiter(_ id: UInt64) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: index).continuation.resume(returning: nil)
    }

    func leaseArrived(_ lease: Stampede_Fleet_V1_ChunkLease) {
        guard lease.endIndex > lease.firstIndex else { return }
        held[lease.chunkID] = lease.leaseEpoch
        let chunk = WorkChunk(id: lease.chunkID, range: lease.firstIndex..<lease.endIndex)
        if waiters.isEmpty {
            ready.append(chunk)
        } else {
            waiters.removeFirst().continuation.resume(returning: chunk)
        }
    }

    func chunkCompleted(_ completion: ChunkCompletion) {
        guard let epoch = held.removeValue(forKey: completion.chunk.id) else { return }
        guard completion.isFullyExecuted else {
            // The run stopped before every index was attempted: the coordinator takes the chunk back when this worker
            // finishes (its leases are released), so nothing is reported as done.
            return
        }
        var message = Stampede_Fleet_V1_ChunkCompleted()
        message.chunkID = completion.chunk.id
        message.leaseEpoch = epoch
        message.acknowledged = completion.succeeded
        message.failed = completion.failed
        message.unknown = completion.unknownIndexes.count + completion.unknownIndexes.overflow
        message.unknownRanges = ChunkOutcomeLists.pairs(completion.unknownIndexes)
        message.failedRanges = ChunkOutcomeLists.pairs(completion.failedIndexes)
        pendingCompletions[completion.chunk.id] = message
        send(.chunkCompleted(message))
    }

    func chunkAcked(_ ack: Stampede_Fleet_V1_ChunkAck) {
        pendingCompletions[ack.chunkID] = nil
    }

    func revoked(_ ids: [UInt64]) {
        let set = Set(ids)
        for id in set { held[id] = nil }
        ready.removeAll { set.contains($0.id) }
        onRevoke?(set)
    }

    /// The run is stopping: no more chunks; waiting requests get nil.
    func stop(reason: String) {
        guard !stopped else { return }
        stopped = true
        stopReason = reason
        ready.removeAll()
        for waiter in waiters { waiter.continuation.resume(returning: nil) }
        waiters.removeAll()
        onStop?()
    }

    func share(_ fraction: Double) {
        if let onShare { onShare(fraction) } else { pendingShare = fraction }
    }

    // MARK: Stats

    func report(_ report: IntervalReport) {
        var health: [String: Double] = [
            "cpu_utilization": report.health.cpuUtilization,
            "cpu_seconds": report.health.cpuSeconds,
            "event_loop_lag_ms": Double(report.health.eventLoopLagMicros) / 1000,
            "schedule_lag_ms": Double(report.health.scheduleLagMicros) / 1000,
        ]
        health = health.filter { $0.value != 0 }
        let interval = stats.add(report, health: health, notes: report.health.reasons)
        send(.intervalStats(interval.wire))
    }

    func statsAcked(_ sequences: [UInt64]) {
        stats.acknowledge(sequences)
    }

    /// Everything done: the completion to send (and send again after a reconnect) until `Finished` arrives.
    func complete(durationNanos: Int64, error: String) {
        var message = Stampede_Fleet_V1_Completion()
        message.totals = stats.totals.wireOperations()
        message.lastStatsSequence = stats.lastSequence
        message.durationNanos = durationNanos
        message.error = error
        completion = message
        for interval in stats.pending { send(.intervalStats(interval.wire)) }
        send(.completion(message))
    }

    var isComplete: Bool { completion != nil }

    /// The coordinator keeps this worker for another run: forget everything of the finished one (its statistics are
    /// all acknowledged by then) and wait for the next assignment on the same connection.
    func resetForNextRun() {
        stats = WorkerStatsOutbox()
        pendingCompletions = [:]
        held = [:]
        for waiter in waiters { waiter.continuation.resume(returning: nil) }
        waiters = []
        ready = []
        stopped = false
        stopReason = ""
        completion = nil
        onRevoke = nil
        onStop = nil
        onShare = nil
        pendingShare = nil
    }
}

/// The engine's work source on a worker: chunks leased from the coordinator.
struct LeasedWorkSource: WorkSource {
    let link: WorkerLink

    func nextChunk() async throws -> WorkChunk? {
        await link.nextLease()
    }

    func chunkCompleted(_ completion: ChunkCompletion) async {
        await link.chunkCompleted(completion)
    }
}
