import CQLProtocol
import Foundation
import NIOCore
import Testing

@testable import CQLServer

@Suite struct QueryEngineTests {
    func chat() throws -> EngineHarness {
        var harness = try EngineHarness()
        for statement in chatSchema { try harness.run(statement) }
        return harness
    }

    @Test func ddlReturnsSchemaChangeAndIfNotExistsIsVoid() throws {
        var harness = try EngineHarness()
        let created = try harness.run("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': '1'}")
        #expect(created.result == .schemaChange(CQLSchemaChange(change: .created, target: .keyspace("ks"))))
        let again = try harness.run("CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': '1'}")
        #expect(again.result == .void)
        let duplicate = serverError { try harness.run("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}") }
        #expect(duplicate?.kind == .alreadyExists(keyspace: "ks", table: ""))
        #expect(try harness.run("USE ks").result == .setKeyspace("ks"))
        let table = try harness.run("CREATE TABLE t (a int PRIMARY KEY, b text)")
        #expect(table.result == .schemaChange(CQLSchemaChange(change: .created, target: .table(keyspace: "ks", name: "t"))))
        #expect(try harness.run("DROP TABLE IF EXISTS nope").result == .void)
        #expect(serverError { try harness.run("DROP TABLE nope") }?.kind == .invalid)
    }

    @Test func rowsComeBackInDeclaredClusteringOrder() throws {
        var harness = try chat()
        let conversation = UUID()
        let generator = TimeUUIDGenerator()
        var ids: [UUID] = []
        for index in 0..<5 {
            let id = generator.next(micros: 1_000_000 * Int64(index + 1))
            ids.append(id)
            try harness.run(
                "INSERT INTO chat.messages (conversation_id, message_id, sender_id, body, attachments) VALUES (?, ?, ?, ?, ?)",
                [.uuid(conversation), .uuid(id), .uuid(UUID()), .text("m\(index)"), .list([.text("a.png")])],
                types: [.uuid, .timeuuid, .uuid, .varchar, .list(.varchar)])
        }
        let rows = try harness.rows("SELECT message_id, body FROM chat.messages WHERE conversation_id = \(conversation.uuidString)")
        #expect(rows.map { $0[1] } == ["m4", "m3", "m2", "m1", "m0"].map(CQLValue.text))
        let ascending = try harness.rows(
            "SELECT body FROM chat.messages WHERE conversation_id = \(conversation.uuidString) ORDER BY message_id ASC LIMIT 2")
        #expect(ascending == [[.text("m0")], [.text("m1")]])
        let range = try harness.rows(
            "SELECT body FROM chat.messages WHERE conversation_id = ? AND message_id > ? AND message_id <= ?",
            [.uuid(conversation), .uuid(ids[1]), .uuid(ids[3])])
        #expect(range == [[.text("m3")], [.text("m2")]])
        let star = try harness.run("SELECT * FROM chat.messages WHERE conversation_id = \(conversation.uuidString) LIMIT 1")
        guard case .rows(let starRows) = star.result else { Issue.record("not rows"); return }
        #expect(starRows.metadata.columns?.map(\.name) == ["conversation_id", "message_id", "attachments", "body", "sender_id"])
        #expect(try harness.rows("SELECT COUNT(*) FROM chat.messages") == [[.bigint(5)]])
    }

