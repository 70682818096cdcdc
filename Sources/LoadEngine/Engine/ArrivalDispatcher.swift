import Synchronization

/// Hands the open model's arrival slots to idle workers when they fall due.
///
/// One dispatcher task sleeps until the next slot and releases as many idle workers as slots are due, so a high
/// arrival rate costs one timer per wake-up instead of one per operation. A worker that finishes while slots are
/// already due takes the next one at once, without suspending.
final class ArrivalDispatcher: Sendable {
    /// A slot given to a worker.
    struct Grant: Sendable {
        /// Intended start, monotonic nanoseconds.
        var intended: UInt64
        /// Slots dropped (too late) just before this one.
        var dropped: UInt64
    }

    let schedule: ArrivalSchedule
    let deadline: UInt64?
    let maxLateness: UInt64
    /// Slots due within this of now are released (20 µs: below timer resolution).
    let window: UInt64 = 20_000
    /// The dispatcher sleeps at least this long between releases (100 µs), so a high rate costs a bounded number of
    /// wake-ups; a slot waits at most this long past its time, and that wait counts in its latency.
    let minimumSleep: UInt64 = 100_000

    struct State {
        var idle: [CheckedContinuation<Grant?, Never>] = []
        var finished = false
        var dispatcherWake: CheckedContinuation<Void, Never>?
    }
    let state = Mutex(State())

    init(schedule: ArrivalSchedule, deadline: UInt64?, maxLateness: UInt64) {
        self.schedule = schedule
        self.deadline = deadline
        self.maxLateness = maxLateness
    }

    /// The next slot for a worker, or `nil` when the schedule (or the run) is over.
    func acquire() async -> Grant? {
        switch takeDue(now: MonotonicClock.nanoseconds()) {
        case .grant(let grant): return grant
        case .over: return nil
        case .notYet: break
        }
        return await withCheckedContinuation { (continuation: CheckedContinuation<Grant?, Never>) in
            // Re-check under the lock: the slot may have fallen due, or the run ended, meanwhile.
            let now = MonotonicClock.nanoseconds()
            var immediate: Grant??
            var wake: CheckedContinuation<Void, Never>?
            state.withLock { state in
                if state.finished {
                    immediate = .some(nil)
                    return
                }
                switch takeDueLocked(now: now) {
                case .grant(let grant): immediate = .some(grant)
                case .over:
                    state.finished = true
                    immediate = .some(nil)
                case .notYet:
                    state.idle.append(continuation)
                    wake = state.dispatcherWake
                    state.dispatcherWake = nil
                }
            }
            wake?.resume()
            if let immediate { continuation.resume(returning: immediate) }
        }
    }

    enum Take {
        case grant(Grant)
        case notYet
        case over
    }

    private func takeDue(now: UInt64) -> Take {
        if state.withLock({ $0.finished }) { return .over }
        return takeDueLocked(now: now)
    }

    /// Claims the next slot if it is due (dropping slots that are too late). Uses only the schedule's own lock.
    private func takeDueLocked(now: UInt64) -> Take {
        var dropped: UInt64 = 0
        while true {
            switch schedule.claim(dueBy: now + window) {
            case .over:
                return .over
            case .notDue(let next):
                if let deadline, next >= deadline { return .over }
                return .notYet
            case .claimed(let intended):
                if let deadline, intended >= deadline { return .over }
                if now > intended, now - intended > maxLateness {
                    // Too late to start: this slot and every other one as late are dropped.
                    dropped += 1 + schedule.skip(before: now - maxLateness / 2)
                    continue
                }
                return .grant(Grant(intended: intended, dropped: dropped))
            }
        }
    }

    /// Releases idle workers as slots fall due, until the schedule ends or ``finish()`` is called.
    func run(isStopping: @Sendable () -> Bool) async {
        while !isStopping() {
            let now = MonotonicClock.nanoseconds()
            // Release every due slot to an idle worker.
            var releases: [(CheckedContinuation<Grant?, Never>, Grant?)] = []
            var sleepUntil: UInt64?
            var waitForIdle = false
            state.withLock { state in
                while !state.idle.isEmpty {
                    switch takeDueLocked(now: now) {
                    case .grant(let grant):
                        releases.append((state.idle.removeLast(), grant))
                    case .notYet:
                        sleepUntil = schedule.peek()
                        return
                    case .over:
                        state.finished = true
                        releases += state.idle.map { ($0, nil) }
                        state.idle.removeAll()
                        return
                    }
                }
                waitForIdle = !state.finished
            }
            for (continuation, grant) in releases { continuation.resume(returning: grant) }
            if state.withLock({ $0.finished }) { return }
            if waitForIdle {
                // Every worker is busy: they serve themselves when they finish; wait until one goes idle.
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
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
        let (idle, wake) = state.withLock { state -> ([CheckedContinuation<Grant?, Never>], CheckedContinuation<Void, Never>?) in
            state.finished = true
            defer {
                state.idle.removeAll()
                state.dispatcherWake = nil
            }
            return (state.idle, state.dispatcherWake)
        }
        for continuation in idle { continuation.resume(returning: nil) }
        wake?.resume()
    }
}
