import Foundation
import LoadEngine
import Testing
@testable import Fleet

#if canImport(Glibc)
import Glibc
#endif

/// Coordinator and workers in one process over real gRPC on 127.0.0.1, with simulated load (no database): exact
/// totals under worker loss and joins, refusals, coordinator loss and resume. Every wait is bounded.
@Suite(.serialized) struct FleetLoopbackTests {
    static let version = "test-1"

    func coordinatorConfiguration(
        runID: String = "run-\(UInt32.random(in: 0...UInt32.max))", target: UInt64, chunkSize: UInt64 = 500,
        expect: Int, port: Int = 0, token: String? = nil, journal: String? = nil, resume: Bool = false
    ) -> CoordinatorConfiguration {
        CoordinatorConfiguration(
            host: "127.0.0.1", port: port, token: token, expectWorkers: expect, livenessTimeout: .milliseconds(1_500),
            heartbeatInterval: .milliseconds(250), startLead: .milliseconds(200), journalDirectory: journal, resultsPath: nil,
            version: Self.version, run: FleetRunConfiguration(runID: runID, target: target, chunkSize: chunkSize), resume: resume)
    }

    func worker(
        _ id: String, port: Int, store: SimulatedStore, pace: Double = 0, token: String = "", version: String = version,
        reconnectWindow: Duration = .seconds(1)
    ) -> FleetWorker {
        FleetWorker(
            configuration: WorkerConfiguration(
                coordinatorHost: "127.0.0.1", coordinatorPort: port, workerID: id, token: token, version: version, cores: 2,
                connectTimeout: .seconds(20), reconnectWindow: reconnectWindow),
            factory: SimulatedRunFactory(store: store, indexesPerSecond: pace, interval: .milliseconds(200)))
    }

    /// Starts a coordinator; returns its task and port.
    func start(_ configuration: CoordinatorConfiguration) async throws -> (FleetCoordinator, Task<DistributedResults, any Error>, Int) {
        let coordinator = try FleetCoordinator(configuration: configuration)
        let task = Task { try await coordinator.runToCompletion() }
        let port = try await coordinator.listeningPort()
        return (coordinator, task, port)
    }

    /// Waits until `condition` holds, at most `seconds`.
    func waitUntil(_ seconds: Double, _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return await condition()
    }

    /// The result of a task, or nil after `seconds`.
    func value<T: Sendable>(of task: Task<T, any Error>, within seconds: Double) async -> Result<T, any Error>? {
        let box = ResultBox<T>()
        let waiter = Task { box.set(await task.result) }
        _ = await waitUntil(seconds) { box.get() != nil }
        waiter.cancel()
        return box.get()
    }

    @Test func fourWorkersWriteExactlyTheTargetAndPercentilesMergeExactly() async throws {
        let store = SimulatedStore()
        let (coordinator, coordinatorTask, port) = try await start(coordinatorConfiguration(target: 20_000, expect: 4))
        let workers = (1...4).map { worker("w\($0)", port: port, store: store) }
        let workerTasks = workers.map { worker in Task { try await worker.run() } }
        let outcome = await value(of: coordinatorTask, within: 60)
        let results = try #require(try outcome?.get())
        #expect(results.totalMessages == 20_000)
        #expect(results.completed)
        #expect(store.distinctCount == 20_000)
        #expect(results.workers.count == 4)
        #expect(results.workers.map(\.totalMessages).reduce(0, +) == 20_000)
        #expect(results.workers.allSatisfy { $0.status == "finished" && $0.reconciliation.isEmpty })
        // Exact merge: the coordinator's whole-run histogram equals one histogram fed every sample.
        let merged = await coordinator.state.totalMetrics().combined.latency
        let reference = store.allSamples
        #expect(merged.count == reference.count)
        #expect(merged.buckets.map { [$0.value, $0.count] } == reference.buckets.map { [$0.value, $0.count] })
        for percentile in [50.0, 90, 95, 99, 99.9] {
            #expect(merged.valueAtPercentile(percentile) == reference.valueAtPercentile(percentile))
        }
        #expect(merged.maxMicros == reference.maxMicros)
        #expect(results.p50 == Double(reference.valueAtPercentile(50)) / 1000)
        #expect(results.p99 == Double(reference.valueAtPercentile(99)) / 1000)
        for task in workerTasks {
            let summary = try #require(try await value(of: task, within: 10)?.get())
            #expect(summary.runID == results.runID)
        }
    }