    @Test func upsertDeleteAndLastWriteWins() throws {
        var harness = try chat()
        let user = UUID()
        try harness.run("INSERT INTO chat.users (user_id, username) VALUES (\(user.uuidString), 'ann') USING TIMESTAMP 100")
        try harness.run("INSERT INTO chat.users (user_id, username) VALUES (\(user.uuidString), 'old') USING TIMESTAMP 50")
        #expect(try harness.rows("SELECT username FROM chat.users WHERE user_id = \(user.uuidString)") == [[.text("ann")]])
        try harness.run("UPDATE chat.users USING TIMESTAMP 200 SET username = 'bob' WHERE user_id = \(user.uuidString)")
        #expect(try harness.rows("SELECT username FROM chat.users WHERE user_id = \(user.uuidString)") == [[.text("bob")]])
        try harness.run("DELETE FROM chat.users USING TIMESTAMP 300 WHERE user_id = \(user.uuidString)")
        #expect(try harness.rows("SELECT * FROM chat.users WHERE user_id = \(user.uuidString)").isEmpty)
        try harness.run("INSERT INTO chat.users (user_id, username) VALUES (\(user.uuidString), 'late') USING TIMESTAMP 250")
        #expect(try harness.rows("SELECT * FROM chat.users WHERE user_id = \(user.uuidString)").isEmpty)
    }

    @Test func compositePartitionKeyInAndBatch() throws {
        var harness = try chat()
        try harness.run("""
            BEGIN BATCH
              INSERT INTO chat.members (org, team, user_name) VALUES ('acme', 1, 'zed');
              INSERT INTO chat.members (org, team, user_name) VALUES ('acme', 1, 'amy');
              INSERT INTO chat.members (org, team, user_name) VALUES ('acme', 2, 'kim');
            APPLY BATCH
            """)
        let rows = try harness.rows("SELECT user_name FROM chat.members WHERE org = 'acme' AND team IN (1, 2)")
        #expect(rows == [[.text("amy")], [.text("zed")], [.text("kim")]])
        let partial = serverError { _ = try harness.rows("SELECT * FROM chat.members WHERE org = 'acme'") }
        #expect(partial?.kind == .invalid)
        #expect(try harness.rows("SELECT user_name FROM chat.members WHERE org = 'acme' ALLOW FILTERING").count == 3)
    }

    @Test func fullScanPagesThroughEveryRowOnce() throws {
        var harness = try chat()
        var expected = Set<Int32>()
        for team in 0..<7 {
            for name in 0..<3 {
                try harness.run("INSERT INTO chat.members (org, team, user_name) VALUES ('o', \(team), 'u\(name)')")
            }
            expected.insert(Int32(team))
        }
        var seen: [String] = []
        var state: ByteBuffer?
        var pages = 0
        repeat {
            let page = try harness.page("SELECT team, user_name FROM chat.members", pageSize: 4, pagingState: state)
            seen += page.rows.map { "\($0[0])-\($0[1])" }
            state = page.next
            pages += 1
        } while state != nil && pages < 20
        #expect(seen.count == 21)
        #expect(Set(seen).count == 21)
        #expect(pages == 6)
    }

