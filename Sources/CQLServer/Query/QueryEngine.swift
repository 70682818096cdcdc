import CQLProtocol
import Foundation
import NIOCore

/// Per-connection state the engine needs: the keyspace chosen with USE.
public struct CQLSessionState: Sendable, Hashable {
    public var keyspace: String?
    public init(keyspace: String? = nil) { self.keyspace = keyspace }
}

/// Something the commit log must record so that replay rebuilds the same state.
enum JournalEntry: Sendable, Hashable {
    /// A DDL statement, replayed by executing it again.
    case schema(keyspace: String?, statement: String)
    case mutations([Mutation])
    case truncate(keyspace: String, table: String)
}

/// What executing one request produced.
struct ExecutionOutcome: Sendable {
    var result: CQLResult
    var schemaChange: CQLSchemaChange?
    var journal: [JournalEntry] = []
    /// Rows written (for the writes/s log line).
    var writeCount: Int = 0
}

/// Where a query runs: which node answers (system.local differs per node) and the statement time.
struct ExecutionContext {
    var nodeIndex: Int
    /// Microseconds since the epoch.
    var nowMicros: Int64
}

/// The query engine: catalog, storage and prepared statements. Pure and synchronous; the caller
/// serializes access (the server keeps it behind one lock).
struct QueryEngine {
    private(set) var catalog: SchemaCatalog
    var topology: ClusterTopology
    /// False in sink mode: writes are validated and acknowledged but not stored.
    var storesWrites: Bool
    private var stores: [UUID: TableStore] = [:]
    private var prepared = PreparedStatementRegistry()
    /// Sink mode's plans of prepared statements (see ``SinkInsertPlan``), with the schema version they were made for.
    private var sinkInserts: [[UInt8]: (schemaVersion: UUID, plan: SinkInsertPlan?)] = [:]
    private let timeUUIDs = TimeUUIDGenerator()

    init(topology: ClusterTopology, storesWrites: Bool = true) throws(CQLServerError) {
        self.catalog = try SchemaCatalog()
        self.topology = topology
        self.storesWrites = storesWrites
    }

    // MARK: Entry points

    /// QUERY: parse and run one statement.
    mutating func query(
        _ text: String, parameters: CQLQueryParameters, session: inout CQLSessionState, context: ExecutionContext
    ) throws(CQLServerError) -> ExecutionOutcome {
        let parsed = try CQLParser.parse(text)
        let values = try Self.positional(parameters.values, markers: parsed.bindMarkers.map(\.name))
        guard values.count >= parsed.bindMarkers.count || parsed.bindMarkers.isEmpty else {
            throw CQLServerError(.invalid, "There were \(parsed.bindMarkers.count) markers(?) in CQL but \(values.count) bound variables")
        }
        return try run(parsed, text: text, values: values, parameters: parameters, session: &session, context: context)
    }

    /// PREPARE: parse, type the bind markers and remember the statement.
    mutating func prepare(_ text: String, session: CQLSessionState) throws(CQLServerError) -> CQLPrepared {
        let parsed = try CQLParser.parse(text)
        let bindings = try BindMetadata(parsed, catalog: catalog, sessionKeyspace: session.keyspace)
        var resultColumns: [CQLColumnSpec] = []
        if case .select(let select) = parsed.statement {
            let table = try catalog.table(select.table, sessionKeyspace: session.keyspace)
            resultColumns = try Selection(select, table: table).specs
        }
        let id = PreparedStatementRegistry.id(query: text, keyspace: session.keyspace)
        let metadata = CQLPrepared(
            id: id, bindColumns: bindings.columns, partitionKeyIndexes: bindings.partitionKeyIndexes, resultColumns: resultColumns)
        prepared.store(PreparedStatement(query: text, keyspace: session.keyspace, parsed: parsed, metadata: metadata))
        return metadata
    }

