import CQLClient
import CQLProtocol
import Fleet
import Foundation
import LoadEngine
import Logging
import Verification

/// `stampede coordinator --doctor`: the doctor's checks run from the coordinator itself, with what only it knows
/// (the connected workers and their measured clock offsets).
enum CoordinatorDoctor {
    /// The cluster checks before the run: contact points, every node, versions, schema, replication vs consistency.
    static func checkCluster(_ configuration: CoordinatorConfiguration, logger: Logger) async -> DoctorReport {
        let run = configuration.run
        var options = DoctorOptions(
            contactPoints: run.contactPoints, keyspace: run.keyspace.isEmpty ? ChatSchema.keyspace : run.keyspace,
            consistency: CQLConsistency(name: run.consistency) ?? .one)
        if !run.workload.hasPrefix("chat-") { options.tables = [] }
        if !run.username.isEmpty { options.connection.credentials = CQLCredentials(username: run.username, password: run.password) }
        return await Doctor(options: options, logger: logger).run()
    }

    /// Once the run has started (every expected worker connected, offsets measured): one line per worker clock,
    /// OK / WARN / FAIL. `nil` when the run ended before any worker was seen.
    static func workerClockChecks(_ coordinator: FleetCoordinator) async -> String? {
        while !Task.isCancelled {
            let view = await coordinator.liveView()
            switch view.progress.phase {
            case .waitingForWorkers:
                try? await Task.sleep(for: .milliseconds(200))
                continue
            case .running, .stopping, .finished:
                guard !view.workers.isEmpty else { return nil }
                let offsets = view.workers.map { (name: $0.id, offset: Duration.nanoseconds($0.clockOffsetNanos)) }
                var report = DoctorReport(checks: ClockSkewAssessment(offsets: offsets).checks(kind: "worker"))
                report.checks.append(DoctorCheck(
                    "coordinator port", .ok, "reachable from the \(view.workers.count) connected worker(s)"))
                return report.rendered()
            }
        }
        return nil
    }
}
