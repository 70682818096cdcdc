import NIOCore

/// One lane of the open model run from its event loop, without a task per operation.
///
/// Each tick — the loop's timer when the next slot falls due (at least ``minimumTimerGap`` after the last tick), or,
/// while the lane is at its in-flight bound, the responses of a read — starts every due slot with
/// ``StatementExecutor/start(_:values:consistency:isIdempotent:completion:)`` and returns; the completion records the
/// operation (no future is made). One tick's requests therefore share one flush, and an operation costs no
/// suspension. An operation the executor cannot start that way (a batch), or whose quick attempt
/// fails, is finished by the engine's ordinary path (``RunContext/perform(index:shard:intendedStart:)``, with its
/// retries) in a task. Latency counts from each slot's intended start, as with the worker tasks.
///
/// All mutable state is confined to `loop`.
// @unchecked Sendable: every method but `start` runs on `loop` (callbacks are hopped there).
final class DirectArrivalLane<Executor: StatementExecutor>: @unchecked Sendable {
    let loop: any EventLoop
    let schedule: ArrivalSchedule
    let context: RunContext<Executor>
    let runner: LoadRunner<Executor>
    let shard: Int
    let maxInFlight: Int
    let maxLateness: UInt64
    let taskExecutor: (any TaskExecutor)?
    /// Slots due within this of now are started (20 µs: about a timer wake-up's own delay).
    let window: UInt64 = 20_000
    /// Timer ticks are at least this far apart (a slot waits at most this long past its time for the timer).
    let minimumTimerGap: UInt64
    /// Indexes leased from the work dispenser at a time.
    let leaseSize = 64

    /// A lease in use, with the outcomes of its operations so far.
    // @unchecked Sendable: read and written only on the lane's loop; tasks carry it back there.
    final class LeaseUse: @unchecked Sendable {
        let lease: WorkLease
        var next: UInt64
        var outstanding = 0
        var succeeded: UInt64 = 0
        var failed: UInt64 = 0
        /// No more indexes are taken from it; it is reported once `outstanding` is 0.
        var closed = false
        var reported = false

        init(_ lease: WorkLease) {
            self.lease = lease
            next = lease.range.lowerBound
        }
    }

    private var current: LeaseUse?
    private var inFlight = 0
    private var timerDue: UInt64?
    private var lastTick: UInt64 = 0
    private var tickQueued = false
    /// No slot will be started any more (schedule over, deadline, stop, or no more work).
    private var over = false
    private var waitingForLease = false
    private var reportsPending = 0
    private var finished = false
    private let done: EventLoopPromise<Void>

    init(
        loop: any EventLoop, schedule: ArrivalSchedule, context: RunContext<Executor>, runner: LoadRunner<Executor>,
        shard: Int, maxInFlight: Int, maxLateness: UInt64, taskExecutor: (any TaskExecutor)?, minimumTimerGap: UInt64 = 200_000
    ) {
        self.loop = loop
        self.schedule = schedule
        self.context = context
        self.runner = runner
        self.shard = shard
        self.maxInFlight = max(1, maxInFlight)
        self.maxLateness = maxLateness
        self.taskExecutor = taskExecutor
        self.minimumTimerGap = minimumTimerGap
        done = loop.makePromise(of: Void.self)
    }

    /// Starts the lane; the future completes once its last operation has finished and its leases are reported.
    func start() -> EventLoopFuture<Void> {
        loop.execute { self.tick() }
        return done.futureResult
    }

    /// Looks at the run's stop flag soon (the runner calls this when it stops).
    func poke() {
        loop.execute { self.tick() }
    }

    // MARK: Ticks