    @Test func givenUpIndexesTravelToTheResultsAsRanges() async throws {
        let store = SimulatedStore(timesOut: [10, 11, 2_500, 4_999], appliedDespiteTimeout: [10, 2_500], refused: [12, 3_000])
        let (_, coordinatorTask, port) = try await start(coordinatorConfiguration(target: 5_000, expect: 2))
        let workerTasks = ["w1", "w2"].map { id in Task { try await worker(id, port: port, store: store).run() } }
        let results = try #require(try await value(of: coordinatorTask, within: 60)?.get())
        #expect(results.completed)
        let lists = try #require(results.indexOutcomes)
        #expect(lists.unknown.indexes == [10, 11, 2_500, 4_999])
        #expect(lists.failed.indexes == [12, 3_000])
        #expect(lists.notExecuted.isEmpty)
        #expect(lists.issued == 5_000)
        #expect(results.totalMessages == 5_000 - 6)
        // The results file carries them for `stampede verify --results`.
        let json = try #require(try JSONSerialization.jsonObject(with: try results.json()) as? [String: Any])
        #expect((json["index_outcomes"] as? [String: Any])?["unknown"] != nil)
        for task in workerTasks { _ = try await value(of: task, within: 10)?.get() }
    }

    @Test func aKilledWorkersChunksAreRewrittenAndTheTotalStaysExact() async throws {
        let store = SimulatedStore()
        let (coordinator, coordinatorTask, port) = try await start(coordinatorConfiguration(target: 16_000, chunkSize: 250, expect: 4))
        let tasks = (1...4).map { id in
            let worker = worker("w\(id)", port: port, store: store, pace: 2_000)
            return Task { try await worker.run() }
        }
        #expect(await waitUntil(30) { await coordinator.progress().completed >= 6_000 })
        tasks[1].cancel()  // w2 dies without a word
        let results = try #require(try await value(of: coordinatorTask, within: 60)?.get())
        #expect(results.totalMessages == 16_000)
        #expect(store.distinctCount == 16_000)
        #expect(results.lostWorkers == ["w2"])
        #expect(results.workers.first { $0.workerID == "w2" }?.status == "lost")
        #expect(results.workers.map(\.totalMessages).reduce(0, +) == 16_000)
        for task in tasks { task.cancel() }
    }

    @Test func aWorkerJoiningMidRunTakesWork() async throws {
        let store = SimulatedStore()
        let (coordinator, coordinatorTask, port) = try await start(coordinatorConfiguration(target: 12_000, chunkSize: 200, expect: 2))
        var tasks = (1...2).map { id in
            let worker = worker("w\(id)", port: port, store: store, pace: 2_000)
            return Task { try await worker.run() }
        }
        #expect(await waitUntil(30) { await coordinator.progress().completed >= 2_000 })
        let late = worker("late", port: port, store: store, pace: 2_000)
        tasks.append(Task { try await late.run() })
        let results = try #require(try await value(of: coordinatorTask, within: 60)?.get())
        #expect(results.totalMessages == 12_000)
        #expect(store.distinctCount == 12_000)
        #expect((results.workers.first { $0.workerID == "late" }?.totalMessages ?? 0) > 0)
        for task in tasks { _ = await value(of: task, within: 10) }
    }

