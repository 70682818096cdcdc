import CQLClient
import CQLProtocol
import CQLServer
import Foundation
import LoadEngine
import Testing
@testable import Verification

/// Verification, doctor, metrics and seeding against the embedded server, in process, on loopback.
@Suite(.timeLimit(.minutes(2)))
struct EmbeddedClusterTests {
    let run = RunIdentity(id: "run-embedded-verify", epochMillis: 1_700_000_123_000)

    func startCluster(nodes: Int = 1) async throws -> EmbeddedCQLCluster {
        try await EmbeddedCQLCluster.start(EmbeddedCQLServerConfiguration(port: 0, nodes: nodes, summaryInterval: .zero))
    }

    func connect(_ cluster: EmbeddedCQLCluster) async throws -> CQLSession {
        var configuration = CQLSessionConfiguration(contactPoints: [cluster.endpoints[0].description])
        configuration.connectionsPerHost = 1
        return try await CQLSession.connect(configuration)
    }

    func applySchema(_ session: CQLSession, replication: String = "{'class': 'SimpleStrategy', 'replication_factor': 1}") async throws {
        for statement in ChatSchema.statements(replication: replication) { try await session.run(statement) }
    }

    @Test func verificationFindsExactlyTheWrittenMessagesAndReportsDeletedOnes() async throws {
        let cluster = try await startCluster()
        let session = try await connect(cluster)
        do {
            try await applySchema(session)
            var options = ChatWorkload.Options()
            options.conversations = 12
            options.users = 100
            let workload = ChatWorkload(mix: .write, run: run, options: options)
            let insert = try await session.prepare(ChatSchema.insertMessage)
            let total: UInt64 = 400
            for index in 0..<total {
                try await session.execute(insert, values: workload.factory.message(at: index).values)
            }
            let expectation = RunExpectation(run: run, mix: .write, options: options, total: total)
            let report = try await Verifier.verify(session: session, expectation: expectation)
            #expect(report.found == total)
            #expect(report.acknowledgedFound == total)
            #expect(report.lost == 0)
            #expect(report.phantoms == 0)
            #expect(report.rowsRead == total)
            #expect(report.passed)
            // Token-range scans run where the server supports token() restrictions, else fall back with a note.
            let ring = try await Verifier.verify(session: session, expectation: expectation, options: VerifierOptions(useTokenRanges: true))
            #expect(ring.passed)
            #expect(ring.strategy == "token-ranges" || ring.notes.contains { $0.contains("token-range scans not supported") })

            // Delete three rows: they are reported missing, by index, and the verification fails.
            let deleted: [UInt64] = [7, 123, 399]
            for index in deleted {
                let message = workload.factory.message(at: index)
                try await session.run("DELETE FROM \(ChatSchema.keyspace).messages_by_conversation WHERE conversation_id = ? AND message_id = ?",
                                      values: [.uuid(message.conversationID), .uuid(message.messageID)])
            }
            let after = try await Verifier.verify(session: session, expectation: expectation, options: VerifierOptions(windowSize: 128))
            #expect(after.lost == 3)
            #expect(after.lostSamples.map(\.index) == deleted)
            #expect(after.found == total - 3)
            #expect(!after.passed)
        } catch {
            await session.close()
            try await cluster.shutdown()
            throw error
        }
        await session.close()
        try await cluster.shutdown()
    }

    @Test func doctorReportsAMissingKeyspaceWithTheFixAndAStoppedNodeAsFail() async throws {
        let cluster = try await startCluster(nodes: 3)
        do {
            let contact = cluster.endpoints[0].description
            var options = DoctorOptions(contactPoints: [contact], consistency: .quorum)
            options.checkNodeClocks = false
            let empty = await Doctor(options: options).run()
            let keyspace = try #require(empty.checks(named: "keyspace").first)
            #expect(keyspace.status == .fail)
            #expect(keyspace.fix?.contains("stampede schema apply") == true)
            #expect(empty.checks(named: "node ").count == 3)
            #expect(empty.checks(named: "node ").allSatisfy { $0.status == .ok })
            #expect(empty.hasFailures)

            let session = try await connect(cluster)
            try await applySchema(session, replication: "{'class': 'SimpleStrategy', 'replication_factor': 3}")
            await session.close()
            let healthy = await Doctor(options: options).run()
            #expect(!healthy.hasFailures, "\(healthy.rendered())")
            #expect(healthy.checks(named: "tables").first?.status == .ok)
            #expect(healthy.checks(named: "replication").first?.status == .ok)

            try await cluster.stopNode(2)
            let degraded = await Doctor(options: options).run()
            let stopped = cluster.endpoints[2].description
            let node = try #require(degraded.checks.first { $0.name.hasPrefix("node \(stopped)") })
            #expect(node.status == .fail)
            #expect(node.fix != nil)
            #expect(degraded.hasFailures)
            // QUORUM with RF 3 and one node down still works, with no headroom left.
            #expect(degraded.checks(named: "replication").first?.status == .warn)
        } catch {
            try await cluster.shutdown()
            throw error
        }
        try await cluster.shutdown()
    }

    @Test func serverMetricsDegradeGracefullyOnTheEmbeddedServer() async throws {
        let cluster = try await startCluster()
        let session = try await connect(cluster)
        let collector = ServerMetricsCollector(keyspace: ChatSchema.keyspace)
        let before = await collector.snapshot(session: session)
        let after = await collector.snapshot(session: session)
        await session.close()
        try await cluster.shutdown()
        #expect(before.nodes.count == 1)
        let delta = ServerMetricsDelta(before: before, after: after)
        let text = delta.rendered()
        #expect(text.contains("Server-side metrics"))
        if after.nodes[0].virtualTablesUnavailable != nil {
            #expect(text.contains("not available on this server"))
        }
    }

