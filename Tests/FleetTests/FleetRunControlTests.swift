import Foundation
import LoadEngine
import Synchronization
import Testing
@testable import Fleet

/// The operator's controls over real gRPC on 127.0.0.1 with simulated load: changing users or rate of a running run
/// reaches the workers' shares, and an interactive coordinator runs again on the same connected workers with exact
/// totals. Every wait is bounded.
@Suite(.serialized) struct FleetRunControlTests {
    let loopback = FleetLoopbackTests()

    func configuration(_ run: FleetRunConfiguration, expect: Int, keepWorkers: Bool = false) -> CoordinatorConfiguration {
        // Nothing here tests losing a worker: a liveness timeout of 5 s (both sides use it) rides out the few seconds
        // a busy CI machine sometimes freezes every process for, which at 1.5 s declared idle workers lost.
        var configuration = CoordinatorConfiguration(
            host: "127.0.0.1", port: 0, expectWorkers: expect, livenessTimeout: .seconds(5),
            heartbeatInterval: .milliseconds(250), startLead: .milliseconds(200), journalDirectory: nil, resultsPath: nil,
            version: FleetLoopbackTests.version, run: run)
        configuration.keepWorkers = keepWorkers
        return configuration
    }

    static func runID() -> String { "run-\(UInt32.random(in: 0...UInt32.max))" }

    @Test func changingUsersReachesTheWorkersSharesAndAddsUpExactly() async throws {
        let store = SimulatedStore()
        var run = FleetRunConfiguration(runID: Self.runID(), model: .closed, duration: .seconds(20), users: 90)
        run.chunkSize = 500
        let (coordinator, coordinatorTask, port) = try await loopback.start(configuration(run, expect: 2))
        let tasks = ["a", "b"].map { id in
            let worker = loopback.worker(id, port: port, store: store, pace: 500)
            return Task { try await worker.run() }
        }
        #expect(await loopback.waitUntil(20) { store.shares == ["a": 0.5, "b": 0.5] })
        // 30 users: 15 each, i.e. 15/90 of the configured plan.
        try await coordinator.adjustLoad(users: 30)
        #expect(await loopback.waitUntil(10) { store.shares.values.allSatisfy { abs($0 - 15.0 / 90) < 1e-12 } })
        // 3 users on two equal workers: 2 and 1, adding up to exactly 3.
        try await coordinator.adjustLoad(users: 3)
        #expect(await loopback.waitUntil(10) { abs(store.shares.values.reduce(0, +) * 90 - 3) < 1e-9 })
        let users = store.shares.values.map { ($0 * 90).rounded() }.sorted()
        #expect(users == [1, 2])
        #expect(await coordinator.runControlStatus().users == 3)
        // A rate for a closed-model run is refused with a message saying why.
        await #expect(throws: FleetError.self) { try await coordinator.adjustLoad(rate: 10) }
        await coordinator.stop()
        let results = try #require(try await loopback.value(of: coordinatorTask, within: 30)?.get())
        #expect(results.stopReason == "operator")
        for task in tasks { _ = await loopback.value(of: task, within: 10) }
    }

    @Test func changingTheRateReachesTheWorkersShares() async throws {
        let store = SimulatedStore()
        let run = FleetRunConfiguration(runID: Self.runID(), model: .open, duration: .seconds(20), rate: 100)
        let (coordinator, coordinatorTask, port) = try await loopback.start(configuration(run, expect: 2))
        let tasks = ["a", "b"].map { id in
            let worker = loopback.worker(id, port: port, store: store, pace: 500)
            return Task { try await worker.run() }
        }
        #expect(await loopback.waitUntil(20) { store.shares == ["a": 0.5, "b": 0.5] })
        try await coordinator.adjustLoad(rate: 300)
        // 150 ops/s each: 1.5 times the configured plan of 100 ops/s for the whole run.
        #expect(await loopback.waitUntil(10) { store.shares.values.allSatisfy { abs($0 - 1.5) < 1e-12 } && store.shares.count == 2 })
        await coordinator.stop()
        _ = try #require(try await loopback.value(of: coordinatorTask, within: 30)?.get())
        for task in tasks { _ = await loopback.value(of: task, within: 10) }
    }

