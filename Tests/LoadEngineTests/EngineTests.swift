import Foundation
import NIOPosix
import Synchronization
import Testing
@testable import LoadEngine

/// Timing-sensitive (rates, stalls, stages): `scripts/test` runs this suite on its own, after the others, and its tests
/// one at a time, so that other suites' load does not distort the schedules they check.
@Suite(.serialized) struct EngineTests {
    let run = RunIdentity(id: "run-engine", epochMillis: 1_700_000_000_000)

    func runner(_ configuration: EngineConfiguration, executor: FakeExecutor, source: any WorkSource, mix: ChatWorkload.Mix = .write)
        -> LoadRunner<FakeExecutor>
    {
        var configuration = configuration
        configuration.probeInterval = .milliseconds(50)
        return LoadRunner(configuration: configuration, workload: ChatWorkload(mix: mix, run: run), executor: executor, source: source)
    }

    /// Every index of `source` written exactly once and reported in its chunk's completion.
    func expectEachWrittenOnce(total: Int, chunks: Int, executor: FakeExecutor, source: FixedRangeWorkSource) {
        let writes = executor.writes
        #expect(writes.count == total)
        #expect(writes.values.allSatisfy { $0 == 1 })
        let completions = source.completions
        #expect(completions.count == chunks)
        #expect(completions.reduce(0) { $0 + $1.succeeded } == UInt64(total))
        #expect(completions.allSatisfy { $0.isFullyExecuted })
    }

    /// Every operation succeeded in the end; each failed first attempt (a fake timeout) counted as a retry.
    func expectEveryFirstFailureRetried(_ outcome: EngineOutcome, total: UInt64, executor: FakeExecutor) {
        let write = outcome.totals.combined
        #expect(write.successes == total)
        #expect(write.failures == 0)
        #expect(write.retries > 0)
        #expect(write.unknownOutcomes == write.retries)
        #expect(write.errors(.timeout) == write.retries)
        #expect(executor.writes.count == Int(total))
    }

    @Test func stopsExactlyAtTheTargetUnderConcurrency() async throws {
        let executor = FakeExecutor(latency: .milliseconds(1))
        let source = FixedRangeWorkSource(total: 10_007, chunkSize: 1000)
        let outcome = try await runner(
            EngineConfiguration(model: .closed(ClosedModel(users: 64))), executor: executor, source: source
        ).run()
        let write = outcome.totals.operations[ChatWorkload.sendMessage] ?? OperationMetrics()
        #expect(write.successes == 10_007)
        #expect(write.latency.count == 10_007)
        #expect(outcome.stopReason == .completed)
        expectEachWrittenOnce(total: 10_007, chunks: 11, executor: executor, source: source)
        // The intervals add up to the whole run.
        var sum = MetricsSnapshot()
        for interval in outcome.intervals { sum.accumulate(later: interval.metrics) }
        #expect(sum.combined.successes == 10_007)
    }

