import Dashboard
import Foundation
import LoadEngine
import Synchronization

/// A data source with a hand-built snapshot and recorded control calls, for exact assertions.
final class StaticDataSource: DashboardDataSource {
    let state: Mutex<RunSnapshot>
    let calls = Mutex<[String]>([])

    init(_ snapshot: RunSnapshot = StaticDataSource.sample()) {
        state = Mutex(snapshot)
    }

    func snapshot() async -> RunSnapshot { state.withLock { $0 } }

    func start(_ request: RunStartRequest) async throws -> String {
        calls.withLock { $0.append("start \(request.workload) users=\(request.users.map(String.init) ?? "-")") }
        return "run-2"
    }

    func stop() async throws {
        calls.withLock { $0.append("stop") }
        throw DashboardError(.actionRefused, "no run is in progress")
    }

    func adjust(_ adjustment: LoadAdjustment) async throws {
        calls.withLock { $0.append("adjust users=\(adjustment.users.map(String.init) ?? "-")") }
    }

    func bundleContext() async -> RunBundleContext {
        RunBundleContext(driverSettings: ["consistency": "LOCAL_QUORUM"], topology: ClusterTopologySummary(cassandraVersion: "5.0.2", nodes: [.init(address: "127.0.0.1:9042")]))
    }

    /// send_message: successes at 1, 2, 3 and 4 ms, one timeout; read_messages: one success at 10 ms. 10 s elapsed.
    static func sample() -> RunSnapshot {
        var send = OperationMetrics()
        for micros: UInt64 in [1000, 2000, 3000, 4000] { send.recordSuccess(latencyMicros: micros) }
        send.recordFailure(OperationFailure(kind: .timeout, outcomeUnknown: true, isRetryable: true, message: "write timeout, \"quoted\""), final: true)
        var read = OperationMetrics()
        read.recordSuccess(latencyMicros: 10_000)
        let total = MetricsSnapshot(operations: ["send_message": send, "read_messages": read])
        var recent = OperationMetrics()
        recent.recordSuccess(latencyMicros: 4000)
        return RunSnapshot(
            runID: "run-1", state: .running, workload: "chat-write", loadDescription: "10 users",
            startedAt: Date(timeIntervalSince1970: 1_700_000_000), elapsed: .seconds(10), target: 100, users: 10,
            total: total, recent: MetricsSnapshot(operations: ["send_message": recent]),
            series: [
                SecondSample(second: 0, requests: 3, failures: 1, percentilesMicros: [1000, 1000, 2000, 2000, 2000, 2000, 2000, 2000, 2000, 2000, 2000], load: 10),
                SecondSample(second: 1, requests: 3, failures: 0, percentilesMicros: [3000, 3000, 4000, 4000, 10000, 10000, 10000, 10000, 10000, 10000, 10000], load: 10),
            ],
            failures: [FailureRecord(operation: "send_message", kind: .timeout, message: "write timeout, \"quoted\"", count: 1)],
            workers: [
                WorkerStatus(id: "w2", host: "10.0.0.2", state: "lost", total: 2, wasLost: true),
                WorkerStatus(id: "w1", host: "10.0.0.1", state: "running", currentRPS: 1, total: 4, cpu: 0.25, secondsSinceHeartbeat: 0.5),
            ],
            configuration: ["workload": "chat-write", "target": "100"]
        )
    }
}