    @Test func userSharesFollowCapacityAndRebalanceWhenAWorkerJoins() async throws {
        let store = SimulatedStore()
        var configuration = coordinatorConfiguration(target: 0, expect: 2)
        configuration.run.model = .closed
        configuration.run.users = 90
        configuration.run.duration = .seconds(3)
        let (coordinator, coordinatorTask, port) = try await start(configuration)
        var tasks = ["a", "b"].map { id in
            let worker = worker(id, port: port, store: store, pace: 500)
            return Task { try await worker.run() }
        }
        #expect(await waitUntil(20) { store.shares.count == 2 })
        #expect(store.shares == ["a": 0.5, "b": 0.5])
        let third = worker("c", port: port, store: store, pace: 500)
        tasks.append(Task { try await third.run() })
        #expect(await waitUntil(20) { store.shares.count == 3 && store.shares.values.allSatisfy { abs($0 - 1.0 / 3) < 1e-9 } })
        let results = try #require(try await value(of: coordinatorTask, within: 30)?.get())
        #expect(results.stopReason == "duration-elapsed")
        #expect(results.model == "closed")
        #expect(results.totalMessages == results.workers.map(\.operations).reduce(0, +))
        // Each worker wrote in its own index space.
        #expect(UInt64(store.distinctCount) == store.writeCount)
        _ = coordinator
        for task in tasks { _ = await value(of: task, within: 10) }
    }

    @Test func aWorkerStartedBeforeTheCoordinatorConnectsWhenItComesUp() async throws {
        let store = SimulatedStore()
        let port = try freePort()
        let early = worker("early", port: port, store: store)
        let workerTask = Task { try await early.run() }
        try await Task.sleep(for: .milliseconds(700))
        let (_, coordinatorTask, _) = try await start(coordinatorConfiguration(target: 3_000, expect: 1, port: port))
        let results = try #require(try await value(of: coordinatorTask, within: 60)?.get())
        #expect(results.totalMessages == 3_000)
        #expect(try await value(of: workerTask, within: 10)?.get().workerID == "early")
    }

