import LoadEngine
import Testing
@testable import Fleet

@Suite struct FleetRunConfigurationTests {
    @Test func wireRoundTripKeepsEverythingWorkersNeed() throws {
        let configuration = FleetRunConfiguration(
            runID: "r-1", runEpochMillis: 1_700_000_000_123, workload: "chat-mixed", contactPoints: ["10.0.0.1:9042", "10.0.0.2"],
            keyspace: "ks", consistency: "LOCAL_QUORUM", username: "u", password: "p", tls: true, model: .open, target: 0,
            chunkSize: 500, duration: .seconds(90), users: 0, spawnRate: 0, rate: 2_500, thinkTime: "",
            stages: [Stage(duration: .seconds(30), target: 5_000), Stage(duration: .seconds(60), target: 100, shape: .step)],
            concurrency: 200, options: ["vietnamese": "true"])
        let back = try FleetRunConfiguration(wire: configuration.wire)
        #expect(back == configuration)
        #expect(configuration.journaled.password.isEmpty)
    }

    @Test func validationNamesTheProblem() {
        #expect(throws: FleetError.self) { try FleetRunConfiguration(runID: "bad id!", target: 10).validate() }
        #expect(throws: FleetError.self) { try FleetRunConfiguration(runID: "r", target: 0).validate() }
        #expect(throws: FleetError.self) { try FleetRunConfiguration(runID: "r", model: .open, rate: 100).validate() }
        #expect(throws: Never.self) {
            try FleetRunConfiguration(runID: "r", model: .closed, users: 10, stages: [Stage(duration: .seconds(5), target: 20)]).validate()
        }
    }

    @Test func assignmentBecomesAnEngineConfigurationScaledByTheShare() throws {
        var run = FleetRunConfiguration(runID: "r", model: .closed, users: 100, stages: [Stage(duration: .seconds(10), target: 400)])
        run.spawnRate = 20
        let assignment = WorkerAssignment(configuration: run, workerID: "w", startMonotonicNanos: 0, indexBase: 0, share: 0.25)
        let engine = try EngineRunFactory.engineConfiguration(for: assignment)
        #expect(engine.share == 0.25)
        guard case .closed(let closed) = engine.model else {
            Issue.record("expected a closed model")
            return
        }
        #expect(closed.users == 100 && closed.stages.count == 1 && closed.spawnRate == 20)
        #expect(try EngineRunFactory.consistency(named: "local_quorum") == .localQuorum)
    }
}
