import CQLProtocol
import Foundation
import Testing

@testable import CQLServer

@Suite struct CQLParserTests {
    @Test func lexesLiteralsAndComments() throws {
        let tokens = try CQLLexer.tokenize("-- note\nSELECT 'it''s', -12, 1.5e3, 0xCAFE, 5b6962dd-3f90-4c93-8f61-eabfa4a803e2, ?, :name /* x */ \"Quoted\"")
        #expect(tokens.map(\.kind) == [
            .word("select"), .string("it's"), .symbol(","), .integer("-12"), .symbol(","), .float("1.5e3"), .symbol(","),
            .hex([0xCA, 0xFE]), .symbol(","), .uuid(UUID(uuidString: "5b6962dd-3f90-4c93-8f61-eabfa4a803e2")!), .symbol(","),
            .questionMark, .symbol(","), .namedMarker("name"), .quotedName("Quoted"), .end,
        ])
    }

    @Test func parsesCreateTableWithCompositeKeyAndOrder() throws {
        let parsed = try CQLParser.parse("""
            CREATE TABLE IF NOT EXISTS ks.t (a text, b int, c timeuuid, d list<text>, s int static,
              PRIMARY KEY ((a, b), c)) WITH CLUSTERING ORDER BY (c DESC) AND comment = 'hi' AND gc_grace_seconds = 10;
            """)
        guard case .createTable(let table) = parsed.statement else { Issue.record("not CREATE TABLE"); return }
        #expect(table.ifNotExists)
        #expect(table.partitionKey == ["a", "b"])
        #expect(table.clusteringKey == ["c"])
        #expect(table.clusteringOrder == ["c": true])
        #expect(table.columns.map(\.type) == ["text", "int", "timeuuid", "list<text>", "int"])
        #expect(table.columns.last?.isStatic == true)
        #expect(table.options["comment"] == .string("hi"))
    }

    @Test func parsesSelectClauses() throws {
        let parsed = try CQLParser.parse(
            "select count(*) from t where a = ? and b in (1, 2) and c >= :lo order by c desc limit 10 allow filtering")
        guard case .select(let select) = parsed.statement else { Issue.record("not SELECT"); return }
        #expect(select.selectors == [.countAll(alias: nil)])
        #expect(select.relations.map(\.op) == [.equal, .in, .greaterOrEqual])
        #expect(select.orderBy == [Ordering(column: "c", descending: true)])
        #expect(select.limit == .integer("10"))
        #expect(select.allowFiltering)
        #expect(parsed.bindMarkers == [BindMarkerDeclaration(name: nil), BindMarkerDeclaration(name: "lo")])
    }

    @Test func parsesWritesAndBatch() throws {
        let parsed = try CQLParser.parse("""
            BEGIN UNLOGGED BATCH USING TIMESTAMP 5
              INSERT INTO t (a, b) VALUES (1, {'k': [1, 2]}) USING TTL 60;
              UPDATE t SET b = b + {'x': []}, c = ? WHERE a = 1;
              DELETE c FROM t WHERE a = 2
            APPLY BATCH;
            """)
        guard case .batch(let batch) = parsed.statement else { Issue.record("not BATCH"); return }
        #expect(batch.kind == .unlogged)
        #expect(batch.statements.count == 3)
        #expect(parsed.bindMarkers.count == 1)
    }

    @Test(arguments: ["SELECT FROM t", "INSERT INTO t (a) VALUES", "CREATE TABLE t (a int", "SELECT * FROM t WHERE", "DROP", "SELECT * FROM t; garbage"])
    func rejectsBrokenStatementsWithSyntaxError(text: String) {
        #expect(serverError { _ = try CQLParser.parse(text) }?.kind == .syntaxError)
    }

    @Test(arguments: ["ALTER TABLE t ADD x int", "CREATE TYPE ks.addr (a text)", "SELECT JSON * FROM t", "CREATE MATERIALIZED VIEW v AS SELECT * FROM t"])
    func rejectsUnsupportedStatementsWithInvalid(text: String) {
        let error = serverError { _ = try CQLParser.parse(text) }
        #expect(error?.kind == .invalid)
        #expect(error?.message.contains("not supported") == true)
    }
}