    @Test func fixedTotalRunsRefuseLoadChangesAndOneRunCoordinatorsRefuseANextRun() async throws {
        let store = SimulatedStore()
        let run = FleetRunConfiguration(runID: Self.runID(), target: 4_000, chunkSize: 200)
        let (coordinator, coordinatorTask, port) = try await loopback.start(configuration(run, expect: 1))
        let worker = loopback.worker("w", port: port, store: store, pace: 2_000)
        let task = Task { try await worker.run() }
        #expect(await loopback.waitUntil(20) { await coordinator.progress().phase == .running })
        do {
            try await coordinator.adjustLoad(users: 10)
            Issue.record("a fixed-total run accepted a change of users")
        } catch {
            #expect(error.code == .actionRefused)
            #expect(error.message.contains("fixed total"))
        }
        let results = try #require(try await loopback.value(of: coordinatorTask, within: 30)?.get())
        #expect(results.totalMessages == 4_000)
        do {
            try await coordinator.startNextRun(FleetRunConfiguration(runID: Self.runID(), target: 10))
            Issue.record("a one-run coordinator started a second run")
        } catch {
            #expect(error.code == .actionRefused)
            #expect(error.message.contains("--keep-workers"))
        }
        _ = await loopback.value(of: task, within: 10)
    }

    @Test func aSecondRunOnTheSameConnectedWorkersIsExact() async throws {
        let store = SimulatedStore()
        let first = FleetRunConfiguration(runID: Self.runID(), target: 6_000, chunkSize: 250)
        let coordinator = try FleetCoordinator(configuration: configuration(first, expect: 2, keepWorkers: true))
        let finished = ResultsList()
        let serving = Task { try await coordinator.serveRuns { finished.append($0) } }
        let port = try await coordinator.listeningPort()
        let workers = ["a", "b"].map { loopback.worker($0, port: port, store: store, pace: 4_000) }
        let workerTasks = workers.map { worker in Task { try await worker.run() } }

        #expect(await loopback.waitUntil(60) { finished.count == 1 })
        let one = try #require(finished.all.first)
        #expect(one.runID == first.runID)
        #expect(one.totalMessages == 6_000 && one.completed)
        #expect(one.workers.allSatisfy { $0.status == "finished" && $0.reconciliation.isEmpty })
        // The workers stayed connected and idle.
        #expect(workerTasks.allSatisfy { !$0.isCancelled })
        #expect(await coordinator.progress().phase == .finished)

        var second = first
        second.runID = Self.runID()
        second.target = 3_500
        #expect(try await coordinator.startNextRun(second) == second.runID)
        #expect(await loopback.waitUntil(60) { finished.count == 2 })
        let two = try #require(finished.all.last)
        #expect(two.runID == second.runID)
        #expect(two.totalMessages == 3_500 && two.completed)
        #expect(two.workers.count == 2)
        #expect(two.workers.map(\.totalMessages).reduce(0, +) == 3_500)
        #expect(two.workers.allSatisfy { $0.status == "finished" && $0.reconciliation.isEmpty })
        #expect(two.lostWorkers.isEmpty)
        // Every index of both runs written once per run: 0..<6000 by the first, 0..<3500 by the second.
        #expect(store.writeCount == 9_500)
        #expect(store.distinctCount == 6_000)
        #expect(await coordinator.runControlStatus().runsStarted == 2)

        // Shutting the coordinator down lets the idle workers go; each reports the last run it took part in.
        serving.cancel()
        _ = await loopback.value(of: serving, within: 20)
        for task in workerTasks {
            let summary = try #require(try await loopback.value(of: task, within: 20)?.get())
            #expect(summary.runID == second.runID)
        }
    }

    @Test func anInteractiveCoordinatorWaitsForItsFirstRunWithWorkersConnected() async throws {
        let store = SimulatedStore()
        var template = FleetRunConfiguration(runID: "template")
        template.target = 0
        var configuration = configuration(template, expect: 1, keepWorkers: true)
        configuration.waitForFirstRun = true
        let coordinator = try FleetCoordinator(configuration: configuration)
        let finished = ResultsList()
        let serving = Task { try await coordinator.serveRuns { finished.append($0) } }
        let port = try await coordinator.listeningPort()
        let worker = loopback.worker("solo", port: port, store: store, pace: 4_000)
        let workerTask = Task { try await worker.run() }
        #expect(await loopback.waitUntil(20) { await coordinator.progress().workers["solo"] == .registered })
        // Connected, but nothing runs until a run is given.
        #expect(await coordinator.progress().phase == .finished)
        #expect(await coordinator.runControlStatus().runsStarted == 0)
        #expect(store.writeCount == 0)

        let run = FleetRunConfiguration(runID: Self.runID(), model: .closed, duration: .seconds(1), users: 4)
        try await coordinator.startNextRun(run)
        #expect(await loopback.waitUntil(30) { finished.count == 1 })
        let results = try #require(finished.all.first)
        #expect(results.runID == run.runID)
        #expect(results.stopReason == "duration-elapsed")
        #expect(results.operations > 0)
        serving.cancel()
        _ = await loopback.value(of: serving, within: 20)
        _ = await loopback.value(of: workerTask, within: 20)
    }

