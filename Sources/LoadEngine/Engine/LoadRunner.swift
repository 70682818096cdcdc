import Atomics
import CQLProtocol
import NIOCore
import Synchronization

/// The load engine: runs a workload against an executor under a closed or open model, pulling work indexes from a
/// ``WorkSource``, and reports metrics every second.
///
/// One process (`stampede run`) uses it with a ``FixedRangeWorkSource``; a distributed worker uses it unchanged with
/// a source that leases chunks from the coordinator, ships each ``IntervalReport`` it receives, and calls
/// ``setShare(_:)`` when the coordinator rebalances users or rate.
public final class LoadRunner<Executor: StatementExecutor>: Sendable {
    public let configuration: EngineConfiguration
    public let workload: any Workload
    public let executor: Executor
    public let source: any WorkSource

    let stopping = ManagedAtomic<Bool>(false)
    let control: Mutex<Control>

    struct Control {
        var stopReason: StopReason?
        var share: Double
        /// The open model's timetables, one per lane (event loop).
        var schedules: [ArrivalSchedule] = []
        var dispenser: WorkDispenser?
        var prepared: PreparedWorkload<Executor.Prepared>?
        /// Called once a stop is requested: they wake what waits for the next slot (the open model's direct lanes).
        var stopHooks: [@Sendable () -> Void] = []
    }

    public init(configuration: EngineConfiguration, workload: any Workload, executor: Executor, source: any WorkSource) {
        self.configuration = configuration
        self.workload = workload
        self.executor = executor
        self.source = source
        control = Mutex(Control(share: configuration.share))
    }

    /// Asks the run to stop: no new operation starts; in-flight ones finish and are recorded. Safe from anywhere.
    public func stop(_ reason: StopReason = .interrupted) {
        let hooks = control.withLock { state in
            if state.stopReason == nil { state.stopReason = reason }
            return state.stopHooks
        }
        stopping.store(true, ordering: .relaxed)
        for hook in hooks { hook() }
    }

    /// Whether a stop was requested (or the run ended).
    public var isStopping: Bool { stopping.load(ordering: .relaxed) }

    /// Sets this process's fraction of the plan's users or arrival rate, from now on.
    public func setShare(_ share: Double) {
        let schedules = control.withLock { state -> [ArrivalSchedule] in
            state.share = max(0, share)
            return state.schedules
        }
        let now = MonotonicClock.nanoseconds()
        for schedule in schedules { schedule.setShare(max(0, share), nowNanos: now) }
    }

    /// The current share.
    public var share: Double { control.withLock { $0.share } }

    /// Stops working on the chunks with these ids (e.g. the coordinator gave them to another worker).
    public func revokeChunks(_ ids: Set<UInt64>) {
        control.withLock { $0.dispenser }?.revoke(chunkIDs: ids)
    }

    /// Prepares the workload's statements and lets it set up (load rows). Done by ``run(startingAt:onInterval:)``
    /// when not called before; call it first to be ready before a start barrier.
    public func prepare() async throws {
        if control.withLock({ $0.prepared }) != nil { return }
        var statements: [Executor.Prepared] = []
        var bindTypes: [[CQLDataType]] = []
        for statement in workload.statements {
            do {
                let prepared = try await executor.prepare(statement.cql)
                statements.append(prepared)
                bindTypes.append(executor.bindTypes(of: prepared))
            } catch {
                throw LoadEngineError(.workloadSetupFailed, "could not prepare \(statement.cql): \(error)")
            }
        }
        let executor = self.executor
        let context = WorkloadSetupContext(bindTypes: bindTypes, loadRows: { try await executor.rows($0) })
        let ready: any Workload
        do { ready = try await workload.setUp(context) } catch let error as LoadEngineError { throw error } catch {
            throw LoadEngineError(.workloadSetupFailed, "workload '\(workload.name)' could not set up: \(error)")
        }
        let prepared = PreparedWorkload(workload: ready, statements: workload.statements, prepared: statements)
        control.withLock { $0.prepared = prepared }
    }

