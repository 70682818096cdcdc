import CQLProtocol
import NIOCore

extension CQLSession {
    // MARK: Public API

    /// Prepares a statement (once per session and keyspace: later calls return the cached statement).
    public func prepare(_ query: String) async throws -> CQLPreparedStatement {
        let keyspace = self.keyspace
        let cacheKey = (keyspace ?? "") + "\u{0}" + query
        if let cached = preparedCache.withLockedValue({ $0[cacheKey] }) { return cached }
        let (response, host) = try await send(.prepare(query), plan: queryPlan(keyspace: nil, routingKey: nil), isIdempotent: true, timeout: nil)
        guard case .result(.prepared(let prepared)) = response else {
            throw CQLClientError(.protocolViolation, "\(host) answered PREPARE with \(response.opcode)", host: host.description)
        }
        let statement = CQLPreparedStatement(query: query, keyspace: keyspace, prepared: prepared)
        preparedCache.withLockedValue { $0[cacheKey] = statement }
        return statement
    }

    /// Executes a prepared statement with values for its bind markers, in order.
    ///
    /// The EXECUTE frame is written in one pass by the statement's `CQLExecuteEncoder` (the fast path: no
    /// intermediate value buffer, parameters or request), and the connection copies it into its coalesced writes.
    @discardableResult
    public func execute(_ statement: CQLPreparedStatement, values: [CQLValue] = [], options: CQLStatementOptions = .init()) async throws -> CQLQueryResult {
        let parameters = executeParameters(statement, options)
        let (frame, routingKey) = try statement.encodeExecute(values, parameters: parameters)
        return try await execute(statement, encoded: frame, routingKey: routingKey, options: options)
    }

    /// Executes a prepared statement whose values `values` writes, typed, through a `CQLValueWriter` (one per bind
    /// marker, in order): the fastest path, with no `CQLValue`s at all.
    ///
    /// ```swift
    /// try await session.execute(insert) { row in
    ///     try row.write(conversationID)
    ///     try row.write(text)
    /// }
    /// ```
    @discardableResult
    public func execute(
        _ statement: CQLPreparedStatement, options: CQLStatementOptions = .init(), values: (inout CQLValueWriter) throws -> Void
    ) async throws -> CQLQueryResult {
        let parameters = executeParameters(statement, options)
        let (frame, routingKey) = try statement.encodeExecute(parameters: parameters, values: values)
        return try await execute(statement, encoded: frame, routingKey: routingKey, options: options)
    }

    private func execute(
        _ statement: CQLPreparedStatement, encoded frame: CQLEncodedRequest, routingKey: ByteBuffer?, options: CQLStatementOptions
    ) async throws -> CQLQueryResult {
        let plan = queryPlan(keyspace: statement.routingKeyspace, routingKey: routingKey)
        let isIdempotent = options.isIdempotent ?? statement.isRead
        let (response, host) = try await send(.encoded(frame), plan: plan, isIdempotent: isIdempotent, timeout: options.timeout, reprepare: statement.query)
        return try Self.result(from: response, host: host, columns: statement.resultColumns)
    }

    /// Starts an EXECUTE of `statement` on the first host of its query plan without suspending; `onResponse` is called
    /// once, on the connection's event loop, with the response (which may be `.error`) or the connection's error.
    /// Returns false, and never calls `onResponse`, when that host has no open connection or the values do not encode.
    /// No retries, no re-preparing and no other host: a caller that gets an error finishes the operation through
    /// ``execute(_:values:options:)``, which does all of that. No future is made: this is the open model's path.
    public func startExecute(
        _ statement: CQLPreparedStatement, values: [CQLValue], options: CQLStatementOptions = .init(),
        onResponse: @escaping @Sendable (Result<CQLResponse, CQLClientError>) -> Void
    ) -> Bool {
        guard !isClosed else { return false }
        let parameters = executeParameters(statement, options)
        guard let (frame, routingKey) = try? statement.encodeExecute(values, parameters: parameters) else { return false }
        guard let connection = preferredHost(keyspace: statement.routingKeyspace, routingKey: routingKey)?.leastBusyConnection()
        else { return false }
        connection.send(frame, timeout: options.timeout, onResponse: onResponse)
        return true
    }

    /// Executes a prepared statement whose values are already serialized (see `CQLPreparedStatement.bind`): the
    /// general path, which builds a `CQLRequest` that the connection encodes.
    @discardableResult
    public func execute(_ statement: CQLPreparedStatement, bound: CQLBoundValues, routingKey: ByteBuffer?, options: CQLStatementOptions = .init()) async throws -> CQLQueryResult {
        let parameters = executeParameters(statement, options, values: bound)
        let plan = queryPlan(keyspace: statement.routingKeyspace, routingKey: routingKey)
        let isIdempotent = options.isIdempotent ?? statement.isRead
        let (response, host) = try await send(.execute(id: statement.id, parameters), plan: plan, isIdempotent: isIdempotent,
                                              timeout: options.timeout, reprepare: statement.query)
        return try Self.result(from: response, host: host, columns: statement.resultColumns)
    }