    @Test func betweenRunsAFinishedWorkerRegisteringAgainIsTakenBackAndTheNextRunForgetsTheGone() {
        var registry = WorkerRegistry(livenessTimeout: .seconds(1))
        let now = ContinuousClock.now
        _ = registry.register(id: "a", host: "h", cores: 1, capacity: 0, running: true, now: now)
        _ = registry.register(id: "b", host: "h", cores: 1, capacity: 0, running: true, now: now)
        registry.finish("a")
        registry.finish("b")
        #expect(registry.register(id: "a", host: "h", cores: 1, capacity: 0, running: false, now: now) == .alreadyFinished)
        registry.readmitIdle("a")
        #expect(registry.register(id: "a", host: "h", cores: 1, capacity: 0, running: false, now: now)
            == .reconnected(session: 2, wasLost: false, previous: .registered))
        // The next run keeps the connected worker (same session) and forgets the one that went away.
        registry.beginNextRun(keeping: ["a"])
        #expect(registry.workers.keys.sorted() == ["a"])
        #expect(registry.workers["a"]?.state == .registered && registry.workers["a"]?.session == 2)
    }

    @Test func errorMessagesTravelWithTheIntervalsAndMergeBounded() throws {
        var metrics = OperationMetrics()
        let timeout = OperationFailure(kind: .timeout, outcomeUnknown: true, isRetryable: true, message: "client timeout after 2s")
        let unavailable = OperationFailure(kind: .unavailable, outcomeUnknown: false, isRetryable: true, message: "2 replicas required, 1 alive")
        metrics.recordFailure(timeout, final: false)
        metrics.recordFailure(timeout, final: true)
        metrics.recordFailure(unavailable, final: true)
        let back = try OperationMetrics(wire: metrics.wire(name: "insert_message"))
        #expect(back.errorMessages == metrics.errorMessages)
        #expect(back.errorMessages.counts[.init(kind: .timeout, message: "client timeout after 2s")] == 2)
        // Two workers' intervals merge on the coordinator.
        var aggregator = StatsAggregator()
        let snapshot = MetricsSnapshot(operations: ["insert_message": back])
        aggregator.ingest(WorkerInterval(sequence: 1, second: 0, metrics: snapshot, health: [:], notes: []), from: "a")
        aggregator.ingest(WorkerInterval(sequence: 1, second: 0, metrics: snapshot, health: [:], notes: []), from: "b")
        let merged = try #require(aggregator.total.operations["insert_message"])
        #expect(merged.errorMessages.counts[.init(kind: .timeout, message: "client timeout after 2s")] == 4)
        #expect(merged.errorMessages.counts[.init(kind: .unavailable, message: "2 replicas required, 1 alive")] == 2)
        // A worker cannot make the coordinator keep more than the bound, however many messages it sends.
        var flood = back.wire(name: "insert_message")
        flood.errorMessages = (0..<100).map { index in
            var entry = Stampede_Fleet_V1_ErrorMessageCount()
            entry.kind = "other"
            entry.message = "host 10.0.0.\(index) refused" + String(repeating: "!", count: 300)
            entry.count = 1
            return entry
        }
        let bounded = try OperationMetrics(wire: flood).errorMessages
        #expect(bounded.counts.count <= ErrorMessageCounts.limit + 1)
        #expect(bounded.counts.keys.allSatisfy { $0.message.count <= ErrorMessageCounts.maxMessageLength })
        #expect(bounded.counts.values.reduce(0, +) == 100)
        #expect((bounded.counts[.init(kind: .other, message: ErrorMessageCounts.overflowMessage)] ?? 0) > 0)
    }
}

/// Results handed over by `serveRuns`, read by the test.
final class ResultsList: Sendable {
    private let list = Mutex<[DistributedResults]>([])
    func append(_ results: DistributedResults) { list.withLock { $0.append(results) } }
    var all: [DistributedResults] { list.withLock { $0 } }
    var count: Int { all.count }
}