    private func tick() {
        tickQueued = false
        guard !finished else { return }
        if context.isStopping { over = true }
        let now = MonotonicClock.nanoseconds()
        lastTick = now
        var dropped: UInt64 = 0
        issuing: while !over, inFlight < maxInFlight {
            // An index first: a claimed slot cannot be given back.
            guard let use = leaseWithIndex() else { break }
            switch schedule.claimStartable(now: now, window: window, deadline: context.deadline, maxLateness: maxLateness) {
            case .over(let late):
                dropped += late
                over = true
            case .notYet(let next, let late):
                dropped += late
                armTimer(for: next, now: now)
                break issuing
            case .start(let intended, let late):
                dropped += late
                if now > intended + 1_000_000 { context.recorder.recordScheduleLag(shard: shard, micros: (now - intended) / 1000) }
                let index = use.next
                use.next += 1
                issue(index: index, start: min(intended, now), use: use)
            }
        }
        if dropped > 0 { context.recorder.recordDropped(shard: shard, count: dropped) }
        finishIfDone()
    }

    private func queueTick() {
        guard !tickQueued, !finished else { return }
        tickQueued = true
        loop.execute { self.tick() }
    }

    private func armTimer(for next: UInt64, now: UInt64) {
        let target = ArrivalSchedule.timerTarget(next: next, window: window, lastRelease: lastTick, minimumGap: minimumTimerGap)
        if let due = timerDue, due <= target { return }
        timerDue = target
        do {
            try loop.scheduleCallback(at: .uptimeNanoseconds(target), handler: Timer(lane: self, due: target))
        } catch {
            // The loop is shutting down: nothing more can run on it.
            over = true
        }
    }

    struct Timer: NIOScheduledCallbackHandler, @unchecked Sendable {
        let lane: DirectArrivalLane
        let due: UInt64
        func handleScheduledCallback(eventLoop: some EventLoop) {
            // A timer set earlier than this one replaced it.
            guard lane.timerDue == due else { return }
            lane.timerDue = nil
            lane.tick()
        }
    }

    // MARK: Operations

    private func issue(index: UInt64, start: UInt64, use: LeaseUse) {
        let prepared = context.prepared
        let operation = prepared.workload.operation(at: index)
        let options = prepared.options[operation.statement]
        use.outstanding += 1
        inFlight += 1
        let loop = self.loop
        let (kind, statement) = (operation.operation, operation.statement)
        context.recorder.operationStarted(shard: shard)
        guard options.batchSize <= 1 || operation.batchValues.isEmpty,
            context.executor.start(
                prepared.prepared[operation.statement], values: operation.values, consistency: options.consistency,
                isIdempotent: options.isIdempotent,
                completion: { error in
                    if loop.inEventLoop {
                        self.attemptFinished(error, index: index, start: start, use: use, operation: kind, statement: statement)
                    } else {
                        loop.execute {
                            self.attemptFinished(error, index: index, start: start, use: use, operation: kind, statement: statement)
                        }
                    }
                })
        else {
            context.recorder.operationFinished(shard: shard)
            finishInTask(index: index, start: start, use: use, attempt: 1)
            return
        }
    }

    /// Records a started attempt's outcome (`nil`: success) for work index `index`, whose operation is `operation`
    /// (the metrics key) and statement `statement`; a failure is retried through the engine's ordinary path.
    private func attemptFinished(_ error: (any Error)?, index: UInt64, start: UInt64, use: LeaseUse, operation: Int, statement: Int) {
        context.recorder.operationFinished(shard: shard)
        guard let error else {
            context.recordSuccess(shard: shard, operation: operation, intendedStart: start)
            completed(use, succeeded: true)
            return
        }
        if error is StatementStartDeclined {
            finishInTask(index: index, start: start, use: use, attempt: 1)
            return
        }
        // Recorded as the first attempt, as ``RunContext/perform`` records its attempts; the retries are its.
        let isIdempotent = context.prepared.options[statement].isIdempotent
        let (retry, _) = context.recordFailedAttempt(
            error, index: index, operation: operation, isIdempotent: isIdempotent, shard: shard, attempt: 1,
            mayRetry: !context.isStopping)
        if retry {
            finishInTask(index: index, start: start, use: use, attempt: 2)
        } else {
            completed(use, succeeded: false)
        }
    }

