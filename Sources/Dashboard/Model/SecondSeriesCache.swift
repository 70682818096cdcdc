import LoadEngine

/// Builds the per-second series from per-second merged metrics without recomputing settled seconds.
///
/// Reducing a second to a ``SecondSample`` walks its histogram eleven times; doing that for every second of a long
/// run on every snapshot would cost more than the run itself. Seconds older than `settleAfter` (late worker reports
/// can still change recent ones) are reduced once and kept.
///
/// ```swift
/// // in the coordinator's adapter, under its own lock or actor:
/// series.update(perSecond: aggregator.perSecond, currentSecond: now) { second in usersPlan(at: second) }
/// snapshot.series = series.samples
/// ```
public struct SecondSeriesCache: Sendable {
    /// How many seconds behind the current one a second is still recomputed.
    public var settleAfter: Int
    private var settled: [SecondSample] = []
    private var settledThrough = -1
    /// The latest series, in order of seconds.
    public private(set) var samples: [SecondSample] = []

    /// - Parameter settleAfter: seconds after which a second no longer changes (default 10: above the 5 s liveness
    ///   timeout plus resend delays).
    public init(settleAfter: Int = 10) {
        self.settleAfter = max(1, settleAfter)
    }

    /// Brings ``samples`` up to date.
    /// - Parameters:
    ///   - perSecond: merged metrics by second since the start (all workers).
    ///   - currentSecond: the second the run is in now.
    ///   - load: users or target rate in force during a second, if known.
    public mutating func update(perSecond: [Int: MetricsSnapshot], currentSecond: Int, load: (Int) -> Double? = { _ in nil }) {
        let settleBefore = currentSecond - settleAfter
        let seconds = perSecond.keys.sorted()
        for second in seconds where second > settledThrough && second < settleBefore {
            if let metrics = perSecond[second] { settled.append(SecondSample(second: second, metrics: metrics, load: load(second))) }
        }
        settledThrough = max(settledThrough, settleBefore - 1)
        var recent: [SecondSample] = []
        for second in seconds where second > settledThrough {
            if let metrics = perSecond[second] { recent.append(SecondSample(second: second, metrics: metrics, load: load(second))) }
        }
        samples = settled + recent
    }

    /// Forgets everything (a new run).
    public mutating func reset() {
        settled = []
        settledThrough = -1
        samples = []
    }
}
