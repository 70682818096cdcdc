import Foundation
import LoadEngine

/// An in-memory data source that simulates a distributed run (no database, no workers): for tests, for previewing
/// the dashboard (`stampede-dashboard-demo`), and for the browser test.
///
/// In ``Pacing/realTime`` it produces one simulated second per wall-clock second when asked for a snapshot; in
/// ``Pacing/manual`` seconds advance only through ``advance(seconds:)``, so tests are deterministic.
public actor SimulatedRunDataSource: DashboardDataSource {
    /// How simulated time passes.
    public enum Pacing: Sendable {
        case realTime
        case manual
    }

    let pacing: Pacing
    let workerCount: Int
    var random: SplitMix64
    var runNumber = 0
    var snapshotValue = RunSnapshot.idle
    var histograms: [SecondHistogram] = []
    var failureCounts: [FailureKey: UInt64] = [:]
    var workerTotals: [Int: (total: UInt64, failures: UInt64, rps: Double)] = [:]
    var startInstant = ContinuousClock.now
    var generatedSeconds = 0
    var stopRequested = false
    var loseWorkerAtSecond: Int?
    /// The most per-second histograms kept for the HDR log (older ones are dropped).
    static let keptHistograms = 900

    struct FailureKey: Hashable {
        var operation: String
        var kind: ErrorKind
        var message: String
    }

    /// - Parameters:
    ///   - workers: simulated workers (each shows in the workers table).
    ///   - pacing: real time (demo) or manual (tests).
    ///   - seed: makes the simulated latencies and failures repeatable.
    ///   - loseWorkerAtSecond: declares the last worker lost at that second of each run (to show the marker).
    public init(workers: Int = 2, pacing: Pacing = .realTime, seed: UInt64 = 42, loseWorkerAtSecond: Int? = nil) {
        self.workerCount = max(0, workers)
        self.pacing = pacing
        self.random = SplitMix64(seed: seed)
        self.loseWorkerAtSecond = loseWorkerAtSecond
    }

    public func snapshot() async -> RunSnapshot {
        catchUp()
        return snapshotValue
    }

    /// In real time, produces the seconds that have passed since the last call (at most a minute's worth).
    func catchUp() {
        guard pacing == .realTime, snapshotValue.state.isActive else { return }
        let due = Int((ContinuousClock.now - startInstant).seconds)
        if due > generatedSeconds { advance(seconds: min(due - generatedSeconds, 60)) }
    }

    public func start(_ request: RunStartRequest) async throws -> String {
        guard !snapshotValue.state.isActive else {
            throw DashboardError(.actionRefused, "a run is already in progress; stop it first")
        }
        let request = try request.validated()
        runNumber += 1
        let runID = "sim-\(runNumber)"
        var users = request.users
        var target = request.target
        var planned: Duration? = nil
        if let text = request.duration { planned = try DurationParser.parse(text, what: "duration") }
        if let name = request.scenario, let preset = ScenarioPreset(rawValue: name) {
            let settings = try preset.settings(timeScale: request.timeScale ?? 1)
            users = users ?? settings.model.users
            target = target ?? settings.totalOperations
            planned = planned ?? settings.duration
        }
        let open = request.model == "open"
        var configuration: [String: String] = ["workload": request.workload, "model": open ? "open" : "closed", "simulated": "true"]
        if let target { configuration["target"] = String(target) }
        if let users, !open { configuration["users"] = String(users) }
        if let rate = request.rate, open { configuration["rate"] = String(rate) }
        if let scenario = request.scenario { configuration["scenario"] = scenario }
        if let consistency = request.consistency { configuration["consistency"] = consistency }
        if let contactPoints = request.contactPoints { configuration["contact points"] = contactPoints }
        if let duration = request.duration { configuration["duration"] = duration }
        snapshotValue = RunSnapshot(
            runID: runID, state: .running, workload: request.workload,
            loadDescription: open ? "\(Int(request.rate ?? 0)) ops/s" : "\(users ?? 0) users",
            startedAt: Date(), target: target, plannedDuration: planned,
            users: open ? nil : (users ?? 10), rate: open ? request.rate : nil, configuration: configuration
        )
        histograms = []
        failureCounts = [:]
        workerTotals = [:]
        generatedSeconds = 0
        stopRequested = false
        startInstant = .now
        snapshotValue.workers = workerRows()
        return runID
    }

    public func stop() async throws {
        catchUp()
        guard snapshotValue.state.isActive else { throw DashboardError(.actionRefused, "no run is in progress") }
        stopRequested = true
        snapshotValue.state = .stopping
    }

    public func adjust(_ adjustment: LoadAdjustment) async throws {
        catchUp()
        guard snapshotValue.state == .running else { throw DashboardError(.actionRefused, "no run is in progress") }
        if let users = adjustment.users {
            guard snapshotValue.users != nil else { throw DashboardError(.actionRefused, "this run uses an arrival rate; change the rate instead") }
            snapshotValue.users = users
            snapshotValue.loadDescription = "\(users) users"
        }
        if let rate = adjustment.rate {
            guard snapshotValue.rate != nil else { throw DashboardError(.actionRefused, "this run uses virtual users; change the users instead") }
            snapshotValue.rate = rate
            snapshotValue.loadDescription = "\(Int(rate)) ops/s"
        }
    }

    public func secondHistograms() async -> [SecondHistogram] { histograms }

    public func bundleContext() async -> RunBundleContext {
        RunBundleContext(
            driverSettings: ["simulated": "true", "pool size": "1 connection per host"],
            topology: ClusterTopologySummary(clusterName: "simulated", cassandraVersion: "5.0 (simulated)", nodes: [.init(address: "127.0.0.1:9042", datacenter: "dc1", rack: "rack1", releaseVersion: "5.0")])
        )
    }

    /// Produces `seconds` simulated seconds (manual pacing; real-time pacing calls it itself).
    public func advance(seconds: Int) {
        for _ in 0..<max(0, seconds) where snapshotValue.state.isActive {
            simulateOneSecond()
        }
    }

    func workerRows() -> [WorkerStatus] {
        (0..<workerCount).map { index in
            let totals = workerTotals[index] ?? (0, 0, 0)
            let lost = loseWorkerAtSecond.map { index == workerCount - 1 && generatedSeconds >= $0 } ?? false
            let state: String = lost ? "lost" : (snapshotValue.state.isActive ? "running" : "finished")
            return WorkerStatus(
                id: "worker-\(index + 1)", host: "127.0.0.1", state: state, currentRPS: lost ? 0 : totals.rps,
                total: totals.total, failures: totals.failures, cpu: lost ? nil : min(0.95, 0.1 + totals.rps / 20_000),
                secondsSinceHeartbeat: lost ? Double(generatedSeconds - (loseWorkerAtSecond ?? 0)) + 0.5 : 0.4,
                joinedMidRun: false, wasLost: lost
            )
        }
    }

    func simulateOneSecond() {
        let second = generatedSeconds
        let mixed = snapshotValue.workload == "chat-mixed"
        let lastWorkerLost = workerCount > 1 && loseWorkerAtSecond.map { second >= $0 } == true
        let activeWorkers = max(1, lastWorkerLost ? workerCount - 1 : workerCount)
        // Closed model: each user about 20 ops/s, ramping over the first 3 s; open model: the rate.
        let ramp = min(1, Double(second + 1) / 3)
        var planned = snapshotValue.rate ?? Double(snapshotValue.users ?? 10) * 20 * ramp
        planned *= 0.9 + 0.2 * Double(random.next() % 1000) / 1000
        var operations = UInt64(max(0, planned.rounded()))
        if let target = snapshotValue.target {
            let done = snapshotValue.completed ?? 0
            operations = min(operations, target > done ? target - done : 0)
        }
        var interval = MetricsSnapshot()
        var perWorker = [UInt64](repeating: 0, count: max(workerCount, 1))
        var perWorkerFailures = [UInt64](repeating: 0, count: max(workerCount, 1))
        var secondHistogram = LatencyHistogram()
        let load = Double(snapshotValue.users ?? 0) + (snapshotValue.rate ?? 0) / 20
        for index in 0..<Int(operations) {
            let name = mixed && index % 3 == 0 ? "read_messages" : "send_message"
            var metrics = interval.operations[name] ?? OperationMetrics()
            let roll = random.next() % 10_000
            let worker = index % activeWorkers
            if roll < 30 {
                let kind: ErrorKind = roll < 20 ? .timeout : (roll < 27 ? .overloaded : .unavailable)
                let message: String
                switch kind {
                case .timeout: message = "write timeout: 0 of 1 replicas acknowledged (LOCAL_ONE)"
                case .overloaded: message = "server overloaded: too many in-flight requests"
                case .unavailable: message = "not enough replicas alive for LOCAL_QUORUM (1 of 2)"
                case .other: message = "other"
                }
                metrics.recordFailure(OperationFailure(kind: kind, outcomeUnknown: kind == .timeout, isRetryable: true, message: message), final: true)
                failureCounts[FailureKey(operation: name, kind: kind, message: message), default: 0] += 1
                perWorkerFailures[worker] += 1
            } else {
                // About 1–3 ms, a long tail growing with the load.
                let base = 900 + random.next() % 1200
                let tail = random.next() % 100 < 2 ? random.next() % (5_000 + UInt64(load) * 40) : 0
                let latency = base + tail
                metrics.recordSuccess(latencyMicros: latency)
                secondHistogram.record(micros: latency)
            }
            perWorker[worker] += 1
            interval.operations[name] = metrics
        }
        snapshotValue.total.merge(interval)
        snapshotValue.recent = interval
        snapshotValue.completed = (snapshotValue.completed ?? 0) + interval.combined.successes
        snapshotValue.series.append(SecondSample(second: second, metrics: interval, load: snapshotValue.users.map(Double.init) ?? snapshotValue.rate))
        histograms.append(SecondHistogram(second: second, histogram: secondHistogram))
        if histograms.count > Self.keptHistograms { histograms.removeFirst(histograms.count - Self.keptHistograms) }
        for index in 0..<workerCount {
            let previous = workerTotals[index] ?? (0, 0, 0)
            workerTotals[index] = (previous.total + perWorker[index], previous.failures + perWorkerFailures[index], Double(perWorker[index]))
        }
        snapshotValue.failures = failureCounts.map { FailureRecord(operation: $0.key.operation, kind: $0.key.kind, message: $0.key.message, count: $0.value) }
        generatedSeconds += 1
        snapshotValue.elapsed = .seconds(generatedSeconds)
        let reachedTarget = snapshotValue.target.map { (snapshotValue.completed ?? 0) >= $0 } ?? false
        let overTime = snapshotValue.plannedDuration.map { Duration.seconds(generatedSeconds) >= $0 } ?? false
        if stopRequested || reachedTarget || overTime {
            snapshotValue.state = .finished
            snapshotValue.message = stopRequested ? "Stopped from the dashboard." : (reachedTarget ? "Target reached." : "Duration over.")
        }
        snapshotValue.workers = workerRows()
    }
}
