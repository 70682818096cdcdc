import Synchronization

/// The open model's timetable: operation slot k's intended start, from the rate plan scaled by this worker's share.
///
/// Slots are claimed in order by the engine's tasks. When the share changes (the coordinator rebalances), the
/// timetable is re-anchored at the current time so the new rate applies from now on.
///
/// A timetable can be one *lane* of several: with `lanes` = n, lane i holds the slots i, i + n, i + 2n, … of the
/// whole timetable (counted from the last re-anchoring), so n lanes together schedule exactly the slots one
/// timetable would, each at the same instant. The engine gives each event loop its own lane, so the loops never
/// share a slot counter.
final class ArrivalSchedule: Sendable {
    let plan: StagePlan
    /// This timetable's lane, in `0..<lanes`.
    let lane: Int
    /// How many lanes share the plan.
    let lanes: Int
    struct State {
        /// The next slot of this lane (counted in this lane's slots).
        var nextSlot: UInt64 = 0
        var anchorSlot: UInt64 = 0
        /// Unscaled arrivals of the plan at the anchor.
        var anchorArrivals: Double = 0
        var share: Double
    }
    let state: Mutex<State>
    /// Monotonic nanoseconds of the run's start.
    let startNanos: UInt64

    init(plan: StagePlan, share: Double, startNanos: UInt64, lane: Int = 0, lanes: Int = 1) {
        precondition(lanes >= 1 && (0..<lanes).contains(lane), "lane \(lane) of \(lanes)")
        self.plan = plan
        self.startNanos = startNanos
        self.lane = lane
        self.lanes = lanes
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

    /// What ``claimStartable(now:window:deadline:maxLateness:)`` found.
    enum Startable {
        /// A slot to start now (its intended start), after `dropped` slots too late to start.
        case start(intended: UInt64, dropped: UInt64)
        /// The next slot is not due yet (it is intended at `next`).
        case notYet(next: UInt64, dropped: UInt64)
        /// No slot before the deadline is left.
        case over(dropped: UInt64)
    }

    /// Claims the next slot due by `now + window`, dropping (skipping) the slots more than `maxLateness` late on the
    /// way; slots at or after `deadline` are never claimed.
    func claimStartable(now: UInt64, window: UInt64, deadline: UInt64?, maxLateness: UInt64) -> Startable {
        var dropped: UInt64 = 0
        while true {
            switch claim(dueBy: now + window) {
            case .over:
                return .over(dropped: dropped)
            case .notDue(let next):
                if let deadline, next >= deadline { return .over(dropped: dropped) }
                return .notYet(next: next, dropped: dropped)
            case .claimed(let intended):
                if let deadline, intended >= deadline { return .over(dropped: dropped) }
                if now > intended, now - intended > maxLateness {
                    // Too late to start: this slot and every other one as late are dropped.
                    dropped += 1 + skip(before: now - maxLateness / 2)
                    continue
                }
                return .start(intended: intended, dropped: dropped)
            }
        }
    }

    /// When a timer releasing the slot intended at `next` should fire: `window` before it (slots due within the window
    /// are released together), but not sooner than `minimumGap` after the previous release at `lastRelease`.
    static func timerTarget(next: UInt64, window: UInt64, lastRelease: UInt64, minimumGap: UInt64) -> UInt64 {
        max(next > window ? next - window : 0, lastRelease + minimumGap)
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
            // Slots of the whole timetable (after the anchor) before `nanos`; this lane's are every `lanes`-th.
            let whole = UInt64(max(0, arrivals.rounded(.down)))
            let mine = whole > UInt64(lane) ? (whole - UInt64(lane) + UInt64(lanes) - 1) / UInt64(lanes) : 0
            let target = state.anchorSlot + mine
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
        // Slot k (0-based after the anchor) of the whole timetable starts when the scaled arrival count reaches k:
        // the first slot starts at the anchor. This lane's slot j after the anchor is slot lane + j × lanes.
        let whole = Double(lane) + Double(slot - state.anchorSlot) * Double(lanes)
        let arrivals = state.anchorArrivals + whole / state.share
        guard let seconds = plan.time(forArrivals: arrivals) else { return nil }
        guard seconds.isFinite, seconds < 1e9 else { return nil }
        return startNanos + UInt64(seconds * 1e9)
    }
}
