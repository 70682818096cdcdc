import CQLProtocol
import Foundation
import Testing

@testable import CQLServer

@Suite struct SystemTablesTests {
    @Test func localRowHasWhatDriversRead() throws {
        var harness = try EngineHarness(nodes: 3)
        guard case .rows(let rows) = try harness.run("SELECT * FROM system.local WHERE key='local'", node: 1).result else {
            Issue.record("not rows")
            return
        }
        let columns = rows.metadata.columns ?? []
        let row = try rows.decodeRows()
        #expect(row.count == 1)
        func value(_ name: String) -> CQLValue? {
            columns.firstIndex { $0.name == name }.map { row[0][$0] }
        }
        #expect(value("release_version") == .text("4.1.5"))
        #expect(value("cql_version") == .text("3.4.6"))
        #expect(value("partitioner") == .text(Murmur3Partitioner.className))
        #expect(value("rpc_address") == .inet(CQLInet("127.0.0.2")!))
        #expect(columns.first { $0.name == "tokens" }?.type == .set(.varchar))
        #expect(columns.first { $0.name == "host_id" }?.type == .uuid)
        let peers = try harness.rows("SELECT * FROM system.peers_v2", node: 1)
        #expect(peers.count == 2)
        let peersV1 = try harness.rows("SELECT peer, rpc_address FROM system.peers", node: 0)
        #expect(peersV1.count == 2)
    }

    @Test func schemaTablesReflectCreatedTables() throws {
        var harness = try EngineHarness()
        for statement in chatSchema { try harness.run(statement) }
        let keyspaces = try harness.rows("SELECT keyspace_name, replication FROM system_schema.keyspaces WHERE keyspace_name = 'chat'")
        #expect(keyspaces.count == 1)
        #expect(keyspaces.first?[1] == .map([
            CQLMapEntry(key: .text("class"), value: .text("org.apache.cassandra.locator.SimpleStrategy")),
            CQLMapEntry(key: .text("replication_factor"), value: .text("1")),
        ]))
        let tables = try harness.rows("SELECT table_name, flags FROM system_schema.tables WHERE keyspace_name = 'chat' AND table_name = 'messages'")
        #expect(tables == [[.text("messages"), .set([.text("compound")])]])
        let columns = try harness.rows(
            "SELECT column_name, kind, position, clustering_order, type FROM system_schema.columns WHERE keyspace_name = 'chat' AND table_name = 'messages'")
        #expect(columns.contains([.text("message_id"), .text("clustering"), .int(0), .text("desc"), .text("timeuuid")]))
        #expect(columns.contains([.text("attachments"), .text("regular"), .int(-1), .text("none"), .text("list<text>")]))
        for table in ["types", "functions", "aggregates", "views", "indexes", "triggers"] {
            #expect(try harness.rows("SELECT * FROM system_schema.\(table)").isEmpty)
        }
        #expect(serverError { try harness.run("SELECT * from system_virtual_schema.keyspaces") }?.kind == .invalid)
    }

    @Test func describeKeyspaceReturnsCreateStatements() throws {
        var harness = try EngineHarness()
        for statement in chatSchema { try harness.run(statement) }
        let rows = try harness.rows("DESCRIBE KEYSPACE chat")
        #expect(rows.count == 4)
        guard case .text(let keyspace) = rows[0][3], case .text(let messages) = rows[2][3] else {
            Issue.record("no create statements")
            return
        }
        #expect(keyspace.hasPrefix("CREATE KEYSPACE chat WITH replication"))
        #expect(messages.contains("PRIMARY KEY (conversation_id, message_id)"))
        #expect(messages.contains("CLUSTERING ORDER BY (message_id DESC)"))
        // The describer's output parses back into the same table.
        var other = try EngineHarness()
        try other.run(keyspace)
        try other.run(messages)
        #expect(try other.rows("DESCRIBE TABLE chat.messages") == [rows[2]])
    }
}