    @Test func openModelStartsOperationsAtTheTargetRate() async throws {
        let executor = FakeExecutor(latency: .milliseconds(2))
        let configuration = EngineConfiguration(model: .open(OpenModel(rate: 2000, maxInFlight: 200)), duration: .seconds(2))
        let outcome = try await runner(configuration, executor: executor, source: UnboundedWorkSource()).run()
        let done = outcome.totals.combined.operations + outcome.totals.dropped
        // Within 2 %, unless the engine reported that it (not the target) was the limit: on a loaded machine the
        // shortfall must be diagnosed in the results, never hidden.
        #expect(abs(Double(done) - 4000) <= 80 || outcome.health.isLimitingResults,
                "issued \(done) of 4000 without a self-diagnosis: \(outcome.health.reasons)")
        #expect(outcome.stopReason == .duration)
    }

    @Test func openModelOnEventLoopsRunsExactlyTheScheduledSlots() async throws {
        // The engine's tasks on the two loops of a group: a timetable lane and a loop timer per loop.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let executor = FakeExecutor(latency: .microseconds(200), eventLoopGroup: group)
        let configuration = EngineConfiguration(model: .open(OpenModel(rate: 5000, maxInFlight: 64)), duration: .seconds(1))
        let lanes = ArrivalLane.lanes(workers: 64) { executor.taskExecutor(forTask: $0) }
        #expect(lanes.count == 2)
        #expect(lanes.map(\.workers.count) == [32, 32])
        let outcome = try await runner(configuration, executor: executor, source: UnboundedWorkSource()).run()
        try await group.shutdownGracefully()
        // Every slot before the deadline (rate × duration) ran or was dropped and counted; none more.
        #expect(outcome.totals.combined.operations + outcome.totals.dropped == 5000)
        #expect(outcome.stopReason == .duration)
    }

    @Test(arguments: [false, true])
    func workerTasksCountTheSlotsTheyDropBeforeWaiting(onEventLoop: Bool) async throws {
        // One worker busy 25 ms per operation at 100 slots/s, slots dropped once 1 ms late: when the worker comes
        // back, the slots it missed are dropped and the next one is usually not due yet. Those drops must be counted
        // too, not only the ones followed at once by a slot that can start.
        let group = onEventLoop ? MultiThreadedEventLoopGroup(numberOfThreads: 1) : nil
        let executor = FakeExecutor(latency: .milliseconds(25), eventLoopGroup: group)
        let model = OpenModel(rate: 100, maxInFlight: 1, maxLateness: .milliseconds(1))
        let outcome = try await runner(EngineConfiguration(model: .open(model), duration: .seconds(1)), executor: executor,
                                       source: UnboundedWorkSource()).run()
        try await group?.shutdownGracefully()
        #expect(outcome.totals.dropped > 0)
        #expect(outcome.totals.combined.operations + outcome.totals.dropped == 100)
    }

    // MARK: Open model run by the loops themselves (DirectArrivalLane)

    @Test func directLanesRunExactlyTheScheduledSlots() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let executor = FakeExecutor(latency: .microseconds(200), eventLoopGroup: group, startsWithoutSuspending: true)
        let configuration = EngineConfiguration(model: .open(OpenModel(rate: 5000, maxInFlight: 64)), duration: .seconds(1))
        let outcome = try await runner(configuration, executor: executor, source: UnboundedWorkSource()).run()
        try await group.shutdownGracefully()
        #expect(outcome.totals.combined.operations + outcome.totals.dropped == 5000)
        #expect(outcome.stopReason == .duration)
        // The loops started the operations themselves (not a task per operation).
        #expect(executor.directStarts.withLock { $0 } == Int(outcome.totals.combined.operations))
    }

    @Test func directLanesStopExactlyAtTheTarget() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let executor = FakeExecutor(latency: .microseconds(300), eventLoopGroup: group, startsWithoutSuspending: true)
        let source = FixedRangeWorkSource(total: 10_007, chunkSize: 1000)
        let configuration = EngineConfiguration(model: .open(OpenModel(rate: 20_000, maxInFlight: 200, maxLateness: .seconds(30))))
        let outcome = try await runner(configuration, executor: executor, source: source).run()
        try await group.shutdownGracefully()
        #expect(outcome.totals.combined.successes == 10_007)
        #expect(outcome.totals.dropped == 0)
        #expect(outcome.stopReason == .completed)
        expectEachWrittenOnce(total: 10_007, chunks: 11, executor: executor, source: source)
    }

    @Test func directLanesRetryAFailedFirstAttemptAndCountIt() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let executor = FakeExecutor(
            failFirstAttempt: { $0.uuidString.prefix(8).hasSuffix("0") || $0.uuidString.prefix(8).hasSuffix("8") },
            eventLoopGroup: group, startsWithoutSuspending: true)
        let source = FixedRangeWorkSource(total: 2000)
        var configuration = EngineConfiguration(model: .open(OpenModel(rate: 10_000, maxInFlight: 100, maxLateness: .seconds(30))))
        configuration.retryBackoff = .milliseconds(1)
        let outcome = try await runner(configuration, executor: executor, source: source).run()
        try await group.shutdownGracefully()
        expectEveryFirstFailureRetried(outcome, total: 2000, executor: executor)
        #expect(executor.writes.values.allSatisfy { $0 == 1 })
        #expect(source.completions.reduce(0) { $0 + $1.succeeded } == 2000)
    }

    @Test func directLanesFollowAShareChange() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let executor = FakeExecutor(latency: .microseconds(200), eventLoopGroup: group, startsWithoutSuspending: true)
        let configuration = EngineConfiguration(model: .open(OpenModel(rate: 1000, maxInFlight: 64)), duration: .seconds(2))
        let engine = runner(configuration, executor: executor, source: UnboundedWorkSource())
        let start = MonotonicClock.nanoseconds() + 50_000_000
        // The coordinator doubles this worker's share after 1 s (a rate raised from the dashboard, say).
        let change = Task {
            try await MonotonicClock.sleep(until: start + 1_000_000_000)
            engine.setShare(2)
        }
        let outcome = try await engine.run(startingAt: start)
        try await change.value
        try await group.shutdownGracefully()
        // 1 s at 1,000/s, then 1 s at 2,000/s.
        let done = outcome.totals.combined.operations + outcome.totals.dropped
        #expect(abs(Double(done) - 3000) <= 90 || outcome.health.isLimitingResults,
                "issued \(done) of 3000 without a self-diagnosis: \(outcome.health.reasons)")
        #expect(executor.directStarts.withLock { $0 } == Int(outcome.totals.combined.operations))
    }

    @Test func directLanesStartSlotsOnTheirTimerNotOnEveryResponse() async throws {
        // 20,000/s with 100 µs responses: answers come back between slots all the time. A lane that ticked on each
        // read of responses would send a slot or two per tick, clocked to the round trip (a socket write and a read
        // each; 7,000–8,000 ticks here when it did); the lane's ticks are its timer's, at least 200 µs apart, each
        // sending every slot due by then.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let executor = FakeExecutor(latency: .microseconds(100), eventLoopGroup: group, startsWithoutSuspending: true)
        let configuration = EngineConfiguration(
            model: .open(OpenModel(rate: 20_000, maxInFlight: 10_000, maxLateness: .seconds(5))), duration: .milliseconds(500))
        let outcome = try await runner(configuration, executor: executor, source: UnboundedWorkSource()).run()
        try await group.shutdownGracefully()
        let started = executor.directStarts.withLock { $0 }
        let batches = executor.directStartBatches.withLock { $0.count }
        #expect(started == Int(outcome.totals.combined.operations))
        #expect(started > 5_000)
        // 0.5 s / 200 µs = 2,500 timer ticks at most, plus the first one and a few for new leases.
        #expect(batches <= 2_500 + 50, "\(started) operations started in \(batches) batches")
    }

    @Test func directLanesAtTheirInFlightBoundStartTheNextSlotOnACompletion() async throws {
        // 5,000/s asked, at most 4 in flight answered after 1 ms each: the bound, not the schedule, sets the pace
        // (about 4,000/s), and each completion must start the next waiting slot — no timer is armed meanwhile.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let executor = FakeExecutor(latency: .milliseconds(1), eventLoopGroup: group, startsWithoutSuspending: true)
        let source = FixedRangeWorkSource(total: 1000, chunkSize: 1000)
        let configuration = EngineConfiguration(
            model: .open(OpenModel(rate: 5000, maxInFlight: 4, maxLateness: .seconds(10))), duration: .seconds(5))
        let outcome = try await runner(configuration, executor: executor, source: source).run()
        try await group.shutdownGracefully()
        #expect(outcome.stopReason == .completed)
        #expect(outcome.totals.combined.successes == 1000)
        #expect(outcome.totals.dropped == 0)
        #expect(executor.directStarts.withLock { $0 } == 1000)
        #expect(executor.concurrency.withLock { $0.samples.map(\.1).max() } == 4)
    }

    @Test func directLanesWaitingForAFarSlotStopAsSoonAsTheRunIsStopped() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let executor = FakeExecutor(latency: .microseconds(200), eventLoopGroup: group, startsWithoutSuspending: true)
        // A slot every 10 s, the lanes taking turns: after the first the lanes wait on timers 10 and 20 s away, and
        // nothing polls; only the stop's poke wakes them.
        let configuration = EngineConfiguration(model: .open(OpenModel(rate: 0.1, maxInFlight: 8)), duration: .seconds(60))
        let engine = runner(configuration, executor: executor, source: UnboundedWorkSource())
        let stopper = Task {
            try await Task.sleep(for: .milliseconds(500))
            engine.stop()
        }
        let began = MonotonicClock.nanoseconds()
        let outcome = try await engine.run()
        let took = Double(MonotonicClock.nanoseconds() - began) / 1e9
        try await stopper.value
        try await group.shutdownGracefully()
        #expect(outcome.stopReason == .interrupted)
        #expect(took < 5, "the run took \(took) s to end after its stop at 0.5 s")
        #expect(outcome.totals.combined.operations <= 2)
        #expect(executor.directStarts.withLock { $0 } == Int(outcome.totals.combined.operations))
    }

    @Test func directLanesShowAStallInThePercentiles() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let executor = FakeExecutor(eventLoopGroup: group, startsWithoutSuspending: true)
        let start = MonotonicClock.nanoseconds() + 50_000_000
        executor.pause.withLock { $0 = (start + 1_000_000_000)..<(start + 2_000_000_000) }
        let configuration = EngineConfiguration(
            model: .open(OpenModel(rate: 400, maxInFlight: 1000, maxLateness: .seconds(5))), duration: .seconds(3))
        let outcome = try await runner(configuration, executor: executor, source: UnboundedWorkSource()).run(startingAt: start)
        try await group.shutdownGracefully()
        let latency = outcome.totals.combined.latency
        #expect(latency.valueAtPercentile(99) > 500_000)
        #expect(latency.maxMicros > 900_000)
    }

    @Test func coordinatedOmissionShowsInThePercentiles() async throws {
        let executor = FakeExecutor()
        let start = MonotonicClock.nanoseconds() + 50_000_000
        executor.pause.withLock { $0 = (start + 1_000_000_000)..<(start + 2_000_000_000) }
        let configuration = EngineConfiguration(
            model: .open(OpenModel(rate: 400, maxInFlight: 1000, maxLateness: .seconds(5))), duration: .seconds(3))
        let outcome = try await runner(configuration, executor: executor, source: UnboundedWorkSource()).run(startingAt: start)
        let latency = outcome.totals.combined.latency
        // About a third of the operations were issued during the 1 s stall: the p99 must show it.
        #expect(latency.valueAtPercentile(99) > 500_000)
        #expect(latency.maxMicros > 900_000)
        #expect(outcome.totals.dropped == 0 || outcome.health.isLimitingResults,
                "\(outcome.totals.dropped) dropped without a self-diagnosis: \(outcome.health.reasons)")
    }

    @Test func retriesUnknownOutcomesAndCountsThem() async throws {
        let executor = FakeExecutor(failFirstAttempt: { $0.uuidString.prefix(8).hasSuffix("0") || $0.uuidString.prefix(8).hasSuffix("8") })
        let source = FixedRangeWorkSource(total: 2000)
        var configuration = EngineConfiguration(model: .closed(ClosedModel(users: 8)))
        configuration.retryBackoff = .milliseconds(1)
        let outcome = try await runner(configuration, executor: executor, source: source).run()
        expectEveryFirstFailureRetried(outcome, total: 2000, executor: executor)
    }

    @Test func durationStopReportsUnexecutedIndexes() async throws {
        let executor = FakeExecutor(latency: .milliseconds(1))
        let source = FixedRangeWorkSource(total: 1_000_000, chunkSize: 5000)
        var configuration = EngineConfiguration(model: .closed(ClosedModel(users: 4)), duration: .milliseconds(500))
        configuration.stopGracePeriod = .seconds(5)
        let outcome = try await runner(configuration, executor: executor, source: source).run()
        #expect(outcome.stopReason == .duration)
        let succeeded = outcome.totals.combined.successes
        #expect(succeeded > 0 && succeeded < 1_000_000)
        let completions = source.completions
        let accounted = completions.reduce(UInt64(0)) { $0 + $1.succeeded + $1.failed + $1.unexecuted.reduce(0) { $0 + UInt64($1.count) } }
        #expect(accounted == completions.reduce(0) { $0 + $1.chunk.count })
        #expect(completions.reduce(0) { $0 + $1.succeeded } == succeeded)
    }

    @Test func abortsWhenAThresholdFails() async throws {
        let executor = FakeExecutor(latency: .milliseconds(5))
        var configuration = EngineConfiguration(model: .closed(ClosedModel(users: 2)), duration: .seconds(20))
        configuration.thresholds = [try Threshold(parsing: "p99<1ms")]
        configuration.abortOnThresholdFailure = true
        let outcome = try await runner(configuration, executor: executor, source: UnboundedWorkSource()).run()
        #expect(outcome.stopReason == .thresholdFailed)
        #expect(!outcome.thresholdsPassed)
        #expect(RunExitCode.code(for: outcome) == RunExitCode.thresholdsFailed)
        #expect(outcome.elapsed < .seconds(20), "stopped by the threshold, before the 20 s duration")
    }

    @Test func stopIsClean() async throws {
        let executor = FakeExecutor(latency: .milliseconds(1))
        let source = FixedRangeWorkSource(total: 1_000_000, chunkSize: 1000)
        let runner = runner(EngineConfiguration(model: .closed(ClosedModel(users: 16, thinkTime: .constant(.milliseconds(5))))), executor: executor, source: source)
        async let outcome = runner.run()
        try await Task.sleep(for: .milliseconds(300))
        runner.stop()
        let result = try await outcome
        #expect(result.stopReason == .interrupted)
        #expect(RunExitCode.code(for: result) == RunExitCode.success)
        #expect(result.totals.combined.successes == UInt64(executor.writes.count))
    }

    @Test func mixedWorkloadRecordsEachOperation() async throws {
        let executor = FakeExecutor()
        let outcome = try await runner(
            EngineConfiguration(model: .closed(ClosedModel(users: 8))), executor: executor, source: FixedRangeWorkSource(total: 3000), mix: .mixed
        ).run()
        #expect(outcome.totals.operations.count == 3)
        #expect(outcome.totals.combined.successes == 3000)
        let results = RunResults(run: run, workload: "chat-mixed", startedAt: Date(), outcome: outcome)
        #expect(results.totalMessages == outcome.totals.operations[ChatWorkload.sendMessage]?.successes)
        #expect(results.totalOperations == 3000)
        let json = try JSONSerialization.jsonObject(with: try results.jsonData()) as? [String: Any]
        for key in ["total_messages", "total_time", "throughput", "p50", "p95", "p99", "p99_9", "max", "per_second", "errors_by_kind", "config"] {
            #expect(json?[key] != nil, "missing \(key)")
        }
    }

    @Test func closedModelFollowsItsStages() async throws {
        let executor = FakeExecutor(latency: .milliseconds(2))
        let stages = [Stage(duration: .milliseconds(600), target: 6, shape: .step), Stage(duration: .milliseconds(1500), target: 2, shape: .step)]
        let outcome = try await runner(
            EngineConfiguration(model: .closed(ClosedModel(users: 6, stages: stages))), executor: executor, source: UnboundedWorkSource()
        ).run()
        #expect(outcome.stopReason == .duration)  // the end of the stages
        let samples = executor.concurrency.withLock { $0.samples }
        let last = samples.last?.0 ?? 0
        // 6 users during the first stage, 2 at the end of the second (timing-tolerant: only the order is checked).
        #expect(samples.map { $0.1 }.max() == 6)
        let tail = samples.filter { $0.0 + 300_000_000 >= last }.map { $0.1 }
        #expect(!tail.isEmpty)
        #expect((tail.max() ?? 0) <= 2 || outcome.health.isLimitingResults,
                "users at the end: \(tail.max() ?? 0), health: \(outcome.health.reasons)")
    }
}
