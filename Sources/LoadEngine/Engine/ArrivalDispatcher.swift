import NIOCore
import Synchronization

/// Hands the open model's arrival slots (of one ``ArrivalSchedule`` lane) to idle workers when they fall due.
///
/// Used when the executor cannot start statements without suspending (its tasks on the thread pool, test fakes);
/// otherwise each event loop runs its lane itself (``DirectArrivalLane``), with no worker tasks.
///
/// A worker that finishes while a slot is already due takes it at once, without suspending. Otherwise it parks, and
/// the slot is released by a timer:
/// - with an event loop (the workers' tasks run on it), by a callback scheduled on that loop
///   (`EventLoop.scheduleCallback(at:)`: the loop's own timer, no other thread involved). It releases every slot due
///   by then to the parked workers in one go, and the workers run in the same loop tick, so their requests share
///   the tick's flush;
/// - without one, by a dispatcher task (``run(isStopping:)``) that sleeps until the next slot.
final class ArrivalDispatcher: Sendable {
    /// A slot given to a worker.
    struct Grant: Sendable {
        /// Intended start, monotonic nanoseconds.
        var intended: UInt64
    }

    let schedule: ArrivalSchedule
    let deadline: UInt64?
    let maxLateness: UInt64
    /// The loop whose timer releases slots; `nil` when ``run(isStopping:)`` does.
    let loop: (any EventLoop)?
    /// Whether the run is stopping (no slot is handed out then).
    let isStopping: @Sendable () -> Bool
    /// Counts slots dropped as too late, whatever follows them (a slot to start, a wait, or the end).
    let recordDropped: @Sendable (UInt64) -> Void
    /// Slots due within this of now are released (20 µs: about a timer wake-up's own delay).
    let window: UInt64 = 20_000
    /// Without a loop, the dispatcher task sleeps at least this long between releases (100 µs), so a high rate costs
    /// a bounded number of wake-ups of the timer thread; a slot waits at most this long past its time, and that wait
    /// counts in its latency.
    let minimumSleep: UInt64 = 100_000
    /// With a loop, successive timer callbacks are at least this far apart (200 µs by default), so the slots of a
    /// high rate go out in batches: the workers released together write in one flush, and the loop wakes at most
    /// 5,000 times a second. A slot waits at most this long past its time, and that wait counts in its latency.
    /// Measured (BENCHMARKS.md, "Load engine"): 20 → 200 µs cut the client CPU per operation at 36,000/s by about
    /// 15%, mostly system time (fewer socket writes and loop wake-ups).
    let minimumTimerGap: UInt64

    struct State {
        var idle: [UnsafeContinuation<Grant?, Never>] = []
        var finished = false
        /// The dispatcher task, waiting for a worker to park (no loop).
        var dispatcherWake: UnsafeContinuation<Void, Never>?
        /// When the loop's timer is set to fire (loop only).
        var timerDue: UInt64?
        /// When the loop's timer last fired (loop only).
        var lastFired: UInt64 = 0
    }
    let state = Mutex(State())
    /// `state.finished`, readable without the lock.
    let finishedFlag = Atomic<Bool>(false)

    init(
        schedule: ArrivalSchedule, deadline: UInt64?, maxLateness: UInt64, loop: (any EventLoop)? = nil,
        minimumTimerGap: UInt64 = 200_000, isStopping: @escaping @Sendable () -> Bool = { false },
        recordDropped: @escaping @Sendable (UInt64) -> Void
    ) {
        self.schedule = schedule
        self.deadline = deadline
        self.maxLateness = maxLateness
        self.loop = loop
        self.minimumTimerGap = minimumTimerGap
        self.isStopping = isStopping
        self.recordDropped = recordDropped
    }

    /// The next slot for a worker, or `nil` when the schedule (or the run) is over.
    func acquire() async -> Grant? {
        if finishedFlag.load(ordering: .acquiring) { return nil }
        if isStopping() {
            finish()
            return nil
        }
        switch takeDue(now: MonotonicClock.nanoseconds()) {
        case .grant(let grant): return grant
        case .over:
            finish()
            return nil
        case .notYet: break
        }
        return await withUnsafeContinuation { (continuation: UnsafeContinuation<Grant?, Never>) in
            // Re-check under the lock: the slot may have fallen due, or the run ended, meanwhile.
            let now = MonotonicClock.nanoseconds()
            var immediate: Grant??
            var wake: UnsafeContinuation<Void, Never>?
            var timer: UInt64?
            var ended: [UnsafeContinuation<Grant?, Never>] = []
            state.withLock { state in
                if state.finished {
                    immediate = .some(nil)
                    return
                }
                switch takeDue(now: now) {
                case .grant(let grant): immediate = .some(grant)
                case .over:
                    ended = finishLocked(&state)
                    immediate = .some(nil)
                case .notYet:
                    state.idle.append(continuation)
                    if loop == nil {
                        wake = state.dispatcherWake
                        state.dispatcherWake = nil
                    } else {
                        timer = armTimerLocked(&state)
                    }
                }
            }
            wake?.resume()
            if let timer { setTimer(at: timer) }
            for worker in ended { worker.resume(returning: nil) }
            if let immediate { continuation.resume(returning: immediate) }
        }
    }

    enum Take {
        case grant(Grant)
        case notYet
        case over
    }

