import Atomics
import CQLProtocol

/// What the engine's tasks share during a run: the prepared workload, the recorder, the work dispenser and the
/// stop flag. The per-operation loops live here.
final class RunContext<Executor: StatementExecutor>: Sendable {
    let configuration: EngineConfiguration
    let prepared: PreparedWorkload<Executor.Prepared>
    let executor: Executor
    let recorder: MetricsRecorder
    let dispenser: WorkDispenser
    let stopping: ManagedAtomic<Bool>
    let startNanos: UInt64
    let deadline: UInt64?
    let gate = UserGate()
    /// Users or arrival workers still running.
    let activeTasks = ManagedAtomic<Int>(0)
    /// Set when the work source has no more work.
    let workExhausted = ManagedAtomic<Bool>(false)
    /// ``EngineConfiguration/recordsOperationMetrics``.
    let recordsMetrics: Bool

    init(
        configuration: EngineConfiguration, prepared: PreparedWorkload<Executor.Prepared>, executor: Executor,
        recorder: MetricsRecorder, dispenser: WorkDispenser, stopping: ManagedAtomic<Bool>, startNanos: UInt64, deadline: UInt64?
    ) {
        self.configuration = configuration
        self.prepared = prepared
        self.executor = executor
        self.recorder = recorder
        self.dispenser = dispenser
        self.stopping = stopping
        self.startNanos = startNanos
        self.deadline = deadline
        recordsMetrics = configuration.recordsOperationMetrics
    }

    var isStopping: Bool { stopping.load(ordering: .relaxed) }

    /// Takes a lease, or `nil` when the work is exhausted (or the source failed: then the run stops).
    func takeLease(_ size: Int, runner: LoadRunner<Executor>) async -> WorkLease? {
        do {
            guard let lease = try await dispenser.take(maximum: size) else {
                workExhausted.store(true, ordering: .relaxed)
                return nil
            }
            return lease
        } catch {
            runner.stop(.workSourceFailed)
            return nil
        }
    }

    /// Runs operation `index` with retries and records its outcome. Latency counts from `intendedStart`.
    /// `firstAttempt` > 1 continues after attempts made (and recorded) elsewhere.
    func perform(index: UInt64, shard: Int, intendedStart: UInt64, firstAttempt: Int = 1) async -> Bool {
        let operation = prepared.workload.operation(at: index)
        let statement = prepared.options[operation.statement]
        let handle = prepared.prepared[operation.statement]
        var attempt = firstAttempt
        while true {
            recorder.operationStarted(shard: shard)
            do {
                if statement.batchSize > 1, !operation.batchValues.isEmpty {
                    try await executor.executeUnloggedBatch(handle, values: operation.batchValues, consistency: statement.consistency)
                } else {
                    _ = try await executor.execute(
                        handle, values: operation.values, consistency: statement.consistency, isIdempotent: statement.isIdempotent)
                }
                recorder.operationFinished(shard: shard)
                recordSuccess(shard: shard, operation: operation.operation, intendedStart: intendedStart)
                return true
            } catch {
                recorder.operationFinished(shard: shard)
                let (retry, failure) = recordFailedAttempt(
                    error, index: index, operation: operation.operation, isIdempotent: statement.isIdempotent, shard: shard,
                    attempt: attempt, mayRetry: !Task.isCancelled)
                guard retry else { return false }
                do {
                    try await Task.sleep(for: configuration.retryBackoff * attempt)
                } catch {
                    recorder.recordFailure(shard: shard, operation: operation.operation, failure: failure, final: true)
                    dispenser.outcomeLog.recordGivenUp(index, unknown: failure.outcomeUnknown)
                    return false
                }
                attempt += 1
            }
        }
    }

    /// Records a successful operation's latency (from `intendedStart`), when the run records metrics.
    func recordSuccess(shard: Int, operation: Int, intendedStart: UInt64) {
        guard recordsMetrics else { return }
        let end = MonotonicClock.nanoseconds()
        recorder.recordSuccess(shard: shard, operation: operation, latencyMicros: end > intendedStart ? (end - intendedStart) / 1000 : 0)
    }