    /// EXECUTE: run a prepared statement; UNPREPARED when the id is unknown.
    mutating func execute(
        id: [UInt8], parameters: CQLQueryParameters, session: inout CQLSessionState, context: ExecutionContext
    ) throws(CQLServerError) -> ExecutionOutcome {
        guard let statement = prepared[id] else {
            throw CQLServerError(.unprepared(id: id), "Prepared query with ID \(Self.hex(id)) not found (either the query was not prepared on this host (maybe the host has been restarted?) or you have prepared too many queries and it has been evicted from the internal cache)")
        }
        let values = try Self.positional(parameters.values, markers: statement.metadata.bindColumns.map { $0.name })
        guard values.count == statement.metadata.bindColumns.count else {
            throw CQLServerError(.invalid, "There were \(statement.metadata.bindColumns.count) markers(?) in CQL but \(values.count) bound variables")
        }
        if !storesWrites, let plan = sinkInsertPlan(id: id, statement: statement) {
            try plan.check(evaluator(values, context: context))
            return ExecutionOutcome(result: .void, writeCount: 1)
        }
        var statementSession = session
        if statement.keyspace != nil { statementSession.keyspace = statement.keyspace }
        let outcome = try run(statement.parsed, text: statement.query, values: values, parameters: parameters, session: &statementSession, context: context)
        if case .setKeyspace = outcome.result { session.keyspace = statementSession.keyspace }
        return outcome
    }

    /// The sink-mode plan of prepared statement `id` (built on first use and after a schema change), or `nil` when
    /// it has none (not a plain INSERT of bind markers, or its table is missing or a system one).
    private mutating func sinkInsertPlan(id: [UInt8], statement: PreparedStatement) -> SinkInsertPlan? {
        if let cached = sinkInserts[id], cached.schemaVersion == catalog.version { return cached.plan }
        var plan: SinkInsertPlan?
        // Only when the table does not depend on the executing session's keyspace (the plan is shared by sessions).
        if case .insert(let insert) = statement.parsed.statement, insert.table.keyspace != nil || statement.keyspace != nil,
            let table = try? catalog.table(insert.table, sessionKeyspace: statement.keyspace),
            catalog.keyspaces[table.keyspace]?.isSystem == false
        {
            plan = SinkInsertPlan(insert, table: table, markerCount: statement.metadata.bindColumns.count)
        }
        if sinkInserts.count >= prepared.capacity { sinkInserts.removeAll() }
        sinkInserts[id] = (catalog.version, plan)
        return plan
    }

    /// Whether prepared statement `id` runs through a current sink-mode plan (tests).
    func hasSinkPlan(id: [UInt8]) -> Bool {
        guard let cached = sinkInserts[id] else { return false }
        return cached.schemaVersion == catalog.version && cached.plan != nil
    }

    /// BATCH message: every statement's mutations, applied together.
    mutating func batch(_ batch: CQLBatch, session: CQLSessionState, context: ExecutionContext) throws(CQLServerError) -> ExecutionOutcome {
        if batch.type == .counter { throw CQLServerError(.invalid, "Counter batches are not supported by the Stampede embedded server") }
        var mutations: [Mutation] = []
        for statement in batch.statements {
            let parsed: ParsedStatement
            var keyspace = session.keyspace
            let values: [CQLBoundValue]
            switch statement.kind {
            case .query(let text):
                parsed = try CQLParser.parse(text)
                values = try Self.positional(statement.values, markers: parsed.bindMarkers.map(\.name))
            case .prepared(let id):
                guard let entry = prepared[id] else {
                    throw CQLServerError(.unprepared(id: id), "Prepared query with ID \(Self.hex(id)) not found")
                }
                parsed = entry.parsed
                keyspace = entry.keyspace ?? keyspace
                values = try Self.positional(statement.values, markers: [])
            }
            guard parsed.statement.isWrite, !Self.isBatch(parsed.statement) else {
                throw CQLServerError(.invalid, "Invalid statement in batch: only UPDATE, INSERT and DELETE statements are allowed.")
            }
            mutations += try planWrites(
                parsed.statement, values: values, sessionKeyspace: keyspace, defaultTimestamp: batch.defaultTimestamp, context: context)
        }
        return applyWrites(mutations)
    }

    private static func isBatch(_ statement: CQLStatement) -> Bool {
        if case .batch = statement { return true }
        return false
    }

    // MARK: Replay

    /// Re-applies a commit-log entry at start-up.
    mutating func replay(_ entry: JournalEntry) throws(CQLServerError) {
        switch entry {
        case .schema(let keyspace, let statement):
            var session = CQLSessionState(keyspace: keyspace)
            _ = try query(statement, parameters: CQLQueryParameters(), session: &session, context: ExecutionContext(nodeIndex: 0, nowMicros: Self.nowMicros()))
        case .mutations(let mutations):
            _ = applyWrites(mutations)
        case .truncate(let keyspace, let table):
            if let schema = catalog.keyspaces[keyspace]?.tables[table] { stores[schema.id]?.truncate() }
        }
    }

