/// Estimates a worker's clock offset from probe round trips (NTP-style): for a probe sent at coordinator time `t0`,
/// answered with worker time `w`, and received back at coordinator time `t1`, the offset is `w - (t0 + t1) / 2`,
/// accurate to half the round trip. The sample with the shortest round trip wins. Pure.
public struct ClockOffsetEstimator: Sendable, Hashable {
    /// One probe's measurement.
    public struct Sample: Sendable, Hashable {
        /// Worker clock minus coordinator clock, nanoseconds.
        public var offsetNanos: Int64
        public var roundTripNanos: Int64
    }

    public private(set) var best: Sample?
    public private(set) var sampleCount = 0

    public init() {}

    /// Adds a probe's times (Unix nanoseconds). Ignores samples with a negative round trip.
    public mutating func add(sentAt coordinatorSend: Int64, workerTime: Int64, receivedAt coordinatorReceive: Int64) {
        let roundTrip = coordinatorReceive &- coordinatorSend
        guard roundTrip >= 0 else { return }
        let midpoint = coordinatorSend &+ roundTrip / 2
        let sample = Sample(offsetNanos: workerTime &- midpoint, roundTripNanos: roundTrip)
        sampleCount += 1
        if let current = best, current.roundTripNanos <= roundTrip { return }
        best = sample
    }

    /// The estimated offset (worker minus coordinator), or 0 before any sample.
    public var offsetNanos: Int64 { best?.offsetNanos ?? 0 }
}

/// The start barrier: one instant, on the coordinator's clock, at which every worker starts; each worker is told the
/// same instant on its own clock (coordinator instant plus its offset).
public struct StartBarrier: Sendable, Hashable {
    /// The start instant on the coordinator's clock, Unix nanoseconds.
    public var startAtCoordinatorNanos: Int64

    /// A barrier `lead` after `now` (coordinator clock), far enough ahead for the assignment to reach every worker.
    public init(now: Int64, lead: Duration) {
        startAtCoordinatorNanos = now &+ lead.nanoseconds
    }

    public init(startAtCoordinatorNanos: Int64) {
        self.startAtCoordinatorNanos = startAtCoordinatorNanos
    }

    /// The start instant on a worker's clock.
    public func startOnWorker(offsetNanos: Int64) -> Int64 {
        startAtCoordinatorNanos &+ offsetNanos
    }
}

extension Duration {
    /// The duration in whole nanoseconds (saturating).
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled &+ attoseconds / 1_000_000_000
    }
}