    /// Runs to the end and returns the outcome.
    ///
    /// - Parameters:
    ///   - start: the monotonic instant (``MonotonicClock/nanoseconds()``) the run starts at — a start barrier;
    ///     now when `nil`. Interval `second` n covers [start + n s, start + n + 1 s).
    ///   - onInterval: called once per second, in order, with that second's metrics (and once more for the last,
    ///     partial second). The call is awaited; keep it short.
    public func run(
        startingAt start: UInt64? = nil,
        onInterval: @escaping @Sendable (IntervalReport) async -> Void = { _ in }
    ) async throws -> EngineOutcome {
        let configuration = try configuration.validated()
        try await prepare()
        guard let prepared = control.withLock({ $0.prepared }) else {
            throw LoadEngineError(.workloadSetupFailed, "workload was not prepared")
        }
        let startNanos = start ?? MonotonicClock.nanoseconds()
        if startNanos > MonotonicClock.nanoseconds() { try await MonotonicClock.sleep(until: startNanos) }

        let recorder = MetricsRecorder(operationNames: prepared.workload.operationNames, shardCount: configuration.metricsShards)
        let dispenser = WorkDispenser(source: source)
        let collector = IntervalCollector(
            startNanos: startNanos, recorder: recorder, thresholds: configuration.thresholds,
            inFlightBound: Self.inFlightBound(of: configuration.model))
        let deadline = configuration.effectiveDuration.map { startNanos + UInt64(max(0, $0.seconds) * 1e9) }
        let context = RunContext(
            configuration: configuration, prepared: prepared, executor: executor, recorder: recorder, dispenser: dispenser,
            stopping: stopping, startNanos: startNanos, deadline: deadline)
        // The open model: one timetable lane per event loop its workers run on.
        var lanes: [ArrivalLane] = []
        var schedules: [ArrivalSchedule] = []
        if case .open(let open) = configuration.model {
            let executor = self.executor
            lanes = ArrivalLane.lanes(workers: open.maxInFlight) { executor.taskExecutor(forTask: $0) }
            let share = self.share
            schedules = lanes.indices.map {
                ArrivalSchedule(plan: open.plan, share: share, startNanos: startNanos, lane: $0, lanes: lanes.count)
            }
        }
        control.withLock { state in
            state.dispenser = dispenser
            state.schedules = schedules
        }

        await withTaskGroup(of: Void.self) { group in
            group.addTask { await collector.runIntervals(runner: self, onInterval: onInterval) }
            // The probe's timer lag is the lag of the thread the first task's I/O runs on (the driver's event loop
            // when the executor runs tasks there).
            group.addTask(executorPreference: executor.taskExecutor(forTask: 0)) {
                await collector.runProbe(interval: configuration.probeInterval)
            }
            switch configuration.model {
            case .closed(let model):
                await driveClosed(model, context: context, group: &group)
            case .open(let model):
                await driveOpen(model, lanes: zip(lanes, schedules).map { ($0, $1) }, context: context, group: &group)
            }
            // Stopping: release parked users, let in-flight operations finish, then wake sleepers and end the helpers.
            context.gate.stop()
            let graceEnd = MonotonicClock.nanoseconds() + UInt64(max(0, configuration.stopGracePeriod.seconds) * 1e9)
            while recorder.inFlight > 0, MonotonicClock.nanoseconds() < graceEnd {
                try? await Task.sleep(for: .milliseconds(5))
            }
            group.cancelAll()
            await group.waitForAll()
        }
        let endNanos = MonotonicClock.nanoseconds()
        await dispenser.close()
        await collector.finish(runner: self, onInterval: onInterval, endNanos: endNanos)
        stopping.store(true, ordering: .relaxed)

        let reason = control.withLock { $0.stopReason } ?? .completed
        let summary = collector.summary()
        let elapsed = Duration.nanoseconds(Int64(endNanos > startNanos ? endNanos - startNanos : 0))
        let results = configuration.thresholds.map { $0.evaluate(summary.totals, elapsedSeconds: elapsed.seconds) }
        var outcome = EngineOutcome(
            totals: summary.totals, intervals: summary.intervals, elapsed: elapsed, stopReason: reason, thresholdResults: results,
            health: summary.health, operationNames: prepared.workload.operationNames,
            writeOperationNames: prepared.workload.writeOperationNames, indexOutcomes: dispenser.outcomeLog.outcomes)
        outcome.setupNotes = prepared.workload.setupNotes
        return outcome
    }

    /// What the workload said while getting ready (after ``prepare()``), e.g. that seeded rows were missing.
    public var setupNotes: [String] { control.withLock { $0.prepared }?.workload.setupNotes ?? [] }

    static func inFlightBound(of model: LoadModel) -> Int? {
        if case .open(let open) = model { return open.maxInFlight }
        return nil
    }

    // MARK: Closed model

