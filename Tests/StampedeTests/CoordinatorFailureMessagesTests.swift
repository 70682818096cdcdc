import Dashboard
import Foundation
import Hummingbird
import HummingbirdTesting
import LoadEngine
import Synchronization
import Testing
@testable import Fleet
@testable import stampede

/// Failures by kind and message, end to end: workers record failed attempts with their messages, ship them with their
/// interval statistics, the coordinator merges them, and the dashboard's failures table, `failures.csv` (Locust's
/// columns) and the HTML report show operation, kind, message and count.
@Suite(.serialized) struct CoordinatorFailureMessagesTests {
    /// A worker run that fails a fixed number of attempts with known messages, in one interval, then waits for Stop.
    final class FailingRun: FleetRun {
        static let timeouts = 3
        static let unavailable = 2
        let stopped = Mutex(false)

        func run(startingAt start: UInt64?, onInterval: @escaping @Sendable (IntervalReport) async -> Void) async throws -> MetricsSnapshot {
            if let start { try await MonotonicClock.sleep(until: start) }
            var metrics = OperationMetrics()
            for _ in 0..<Self.timeouts {
                metrics.recordFailure(OperationFailure(kind: .timeout, outcomeUnknown: true, isRetryable: true, message: "client timeout after 2s"), final: true)
            }
            for _ in 0..<Self.unavailable {
                metrics.recordFailure(
                    OperationFailure(kind: .unavailable, outcomeUnknown: false, isRetryable: true, message: "QUORUM needs 2 replicas, 1 alive"),
                    final: true)
            }
            metrics.recordSuccess(latencyMicros: 1_500)
            let snapshot = MetricsSnapshot(operations: ["send_message": metrics])
            await onInterval(IntervalReport(second: 0, metrics: snapshot, health: GeneratorHealth()))
            // Bounded: the coordinator stops the run after its one-second duration.
            for _ in 0..<300 where !stopped.withLock({ $0 }) { try? await Task.sleep(for: .milliseconds(50)) }
            return snapshot
        }

        func stop() { stopped.withLock { $0 = true } }
        func setShare(_ share: Double) {}
        func revokeChunks(_ ids: Set<UInt64>) {}
    }

    struct FailingFactory: FleetRunFactory {
        func makeRun(for assignment: WorkerAssignment, source: any WorkSource) async throws -> any FleetRun { FailingRun() }
    }

    @Test func failuresByKindAndMessageReachTheTableTheCSVAndTheReport() async throws {
        let version = "test-failures"
        let run = FleetRunConfiguration(runID: "failing-\(UInt32.random(in: 0...UInt32.max))", model: .closed, duration: .seconds(1), users: 2)
        let coordinator = try FleetCoordinator(
            configuration: CoordinatorConfiguration(
                host: "127.0.0.1", port: 0, expectWorkers: 2, livenessTimeout: .milliseconds(1_500), heartbeatInterval: .milliseconds(250),
                startLead: .milliseconds(200), journalDirectory: nil, resultsPath: nil, version: version, run: run))
        let finished = Task { try await coordinator.runToCompletion() }
        let port = try await coordinator.listeningPort()
        let workers = ["w1", "w2"].map { id in
            let worker = FleetWorker(
                configuration: WorkerConfiguration(
                    coordinatorHost: "127.0.0.1", coordinatorPort: port, workerID: id, version: version, cores: 1,
                    connectTimeout: .seconds(20), reconnectWindow: .seconds(1)),
                factory: FailingFactory())
            return Task { try await worker.run() }
        }
        let results = try await finished.value
        #expect(results.failures == UInt64(2 * (FailingRun.timeouts + FailingRun.unavailable)))
        for worker in workers { _ = try await worker.value }

        let app = DashboardServer(
            configuration: DashboardConfiguration(stampedeVersion: version),
            dataSource: FleetDashboardSource(coordinator: coordinator, version: version)
        ).makeApplication()
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/failures", method: .get) { response in
                let body = try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
                let rows = try #require(body["failures"] as? [[String: Any]])
                #expect(rows.count == 2)
                #expect(rows.first?["operation"] as? String == "send_message")
                #expect(rows.first?["kind"] as? String == "timeout")
                #expect(rows.first?["message"] as? String == "client timeout after 2s")
                #expect(rows.first?["count"] as? Int == 2 * FailingRun.timeouts)
                #expect(rows.last?["kind"] as? String == "unavailable")
                #expect(rows.last?["count"] as? Int == 2 * FailingRun.unavailable)
            }
            try await client.execute(uri: "/reports/failures.csv", method: .get) { response in
                let lines = String(buffer: response.body).split(separator: "\n").map(String.init)
                #expect(lines == [
                    "Method,Name,Error,Occurrences",
                    "CQL,send_message,timeout: client timeout after 2s,\(2 * FailingRun.timeouts)",
                    "CQL,send_message,\"unavailable: QUORUM needs 2 replicas, 1 alive\",\(2 * FailingRun.unavailable)",
                ])
            }
            try await client.execute(uri: "/reports/report.html", method: .get) { response in
                let html = String(buffer: response.body)
                #expect(html.contains("client timeout after 2s"))
                #expect(html.contains("QUORUM needs 2 replicas, 1 alive"))
            }
        }
    }
}