    /// Runs an unprepared statement. Values are sent with their natural types (text as varchar, and so on).
    @discardableResult
    public func query(_ cql: String, values: [CQLValue] = [], options: CQLStatementOptions = .init()) async throws -> CQLQueryResult {
        let parameters = makeParameters(values: try CQLBoundValues.natural(values), options: options, skipMetadata: false)
        let isIdempotent = options.isIdempotent ?? CQLPreparedStatement.looksLikeRead(cql)
        let (response, host) = try await send(.query(cql, parameters), plan: queryPlan(keyspace: nil, routingKey: nil),
                                              isIdempotent: isIdempotent, timeout: options.timeout)
        let result = try Self.result(from: response, host: host, columns: nil)
        if case .result(.setKeyspace(let keyspace)) = response { await use(keyspace) }
        return result
    }

    /// Runs a statement and ignores its rows.
    public func run(_ cql: String, values: [CQLValue] = [], options: CQLStatementOptions = .init()) async throws {
        _ = try await query(cql, values: values, options: options)
    }

    /// One statement of a batch: a prepared statement with values, or CQL text.
    public enum BatchEntry: Sendable {
        case prepared(CQLPreparedStatement, [CQLValue])
        case query(String, [CQLValue])
    }

    /// Runs a batch. Routed by the first prepared statement's partition.
    public func batch(_ entries: [BatchEntry], type: CQLBatchType = .logged, options: CQLStatementOptions = .init()) async throws {
        var statements: [CQLBatchStatement] = []
        var routing: (String?, ByteBuffer?) = (nil, nil)
        var allRead = true
        for entry in entries {
            switch entry {
            case .prepared(let statement, let values):
                let (bound, key) = try statement.bind(values)
                if routing.1 == nil { routing = (statement.routingKeyspace, key) }
                statements.append(CQLBatchStatement(kind: .prepared(id: statement.id), values: bound))
                allRead = false
            case .query(let cql, let values):
                statements.append(CQLBatchStatement(kind: .query(cql), values: try CQLBoundValues.natural(values)))
                allRead = false
            }
        }
        let batch = CQLBatch(
            type: type, statements: statements, consistency: options.consistency ?? configuration.defaultConsistency,
            serialConsistency: options.serialConsistency ?? configuration.defaultSerialConsistency,
            defaultTimestamp: options.timestamp ?? (configuration.clientTimestamps ? nextTimestamp() : nil))
        let plan = queryPlan(keyspace: routing.0, routingKey: routing.1)
        let (response, host) = try await send(.batch(batch), plan: plan, isIdempotent: options.isIdempotent ?? allRead, timeout: options.timeout)
        _ = try Self.result(from: response, host: host, columns: nil)
    }

    /// Every row of a query, fetching pages as the sequence is consumed.
    public func rows(_ cql: String, values: [CQLValue] = [], options: CQLStatementOptions = .init()) -> CQLRowSequence {
        CQLRowSequence(options: options) { options in try await self.query(cql, values: values, options: options) }
    }

    /// Every row of a prepared statement, fetching pages as the sequence is consumed.
    public func rows(_ statement: CQLPreparedStatement, values: [CQLValue] = [], options: CQLStatementOptions = .init()) -> CQLRowSequence {
        CQLRowSequence(options: options) { options in try await self.execute(statement, values: values, options: options) }
    }

    // MARK: Internals

    /// Switches every pooled connection to `keyspace`.
    func use(_ keyspace: String) async {
        let pools = state.withLockedValue { state -> [CQLHostPool] in
            state.keyspace = keyspace
            return Array(state.pools.values)
        }
        let statement = CQLRequest.query("USE \(CQLIdentifier.quoted(keyspace))", CQLQueryParameters())
        for pool in pools {
            for connection in pool.openConnections { _ = try? await connection.send(statement) }
        }
    }

    /// The parameters of an EXECUTE of `statement` (`values` empty when its encoder writes them into the frame).
    func executeParameters(_ statement: CQLPreparedStatement, _ options: CQLStatementOptions, values: CQLBoundValues = .none) -> CQLQueryParameters {
        makeParameters(values: values, options: options, skipMetadata: !statement.resultColumns.isEmpty)
    }

    func makeParameters(values: CQLBoundValues, options: CQLStatementOptions, skipMetadata: Bool) -> CQLQueryParameters {
        CQLQueryParameters(
            consistency: options.consistency ?? configuration.defaultConsistency,
            values: values,
            skipMetadata: skipMetadata,
            pageSize: options.pageSize ?? configuration.pageSize,
            pagingState: options.pagingState,
            serialConsistency: options.serialConsistency ?? configuration.defaultSerialConsistency,
            defaultTimestamp: options.timestamp ?? (configuration.clientTimestamps ? nextTimestamp() : nil))
    }