    @Test func seededRowsFeedTheWorkloadAndVerification() async throws {
        let cluster = try await startCluster()
        let session = try await connect(cluster)
        do {
            try await applySchema(session)
            var seedOptions = ChatSeedOptions()
            seedOptions.users = 40
            seedOptions.conversations = 15
            seedOptions.concurrency = 8
            let summary = try await ChatSeeder(options: seedOptions).seed(session: session)
            #expect(summary.users == 40)
            #expect(summary.directConversations + summary.groupConversations == 15)
            let users = try await session.query("SELECT user_id FROM \(ChatSchema.keyspace).users_by_id")
            #expect(users.rows.count == 40)

            // A run that draws from the seeded rows can be verified: the verifier loads the same dataset.
            var options = ChatWorkload.Options()
            options.useSeededRows = true
            let setUp = WorkloadSetupContext(bindTypes: []) { cql in try await session.query(cql).rows }
            let workload = try #require(try await ChatWorkload(mix: .write, run: run, options: options).setUp(setUp) as? ChatWorkload)
            #expect(workload.factory.dataset.conversations.count == 15)
            let insert = try await session.prepare(ChatSchema.insertMessage)
            for index in UInt64(0)..<100 { try await session.execute(insert, values: workload.factory.message(at: index).values) }
            let report = try await Verifier.verify(session: session, expectation: RunExpectation(run: run, options: options, total: 100))
            #expect(report.passed)
            #expect(report.found == 100)
        } catch {
            await session.close()
            try await cluster.shutdown()
            throw error
        }
        await session.close()
        try await cluster.shutdown()
    }
}

@Suite struct AssessmentTests {
    @Test func quorumNeedsTwoOfThreeReplicas() {
        func status(rf: Int, nodes: Int, up: Int, _ level: CQLConsistency) -> DoctorCheck.Status {
            ReplicationAssessment(keyspace: "ks", datacenter: "dc1", replicationFactor: rf, nodesInDatacenter: nodes, nodesUp: up, consistency: level).check.status
        }
        #expect(status(rf: 3, nodes: 3, up: 3, .quorum) == .ok)
        #expect(status(rf: 3, nodes: 3, up: 2, .quorum) == .warn)
        #expect(status(rf: 3, nodes: 3, up: 1, .quorum) == .fail)
        #expect(status(rf: 3, nodes: 3, up: 3, .all) == .warn)
        #expect(status(rf: 3, nodes: 3, up: 2, .all) == .fail)
        #expect(status(rf: 3, nodes: 1, up: 1, .quorum) == .fail)
        #expect(status(rf: 3, nodes: 1, up: 1, .one) == .warn)
        #expect(status(rf: 1, nodes: 3, up: 3, .one) == .warn)
        #expect(status(rf: 0, nodes: 3, up: 3, .one) == .fail)
        #expect(status(rf: 3, nodes: 6, up: 5, .quorum) == .warn)  // worst-placed partition may have lost one replica
    }

    @Test func clockSkewThresholds() {
        let checks = ClockSkewAssessment(offsets: [("w1", .milliseconds(10)), ("w2", .milliseconds(-400)), ("w3", .seconds(3))]).checks(kind: "worker")
        #expect(checks.map(\.status) == [.ok, .warn, .fail])
        #expect(checks[1].detail.contains("behind by 400 ms"))
    }

    @Test func metricsDeltasSumNodesAndSpotRestarts() {
        var a1 = NodeMetricsSnapshot(node: "n1")
        a1.tables["messages_by_conversation"] = ["local_write_latency.count": 100, "disk_usage.mebibytes": 1]
        a1.nodeValues["thread_pools.MemtableFlushWriter.completed_tasks"] = 5
        var a2 = NodeMetricsSnapshot(node: "n2")
        a2.tables["messages_by_conversation"] = ["local_write_latency.count": 50]
        var b1 = a1
        b1.tables["messages_by_conversation"] = ["local_write_latency.count": 1100, "disk_usage.mebibytes": 4, "local_write_latency.p99th_ms": 1.5]
        b1.nodeValues["thread_pools.MemtableFlushWriter.completed_tasks"] = 7
        var b2 = a2
        b2.tables["messages_by_conversation"] = ["local_write_latency.count": 10, "local_write_latency.p99th_ms": 2.5]
        let start = Date(timeIntervalSince1970: 0)
        let delta = ServerMetricsDelta(before: ServerMetricsSnapshot(keyspace: "ks", takenAt: start, nodes: [a1, a2]),
                                       after: ServerMetricsSnapshot(keyspace: "ks", takenAt: start.addingTimeInterval(10), nodes: [b1, b2]))
        let table = try! #require(delta.tables.first)
        #expect(table.localWrites == Double(1000 - 40))
        #expect(table.localWriteP99Ms == 2.5)
        #expect(table.diskUsageDeltaMiB == 3)
        #expect(delta.memtableFlushes == 2)
        #expect(delta.restartedNodes == ["n2"])
        #expect(delta.rendered().contains("restarted"))

        var unavailable = NodeMetricsSnapshot(node: "old")
        unavailable.virtualTablesUnavailable = "Cassandra 3.11 has no system_virtual_schema"
        let none = ServerMetricsDelta(before: ServerMetricsSnapshot(keyspace: "ks", nodes: [unavailable]),
                                      after: ServerMetricsSnapshot(keyspace: "ks", nodes: [unavailable]))
        #expect(!none.hasFigures)
        #expect(none.rendered().contains("not available on this server"))
    }
}
