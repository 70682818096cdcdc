import CQLProtocol

/// A statement a workload needs prepared before the run.
public struct WorkloadStatement: Sendable, Hashable {
    /// The CQL text, with `?` bind markers.
    public var cql: String
    /// The consistency it runs at.
    public var consistency: CQLConsistency
    /// Whether running it twice is harmless (then it is retried after timeouts).
    public var isIdempotent: Bool
    /// Rows per unlogged batch; 1 runs it alone.
    public var batchSize: Int

    public init(cql: String, consistency: CQLConsistency = .one, isIdempotent: Bool = true, batchSize: Int = 1) {
        self.cql = cql
        self.consistency = consistency
        self.isIdempotent = isIdempotent
        self.batchSize = batchSize
    }
}

/// One operation the engine will run for a work index: which statement, with which values.
public struct WorkloadOperation: Sendable {
    /// Index into the workload's ``Workload/operationNames`` (the metrics key).
    public var operation: Int
    /// Index into the workload's ``Workload/statements``.
    public var statement: Int
    /// Bind values for a single statement; for a batch, the first row's values.
    public var values: [CQLValue]
    /// Every row's values when the statement is batched (`batchSize` > 1); empty otherwise.
    public var batchValues: [[CQLValue]]

    public init(operation: Int, statement: Int, values: [CQLValue], batchValues: [[CQLValue]] = []) {
        self.operation = operation
        self.statement = statement
        self.values = values
        self.batchValues = batchValues
    }
}

/// What a workload may use while it gets ready: the prepared statements' bind types and row loading.
public struct WorkloadSetupContext: Sendable {
    /// Bind marker types of each statement, in ``Workload/statements`` order (empty arrays when unknown).
    public var bindTypes: [[CQLDataType]]
    /// Runs a query and returns its rows (for seeded rows loaded at start).
    public var loadRows: @Sendable (String) async throws -> [[CQLValue]]

    public init(bindTypes: [[CQLDataType]], loadRows: @escaping @Sendable (String) async throws -> [[CQLValue]]) {
        self.bindTypes = bindTypes
        self.loadRows = loadRows
    }
}

/// A workload: a pure mapping from a work index to the operation to run.
///
/// `operation(at:)` must be a pure function of the run identity and the index, so that re-running an index (a
/// retry, or a chunk re-leased to another worker) writes exactly the same row.
public protocol Workload: Sendable {
    /// A short name (`chat-write`, a profile's name).
    var name: String { get }
    /// Names of the operations, used as metrics keys.
    var operationNames: [String] { get }
    /// Which operation names write a new message/row (counted in `total_messages`).
    var writeOperationNames: Set<String> { get }
    /// Statements to prepare, in the order ``WorkloadOperation/statement`` refers to.
    var statements: [WorkloadStatement] { get }
    /// Schema statements to apply before the run (by `stampede schema apply`, or the run when asked).
    var schema: [String] { get }
    /// Gets ready once the statements are prepared (loads rows, learns bind types); returns the ready workload.
    func setUp(_ context: WorkloadSetupContext) async throws -> any Workload
    /// The operation for `index`. Pure.
    func operation(at index: UInt64) -> WorkloadOperation
    /// What the workload found while getting ready that the user should know (e.g. seeded rows missing, so it fell
    /// back to generated data); shown by the CLI and kept in the outcome.
    var setupNotes: [String] { get }
}

extension Workload {
    public var setupNotes: [String] { [] }
}