    @Test func preparedMetadataHasTypesAndPartitionKeyIndexes() throws {
        var harness = try chat()
        let insert = try harness.prepare(
            "INSERT INTO chat.members (user_name, team, org, joined) VALUES (?, ?, ?, toTimestamp(now()))")
        #expect(insert.bindColumns.map(\.name) == ["user_name", "team", "org"])
        #expect(insert.bindColumns.map(\.type) == [.varchar, .int, .varchar])
        #expect(insert.partitionKeyIndexes == [2, 1])
        try harness.execute(insert, [.text("joe"), .int(3), .text("acme")])
        let select = try harness.prepare("SELECT user_name, joined FROM chat.members WHERE org = :o AND team = :t LIMIT ?")
        #expect(select.bindColumns.map(\.name) == ["o", "t", "[limit]"])
        #expect(select.partitionKeyIndexes == [0, 1])
        #expect(select.resultColumns.map(\.name) == ["user_name", "joined"])
        guard case .rows(let rows) = try harness.execute(select, [.text("acme"), .int(3), .int(10)]).result else {
            Issue.record("not rows")
            return
        }
        let decoded = try rows.decodeRows()
        #expect(decoded.count == 1)
        #expect(decoded.first?.first == .text("joe"))
        #expect(decoded.first?.last?.isNull == false)
        #expect(try harness.prepare("INSERT INTO chat.members (user_name, team, org) VALUES (?, ?, ?)").id
            != insert.id)
    }

    @Test func unknownPreparedIdIsUnprepared() throws {
        var harness = try chat()
        var session = CQLSessionState()
        let error = serverError {
            _ = try harness.engine.execute(
                id: [1, 2, 3], parameters: CQLQueryParameters(), session: &session, context: ExecutionContext(nodeIndex: 0, nowMicros: 0))
        }
        #expect(error?.kind == .unprepared(id: [1, 2, 3]))
    }

    @Test func ttlExpiresCells() throws {
        var harness = try chat()
        let user = UUID()
        try harness.run("INSERT INTO chat.users (user_id, username) VALUES (\(user.uuidString), 'tmp') USING TTL 10")
        #expect(try harness.rows("SELECT ttl(username) FROM chat.users WHERE user_id = \(user.uuidString)").first?.first == .int(10))
        harness.clock += 11_000_000
        #expect(try harness.rows("SELECT * FROM chat.users WHERE user_id = \(user.uuidString)").isEmpty)
    }

    @Test func errorsNameTheConstruct() throws {
        var harness = try chat()
        #expect(serverError { try harness.run("SELEC * FROM chat.users") }?.kind == .syntaxError)
        #expect(serverError { try harness.run("CREATE INDEX ON chat.users (username)") }?.message.contains("CREATE INDEX") == true)
        #expect(serverError { try harness.run("SELECT * FROM chat.nope") }?.kind == .invalid)
        #expect(serverError { try harness.run("SELECT nope FROM chat.users") }?.message.contains("nope") == true)
        #expect(serverError { try harness.run("INSERT INTO chat.users (user_id, username) VALUES (1, 'x')") }?.kind == .invalid)
        #expect(serverError { try harness.run("SELECT * FROM chat.users WHERE username = 'x'") }?.message.contains("ALLOW FILTERING") == true)
        #expect(serverError { try harness.run("INSERT INTO chat.users (username) VALUES ('x')") }?.kind == .invalid)
    }

    @Test func sinkModeAcknowledgesWithoutStoring() throws {
        var harness = try EngineHarness(storesWrites: false)
        for statement in chatSchema { try harness.run(statement) }
        let outcome = try harness.run("INSERT INTO chat.users (user_id, username) VALUES (\(UUID().uuidString), 'x')")
        #expect(outcome.result == .void)
        #expect(outcome.writeCount == 1)
        #expect(try harness.rows("SELECT COUNT(*) FROM chat.users") == [[.bigint(0)]])
    }

    @Test func insertsNamingAColumnTwiceOrAnUnknownOneAreRejected() throws {
        var harness = try chat()
        let user = UUID().uuidString
        let twice = serverError { try harness.run("INSERT INTO chat.users (user_id, username, username) VALUES (\(user), 'a', 'b')") }
        #expect(twice?.kind == .invalid)
        #expect(twice?.message == "The column names contains duplicates")
        let unknown = serverError { try harness.run("INSERT INTO chat.users (user_id, nickname) VALUES (\(user), 'a')") }
        #expect(unknown?.kind == .invalid)
        #expect(unknown?.message.contains("Undefined column name nickname") == true)
        #expect(try harness.rows("SELECT COUNT(*) FROM chat.users") == [[.bigint(0)]])
    }

    /// Sink mode checks a prepared INSERT's values with a plan made once (no mutation is planned): every answer,
    /// error messages included, must be the one memory mode gives.
    @Test func sinkModeChecksPreparedInsertsAsMemoryModeDoes() throws {
        var sink = try EngineHarness(storesWrites: false)
        var memory = try EngineHarness()
        for statement in chatSchema {
            try sink.run(statement)
            try memory.run(statement)
        }
        let insert = "INSERT INTO chat.messages (conversation_id, message_id, sender_id, body, attachments) VALUES (?, ?, ?, ?, ?)"
        let inSink = try sink.prepare(insert)
        let inMemory = try memory.prepare(insert)
        func bytes(_ value: CQLValue, _ type: CQLDataType) throws -> CQLBoundValue {
            var buffer = ByteBuffer()
            try value.writeBody(as: type, into: &buffer)
            return .bytes(buffer)
        }
        let conversation = try bytes(.uuid(UUID()), .uuid)
        let message = try bytes(.uuid(CQLTimeUUIDGenerator().next()), .timeuuid)
        let sender = try bytes(.uuid(UUID()), .uuid)
        let body = try bytes(.text("hello"), .varchar)
        let attachments = try bytes(.list([.text("https://x/1.jpg")]), .list(.varchar))
        let cases: [(String, [CQLBoundValue])] = [
            ("valid", [conversation, message, sender, body, attachments]),
            ("regular columns null or unset", [conversation, message, .null, .unset, .null]),
            ("null partition key", [.null, message, sender, body, attachments]),
            ("unset clustering key", [conversation, .unset, sender, body, attachments]),
            ("short uuid", [.bytes(ByteBuffer(bytes: [1, 2, 3])), message, sender, body, attachments]),
            ("random uuid as timeuuid", [conversation, try bytes(.uuid(UUID()), .uuid), sender, body, attachments]),
            ("malformed list", [conversation, message, sender, body, .bytes(ByteBuffer(bytes: [0, 0, 0, 9]))]),
        ]
        for (name, values) in cases {
            let sinkError = serverError { try sink.execute(inSink, bound: values) }
            let memoryError = serverError { try memory.execute(inMemory, bound: values) }
            #expect(sinkError?.kind == memoryError?.kind, "\(name)")
            #expect(sinkError?.message == memoryError?.message, "\(name)")
            if sinkError == nil { #expect(try sink.execute(inSink, bound: values).writeCount == 1, "\(name)") }
        }
        #expect(serverError { try sink.execute(inSink, bound: [.null, message, sender, body, attachments]) }?.message
            == "Invalid null value in condition for column conversation_id")
        #expect(sink.engine.hasSinkPlan(id: inSink.id))
        #expect(!memory.engine.hasSinkPlan(id: inMemory.id))
        #expect(try sink.rows("SELECT COUNT(*) FROM chat.messages") == [[.bigint(0)]])

        // The same text prepared again after the table was dropped and made again with other types has the same id:
        // the plan made for the old schema must not be used.
        try sink.run("DROP TABLE chat.messages")
        try sink.run("CREATE TABLE chat.messages (conversation_id uuid, message_id timeuuid, sender_id uuid, body int, attachments list<text>, PRIMARY KEY ((conversation_id), message_id))")
        let again = try sink.prepare(insert)
        #expect(again.id == inSink.id)
        let textInIntColumn = serverError { try sink.execute(again, bound: [conversation, message, sender, body, attachments]) }
        #expect(textInIntColumn?.message == "Invalid value for body: expected 4 bytes for int, got 5")
        #expect(try sink.execute(again, bound: [conversation, message, sender, try bytes(.int(7), .int), attachments]).writeCount == 1)
        #expect(sink.engine.hasSinkPlan(id: again.id))
        // Not planned: IF NOT EXISTS (the general path runs it).
        let conditional = try sink.prepare("INSERT INTO chat.users (user_id, username) VALUES (?, ?) IF NOT EXISTS")
        _ = try sink.execute(conditional, [.uuid(UUID()), .text("x")])
        #expect(!sink.engine.hasSinkPlan(id: conditional.id))
    }

    @Test func conditionalInsertReportsApplied() throws {
        var harness = try chat()
        let user = UUID()
        let first = try harness.rows("INSERT INTO chat.users (user_id, username) VALUES (\(user.uuidString), 'a') IF NOT EXISTS")
        let second = try harness.rows("INSERT INTO chat.users (user_id, username) VALUES (\(user.uuidString), 'b') IF NOT EXISTS")
        #expect(first == [[.boolean(true)]])
        #expect(second == [[.boolean(false)]])
    }
}
