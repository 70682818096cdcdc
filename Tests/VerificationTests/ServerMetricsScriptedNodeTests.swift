import CQLClient
import CQLProtocol
import CQLServer
import Foundation
import LoadEngine
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
@testable import Verification

/// A node scripted at the protocol level that answers like Cassandra 4.1: `system_virtual_schema.tables`, the
/// `system_views` metric tables, thread pools and clients, and `system.size_estimates`. Its counters grow with
/// `phase`, which the test advances between snapshots.
final class MetricsNodeHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let phase: NIOLockedValueBox<Int>
    var buffer = ByteBuffer()

    init(phase: NIOLockedValueBox<Int>) { self.phase = phase }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        let decoder = CQLFrameDecoder(acceptedVersions: 3...5)
        while let frame = try? decoder.decodeFrame(from: &buffer) {
            guard let request = try? CQLRequest.decode(opcode: frame.header.opcode, body: frame.body) else { return }
            let response: CQLResponse
            switch request {
            case .options: response = .supported(["CQL_VERSION": ["3.4.6"], "COMPRESSION": []])
            case .startup, .register: response = .ready
            case .query(let cql, _): response = answer(cql)
            default: response = .error(CQLServerError(.invalid, "not scripted"))
            }
            var reply = ByteBuffer()
            CQLFrameEncoder.write(response, stream: frame.header.stream, version: frame.header.version, into: &reply)
            context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
        }
    }

    func answer(_ cql: String) -> CQLResponse {
        let p = Int64(phase.withLockedValue { $0 })
        func rows(_ columns: [(String, CQLDataType)], _ values: [[CQLValue]]) -> CQLResponse {
            let specs = columns.map { CQLColumnSpec(keyspace: "system_views", table: "t", name: $0.0, type: $0.1) }
            return .result(.rows(try! CQLRows(columns: specs, rows: values)))
        }
        let latencyColumns: [(String, CQLDataType)] = [
            ("keyspace_name", .varchar), ("table_name", .varchar), ("count", .bigint), ("max_ms", .double),
            ("p50th_ms", .double), ("p99th_ms", .double), ("per_second", .double),
        ]
        func latency(_ count: Int64, _ p99: Double) -> [[CQLValue]] {
            [
                [.text("realtime_chat_app"), .text("messages_by_conversation"), .bigint(count), .double(9.5), .double(0.25), .double(p99), .double(40)],
                [.text("system"), .text("local"), .bigint(7), .double(1), .double(1), .double(1), .double(0)],
            ]
        }
        if cql.contains("system.local") { return rows([("release_version", .varchar)], [[.text("4.1.5")]]) }
        if cql.contains("system_virtual_schema.tables") {
            let names = ["caches", "clients", "coordinator_write_latency", "disk_usage", "local_read_latency", "local_write_latency",
                         "settings", "thread_pools"]
            return rows([("table_name", .varchar)], names.map { [.text($0)] })
        }
        if cql.contains("system_views.local_write_latency") { return rows(latencyColumns, latency(1_000 + 750 * p, 1.5 + Double(p))) }
        if cql.contains("system_views.local_read_latency") { return rows(latencyColumns, latency(20 + 5 * p, 0.5)) }
        if cql.contains("system_views.coordinator_write_latency") { return rows(latencyColumns, latency(990 + 740 * p, 3)) }
        if cql.contains("system_views.disk_usage") {
            return rows([("keyspace_name", .varchar), ("table_name", .varchar), ("mebibytes", .bigint)],
                        [[.text("realtime_chat_app"), .text("messages_by_conversation"), .bigint(3 + 2 * p)]])
        }
        if cql.contains("system_views.thread_pools") {
            let columns: [(String, CQLDataType)] = [
                ("name", .varchar), ("active_tasks", .int), ("active_tasks_limit", .int), ("blocked_tasks", .bigint),
                ("blocked_tasks_all_time", .bigint), ("completed_tasks", .bigint), ("pending_tasks", .int),
            ]
            return rows(columns, [
                [.text("CompactionExecutor"), .int(1), .int(2), .bigint(0), .bigint(0), .bigint(10 + 3 * p), .int(Int32(4 * p))],
                [.text("MemtableFlushWriter"), .int(0), .int(2), .bigint(0), .bigint(0), .bigint(5 + 2 * p), .int(0)],
                [.text("MutationStage"), .int(0), .int(32), .bigint(0), .bigint(1), .bigint(2_000 + 750 * p), .int(Int32(p))],
            ])
        }
        if cql.contains("system_views.clients") {
            let columns: [(String, CQLDataType)] = [("address", .inet), ("port", .int), ("request_count", .bigint)]
            return rows(columns, [
                [.inet(CQLInet("127.0.0.1")!), .int(50_000), .bigint(100 + 600 * p)],
                [.inet(CQLInet("127.0.0.1")!), .int(50_001), .bigint(3 + p)],
            ])
        }
        if cql.contains("system.table_estimates") {
            let columns: [(String, CQLDataType)] = [
                ("table_name", .varchar), ("range_type", .varchar), ("partitions_count", .bigint), ("mean_partition_size", .bigint),
            ]
            return rows(columns, [
                [.text("messages_by_conversation"), .text("primary"), .bigint(150 * (1 + p)), .bigint(4_096)],
                [.text("messages_by_conversation"), .text("primary"), .bigint(50 * (1 + p)), .bigint(4_096)],
                [.text("messages_by_conversation"), .text("local_primary"), .bigint(999), .bigint(4_096)],
            ])
        }
        if cql.contains("system.size_estimates") {
            return rows([("table_name", .varchar), ("partitions_count", .bigint), ("mean_partition_size", .bigint)],
                        [[.text("messages_by_conversation"), .bigint(200 * (1 + p)), .bigint(4_096)]])
        }
        return .error(CQLServerError(.invalid, "unconfigured table in \(cql)"))
    }
}

