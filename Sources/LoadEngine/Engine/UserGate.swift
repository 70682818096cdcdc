import Atomics
import Synchronization

/// The closed model's current user limit: users numbered at or above it park until it rises again (or the run stops).
final class UserGate: Sendable {
    let limit = ManagedAtomic<Int>(0)
    struct State {
        var stopped = false
        var waiters: [(user: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }
    let state = Mutex(State())

    /// True when `user` may run now.
    func admits(_ user: Int) -> Bool { user < limit.load(ordering: .relaxed) }

    /// Waits until `user` is admitted or the gate is stopped.
    func park(_ user: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                if state.stopped || user < limit.load(ordering: .relaxed) { return true }
                state.waiters.append((user, continuation))
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Sets the limit and wakes the users it admits.
    func setLimit(_ value: Int) {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            limit.store(value, ordering: .relaxed)
            var woken: [CheckedContinuation<Void, Never>] = []
            state.waiters.removeAll { waiter in
                guard waiter.user < value else { return false }
                woken.append(waiter.continuation)
                return true
            }
            return woken
        }
        for continuation in woken { continuation.resume() }
    }

    /// Wakes every parked user for good.
    func stop() {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.stopped = true
            defer { state.waiters.removeAll() }
            return state.waiters.map(\.continuation)
        }
        for continuation in woken { continuation.resume() }
    }
}
