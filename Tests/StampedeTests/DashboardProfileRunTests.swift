import Dashboard
import Foundation
import LoadEngine
import Testing
@testable import Fleet
@testable import stampede

/// The dashboard's start form with a workload profile: the file is read on the coordinator, checked once, and its
/// text travels in the run configuration; a broken profile is refused with its file and line; a later chat run does
/// not inherit the profile.
@Suite struct DashboardProfileRunTests {
    static let profile = """
        name: sensors
        schema:
          - "CREATE KEYSPACE IF NOT EXISTS iot WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"
          - CREATE TABLE IF NOT EXISTS iot.readings (device uuid, ts timeuuid, value double, PRIMARY KEY (device, ts))
        statements:
          insert_reading:
            cql: INSERT INTO iot.readings (device, ts, value) VALUES (?, ?, ?)
            columns:
              - {generator: uuid, distinct: 100}
              - timeuuid
              - {generator: gaussian, mean: 20, stddev: 5}
        """

    func temporaryFile(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("stampede-profile-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    let template = FleetRunConfiguration(runID: "template", workload: "chat-write", keyspace: ChatSchema.keyspace, target: 1000)

    @Test func aProfileFromTheFormTravelsInTheRunConfiguration() throws {
        let path = try temporaryFile(Self.profile)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let request = RunStartRequest(workload: "profile", profile: path, target: 5000)
        let run = try FleetDashboardSource.runConfiguration(for: request, template: template, workers: 2)
        #expect(run.workload == path)
        #expect(run.profileYAML == Self.profile)
        #expect(run.keyspace.isEmpty)
        #expect(run.model == .fixedTotal)
        #expect(run.target == 5000)
        let profile = try #require(try FleetDashboardSource.profile(of: run))
        #expect(profile.name == "sensors")
        #expect(profile.schema.count == 2)
        // What a worker builds from the assignment is the profile's workload, not the chat one.
        let workload = try EngineRunFactory.workload(for: run)
        #expect(workload is ProfileWorkload)
    }

    @Test func aBrokenOrMissingProfileIsRefusedWithTheCause() throws {
        let broken = try temporaryFile("name: x\nstatements:\n  bad:\n    weight: 2\n")
        defer { try? FileManager.default.removeItem(atPath: broken) }
        do {
            _ = try FleetDashboardSource.runConfiguration(
                for: RunStartRequest(workload: "profile", profile: broken, target: 10), template: template, workers: 1)
            Issue.record("a profile without cql was accepted")
        } catch {
            #expect(error.code == .invalidRequest)
            #expect(error.message.contains(broken + ":"), "the error names the file and line: \(error.message)")
        }
        do {
            _ = try FleetDashboardSource.runConfiguration(
                for: RunStartRequest(workload: "profile", profile: "/nonexistent/p.yaml", target: 10), template: template, workers: 1)
            Issue.record("a missing profile file was accepted")
        } catch {
            #expect(error.message.contains("cannot read the profile /nonexistent/p.yaml"))
        }
    }

    @Test func aChatRunAfterAProfileRunDoesNotInheritTheProfile() throws {
        var profiled = template
        profiled.workload = "sensors.yaml"
        profiled.profileYAML = Self.profile
        profiled.keyspace = ""
        let run = try FleetDashboardSource.runConfiguration(
            for: RunStartRequest(workload: "chat-mixed", target: 100), template: profiled, workers: 1)
        #expect(run.workload == "chat-mixed")
        #expect(run.profileYAML.isEmpty)
        #expect(run.keyspace == ChatSchema.keyspace)
        #expect(try FleetDashboardSource.profile(of: run) == nil)
        #expect(try EngineRunFactory.workload(for: run) is ChatWorkload)
    }
}