    /// Claims the next slot if it is due, dropping (and counting) the slots that are too late. Uses only the
    /// schedule's own lock.
    private func takeDue(now: UInt64) -> Take {
        let take: Take
        let dropped: UInt64
        switch schedule.claimStartable(now: now, window: window, deadline: deadline, maxLateness: maxLateness) {
        case .start(let intended, let late): (take, dropped) = (.grant(Grant(intended: intended)), late)
        case .notYet(_, let late): (take, dropped) = (.notYet, late)
        case .over(let late): (take, dropped) = (.over, late)
        }
        if dropped > 0 { recordDropped(dropped) }
        return take
    }

    /// Marks the run over; returns the parked workers, to be resumed with `nil` outside the lock.
    private func finishLocked(_ state: inout State) -> [UnsafeContinuation<Grant?, Never>] {
        state.finished = true
        finishedFlag.store(true, ordering: .releasing)
        defer { state.idle.removeAll() }
        return state.idle
    }

    // MARK: Releasing on the event loop

    /// When the loop's timer must fire for the next slot, if it is not already set to fire by then; records it.
    private func armTimerLocked(_ state: inout State) -> UInt64? {
        guard let next = schedule.peek() else { return nil }
        let target = ArrivalSchedule.timerTarget(next: next, window: window, lastRelease: state.lastFired, minimumGap: minimumTimerGap)
        if let due = state.timerDue, due <= target { return nil }
        state.timerDue = target
        return target
    }

    private func setTimer(at target: UInt64) {
        guard let loop else { return }
        do {
            // NIODeadline counts CLOCK_MONOTONIC nanoseconds, as MonotonicClock does.
            try loop.scheduleCallback(at: .uptimeNanoseconds(target), handler: TimerHandler(dispatcher: self, due: target))
        } catch {
            // The loop is shutting down: nothing more can run on it.
            finish()
        }
    }

    struct TimerHandler: NIOScheduledCallbackHandler, Sendable {
        let dispatcher: ArrivalDispatcher
        let due: UInt64
        func handleScheduledCallback(eventLoop: some EventLoop) {
            dispatcher.timerFired(due: due)
        }
    }

    /// Releases every due slot to a parked worker; sets the timer again for the next slot if workers are still
    /// parked.
    func timerFired(due: UInt64) {
        if isStopping() {
            finish()
            return
        }
        let now = MonotonicClock.nanoseconds()
        var releases: [(UnsafeContinuation<Grant?, Never>, Grant?)] = []
        var timer: UInt64?
        state.withLock { state in
            // A timer set earlier than this one replaced it: this one has nothing more to do.
            guard state.timerDue == due else { return }
            state.timerDue = nil
            state.lastFired = now
            guard !state.finished else { return }
            releases.reserveCapacity(min(state.idle.count, 64))
            while !state.idle.isEmpty {
                switch takeDue(now: now) {
                case .grant(let grant):
                    releases.append((state.idle.removeLast(), grant))
                case .notYet:
                    timer = armTimerLocked(&state)
                    return
                case .over:
                    releases += finishLocked(&state).map { ($0, nil) }
                    return
                }
            }
        }
        if let timer { setTimer(at: timer) }
        for (worker, grant) in releases { worker.resume(returning: grant) }
    }

    // MARK: Releasing from a dispatcher task (no loop)

    /// Releases idle workers as slots fall due, until the schedule ends or ``finish()`` is called. Only without a
    /// loop; with one, the loop's timer does this.
    func run(isStopping: @Sendable () -> Bool) async {
        while !isStopping() {
            let now = MonotonicClock.nanoseconds()
            // Release every due slot to an idle worker.
            var releases: [(UnsafeContinuation<Grant?, Never>, Grant?)] = []
            var sleepUntil: UInt64?
            var waitForIdle = false
            state.withLock { state in
                while !state.idle.isEmpty {
                    switch takeDue(now: now) {
                    case .grant(let grant):
                        releases.append((state.idle.removeLast(), grant))
                    case .notYet:
                        sleepUntil = schedule.peek()
                        return
                    case .over:
                        releases += finishLocked(&state).map { ($0, nil) }
                        return
                    }
                }
                waitForIdle = !state.finished
            }
            for (continuation, grant) in releases { continuation.resume(returning: grant) }
            if finishedFlag.load(ordering: .acquiring) { return }
            if waitForIdle {
                // Every worker is busy: they serve themselves when they finish; wait until one goes idle.
                await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                    let resumeNow = state.withLock { state -> Bool in
                        if !state.idle.isEmpty || state.finished { return true }
                        state.dispatcherWake = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
                if Task.isCancelled { return }
                continue
            }
            if let sleepUntil {
                let now = MonotonicClock.nanoseconds()
                let target = min(max(sleepUntil, now + minimumSleep), now + 50_000_000)
                do { try await MonotonicClock.sleep(until: target) } catch { return }
            }
        }
    }

    /// Ends the run: every idle (and later) worker gets `nil`.
    func finish() {
        let (idle, wake) = state.withLock { state -> ([UnsafeContinuation<Grant?, Never>], UnsafeContinuation<Void, Never>?) in
            defer { state.dispatcherWake = nil }
            return (finishLocked(&state), state.dispatcherWake)
        }
        for continuation in idle { continuation.resume(returning: nil) }
        wake?.resume()
    }
}
