import LoadEngine
import Synchronization

/// An in-memory stand-in for the database in simulated runs: which message indexes were written (and how often),
/// and a histogram of every latency sample recorded, to check exactness against.
public final class SimulatedStore: Sendable {
    struct State {
        var writes: [UInt64: UInt32] = [:]
        var samples = LatencyHistogram()
        var shares: [String: Double] = [:]
    }
    let state = Mutex(State())
    /// Indexes whose write times out (outcome unknown); the `applied` ones are written anyway, as a real timeout may.
    let timesOut: Set<UInt64>
    let appliedDespiteTimeout: Set<UInt64>
    /// Indexes the "server" refuses (never written).
    let refused: Set<UInt64>

    public init(timesOut: Set<UInt64> = [], appliedDespiteTimeout: Set<UInt64> = [], refused: Set<UInt64> = []) {
        self.timesOut = timesOut
        self.appliedDespiteTimeout = appliedDespiteTimeout
        self.refused = refused
    }

    /// The scripted failure of `index`, if any (`nil`: acknowledged).
    func scriptedFailure(of index: UInt64) -> OperationFailure? {
        if timesOut.contains(index) {
            return OperationFailure(kind: .timeout, outcomeUnknown: true, isRetryable: false, message: "simulated timeout")
        }
        if refused.contains(index) {
            return OperationFailure(kind: .other, outcomeUnknown: false, isRetryable: false, message: "simulated refusal")
        }
        return nil
    }

    func write(_ index: UInt64, latencyMicros: UInt64) {
        state.withLock { state in
            state.writes[index, default: 0] += 1
            state.samples.record(micros: latencyMicros)
        }
    }

    func recordShare(_ share: Double, worker: String) {
        state.withLock { $0.shares[worker] = share }
    }

    /// The latest share of users / rate each simulated worker was given.
    public var shares: [String: Double] { state.withLock { $0.shares } }

    /// Distinct indexes written.
    public var distinctCount: Int { state.withLock { $0.writes.count } }
    /// Writes in all (rewrites included).
    public var writeCount: UInt64 { state.withLock { $0.writes.values.reduce(0) { $0 + UInt64($1) } } }
    /// The smallest and largest index written.
    public var indexRange: ClosedRange<UInt64>? {
        state.withLock { state in
            guard let low = state.writes.keys.min(), let high = state.writes.keys.max() else { return nil }
            return low...high
        }
    }
    /// Every latency sample recorded by every simulated worker.
    public var allSamples: LatencyHistogram { state.withLock { $0.samples } }
}

/// A simulated engine run: "writes" each leased index to a `SimulatedStore` with a deterministic pseudo-latency, paced
/// to a given rate, reporting intervals like the real engine. Used by tests and by the coordinator benchmark with
/// many lightweight workers; no database involved.
public final class SimulatedFleetRun: FleetRun {
    public static let operationName = "insert_message"

    let assignment: WorkerAssignment
    let source: any WorkSource
    let store: SimulatedStore?
    let indexesPerSecond: Double
    let interval: Duration
    let tasks: Int
    let control = Mutex((stopped: false, revoked: Set<UInt64>(), share: 1.0))

    /// - Parameters:
    ///   - indexesPerSecond: pace of each task (0 = as fast as possible).
    ///   - interval: reporting interval (1 s like the engine; shorter in tests).
    public init(
        assignment: WorkerAssignment, source: any WorkSource, store: SimulatedStore?, indexesPerSecond: Double = 0,
        interval: Duration = .seconds(1), tasks: Int = 2
    ) {
        self.assignment = assignment
        self.source = source
        self.store = store
        self.indexesPerSecond = indexesPerSecond
        self.interval = interval
        self.tasks = max(1, tasks)
        control.withLock { $0.share = assignment.share }
        store?.recordShare(assignment.share, worker: assignment.workerID)
    }

    /// The pseudo-latency of an index, in microseconds (deterministic, spread over 0.1–50 ms).
    public static func latencyMicros(of index: UInt64) -> UInt64 {
        var z = index &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return 100 + z % 50_000
    }

    public func stop() { control.withLock { $0.stopped = true } }
    public func setShare(_ share: Double) {
        control.withLock { $0.share = share }
        store?.recordShare(share, worker: assignment.workerID)
    }
    public func revokeChunks(_ ids: Set<UInt64>) { control.withLock { $0.revoked.formUnion(ids) } }
    var isStopped: Bool { control.withLock { $0.stopped } }

