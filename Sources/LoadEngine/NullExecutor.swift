import CQLProtocol

/// An executor that answers every statement at once without a database: measures the load generator's own cost
/// (workload generation, scheduling, metrics) — `stampede run --dry-run`.
public struct NullExecutor: StatementExecutor {
    public init() {}
    public func prepare(_ cql: String) async throws -> Int { 0 }
    public func bindTypes(of statement: Int) -> [CQLDataType] { [] }
    public func execute(_ statement: Int, values: [CQLValue], consistency: CQLConsistency, isIdempotent: Bool) async throws -> Int {
        values.count > 64 ? 1 : 0
    }
    public func executeUnloggedBatch(_ statement: Int, values: [[CQLValue]], consistency: CQLConsistency) async throws {}
    public func run(_ cql: String) async throws {}
    public func rows(_ cql: String) async throws -> [[CQLValue]] { [] }
    public func classify(_ error: any Error) -> OperationFailure {
        OperationFailure(kind: .other, outcomeUnknown: false, isRetryable: false, message: "\(error)")
    }
}
