import LoadEngine

/// Merges the interval statistics of every worker into whole-run, per-second and per-worker metrics, exactly.
///
/// Interval reports carry per-worker sequence numbers; a resent report (after a reconnect, or before finishing) is
/// recognised and dropped, so nothing is counted twice and, since every report is acknowledged only once received,
/// nothing is silently lost. Pure value type.
public struct StatsAggregator: Sendable {
    /// Whether a report was new.
    public enum Ingest: Sendable, Hashable {
        case accepted
        case duplicate
    }

    /// The sequence numbers received from one worker.
    public struct SequenceTracker: Sendable, Hashable {
        /// Every sequence in 1...contiguousThrough has been received.
        public private(set) var contiguousThrough: UInt64 = 0
        /// Received sequences above `contiguousThrough + 1`.
        public private(set) var above: Set<UInt64> = []

        public init() {}

        /// Records `sequence`; false if it was already received.
        public mutating func insert(_ sequence: UInt64) -> Bool {
            if sequence <= contiguousThrough || above.contains(sequence) { return false }
            if sequence == contiguousThrough + 1 {
                contiguousThrough = sequence
                while above.remove(contiguousThrough + 1) != nil { contiguousThrough += 1 }
            } else {
                above.insert(sequence)
            }
            return true
        }

        /// Whether `sequence` was received.
        public func contains(_ sequence: UInt64) -> Bool {
            sequence <= contiguousThrough || above.contains(sequence)
        }

        /// Number of distinct sequences received.
        public var count: UInt64 { contiguousThrough + UInt64(above.count) }
    }

    /// The whole run, all workers.
    public private(set) var total = MetricsSnapshot()
    /// Per second since the start instant, all workers.
    public private(set) var perSecond: [Int: MetricsSnapshot] = [:]
    /// Per worker, whole run.
    public private(set) var perWorker: [String: MetricsSnapshot] = [:]
    /// Per stream (one worker process: worker id and instance), whole run.
    public private(set) var perStream: [String: MetricsSnapshot] = [:]
    /// Per stream, the sequences received.
    public private(set) var sequences: [String: SequenceTracker] = [:]
    /// Per worker, the latest health figures and notes.
    public private(set) var latestHealth: [String: [String: Double]] = [:]
    public private(set) var notes: [String: [String]] = [:]
    /// Reports dropped as duplicates.
    public private(set) var duplicates: UInt64 = 0

    public init() {}

    /// The key of a worker process's report stream: its sequence numbers restart with a new process.
    public static func stream(worker: String, instance: String) -> String { "\(worker)#\(instance)" }

    /// Adds one report of `worker` (process `instance`), unless it was received before.
    @discardableResult
    public mutating func ingest(_ interval: WorkerInterval, from worker: String, instance: String = "") -> Ingest {
        let stream = Self.stream(worker: worker, instance: instance)
        guard sequences[stream, default: SequenceTracker()].insert(interval.sequence) else {
            duplicates += 1
            return .duplicate
        }
        total.merge(interval.metrics)
        perSecond[interval.second, default: MetricsSnapshot()].merge(interval.metrics)
        perWorker[worker, default: MetricsSnapshot()].accumulate(later: interval.metrics)
        perStream[stream, default: MetricsSnapshot()].accumulate(later: interval.metrics)
        if !interval.health.isEmpty { latestHealth[worker] = interval.health }
        if !interval.notes.isEmpty {
            var list = notes[worker] ?? []
            for note in interval.notes where !list.contains(note) && list.count < 20 { list.append(note) }
            notes[worker] = list
        }
        return .accepted
    }

    /// Every sequence of the worker process in 1...n has been received.
    public func contiguousThrough(worker: String, instance: String = "") -> UInt64 {
        sequences[Self.stream(worker: worker, instance: instance)]?.contiguousThrough ?? 0
    }

    /// Compares a worker's final totals with the sum of its received intervals; returns the differences found
    /// (empty when they reconcile).
    public func reconcile(worker: String, instance: String = "", finalTotals: MetricsSnapshot, lastSequence: UInt64) -> [String] {
        var problems: [String] = []
        let stream = Self.stream(worker: worker, instance: instance)
        let received = sequences[stream] ?? SequenceTracker()
        if received.count != lastSequence || received.contiguousThrough != lastSequence {
            problems.append("received \(received.count) of \(lastSequence) interval reports")
        }
        let mine = perStream[stream] ?? MetricsSnapshot()
        for name in Set(mine.operations.keys).union(finalTotals.operations.keys).sorted() {
            let a = mine.operations[name] ?? OperationMetrics()
            let b = finalTotals.operations[name] ?? OperationMetrics()
            if a.successes != b.successes || a.failures != b.failures || a.unknownOutcomes != b.unknownOutcomes
                || a.retries != b.retries || a.latency.count != b.latency.count
            {
                problems.append(
                    "\(name): intervals add up to \(a.successes) ok/\(a.failures) failed/\(a.unknownOutcomes) unknown, "
                        + "final totals say \(b.successes)/\(b.failures)/\(b.unknownOutcomes)")
            }
        }
        return problems
    }
}
