import Dashboard
import Foundation
import Hummingbird
import HummingbirdTesting
import LoadEngine
import Testing
@testable import Fleet
@testable import stampede

/// The dashboard's control routes against a real coordinator (gRPC on 127.0.0.1, two simulated workers, no database)
/// through the coordinator's dashboard adapter: start from the form, change the users while the run runs, stop, and a
/// second run on the same connected workers; refusals answer 409 or 400 with the coordinator's reason. Every wait is
/// bounded.
@Suite(.serialized) struct CoordinatorDashboardRouteTests {
    static let version = "test-route"

    struct Fleet {
        let coordinator: FleetCoordinator
        let serving: Task<Void, any Error>
        let workers: [Task<WorkerSummary, any Error>]
        let store: SimulatedStore

        func shutDown() async {
            serving.cancel()
            _ = await serving.result
            for worker in workers { _ = await worker.result }
        }
    }

    func startFleet(keepWorkers: Bool, waitForFirstRun: Bool, run: FleetRunConfiguration) async throws -> Fleet {
        var configuration = CoordinatorConfiguration(
            host: "127.0.0.1", port: 0, expectWorkers: 2, livenessTimeout: .milliseconds(1_500), heartbeatInterval: .milliseconds(250),
            startLead: .milliseconds(200), journalDirectory: nil, resultsPath: nil, version: Self.version, run: run)
        configuration.keepWorkers = keepWorkers
        configuration.waitForFirstRun = waitForFirstRun
        let coordinator = try FleetCoordinator(configuration: configuration)
        let serving = Task { try await coordinator.serveRuns { _ in } }
        let port = try await coordinator.listeningPort()
        let store = SimulatedStore()
        let workers = ["w1", "w2"].map { id in
            let worker = FleetWorker(
                configuration: WorkerConfiguration(
                    coordinatorHost: "127.0.0.1", coordinatorPort: port, workerID: id, version: Self.version, cores: 2,
                    connectTimeout: .seconds(20), reconnectWindow: .seconds(1)),
                factory: SimulatedRunFactory(store: store, indexesPerSecond: 2_000, interval: .milliseconds(200)))
            return Task { try await worker.run() }
        }
        return Fleet(coordinator: coordinator, serving: serving, workers: workers, store: store)
    }

    func app(_ coordinator: FleetCoordinator) -> some ApplicationProtocol {
        DashboardServer(
            configuration: DashboardConfiguration(stampedeVersion: Self.version),
            dataSource: FleetDashboardSource(coordinator: coordinator, version: Self.version)
        ).makeApplication()
    }

    func waitUntil(_ seconds: Double, _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return try await condition()
    }

    func summary(_ client: some TestClientProtocol) async throws -> RunSummary {
        try await client.execute(uri: "/api/run", method: .get) { response in
            try JSONDecoder().decode(RunSummary.self, from: Data(buffer: response.body))
        }
    }

    func post(_ client: some TestClientProtocol, _ path: String, _ json: String) async throws -> (HTTPResponse.Status, String) {
        try await client.execute(uri: path, method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: json)) {
            ($0.status, String(buffer: $0.body))
        }
    }

    @Test func startEditStopAndASecondRunThroughTheControlRoutes() async throws {
        let fleet = try await startFleet(keepWorkers: true, waitForFirstRun: true, run: FleetRunConfiguration(runID: "template"))
        try await app(fleet.coordinator).test(.router) { client in
            #expect(try await waitUntil(20) { await fleet.coordinator.progress().workers.count == 2 })
            #expect(try await summary(client).state == .idle)
            // Nothing runs yet: a change of users is refused with the reason.
            let early = try await post(client, "/api/adjust", #"{"users":5}"#)
            #expect(early.0 == .conflict && early.1.contains("no run is running"))

            // Start from the form: 10 users for at most 30 s.
            let started = try await post(client, "/api/start", #"{"workload":"chat-write","users":10,"duration":"30s"}"#)
            #expect(started.0 == .accepted)
            let firstRun = try #require(try JSONSerialization.jsonObject(with: Data(started.1.utf8)) as? [String: String])["runID"]
            #expect(try await waitUntil(20) { try await summary(client).state == .running })
            #expect(try await waitUntil(10) { fleet.store.shares.count == 2 && abs(fleet.store.shares.values.reduce(0, +) - 1) < 1e-9 })
            // A second start while it runs is refused.
            #expect(try await post(client, "/api/start", #"{"workload":"chat-write","users":1,"duration":"1s"}"#).0 == .conflict)

            // Edit the users while running: 4 users, 2 per worker, i.e. 0.2 of the configured 10 each.
            let edited = try await post(client, "/api/adjust", #"{"users":4}"#)
            #expect(edited.0 == .accepted)
            #expect(try await summary(client).users == 4)
            #expect(try await waitUntil(10) { fleet.store.shares.values.allSatisfy { abs($0 - 0.2) < 1e-12 } })
            // A rate for a closed-model run is refused.
            let wrong = try await post(client, "/api/adjust", #"{"rate":50}"#)
            #expect(wrong.0 == .conflict && wrong.1.contains("closed-model"))

            // Stop; the run finishes.
            #expect(try await post(client, "/api/stop", "{}").0 == .accepted)
            #expect(try await waitUntil(20) { try await summary(client).state == .finished })

            // Bad forms for the next run answer 400 with the cause.
            let profile = try await post(client, "/api/start", #"{"workload":"profile","profile":"missing-x.yaml","users":1,"duration":"5s"}"#)
            #expect(profile.0 == .badRequest && profile.1.contains("cannot read the profile missing-x.yaml"))
            let duration = try await post(client, "/api/start", #"{"workload":"chat-write","users":1,"duration":"soon"}"#)
            #expect(duration.0 == .badRequest)

            // A second run on the same connected workers: an exact fixed total, with 4 users in all (2 in flight each).
            let next = try await post(client, "/api/start", #"{"workload":"chat-write","users":4,"target":2000}"#)
            #expect(next.0 == .accepted)
            let secondRun = try #require(try JSONSerialization.jsonObject(with: Data(next.1.utf8)) as? [String: String])["runID"]
            #expect(secondRun != firstRun)
            #expect(try await waitUntil(30) {
                let now = try await summary(client)
                return now.runID == secondRun && now.state == .finished
            })
            let final = try await summary(client)
            #expect(final.completed == 2_000)
            #expect(final.target == 2_000)
            #expect(final.workersLost == 0)
            #expect(await fleet.coordinator.liveView().configuration.concurrency == 2)
        }
        await fleet.shutDown()
    }

    @Test func aOneRunCoordinatorRefusesANewRunWithTheReason() async throws {
        let run = FleetRunConfiguration(runID: "one-\(UInt32.random(in: 0...UInt32.max))", target: 1_000, chunkSize: 100)
        let fleet = try await startFleet(keepWorkers: false, waitForFirstRun: false, run: run)
        try await app(fleet.coordinator).test(.router) { client in
            #expect(try await waitUntil(30) { try await summary(client).state == .finished })
            let again = try await post(client, "/api/start", #"{"workload":"chat-write","users":1,"target":10}"#)
            #expect(again.0 == .conflict && again.1.contains("--keep-workers"))
            let adjust = try await post(client, "/api/adjust", #"{"users":3}"#)
            #expect(adjust.0 == .conflict)
        }
        await fleet.shutDown()
    }
}
