import Synchronization

/// The open model's timetable: operation slot k's intended start, from the rate plan scaled by this worker's share.
///
/// Slots are claimed in order by the engine's tasks. When the share changes (the coordinator rebalances), the
/// timetable is re-anchored at the current time so the new rate applies from now on.
final class ArrivalSchedule: Sendable {
    let plan: StagePlan
    struct State {
        var nextSlot: UInt64 = 0
        var anchorSlot: UInt64 = 0
        /// Unscaled arrivals of the plan at the anchor.
        var anchorArrivals: Double = 0
        var share: Double
    }
    let state: Mutex<State>
    /// Monotonic nanoseconds of the run's start.
    let startNanos: UInt64

    init(plan: StagePlan, share: Double, startNanos: UInt64) {
        self.plan = plan
        self.startNanos = startNanos
        state = Mutex(State(share: share))
    }

    /// Claims the next slot: its intended start in monotonic nanoseconds, or `nil` when the plan schedules no more.
    func claim() -> UInt64? {
        state.withLock { state in
            guard let time = self.time(of: state.nextSlot, state) else { return nil }
            state.nextSlot += 1
            return time
        }
    }

    enum DueClaim {
        case claimed(UInt64)
        case notDue(UInt64)
        case over
    }

    /// Claims the next slot only if it is intended at or before `dueBy` (atomically).
    func claim(dueBy: UInt64) -> DueClaim {
        state.withLock { state in
            guard let time = self.time(of: state.nextSlot, state) else { return .over }
            guard time <= dueBy else { return .notDue(time) }
            state.nextSlot += 1
            return .claimed(time)
        }
    }

    /// The intended start of the next slot without claiming it.
    func peek() -> UInt64? {
        state.withLock { time(of: $0.nextSlot, $0) }
    }

    /// Skips every slot intended before `nanos`; returns how many were skipped (they count as dropped).
    func skip(before nanos: UInt64) -> UInt64 {
        state.withLock { state in
            guard state.share > 0, nanos > startNanos else { return 0 }
            let seconds = Double(nanos - startNanos) / 1e9
            let arrivals = (plan.arrivals(until: seconds) - state.anchorArrivals) * state.share
            let target = state.anchorSlot + UInt64(max(0, arrivals.rounded(.down)))
            guard target > state.nextSlot else { return 0 }
            defer { state.nextSlot = target }
            return target - state.nextSlot
        }
    }

    /// Changes this worker's share of the plan's rate from now on.
    func setShare(_ share: Double, nowNanos: UInt64) {
        state.withLock { state in
            let seconds = Double(nowNanos > startNanos ? nowNanos - startNanos : 0) / 1e9
            state.anchorSlot = state.nextSlot
            state.anchorArrivals = plan.arrivals(until: seconds)
            state.share = max(0, share)
        }
    }

    private func time(of slot: UInt64, _ state: State) -> UInt64? {
        guard state.share > 0 else { return nil }
        // Slot k (0-based after the anchor) starts when the scaled arrival count reaches k + 1 − 1 = k: the first slot
        // starts at the anchor.
        let arrivals = state.anchorArrivals + Double(slot - state.anchorSlot) / state.share
        guard let seconds = plan.time(forArrivals: arrivals) else { return nil }
        guard seconds.isFinite, seconds < 1e9 else { return nil }
        return startNanos + UInt64(seconds * 1e9)
    }
}