    private func driveClosed(_ model: ClosedModel, context: RunContext<Executor>, group: inout TaskGroup<Void>) async {
        let plan = model.plan
        let leaseSize = model.thinkTime == .none ? 16 : 1
        var spawned = 0
        var limit = 0.0
        var lastTick = context.startNanos
        while !context.isStopping {
            let now = MonotonicClock.nanoseconds()
            if let deadline = context.deadline, now >= deadline {
                stop(.duration)
                break
            }
            let elapsed = Double(now - context.startNanos) / 1e9
            let share = self.share
            let target = (plan.target(at: elapsed) * share).rounded()
            if target > limit, let rate = model.spawnRate {
                limit = min(target, limit + rate * share * Double(now - lastTick) / 1e9)
                if spawned == 0, limit < 1, target >= 1 { limit = 1 }
            } else {
                limit = target
            }
            lastTick = now
            let users = Int(limit.rounded(.down))
            context.gate.setLimit(users)
            while spawned < users {
                let user = spawned
                context.activeTasks.wrappingIncrement(ordering: .relaxed)
                group.addTask(executorPreference: executor.taskExecutor(forTask: user)) {
                    await context.runUser(user, thinkTime: model.thinkTime, leaseSize: leaseSize, runner: self)
                }
                spawned += 1
            }
            if context.workExhausted.load(ordering: .relaxed) {
                // Parked users have nothing left to do; the others finish their leases.
                context.gate.stop()
            }
            if spawned > 0, context.activeTasks.load(ordering: .relaxed) == 0 {
                stop(context.workExhausted.load(ordering: .relaxed) ? .completed : .interrupted)
                break
            }
            try? await Task.sleep(for: .milliseconds(model.spawnRate == nil ? 20 : 10))
        }
    }

    // MARK: Open model

    private func driveOpen(
        _ model: OpenModel, lanes: [(ArrivalLane, ArrivalSchedule)], context: RunContext<Executor>, group: inout TaskGroup<Void>
    ) async {
        let lateness = UInt64(max(0, model.maxLateness.seconds) * 1e9)
        let stopping = self.stopping
        let loops = lanes.compactMap(\.0.loop)
        if executor.startsWithoutSuspending, !lanes.isEmpty, loops.count == lanes.count {
            // Each loop runs its lane's slots itself, without a task per operation (DirectArrivalLane).
            let direct = lanes.enumerated().map { index, pair in
                DirectArrivalLane(
                    loop: loops[index], schedule: pair.1, context: context, runner: self, shard: context.recorder.shard(for: index),
                    maxInFlight: max(1, model.maxInFlight / lanes.count), maxLateness: lateness,
                    taskExecutor: executor.taskExecutor(forTask: pair.0.workers.first ?? 0))
            }
            control.withLock { $0.stopHooks = direct.map { lane in { lane.poke() } } }
            defer { control.withLock { $0.stopHooks = [] } }
            await awaitDirectLanes(direct, context: context, lateness: lateness)
            return
        }
        let dispatchers = lanes.enumerated().map { index, pair in
            let shard = context.recorder.shard(for: index)
            let recorder = context.recorder
            return ArrivalDispatcher(
                schedule: pair.1, deadline: context.deadline, maxLateness: lateness, loop: pair.0.loop,
                isStopping: { stopping.load(ordering: .relaxed) },
                recordDropped: { recorder.recordDropped(shard: shard, count: $0) })
        }
        defer { for dispatcher in dispatchers { dispatcher.finish() } }
        for (index, (lane, _)) in lanes.enumerated() where lane.loop == nil {
            // No loop to set timers on: a dispatcher task sleeps until the slots fall due. It shares its first
            // worker's thread: releasing a worker there is a local enqueue.
            let dispatcher = dispatchers[index]
            group.addTask(executorPreference: executor.taskExecutor(forTask: lane.workers.first ?? 0)) {
                await dispatcher.run(isStopping: { stopping.load(ordering: .relaxed) })
            }
        }
        for (index, (lane, _)) in lanes.enumerated() {
            let dispatcher = dispatchers[index]
            for worker in lane.workers {
                context.activeTasks.wrappingIncrement(ordering: .relaxed)
                group.addTask(executorPreference: executor.taskExecutor(forTask: worker)) {
                    await context.runArrivals(worker, dispatcher: dispatcher, runner: self)
                }
            }
        }
        await awaitOpenRun(context: context, lateness: lateness)
    }