    /// Records failed attempt number `attempt` of operation `index` and decides whether to try again (the failure
    /// allows it, an unknown outcome only for an idempotent statement, attempts are left and `mayRetry`); when not,
    /// the index is logged as given up. Returns the decision and the classified failure.
    func recordFailedAttempt(
        _ error: any Error, index: UInt64, operation: Int, isIdempotent: Bool, shard: Int, attempt: Int, mayRetry: Bool
    ) -> (retry: Bool, failure: OperationFailure) {
        let failure = executor.classify(error)
        let retry = failure.isRetryable && (!failure.outcomeUnknown || isIdempotent) && attempt < configuration.maxAttempts && mayRetry
        recorder.recordFailure(shard: shard, operation: operation, failure: failure, final: !retry)
        if !retry { dispenser.outcomeLog.recordGivenUp(index, unknown: failure.outcomeUnknown) }
        return (retry, failure)
    }

    /// A closed-model virtual user.
    func runUser(_ user: Int, thinkTime: ThinkTime, leaseSize: Int, runner: LoadRunner<Executor>) async {
        defer { activeTasks.wrappingDecrement(ordering: .relaxed) }
        let shard = recorder.shard(for: user)
        var random = SplitMix64(seed: DeterministicHash.mix(UInt64(user) &+ startNanos))
        while !isStopping {
            if !gate.admits(user) {
                if workExhausted.load(ordering: .relaxed) { return }
                await gate.park(user)
                continue
            }
            guard let lease = await takeLease(leaseSize, runner: runner) else { return }
            var succeeded: UInt64 = 0
            var failed: UInt64 = 0
            var index = lease.range.lowerBound
            var cancelled = false
            while index < lease.range.upperBound, !isStopping {
                let start = recordsMetrics || thinkTime != .none ? MonotonicClock.nanoseconds() : 0
                if await perform(index: index, shard: shard, intendedStart: start) { succeeded += 1 } else { failed += 1 }
                index += 1
                do {
                    switch thinkTime {
                    case .none:
                        break
                    case .constant(let pause):
                        try await Task.sleep(for: pause)
                    case .between(let low, let high):
                        let span = (high - low).seconds
                        try await Task.sleep(for: low + .nanoseconds(Int64(span * DeterministicHash.unit(random.next()) * 1e9)))
                    case .pacing(let interval):
                        try await MonotonicClock.sleep(until: start + UInt64(max(0, interval.seconds) * 1e9))
                    }
                } catch {
                    cancelled = true
                    break
                }
            }
            let rest: Range<UInt64>? = index < lease.range.upperBound ? index..<lease.range.upperBound : nil
            await dispenser.finish(lease, succeeded: succeeded, failed: failed, unexecuted: rest)
            if cancelled { return }
        }
    }

    /// An open-model worker: runs one operation per slot the dispatcher grants it, at most one at a time.
    func runArrivals(_ worker: Int, dispatcher: ArrivalDispatcher, runner: LoadRunner<Executor>) async {
        defer { activeTasks.wrappingDecrement(ordering: .relaxed) }
        let shard = recorder.shard(for: worker)
        var lease: WorkLease?
        var next: UInt64 = 0
        var succeeded: UInt64 = 0
        var failed: UInt64 = 0
        func finishLease() async {
            if let current = lease {
                let rest: Range<UInt64>? = next < current.range.upperBound ? next..<current.range.upperBound : nil
                await dispenser.finish(current, succeeded: succeeded, failed: failed, unexecuted: rest)
                lease = nil
                succeeded = 0
                failed = 0
            }
        }
        while let grant = await dispatcher.acquire() {
            let now = MonotonicClock.nanoseconds()
            if now > grant.intended + 1_000_000 { recorder.recordScheduleLag(shard: shard, micros: (now - grant.intended) / 1000) }
            if let current = lease, next < current.range.upperBound {
                // keep using the current lease
            } else {
                await finishLease()
                guard let fresh = await takeLease(8, runner: runner) else { break }
                lease = fresh
                next = fresh.range.lowerBound
            }
            if await perform(index: next, shard: shard, intendedStart: grant.intended) { succeeded += 1 } else { failed += 1 }
            next += 1
        }
        await finishLease()
    }
}
