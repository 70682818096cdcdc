import LoadEngine

/// A worker's interval reports waiting for the coordinator's acknowledgement. Reports are numbered from 1 as they
/// are produced; each stays here until acknowledged, and all that remain are sent again after a reconnect or before
/// finishing, so none is silently dropped. The running totals are the exact sum of every interval produced. Pure.
public struct WorkerStatsOutbox: Sendable {
    /// The last sequence number given out.
    public private(set) var lastSequence: UInt64 = 0
    /// Unacknowledged reports by sequence.
    public private(set) var unacknowledged: [UInt64: WorkerInterval] = [:]
    /// The sum of every interval produced (the worker's final totals).
    public private(set) var totals = MetricsSnapshot()
    /// Unacknowledged reports are dropped beyond this many (oldest first), with a count, so a long outage cannot
    /// exhaust memory. 0 = no bound.
    public var bound: Int
    public private(set) var droppedUnacknowledged: UInt64 = 0

    public init(bound: Int = 3_600) {
        self.bound = bound
    }

    /// Numbers a new report and keeps it until acknowledged.
    public mutating func add(_ report: IntervalReport, health: [String: Double] = [:], notes: [String] = []) -> WorkerInterval {
        lastSequence += 1
        let interval = WorkerInterval(sequence: lastSequence, second: report.second, metrics: report.metrics, health: health, notes: notes)
        totals.accumulate(later: report.metrics)
        unacknowledged[lastSequence] = interval
        if bound > 0, unacknowledged.count > bound, let oldest = unacknowledged.keys.min() {
            unacknowledged[oldest] = nil
            droppedUnacknowledged += 1
        }
        return interval
    }

    /// The coordinator has these sequences.
    public mutating func acknowledge(_ sequences: [UInt64]) {
        for sequence in sequences { unacknowledged[sequence] = nil }
    }

    /// The coordinator has every sequence up to `through`.
    public mutating func acknowledge(through: UInt64) {
        for sequence in unacknowledged.keys where sequence <= through { unacknowledged[sequence] = nil }
    }

    /// Reports to send again, in order.
    public var pending: [WorkerInterval] {
        unacknowledged.keys.sorted().compactMap { unacknowledged[$0] }
    }
}
