import Atomics
import Synchronization

/// The hot-path recorder: many tasks record into a few shards, and once a second the current interval is taken out.
///
/// Each recording task uses its own shard (by task number), so two cores rarely touch the same lock; a record is one
/// uncontended lock and a histogram increment. ``takeInterval()`` swaps every shard's accumulator for a fresh one and
/// merges them, so every sample lands in exactly one interval and the run total is the sum of the intervals.
public final class MetricsRecorder: Sendable {
    /// The names of the operations, indexed by the `operation` numbers passed to the record methods.
    public let operationNames: [String]
    let shards: [MetricsShard]
    let shardMask: Int

    /// - Parameters:
    ///   - operationNames: names of the operations; record calls identify an operation by its index here.
    ///   - shardCount: rounded up to a power of two; 16 suits a few cores.
    public init(operationNames: [String], shardCount: Int = 16) {
        var count = 1
        while count < max(1, shardCount) { count <<= 1 }
        self.operationNames = operationNames
        self.shards = (0..<count).map { _ in MetricsShard(operationCount: operationNames.count) }
        self.shardMask = count - 1
    }

    /// The shard a recording task with number `task` should use.
    public func shard(for task: Int) -> Int { task & shardMask }

    /// Records a successful operation.
    public func recordSuccess(shard: Int, operation: Int, latencyMicros: UInt64) {
        shards[shard].state.withLock { $0.operations[operation].recordSuccess(latencyMicros: latencyMicros) }
    }

    /// Records a failed attempt; `final` when the operation is given up rather than retried.
    public func recordFailure(shard: Int, operation: Int, failure: OperationFailure, final: Bool) {
        shards[shard].state.withLock { $0.operations[operation].recordFailure(failure, final: final) }
    }

    /// Records operations the open model dropped, and the lateness that made it drop them.
    public func recordDropped(shard: Int, count: UInt64) {
        shards[shard].state.withLock { $0.dropped &+= count }
    }

    /// Records how late (in microseconds) an operation started compared with its intended start.
    public func recordScheduleLag(shard: Int, micros: UInt64) {
        shards[shard].state.withLock { state in
            if micros > state.maxScheduleLagMicros { state.maxScheduleLagMicros = micros }
        }
    }

    /// Marks the start of an operation (in-flight + 1).
    public func operationStarted(shard: Int) {
        shards[shard].inFlight.wrappingIncrement(ordering: .relaxed)
    }

    /// Marks the end of an operation (in-flight − 1).
    public func operationFinished(shard: Int) {
        shards[shard].inFlight.wrappingDecrement(ordering: .relaxed)
    }

    /// Operations in flight now.
    public var inFlight: Int {
        shards.reduce(0) { $0 + $1.inFlight.load(ordering: .relaxed) }
    }

    /// Takes everything recorded since the previous call, leaving the recorder empty.
    ///
    /// Only the shards something was recorded into are swapped for fresh ones: a shard's histograms are large (about
    /// 200 KB each), and allocating and zeroing them for idle shards cost a millisecond or more of the recording
    /// loop's core every second.
    public func takeInterval() -> (metrics: MetricsSnapshot, maxScheduleLagMicros: UInt64) {
        var merged = ShardState(operationCount: operationNames.count)
        for shard in shards where !shard.state.withLock({ $0.isUntouched }) {
            // A record between the check and the swap is taken now; one after the swap, next time. The accumulator
            // swapped in is the one taken last time, emptied here: the recording loop keeps writing into memory it
            // has already touched instead of a fresh allocation's untouched pages.
            var taken = shard.spare.withLock { $0.take() } ?? ShardState(operationCount: operationNames.count)
            shard.state.withLock { swap(&$0, &taken) }
            merged.merge(taken)
            taken.reset()
            shard.spare.withLock { $0 = taken }
        }
        var operations: [String: OperationMetrics] = [:]
        for (index, name) in operationNames.enumerated() {
            operations[name, default: OperationMetrics()].merge(merged.operations[index])
        }
        let snapshot = MetricsSnapshot(operations: operations, dropped: merged.dropped, inFlight: inFlight, maxInFlight: inFlight)
        return (snapshot, merged.maxScheduleLagMicros)
    }
}

/// One shard of a ``MetricsRecorder``.

final class MetricsShard: Sendable {
    let state: Mutex<ShardState>
    /// An emptied accumulator, swapped in at the next interval (used by ``MetricsRecorder/takeInterval()`` only).
    let spare = Mutex<ShardState?>(nil)
    let inFlight = ManagedAtomic<Int>(0)

    init(operationCount: Int) {
        state = Mutex(ShardState(operationCount: operationCount))
    }
}

/// What one shard accumulates during an interval.
struct ShardState: Sendable {
    var operations: [OperationMetrics]
    var dropped: UInt64 = 0
    var maxScheduleLagMicros: UInt64 = 0

    init(operationCount: Int) {
        operations = (0..<operationCount).map { _ in OperationMetrics() }
    }

    /// Nothing was recorded into this state (every record counts an attempt, a drop or a lag).
    var isUntouched: Bool {
        dropped == 0 && maxScheduleLagMicros == 0 && operations.allSatisfy { $0.attempts == 0 }
    }

    /// Empties it, keeping its histograms' memory.
    mutating func reset() {
        for index in operations.indices { operations[index].reset() }
        dropped = 0
        maxScheduleLagMicros = 0
    }

    mutating func merge(_ other: ShardState) {
        for index in operations.indices { operations[index].merge(other.operations[index]) }
        dropped &+= other.dropped
        maxScheduleLagMicros = max(maxScheduleLagMicros, other.maxScheduleLagMicros)
    }
}