    @Test func wrongTokenAndVersionMismatchAreRefusedWithClearMessages() async throws {
        let store = SimulatedStore()
        let (_, coordinatorTask, port) = try await start(coordinatorConfiguration(target: 1_000, expect: 1, token: "s3cret"))
        defer { coordinatorTask.cancel() }
        let badToken = Task { try await worker("intruder", port: port, store: store, token: "guess").run() }
        let badTokenResult = await value(of: badToken, within: 20)
        guard case .failure(let tokenError as FleetError)? = badTokenResult else {
            Issue.record("expected a refusal, got \(String(describing: badTokenResult))")
            return
        }
        #expect(tokenError.code == .badToken)
        #expect(tokenError.message.contains("token"))
        let oldVersion = Task { try await worker("old", port: port, store: store, token: "s3cret", version: "0.0.1").run() }
        let versionResult = await value(of: oldVersion, within: 20)
        guard case .failure(let versionError as FleetError)? = versionResult else {
            Issue.record("expected a refusal, got \(String(describing: versionResult))")
            return
        }
        #expect(versionError.code == .versionMismatch)
        #expect(versionError.message.contains("0.0.1") && versionError.message.contains(Self.version))
        #expect(store.writeCount == 0)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"), "needs the openssl command"))
    func tlsProtectsTheFleetPortAndPlaintextWorkersCannotJoin() async throws {
        let directory = NSTemporaryDirectory() + "stampede-fleet-tls-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(directory)/key.pem", "-out", "\(directory)/cert.pem",
            "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ]
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        try #require(openssl.terminationStatus == 0)

        let store = SimulatedStore()
        var configuration = coordinatorConfiguration(target: 2_000, expect: 1)
        configuration.tls = FleetServerTLS(certificateChainPath: "\(directory)/cert.pem", privateKeyPath: "\(directory)/key.pem")
        let (_, coordinatorTask, port) = try await start(configuration)
        // A plaintext worker cannot talk to a TLS port.
        let plain = FleetWorker(
            configuration: WorkerConfiguration(
                coordinatorHost: "127.0.0.1", coordinatorPort: port, workerID: "plain", version: Self.version,
                connectTimeout: .seconds(2)),
            factory: SimulatedRunFactory(store: store))
        let plainResult = await value(of: Task { try await plain.run() }, within: 20)
        guard case .failure(let plainError as FleetError)? = plainResult else {
            Issue.record("expected the plaintext worker to fail, got \(String(describing: plainResult))")
            return
        }
        #expect(plainError.code == .coordinatorUnreachable)
        let secure = FleetWorker(
            configuration: WorkerConfiguration(
                coordinatorHost: "127.0.0.1", coordinatorPort: port, workerID: "secure", version: Self.version,
                connectTimeout: .seconds(20), tls: FleetClientTLS(caPath: "\(directory)/cert.pem")),
            factory: SimulatedRunFactory(store: store, interval: .milliseconds(200)))
        let secureTask = Task { try await secure.run() }
        let results = try #require(try await value(of: coordinatorTask, within: 60)?.get())
        #expect(results.totalMessages == 2_000)
        #expect(try await value(of: secureTask, within: 10)?.get().workerID == "secure")
    }

    @Test func tokenIsRequiredOnANonLoopbackAddress() {
        var configuration = coordinatorConfiguration(target: 10, expect: 1)
        configuration.host = "0.0.0.0"
        #expect(throws: FleetError.self) { try configuration.validate() }
        configuration.token = "t"
        #expect(throws: Never.self) { try configuration.validate() }
    }

    @Test func workersStopWritingAndFailWhenTheCoordinatorDies() async throws {
        let store = SimulatedStore()
        let (coordinator, coordinatorTask, port) = try await start(coordinatorConfiguration(target: 1_000_000, expect: 1))
        let orphan = worker("orphan", port: port, store: store, pace: 2_000, reconnectWindow: .seconds(1))
        let workerTask = Task { try await orphan.run() }
        #expect(await waitUntil(30) { await coordinator.progress().completed >= 1_000 })
        coordinatorTask.cancel()
        let outcome = await value(of: workerTask, within: 15)
        guard case .failure(let error as FleetError)? = outcome else {
            Issue.record("expected the worker to fail, got \(String(describing: outcome))")
            return
        }
        #expect(error.code == .coordinatorLost)
        #expect(error.message.contains("stopped writing"))
        try await Task.sleep(for: .milliseconds(100))
        let written = store.writeCount
        try await Task.sleep(for: .milliseconds(400))
        #expect(store.writeCount == written)
    }

    @Test func resumeAfterTheCoordinatorDiesStillEndsAtExactlyTheTarget() async throws {
        let store = SimulatedStore()
        let journal = NSTemporaryDirectory() + "stampede-fleet-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: journal) }
        let first = coordinatorConfiguration(runID: "resume-me", target: 10_000, chunkSize: 250, expect: 2, journal: journal)
        let (coordinator, coordinatorTask, port) = try await start(first)
        let tasks = (1...2).map { id in
            let worker = worker("w\(id)", port: port, store: store, pace: 2_000, reconnectWindow: .milliseconds(500))
            return Task { try await worker.run() }
        }
        #expect(await waitUntil(30) { await coordinator.progress().completed >= 4_000 })
        coordinatorTask.cancel()
        for task in tasks { _ = await value(of: task, within: 15) }
        let before = store.distinctCount
        #expect(before < 10_000)

        var second = first
        second.resume = true
        let (_, resumedTask, resumedPort) = try await start(second)
        let again = (1...2).map { id in
            let worker = worker("r\(id)", port: resumedPort, store: store)
            return Task { try await worker.run() }
        }
        let results = try #require(try await value(of: resumedTask, within: 60)?.get())
        #expect(results.totalMessages == 10_000)
        #expect(store.distinctCount == 10_000)
        #expect(results.completed)
        for task in again { _ = await value(of: task, within: 10) }
    }
}

/// A thread-safe slot for a result.
final class ResultBox<T: Sendable>: @unchecked Sendable {
    // Safe: every access goes through `lock`.
    private let lock = NSLock()
    private var value: Result<T, any Error>?
    func set(_ result: Result<T, any Error>) { lock.withLock { value = result } }
    func get() -> Result<T, any Error>? { lock.withLock { value } }
}

/// A loopback port that was free a moment ago.
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw FleetError(.invalidConfiguration, "socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard bound == 0 else { throw FleetError(.invalidConfiguration, "bind() failed") }
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw FleetError(.invalidConfiguration, "getsockname() failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}