    public func run(startingAt start: UInt64?, onInterval: @escaping @Sendable (IntervalReport) async -> Void) async throws
        -> MetricsSnapshot
    {
        let startNanos = start ?? MonotonicClock.nanoseconds()
        try await MonotonicClock.sleep(until: startNanos)
        let recorder = MetricsRecorder(operationNames: [Self.operationName], shardCount: tasks)
        let intervalNanos = UInt64(max(interval.nanoseconds, 1_000_000))
        let totals = Mutex(MetricsSnapshot())
        let emit: @Sendable (Int) async -> Void = { second in
            let (metrics, _) = recorder.takeInterval()
            totals.withLock { $0.accumulate(later: metrics) }
            await onInterval(IntervalReport(second: second, metrics: metrics, health: GeneratorHealth()))
        }
        let reporter = Task {
            var second = 0
            while !Task.isCancelled {
                let due = startNanos + UInt64(second + 1) * intervalNanos
                do { try await MonotonicClock.sleep(until: due) } catch { break }
                await emit(second)
                second += 1
            }
            return second
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask { try await self.work(task: task, recorder: recorder) }
            }
            try await group.waitForAll()
        }
        reporter.cancel()
        let lastSecond = await reporter.value
        await emit(lastSecond)
        return totals.withLock { $0 }
    }

    private func work(task: Int, recorder: MetricsRecorder) async throws {
        let shard = recorder.shard(for: task)
        let pauseEvery: UInt64 = 50
        let pause: Duration? = indexesPerSecond > 0 ? .nanoseconds(Int64(Double(pauseEvery) / indexesPerSecond * 1e9)) : nil
        while !isStopped, let chunk = try await source.nextChunk() {
            var succeeded: UInt64 = 0
            var failed: UInt64 = 0
            var unknownIndexes = IndexRangeSet()
            var failedIndexes = IndexRangeSet()
            var unexecuted: [Range<UInt64>] = []
            var index = chunk.range.lowerBound
            while index < chunk.range.upperBound {
                if index % pauseEvery == 0 {
                    let (stopped, revoked) = control.withLock { ($0.stopped, $0.revoked.contains(chunk.id)) }
                    if revoked { break }
                    if stopped {
                        unexecuted.append(index..<chunk.range.upperBound)
                        break
                    }
                    if let pause { try? await Task.sleep(for: pause) } else { await Task.yield() }
                }
                let latency = Self.latencyMicros(of: index)
                if let store, let failure = store.scriptedFailure(of: index) {
                    if store.appliedDespiteTimeout.contains(index) { store.write(index, latencyMicros: latency) }
                    recorder.recordFailure(shard: shard, operation: 0, failure: failure, final: true)
                    if failure.outcomeUnknown { unknownIndexes.insert(index) } else { failedIndexes.insert(index) }
                    failed += 1
                } else {
                    store?.write(index, latencyMicros: latency)
                    recorder.recordSuccess(shard: shard, operation: 0, latencyMicros: latency)
                    succeeded += 1
                }
                index += 1
            }
            if control.withLock({ $0.revoked.contains(chunk.id) }) { continue }
            await source.chunkCompleted(
                ChunkCompletion(
                    chunk: chunk, succeeded: succeeded, failed: failed, unexecuted: unexecuted, unknownIndexes: unknownIndexes,
                    failedIndexes: failedIndexes))
        }
    }
}

/// Makes `SimulatedFleetRun`s for every assignment.
public struct SimulatedRunFactory: FleetRunFactory {
    public let store: SimulatedStore?
    public let indexesPerSecond: Double
    public let interval: Duration
    public let tasks: Int

    public init(store: SimulatedStore? = nil, indexesPerSecond: Double = 0, interval: Duration = .seconds(1), tasks: Int = 2) {
        self.store = store
        self.indexesPerSecond = indexesPerSecond
        self.interval = interval
        self.tasks = tasks
    }

    public func makeRun(for assignment: WorkerAssignment, source: any WorkSource) async throws -> any FleetRun {
        SimulatedFleetRun(
            assignment: assignment, source: source, store: store, indexesPerSecond: indexesPerSecond, interval: interval,
            tasks: tasks)
    }
}
