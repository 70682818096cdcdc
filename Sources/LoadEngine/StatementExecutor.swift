import CQLProtocol
import NIOCore

/// The seam between the engine and a database: prepare, execute, load rows.
///
/// ``CQLSessionExecutor`` implements it with the real client; tests implement it with fakes so the scheduler and
/// metrics can be tested without a server.
public protocol StatementExecutor: Sendable {
    /// A prepared statement, as this executor represents it.
    associatedtype Prepared: Sendable

    /// Prepares `cql`.
    func prepare(_ cql: String) async throws -> Prepared

    /// The types of `statement`'s bind markers, in order (empty when unknown).
    func bindTypes(of statement: Prepared) -> [CQLDataType]

    /// Executes `statement` once (no retries: the engine retries) and returns how many rows came back.
    func execute(_ statement: Prepared, values: [CQLValue], consistency: CQLConsistency, isIdempotent: Bool) async throws -> Int

    /// Executes an unlogged batch of `statement` with each set of values.
    func executeUnloggedBatch(_ statement: Prepared, values: [[CQLValue]], consistency: CQLConsistency) async throws

    /// Runs an unprepared statement (schema changes), ignoring rows.
    func run(_ cql: String) async throws

    /// Runs an unprepared query and returns its rows (first page is enough; the caller puts a LIMIT).
    func rows(_ cql: String) async throws -> [[CQLValue]]

    /// Says what kind of failure `error` (thrown by `execute`) is.
    func classify(_ error: any Error) -> OperationFailure

    /// Where the engine's task number `task` (a virtual user or an open-model worker) should run: the thread that
    /// does its I/O, when the executor has one; `nil` runs it on the default thread pool.
    func taskExecutor(forTask task: Int) -> (any TaskExecutor)?

    /// Whether ``start(_:values:consistency:isIdempotent:completion:)`` starts statements (the open model then runs its slots
    /// from the event loops without a task per operation).
    var startsWithoutSuspending: Bool { get }

    /// Starts one attempt of `statement` without suspending. Returns false when it cannot be started that way (the
    /// engine then uses ``execute(_:values:consistency:isIdempotent:)``); `completion` is then never called.
    /// Otherwise `completion` is called once, on any event loop, with `nil` when the attempt succeeded, its error
    /// (classified by ``classify(_:)``), or ``StatementStartDeclined`` when the attempt should be made again through
    /// `execute` without counting as one (the host had forgotten the prepared statement, which `execute` prepares
    /// again).
    func start(
        _ statement: Prepared, values: [CQLValue], consistency: CQLConsistency, isIdempotent: Bool,
        completion: @escaping @Sendable ((any Error)?) -> Void
    ) -> Bool
}

/// The error of a started attempt that ``StatementExecutor/execute(_:values:consistency:isIdempotent:)`` must make
/// again (it does not count as an attempt).
public struct StatementStartDeclined: Error, Sendable {
    public init() {}
}

extension StatementExecutor {
    public func taskExecutor(forTask task: Int) -> (any TaskExecutor)? { nil }
    public var startsWithoutSuspending: Bool { false }
    public func start(
        _ statement: Prepared, values: [CQLValue], consistency: CQLConsistency, isIdempotent: Bool,
        completion: @escaping @Sendable ((any Error)?) -> Void
    ) -> Bool { false }
}