    /// Finishes an operation through the engine's ordinary path, from attempt `attempt` (after the retry back-off
    /// when it is not the first).
    private func finishInTask(index: UInt64, start: UInt64, use: LeaseUse, attempt: Int) {
        let context = self.context
        let shard = self.shard
        Task(executorPreference: taskExecutor) {
            if attempt > 1 { try? await Task.sleep(for: context.configuration.retryBackoff * (attempt - 1)) }
            let succeeded = await context.perform(index: index, shard: shard, intendedStart: start, firstAttempt: attempt)
            self.loop.execute { self.completed(use, succeeded: succeeded) }
        }
    }

    private func completed(_ use: LeaseUse, succeeded: Bool) {
        // Only a tick raises `inFlight`, so a lane at its bound here is one whose last tick stopped for want of room.
        let wasAtBound = inFlight >= maxInFlight
        inFlight -= 1
        use.outstanding -= 1
        if succeeded { use.succeeded += 1 } else { use.failed += 1 }
        reportIfDone(use)
        if over {
            finishIfDone()
        } else if wasAtBound {
            // Slots were waiting for room: they go out with this read's other responses' successors, in one flush.
            queueTick()
        }
        // Otherwise the timer armed by the last tick starts the next slots. A tick per read of responses would
        // clock the lane to the round trip (tens of microseconds on loopback), sending a few operations per
        // socket write and costing a wake-up, a write and a read for each few: the client's core then stays busy
        // at rates well below its maximum, and has no room left when the host slows down.
    }

    // MARK: Leases

    /// The lease to take the next index from, leasing a new one when the current one is used up; `nil` while a lease
    /// is being fetched or when there is no more work.
    private func leaseWithIndex() -> LeaseUse? {
        if let use = current, use.next < use.lease.range.upperBound { return use }
        closeCurrentLease()
        guard !waitingForLease else { return nil }
        switch context.dispenser.tryTake(maximum: leaseSize) {
        case .lease(let lease):
            let use = LeaseUse(lease)
            current = use
            return use
        case .exhausted:
            context.workExhausted.store(true, ordering: .relaxed)
            over = true
            return nil
        case .failed:
            runner.stop(.workSourceFailed)
            over = true
            return nil
        case .pending:
            waitingForLease = true
            let context = self.context
            let runner = self.runner
            let leaseSize = self.leaseSize
            Task(executorPreference: taskExecutor) {
                let lease = await context.takeLease(leaseSize, runner: runner)
                self.loop.execute {
                    self.waitingForLease = false
                    if let lease {
                        self.current = LeaseUse(lease)
                    } else {
                        self.over = true
                    }
                    self.tick()
                }
            }
            return nil
        }
    }

    /// Takes no more indexes from the current lease; it is reported once its operations have finished.
    private func closeCurrentLease() {
        guard let use = current else { return }
        use.closed = true
        reportIfDone(use)
        current = nil
    }

    /// Reports a closed lease once its last operation has finished (the indexes never taken as not executed).
    private func reportIfDone(_ use: LeaseUse) {
        guard use.closed, use.outstanding == 0, !use.reported else { return }
        use.reported = true
        reportsPending += 1
        let rest: Range<UInt64>? = use.next < use.lease.range.upperBound ? use.next..<use.lease.range.upperBound : nil
        let dispenser = context.dispenser
        let (succeeded, failed) = (use.succeeded, use.failed)
        Task(executorPreference: taskExecutor) {
            await dispenser.finish(use.lease, succeeded: succeeded, failed: failed, unexecuted: rest)
            self.loop.execute {
                self.reportsPending -= 1
                self.finishIfDone()
            }
        }
    }

    private func finishIfDone() {
        guard over, !finished, inFlight == 0, !waitingForLease else { return }
        closeCurrentLease()
        guard reportsPending == 0 else { return }
        finished = true
        done.succeed(())
    }
}

