import CQLProtocol
import Foundation
import NIOCore

@testable import CQLServer

/// Runs statements against a bare `QueryEngine` and decodes the results.
struct EngineHarness {
    var engine: QueryEngine
    var session = CQLSessionState()
    var clock: Int64 = 1_700_000_000_000_000

    init(nodes: Int = 1, storesWrites: Bool = true) throws {
        let addresses = (1...nodes).map { "127.0.0.\($0)" }
        engine = try QueryEngine(
            topology: .evenlySpaced(clusterName: "Test Cluster", addresses: addresses, ports: Array(repeating: 9042, count: nodes)),
            storesWrites: storesWrites)
    }

    private mutating func context(node: Int = 0) -> ExecutionContext {
        clock += 1
        return ExecutionContext(nodeIndex: node, nowMicros: clock)
    }

    @discardableResult
    mutating func run(_ text: String, _ values: [CQLValue] = [], types: [CQLDataType]? = nil, pageSize: Int32? = nil, pagingState: ByteBuffer? = nil, node: Int = 0)
        throws -> ExecutionOutcome
    {
        var parameters = CQLQueryParameters(pageSize: pageSize, pagingState: pagingState)
        if !values.isEmpty {
            parameters.values = try CQLBoundValues.typed(values, types: types ?? values.map(\.naturalType))
        }
        return try engine.query(text, parameters: parameters, session: &session, context: context(node: node))
    }

    /// Runs a SELECT and returns its rows decoded.
    mutating func rows(_ text: String, _ values: [CQLValue] = [], node: Int = 0) throws -> [[CQLValue]] {
        guard case .rows(let rows) = try run(text, values, node: node).result else { throw HarnessError.notRows }
        return try rows.decodeRows()
    }

    mutating func page(_ text: String, pageSize: Int32, pagingState: ByteBuffer?) throws -> (rows: [[CQLValue]], next: ByteBuffer?) {
        guard case .rows(let rows) = try run(text, pageSize: pageSize, pagingState: pagingState).result else { throw HarnessError.notRows }
        return (try rows.decodeRows(), rows.metadata.pagingState)
    }

    mutating func prepare(_ text: String) throws -> CQLPrepared {
        try engine.prepare(text, session: session)
    }

    @discardableResult
    mutating func execute(_ prepared: CQLPrepared, _ values: [CQLValue]) throws -> ExecutionOutcome {
        let parameters = CQLQueryParameters(values: try .typed(values, types: prepared.bindColumns.map(\.type)))
        return try engine.execute(id: prepared.id, parameters: parameters, session: &session, context: context())
    }

    /// Executes with values as sent on the wire (to send what a well-behaved client would not).
    @discardableResult
    mutating func execute(_ prepared: CQLPrepared, bound: [CQLBoundValue]) throws -> ExecutionOutcome {
        try engine.execute(id: prepared.id, parameters: CQLQueryParameters(values: .positional(bound)), session: &session, context: context())
    }

    enum HarnessError: Error { case notRows }
}

/// The error a statement fails with, or nil.
func serverError(_ body: () throws -> Void) -> CQLServerError? {
    do {
        try body()
        return nil
    } catch let error as CQLServerError {
        return error
    } catch {
        return CQLServerError(.serverError, "unexpected \(error)")
    }
}

let chatSchema = [
    "CREATE KEYSPACE IF NOT EXISTS chat WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
    """
    CREATE TABLE IF NOT EXISTS chat.messages (
        conversation_id uuid,
        message_id timeuuid,
        sender_id uuid,
        body text,
        attachments list<text>,
        PRIMARY KEY ((conversation_id), message_id)
    ) WITH CLUSTERING ORDER BY (message_id DESC)
    """,
    "CREATE TABLE chat.users (user_id uuid PRIMARY KEY, username text, created_at timestamp)",
    "CREATE TABLE chat.members (org text, team int, user_name text, joined timestamp, PRIMARY KEY ((org, team), user_name))",
]