    /// Runs the direct lanes until each has finished its slots (or seen the stop, which pokes them) and its last
    /// operation; nothing polls meanwhile, so no thread wakes beside the loops. A backstop stops the run if the
    /// lanes are still going well after the deadline.
    private func awaitDirectLanes(_ lanes: [DirectArrivalLane<Executor>], context: RunContext<Executor>, lateness: UInt64) async {
        let backstop = Self.backstop(context: context, lateness: lateness)
        await withTaskGroup(of: Bool.self) { waiters in
            for lane in lanes {
                context.activeTasks.wrappingIncrement(ordering: .relaxed)
                waiters.addTask {
                    _ = try? await lane.start().get()
                    context.activeTasks.wrappingDecrement(ordering: .relaxed)
                    return true
                }
            }
            if let backstop {
                waiters.addTask {
                    do { try await MonotonicClock.sleep(until: backstop) } catch { return false }
                    self.stop(.duration)
                    return false
                }
            }
            var finished = 0
            while finished < lanes.count, let laneFinished = await waiters.next() {
                if laneFinished { finished += 1 }
            }
            waiters.cancelAll()
        }
        stopAfterOpenWork(context: context)
    }

    /// When an open run is stopped for being late: well after its deadline (workers and lanes leave once they claim
    /// a slot at or after it, so every slot intended before it runs even when the generator is late).
    private static func backstop(context: RunContext<Executor>, lateness: UInt64) -> UInt64? {
        context.deadline.map { $0 + lateness + 2_000_000_000 }
    }

    /// Stops an open run whose workers or lanes are done: completed when the work ran out, otherwise at its duration.
    private func stopAfterOpenWork(context: RunContext<Executor>) {
        stop(context.workExhausted.load(ordering: .relaxed) ? .completed : .duration)
    }

    /// Waits until the open model's workers are done, or the run stops.
    private func awaitOpenRun(context: RunContext<Executor>, lateness: UInt64) async {
        let backstop = Self.backstop(context: context, lateness: lateness)
        while !context.isStopping {
            if let backstop, MonotonicClock.nanoseconds() >= backstop {
                stop(.duration)
                break
            }
            if context.activeTasks.load(ordering: .relaxed) == 0 {
                stopAfterOpenWork(context: context)
                break
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// One lane of the open model: the workers whose tasks run on one event loop (or, without loops, every worker),
/// served by one ``ArrivalDispatcher`` over one lane of the timetable (``ArrivalSchedule``).
struct ArrivalLane {
    /// The loop the lane's workers run on; `nil` when their tasks do not run on event loops.
    var loop: (any EventLoop)?
    var workers: [Int]

    /// Groups `workers` workers by the event loop their task executor runs on (``EventLoopTaskExecutor``), in the
    /// order the loops first appear; workers without a loop form one lane of their own.
    static func lanes(workers: Int, taskExecutor: (Int) -> (any TaskExecutor)?) -> [ArrivalLane] {
        var lanes: [ArrivalLane] = []
        var laneOfLoop: [ObjectIdentifier: Int] = [:]
        var withoutLoop: Int?
        for worker in 0..<workers {
            if let loop = (taskExecutor(worker) as? EventLoopTaskExecutor)?.eventLoop {
                if let index = laneOfLoop[ObjectIdentifier(loop)] {
                    lanes[index].workers.append(worker)
                } else {
                    laneOfLoop[ObjectIdentifier(loop)] = lanes.count
                    lanes.append(ArrivalLane(loop: loop, workers: [worker]))
                }
            } else if let index = withoutLoop {
                lanes[index].workers.append(worker)
            } else {
                withoutLoop = lanes.count
                lanes.append(ArrivalLane(loop: nil, workers: [worker]))
            }
        }
        return lanes
    }
}

/// The workload with its statements prepared by the executor (a class: the hot path reads it once per operation, and
/// a copy of a struct of arrays cost a reference count per field).
final class PreparedWorkload<Prepared: Sendable>: Sendable {
    /// What the hot path needs of a statement (a trivial value: no reference counting per operation).
    struct Options: Sendable {
        let consistency: CQLConsistency
        let isIdempotent: Bool
        let batchSize: Int
    }

    let workload: any Workload
    let options: [Options]
    let prepared: [Prepared]

    init(workload: any Workload, statements: [WorkloadStatement], prepared: [Prepared]) {
        self.workload = workload
        options = statements.map { Options(consistency: $0.consistency, isIdempotent: $0.isIdempotent, batchSize: $0.batchSize) }
        self.prepared = prepared
    }
}