    /// Sends `request` along the plan, applying the retry policy; re-prepares on `Unprepared`.
    func send(_ request: CQLRequest, plan: [CQLHostPool], isIdempotent: Bool, timeout: Duration?, reprepare query: String? = nil) async throws -> (CQLResponse, CQLHostAddress) {
        try await send(.request(request), plan: plan, isIdempotent: isIdempotent, timeout: timeout, reprepare: query)
    }

    /// Sends `request` along the plan, applying the retry policy; re-prepares on `Unprepared`.
    func send(_ request: CQLOutboundMessage, plan: [CQLHostPool], isIdempotent: Bool, timeout: Duration?, reprepare query: String? = nil) async throws -> (CQLResponse, CQLHostAddress) {
        guard !isClosed else { throw CQLClientError(.shutdown, "the session is closed") }
        var errors: [(host: String, error: CQLClientError)] = []
        var attempt = 0
        for pool in plan {
            guard let connection = pool.leastBusyConnection() else {
                errors.append((pool.address.description, pool.lastError ?? CQLClientError(.connectionFailed, "no open connection to \(pool.address)", host: pool.address.description)))
                continue
            }
            let error: CQLClientError
            do {
                var response = try await connection.send(request, timeout: timeout).get()
                if case .error(let serverError) = response, case .unprepared = serverError.kind, let query {
                    // The host does not know the statement (restarted or new): prepare it there and try again.
                    _ = try await connection.send(.prepare(query), timeout: timeout)
                    response = try await connection.send(request, timeout: timeout).get()
                }
                guard case .error(let serverError) = response else { return (response, pool.address) }
                error = CQLClientError.server(serverError, host: pool.address.description)
            } catch let clientError as CQLClientError {
                error = clientError
            }
            errors.append((pool.address.description, error))
            switch configuration.retryPolicy.decide(error: error, isIdempotent: isIdempotent, attempt: attempt) {
            case .retryNextHost:
                attempt += 1
            case .rethrow:
                throw error
            }
        }
        if errors.count == 1 { throw errors[0].error }
        throw Self.allFailed(errors)
    }

    /// Converts a response into a result, or throws the server's error.
    static func result(from response: CQLResponse, host: CQLHostAddress, columns: [CQLColumnSpec]?) throws -> CQLQueryResult {
        switch response {
        case .result(.rows(let rows)):
            let columns = rows.metadata.columns ?? columns ?? []
            do {
                let values = try rows.decodeRows(columns: columns)
                return CQLQueryResult(columns: columns, rows: values, pagingState: rows.metadata.pagingState, host: host)
            } catch {
                throw CQLClientError(.protocolViolation, "\(host) sent rows that cannot be decoded: \(error)", host: host.description)
            }
        case .result(.schemaChange(let change)):
            return CQLQueryResult(host: host, schemaChange: change)
        case .result:
            return CQLQueryResult(host: host)
        case .error(let error):
            throw CQLClientError.server(error, host: host.description)
        default:
            throw CQLClientError(.protocolViolation, "\(host) answered with \(response.opcode)", host: host.description)
        }
    }
}

extension CQLPreparedStatement {
    /// Reads are idempotent by default.
    var isRead: Bool { Self.looksLikeRead(query) }

    static func looksLikeRead(_ cql: String) -> Bool {
        cql.drop { $0.isWhitespace }.prefix(6).lowercased() == "select"
    }
}

/// Rows of a query, page by page, fetched lazily as the sequence is iterated.
public struct CQLRowSequence: AsyncSequence, Sendable {
    public typealias Element = [CQLValue]
    let options: CQLStatementOptions
    let fetch: @Sendable (CQLStatementOptions) async throws -> CQLQueryResult

    init(options: CQLStatementOptions, fetch: @escaping @Sendable (CQLStatementOptions) async throws -> CQLQueryResult) {
        self.options = options
        self.fetch = fetch
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var options: CQLStatementOptions
        let fetch: @Sendable (CQLStatementOptions) async throws -> CQLQueryResult
        var page: [[CQLValue]] = []
        var position = 0
        var finished = false
        var started = false

        public mutating func next() async throws -> [CQLValue]? {
            while position >= page.count {
                if finished || (started && options.pagingState == nil) { return nil }
                let result = try await fetch(options)
                started = true
                page = result.rows
                position = 0
                options.pagingState = result.pagingState
                if result.pagingState == nil { finished = true }
            }
            defer { position += 1 }
            return page[position]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(options: options, fetch: fetch)
    }
}
