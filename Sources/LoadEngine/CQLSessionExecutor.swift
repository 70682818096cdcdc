import CQLClient
import CQLProtocol
import NIOCore

/// Runs the engine's statements through a ``CQLSession``.
///
/// The engine makes its own retry decisions and counts every attempt, so give the session a retry policy with no
/// retries (`CQLRetryPolicy(maxRetries: 0)`) when it is used for load.
///
/// Given the session's event loop group, the engine runs each of its tasks on one of the group's loops (task `n` on
/// loop `n mod loops`): a task and the connection it writes to then share a thread when the group has one loop (or
/// the session picks the connection of the calling loop), which saves two thread switches per operation.
public struct CQLSessionExecutor: StatementExecutor {
    /// Everything the executor holds, behind one reference: the engine's generic code copies its executor for every
    /// operation, and a copy is then one ordinary retain (the session itself is weakly referenced elsewhere, which
    /// makes each of its retains take the slower side-table path).
    final class Storage: Sendable {
        let session: CQLSession
        let timeout: Duration?
        let loopExecutors: [EventLoopTaskExecutor]

        init(session: CQLSession, timeout: Duration?, loopExecutors: [EventLoopTaskExecutor]) {
            self.session = session
            self.timeout = timeout
            self.loopExecutors = loopExecutors
        }
    }

    private var storage: Storage

    public var session: CQLSession { storage.session }
    /// Per-request timeout; the session's when `nil`.
    public var timeout: Duration? {
        get { storage.timeout }
        set { storage = Storage(session: storage.session, timeout: newValue, loopExecutors: storage.loopExecutors) }
    }
    /// One task executor per loop of the session's event loop group; empty runs tasks on the default pool.
    public var loopExecutors: [EventLoopTaskExecutor] { storage.loopExecutors }

    /// - Parameters:
    ///   - session: the connected session.
    ///   - timeout: per-request timeout; the session's when `nil`.
    ///   - eventLoopGroup: the group the session's connections run on (`CQLSessionConfiguration.eventLoopGroup`),
    ///     to run the engine's tasks on its loops; `nil` runs them on the default thread pool.
    public init(session: CQLSession, timeout: Duration? = nil, eventLoopGroup: (any EventLoopGroup)? = nil) {
        storage = Storage(
            session: session, timeout: timeout, loopExecutors: eventLoopGroup.map(EventLoopTaskExecutor.executors(for:)) ?? [])
    }

    public func taskExecutor(forTask task: Int) -> (any TaskExecutor)? {
        loopExecutors.isEmpty ? nil : loopExecutors[task % loopExecutors.count]
    }

    public func prepare(_ cql: String) async throws -> CQLPreparedStatement {
        try await session.prepare(cql)
    }

    public func bindTypes(of statement: CQLPreparedStatement) -> [CQLDataType] {
        statement.bindColumns.map(\.type)
    }

    public func execute(_ statement: CQLPreparedStatement, values: [CQLValue], consistency: CQLConsistency, isIdempotent: Bool) async throws -> Int {
        let result = try await session.execute(
            statement, values: values, options: CQLStatementOptions(consistency: consistency, timeout: timeout, isIdempotent: isIdempotent))
        return result.rows.count
    }

    /// True: the session starts EXECUTEs without suspending (``CQLSession/startExecute(_:values:options:onResponse:)``).
    public var startsWithoutSuspending: Bool { true }

    public func start(
        _ statement: CQLPreparedStatement, values: [CQLValue], consistency: CQLConsistency, isIdempotent: Bool,
        completion: @escaping @Sendable ((any Error)?) -> Void
    ) -> Bool {
        let storage = self.storage
        return storage.session.startExecute(
            statement, values: values,
            options: CQLStatementOptions(consistency: consistency, timeout: storage.timeout, isIdempotent: isIdempotent)
        ) { result in
            switch result {
            case .success(.error(let error)):
                // The host forgot the statement (restarted): `execute` prepares it again there.
                if case .unprepared = error.kind { completion(StatementStartDeclined()) } else { completion(CQLClientError(.server(error), "\(error)")) }
            case .success:
                completion(nil)
            case .failure(let error):
                completion(error)
            }
        }
    }

    public func executeUnloggedBatch(_ statement: CQLPreparedStatement, values: [[CQLValue]], consistency: CQLConsistency) async throws {
        try await session.batch(
            values.map { .prepared(statement, $0) }, type: .unlogged,
            options: CQLStatementOptions(consistency: consistency, timeout: timeout, isIdempotent: true))
    }

    public func run(_ cql: String) async throws {
        try await session.run(cql)
    }

    public func rows(_ cql: String) async throws -> [[CQLValue]] {
        try await session.query(cql).rows
    }

    public func classify(_ error: any Error) -> OperationFailure {
        guard let error = error as? CQLClientError else {
            if error is CancellationError {
                return OperationFailure(kind: .other, outcomeUnknown: true, isRetryable: false, message: "cancelled")
            }
            return OperationFailure(kind: .other, outcomeUnknown: false, isRetryable: false, message: String(describing: error))
        }
        let unknown = error.isOutcomeUnknown
        switch error.kind {
        case .timeout:
            return OperationFailure(kind: .timeout, outcomeUnknown: true, isRetryable: true, message: error.description)
        case .server(let server):
            switch server.kind {
            case .writeTimeout, .readTimeout, .casWriteUnknown:
                return OperationFailure(kind: .timeout, outcomeUnknown: unknown, isRetryable: true, message: server.kind.name)
            case .unavailable:
                return OperationFailure(kind: .unavailable, outcomeUnknown: false, isRetryable: true, message: server.kind.name)
            case .overloaded, .isBootstrapping:
                return OperationFailure(kind: .overloaded, outcomeUnknown: false, isRetryable: true, message: server.kind.name)
            default:
                return OperationFailure(kind: .other, outcomeUnknown: false, isRetryable: false, message: server.kind.name)
            }
        case .busy:
            return OperationFailure(kind: .overloaded, outcomeUnknown: false, isRetryable: true, message: error.description)
        case .connectionFailed, .noHostAvailable:
            return OperationFailure(kind: .other, outcomeUnknown: false, isRetryable: true, message: error.description)
        case .connectionClosed:
            return OperationFailure(kind: .other, outcomeUnknown: true, isRetryable: true, message: error.description)
        case .protocolViolation, .authentication, .unsupportedProtocolVersion, .invalidArgument, .shutdown, .tls:
            return OperationFailure(kind: .other, outcomeUnknown: unknown, isRetryable: false, message: error.description)
        }
    }
}