    /// The schema of a table, for commit-log encoding.
    func tableSchema(keyspace: String, table: String) -> TableSchema? {
        catalog.keyspaces[keyspace]?.tables[table]
    }

    /// Every stored partition of every user table, for snapshots.
    func forEachStoredTable(_ body: (TableSchema, TableStore) throws -> Void) rethrows {
        for keyspace in catalog.sortedKeyspaces where !keyspace.isSystem {
            for table in keyspace.tables.values.sorted(by: { $0.name < $1.name }) {
                if let store = stores[table.id] { try body(table, store) }
            }
        }
    }

    static func nowMicros() -> Int64 {
        Int64(Date().timeIntervalSince1970 * 1_000_000)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// Positional values from what the client sent; named values are matched to marker names.
    static func positional(_ values: CQLBoundValues, markers: @autoclosure () -> [String?]) throws(CQLServerError) -> [CQLBoundValue] {
        switch values {
        case .named(let named):
            var result: [CQLBoundValue] = []
            for marker in markers() {
                guard let marker, let match = named.first(where: { $0.name.lowercased() == marker.lowercased() }) else {
                    throw CQLServerError(.invalid, "No value bound for the variable \(marker ?? "?")")
                }
                result.append(match.value)
            }
            return result
        default:
            do { return try values.positionalValues() } catch {
                throw CQLServerError(.protocolError, "malformed bound values: \(error)")
            }
        }
    }

    // MARK: Running statements

    private mutating func run(
        _ parsed: ParsedStatement, text: String, values: [CQLBoundValue], parameters: CQLQueryParameters,
        session: inout CQLSessionState, context: ExecutionContext
    ) throws(CQLServerError) -> ExecutionOutcome {
        switch parsed.statement {
        case .use(let keyspace):
            _ = try catalog.keyspace(keyspace)
            session.keyspace = keyspace
            return ExecutionOutcome(result: .setKeyspace(keyspace))
        case .createKeyspace(let statement):
            guard try catalog.createKeyspace(statement) else { return ExecutionOutcome(result: .void) }
            return schemaOutcome(.created, .keyspace(statement.name), text: text, session: session)
        case .alterKeyspace(let statement):
            try catalog.alterKeyspace(statement)
            return schemaOutcome(.updated, .keyspace(statement.name), text: text, session: session)
        case .dropKeyspace(let name, let ifExists):
            guard let tableIDs = try catalog.dropKeyspace(name, ifExists: ifExists) else { return ExecutionOutcome(result: .void) }
            for id in tableIDs { stores[id] = nil }
            prepared.invalidate(keyspace: name)
            if session.keyspace == name { session.keyspace = nil }
            return schemaOutcome(.dropped, .keyspace(name), text: text, session: session)
        case .createTable(let statement):
            guard let table = try catalog.createTable(statement, sessionKeyspace: session.keyspace) else {
                return ExecutionOutcome(result: .void)
            }
            stores[table.id] = TableStore(schema: table)
            return schemaOutcome(.created, .table(keyspace: table.keyspace, name: table.name), text: text, session: session)
        case .dropTable(let name, let ifExists):
            guard let table = try catalog.dropTable(name, sessionKeyspace: session.keyspace, ifExists: ifExists) else {
                return ExecutionOutcome(result: .void)
            }
            stores[table.id] = nil
            prepared.invalidate(keyspace: table.keyspace)
            return schemaOutcome(.dropped, .table(keyspace: table.keyspace, name: table.name), text: text, session: session)
        case .truncate(let name):
            let table = try catalog.table(name, sessionKeyspace: session.keyspace)
            try requireUserTable(table)
            stores[table.id]?.truncate()
            return ExecutionOutcome(result: .void, journal: [.truncate(keyspace: table.keyspace, table: table.name)])
        case .describe(let statement):
            let rows = try DescribeExecutor(catalog: catalog, topology: topology, sessionKeyspace: session.keyspace).run(statement)
            return ExecutionOutcome(result: .rows(rows))
        case .select(let select):
            return ExecutionOutcome(result: .rows(try runSelect(select, values: values, parameters: parameters, session: session, context: context)))
        case .insert(let insert) where insert.ifNotExists:
            return try conditionalWrite(parsed.statement, values: values, parameters: parameters, session: session, context: context)
        case .update(let update) where update.ifExists || !update.conditions.isEmpty:
            return try conditionalWrite(parsed.statement, values: values, parameters: parameters, session: session, context: context)
        case .delete(let delete) where delete.ifExists || !delete.conditions.isEmpty:
            return try conditionalWrite(parsed.statement, values: values, parameters: parameters, session: session, context: context)
        case .insert, .update, .delete, .batch:
            if case .batch(let batch) = parsed.statement, batch.kind == .counter {
                throw CQLServerError(.invalid, "Counter batches are not supported by the Stampede embedded server")
            }
            let mutations = try planWrites(
                parsed.statement, values: values, sessionKeyspace: session.keyspace, defaultTimestamp: parameters.defaultTimestamp, context: context)
            return applyWrites(mutations)
        }
    }

    private func schemaOutcome(_ change: CQLSchemaChange.Change, _ target: CQLSchemaChange.Target, text: String, session: CQLSessionState) -> ExecutionOutcome {
        let schemaChange = CQLSchemaChange(change: change, target: target)
        return ExecutionOutcome(result: .schemaChange(schemaChange), schemaChange: schemaChange, journal: [.schema(keyspace: session.keyspace, statement: text)])
    }

    private func requireUserTable(_ table: TableSchema) throws(CQLServerError) {
        if catalog.keyspaces[table.keyspace]?.isSystem ?? false {
            throw CQLServerError(.unauthorized, "\(table.keyspace) keyspace is not user-modifiable.")
        }
    }

    private func evaluator(_ values: [CQLBoundValue], context: ExecutionContext) -> TermEvaluator {
        TermEvaluator(boundValues: values, nowMicros: context.nowMicros, timeUUIDs: timeUUIDs)
    }

    private func planWrites(
        _ statement: CQLStatement, values: [CQLBoundValue], sessionKeyspace: String?, defaultTimestamp: Int64?, context: ExecutionContext
    ) throws(CQLServerError) -> [Mutation] {
        let stores = self.stores
        let planner = WritePlanner(
            evaluator: evaluator(values, context: context), defaultTimestamp: defaultTimestamp,
            currentRow: { table, key, clustering in
                guard let partition = stores[table.id]?.partition(key) else { return nil }
                return clustering.isEmpty && !table.clustering.isEmpty ? partition.staticRow : partition.row(ClusteringKey(values: clustering))
            })
        switch statement {
        case .insert(let insert):
            let table = try catalog.table(insert.table, sessionKeyspace: sessionKeyspace)
            try requireUserTable(table)
            return [try planner.insert(insert, table: table)]
        case .update(let update):
            let table = try catalog.table(update.table, sessionKeyspace: sessionKeyspace)
            try requireUserTable(table)
            return try planner.update(update, table: table)
        case .delete(let delete):
            let table = try catalog.table(delete.table, sessionKeyspace: sessionKeyspace)
            try requireUserTable(table)
            return try planner.delete(delete, table: table)
        case .batch(let batch):
            var timestamp = defaultTimestamp
            if let term = batch.timestamp {
                guard case .bigint(let value) = try evaluator(values, context: context).value(term, as: .bigint, receiver: "[timestamp]") else {
                    throw CQLServerError(.invalid, "Invalid null value of timestamp")
                }
                timestamp = value
            }
            var mutations: [Mutation] = []
            for inner in batch.statements {
                if case .insert(let insert) = inner, insert.ifNotExists {
                    throw CQLServerError(.invalid, "Conditional statements in batches are not supported by the Stampede embedded server")
                }
                mutations += try planWrites(inner, values: values, sessionKeyspace: sessionKeyspace, defaultTimestamp: timestamp, context: context)
            }
            return mutations
        default:
            return []
        }
    }

    private mutating func applyWrites(_ mutations: [Mutation]) -> ExecutionOutcome {
        if storesWrites {
            for mutation in mutations {
                guard let table = catalog.keyspaces[mutation.keyspace]?.tables[mutation.table] else { continue }
                store(for: table).apply(mutation)
            }
        }
        return ExecutionOutcome(result: .void, journal: storesWrites ? [.mutations(mutations)] : [], writeCount: mutations.count)
    }

    private mutating func store(for table: TableSchema) -> TableStore {
        if let store = stores[table.id] { return store }
        let store = TableStore(schema: table)
        stores[table.id] = store
        return store
    }

    /// INSERT IF NOT EXISTS, UPDATE/DELETE IF EXISTS or IF conditions: check the current row, then write.
    private mutating func conditionalWrite(
        _ statement: CQLStatement, values: [CQLBoundValue], parameters: CQLQueryParameters, session: CQLSessionState, context: ExecutionContext
    ) throws(CQLServerError) -> ExecutionOutcome {
        let mutations = try planWrites(
            statement, values: values, sessionKeyspace: session.keyspace, defaultTimestamp: parameters.defaultTimestamp, context: context)
        guard let first = mutations.first, let table = catalog.keyspaces[first.keyspace]?.tables[first.table] else {
            return applyWrites(mutations)
        }
        let nowSeconds = Int32(truncatingIfNeeded: context.nowMicros / 1_000_000)
        let partition = stores[table.id]?.partition(first.partitionKey)
        let row = partition?.row(ClusteringKey(values: first.clustering))
        let exists = row.map { $0.isLive(at: nowSeconds, partitionDeletedAt: partition?.deletedAt ?? noTimestamp) } ?? false
        var applied: Bool
        switch statement {
        case .insert: applied = !exists
        case .update(let update):
            applied = exists
            if !update.conditions.isEmpty {
                applied = try conditionsHold(update.conditions, table: table, row: exists ? row : nil, partition: partition, values: values, context: context)
            }
        case .delete(let delete):
            applied = exists
            if !delete.conditions.isEmpty {
                applied = try conditionsHold(delete.conditions, table: table, row: exists ? row : nil, partition: partition, values: values, context: context)
            }
        default: applied = true
        }
        var outcome = applied ? applyWrites(mutations) : ExecutionOutcome(result: .void)
        let spec = CQLColumnSpec(keyspace: table.keyspace, table: table.name, name: "[applied]", type: .boolean)
        do {
            outcome.result = .rows(try CQLRows(columns: [spec], rows: [[.boolean(applied)]]))
        } catch {
            throw CQLServerError(.serverError, "could not encode [applied]: \(error)")
        }
        return outcome
    }

    private func conditionsHold(
        _ conditions: [Relation], table: TableSchema, row: StoredRow?, partition: StoredPartition?, values: [CQLBoundValue], context: ExecutionContext
    ) throws(CQLServerError) -> Bool {
        let restrictions = try Restrictions(conditions, table: table, evaluator: evaluator(values, context: context))
        for relation in restrictions.all {
            let column = relation.column
            var value = CQLValue.null
            let cell: StoredCell? = column.kind == .static ? partition?.staticRow.cells[column.slot] : row?.cells[column.slot]
            if column.slot >= 0, let bytes = cell?.value {
                var buffer = ByteBuffer(bytes: bytes)
                value = (try? CQLValue.decode(column.type, body: &buffer)) ?? .null
            }
            if relation.op == .equal, relation.operands.first?.isNull ?? false {
                if !value.isNull { return false }
                continue
            }
            guard relation.matches(value) else { return false }
        }
        return true
    }

    private mutating func runSelect(
        _ select: SelectStatement, values: [CQLBoundValue], parameters: CQLQueryParameters, session: CQLSessionState, context: ExecutionContext
    ) throws(CQLServerError) -> CQLRows {
        let table = try catalog.table(select.table, sessionKeyspace: session.keyspace)
        let evaluator = evaluator(values, context: context)
        let pageSize = parameters.pageSize.map(Int.init)
        if catalog.keyspaces[table.keyspace]?.isSystem ?? false {
            let rows = try SystemTableRows(catalog: catalog, topology: topology, nodeIndex: context.nodeIndex).rows(for: table)
            return try VirtualTableSelect(statement: select, table: table, evaluator: evaluator).run(
                rows: rows, pageSize: pageSize, pagingState: parameters.pagingState, skipMetadata: parameters.skipMetadata)
        }
        let executor = try SelectExecutor(select, table: table, evaluator: evaluator)
        return try executor.run(store: store(for: table), pageSize: pageSize, pagingState: parameters.pagingState, skipMetadata: parameters.skipMetadata)
    }
}
