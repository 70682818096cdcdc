import CQLProtocol
import Foundation
import Testing
@testable import LoadEngine

@Suite struct ProfileTests {
    let valid = """
        name: sensors
        schema:
          - "CREATE KEYSPACE IF NOT EXISTS iot WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"
          - CREATE TABLE IF NOT EXISTS iot.readings (device uuid, ts timeuuid, value double, level int, tag text, PRIMARY KEY (device, ts))
        load:
          devices: SELECT device FROM iot.devices LIMIT 100
        statements:
          insert_reading:
            cql: INSERT INTO iot.readings (device, ts, value, level, tag) VALUES (?, ?, ?, ?, ?)
            weight: 8
            consistency: LOCAL_QUORUM
            batch: 4
            columns:
              - {generator: uuid, distinct: 1000}
              - timeuuid
              - {generator: gaussian, mean: 20, stddev: 5}
              - {generator: zipf, n: 100, exponent: 1.1}
              - {generator: choice, values: [ok, warn, fail]}
          read_latest:
            cql: SELECT * FROM iot.readings WHERE device = ? LIMIT 10
            weight: 2
            columns:
              - {generator: rows, source: devices}
        """

    @Test func parsesAValidProfile() throws {
        let profile = try WorkloadProfileParser.parse(valid, file: "sensors.yaml")
        #expect(profile.name == "sensors")
        #expect(profile.schema.count == 2)
        #expect(profile.statements.map(\.name) == ["insert_reading", "read_latest"])
        #expect(profile.statements[0].consistency == .localQuorum)
        #expect(profile.statements[0].batchSize == 4)
        #expect(profile.statements[0].columns[3] == .zipf(n: 100, exponent: 1.1))
    }

    @Test func generatesDeterministicTypedValues() async throws {
        let profile = try WorkloadProfileParser.parse(valid, file: "sensors.yaml")
        let run = RunIdentity(id: "p", epochMillis: 1_700_000_000_000)
        let deviceID = UUID.deterministic(seed: 1, stream: 1, index: 1)
        let context = WorkloadSetupContext(
            bindTypes: [[.uuid, .timeuuid, .double, .int, .varchar], [.uuid]], loadRows: { _ in [[.uuid(deviceID)]] })
        let workload = try await ProfileWorkload(profile: profile, run: run).setUp(context)
        var seen = [0, 0]
        for index: UInt64 in 0..<1000 {
            let operation = workload.operation(at: index)
            seen[operation.operation] += 1
            if operation.operation == 0 {
                #expect(operation.batchValues.count == 4)
                guard case .int(let level) = operation.batchValues[0][3] else {
                    Issue.record("zipf value was not coerced to int: \(operation.batchValues[0][3])")
                    continue
                }
                #expect((1...100).contains(level))
            } else {
                #expect(operation.values == [.uuid(deviceID)])
            }
            #expect(operation.values == workload.operation(at: index).values)
        }
        #expect((700...900).contains(seen[0]))
    }

    func error(_ yaml: String) -> LoadEngineError? {
        do {
            _ = try WorkloadProfileParser.parse(yaml, file: "bad.yaml")
            return nil
        } catch {
            return error
        }
    }

    @Test func malformedYAMLNamesFileAndLine() {
        let failure = error("statements:\n  insert:\n    cql: [unclosed\n")
        #expect(failure?.file == "bad.yaml")
        #expect(failure?.line != nil)
        #expect(failure?.description.hasPrefix("bad.yaml:") == true)
    }

    @Test func unknownGeneratorNamesItsLine() {
        let yaml = """
            statements:
              insert:
                cql: INSERT INTO t (a, b) VALUES (?, ?)
                columns:
                  - uuid
                  - {generator: fibonacci}
            """
        let failure = error(yaml)
        #expect(failure?.line == 6)
        #expect(failure?.message.contains("unknown generator 'fibonacci'") == true)
        #expect(failure?.message.contains("expected one of") == true)
    }

    @Test func markerCountMismatchIsReported() {
        let yaml = """
            statements:
              insert:
                cql: INSERT INTO t (a, b, c) VALUES (?, ?, ?)
                columns:
                  - uuid
                  - text
            """
        let failure = error(yaml)
        #expect(failure?.line == 5)
        #expect(failure?.message.contains("3 bind markers") == true)
    }

    @Test func wrongTypesAndUnknownKeysAreReported() {
        let weight = error("statements:\n  a:\n    cql: SELECT 1\n    weight: heavy\n")
        #expect(weight?.line == 4)
        #expect(weight?.message.contains("expected an integer") == true)
        let key = error("statements:\n  a:\n    cql: SELECT 1\n    wieght: 2\n")
        #expect(key?.line == 4)
        #expect(key?.message.contains("unknown key 'wieght'") == true)
        let missing = error("name: x\n")
        #expect(missing?.message.contains("missing 'statements'") == true)
        let source = error("statements:\n  a:\n    cql: SELECT * FROM t WHERE k = ?\n    columns:\n      - {generator: rows, source: nowhere}\n")
        #expect(source?.line == 5)
    }
}