@Suite(.timeLimit(.minutes(1))) struct ServerMetricsScriptedNodeTests {
    @Test func aCassandra41NodeGivesTheTablestatsViewWithRealValues() async throws {
        let phase = NIOLockedValueBox(0)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(MetricsNodeHandler(phase: phase))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(server.localAddress?.port)
        let node = try CQLHostAddress(parsing: "127.0.0.1:\(port)")
        let collector = ServerMetricsCollector(keyspace: "realtime_chat_app")
        let before = await collector.snapshot(nodes: [node])
        phase.withLockedValue { $0 = 1 }
        let after = await collector.snapshot(nodes: [node])
        try await server.close()

        let snapshot = try #require(after.nodes.first)
        #expect(snapshot.releaseVersion == "4.1.5")
        #expect(snapshot.virtualTablesUnavailable == nil)
        #expect(snapshot.tables["local"] == nil)  // other keyspaces are left out
        let delta = ServerMetricsDelta(before: before, after: after)
        let table = try #require(delta.tables.first { $0.table == "messages_by_conversation" })
        #expect(table.localWrites == 750)
        #expect(table.localReads == 5)
        #expect(table.coordinatorWrites == 740)
        #expect(table.localWriteP99Ms == 2.5)
        #expect(table.diskUsageDeltaMiB == 2)
        #expect(table.estimatedPartitions == 400)
        #expect(delta.memtableFlushes == 2)
        #expect(delta.compactionsCompleted == 3)
        #expect(delta.pendingCompactions == 4)
        #expect(delta.mutationStagePending == 1)
        #expect(delta.clientConnections == 2)
        #expect(delta.clientRequests == 601)
        #expect(delta.restartedNodes.isEmpty)

        let report = delta.reportTable()
        let row = try #require(report.rows.first { $0.table == "messages_by_conversation" })
        #expect(row.values == ["+750", "+5", "+740", "0.250 / 2.500 / 9.500", "5 (+2)", "400", nil, nil])
        #expect(report.columns[6] == "SSTables")
        let figures = Dictionary(uniqueKeysWithValues: report.nodeFigures.map { ($0.name, $0.value) })
        #expect(figures["Memtable flushes Δ (MemtableFlushWriter)"] == "+2")
        #expect(figures["Pending compactions at the end (executor queue)"] == "4")
        #expect(figures["Client requests Δ"] == "+601")
        #expect(figures["Thread pool MutationStage"] == "+750 completed, 1 pending, 0 active")
        #expect(report.notes.contains { $0.contains("SSTable counts") })

        let text = delta.rendered()
        #expect(text.contains("local writes +750"))
        #expect(text.contains("clients: 2 connections at the end, +601 requests"))
    }

    @Test func theEmbeddedServerIsReportedAsNotExposingMetrics() async throws {
        let cluster = try await EmbeddedCQLCluster.start(EmbeddedCQLServerConfiguration(port: 0, nodes: 1, summaryInterval: .zero))
        let address = try CQLHostAddress(parsing: "\(cluster.endpoints[0].host):\(cluster.endpoints[0].port)")
        let collector = ServerMetricsCollector(keyspace: ChatSchema.keyspace)
        let before = await collector.snapshot(nodes: [address])
        let after = await collector.snapshot(nodes: [address])
        try await cluster.shutdown()
        let delta = ServerMetricsDelta(before: before, after: after)
        #expect(after.nodes[0].virtualTablesUnavailable != nil)
        let report = delta.reportTable()
        // Whatever tables appear (size estimates, if any), no figure from system_views is invented.
        for row in report.rows { #expect(row.values[0] == nil && row.values[3] == nil && row.values[6] == nil) }
        let figures = Dictionary(uniqueKeysWithValues: report.nodeFigures.map { ($0.name, $0.value) })
        #expect(figures["Memtable flushes Δ (MemtableFlushWriter)"] == .some(nil))
        #expect(figures["Client connections at the end"] == .some(nil))
        #expect(report.notes.contains { $0.contains("server metrics not available on this server") })
    }
}
