import CQLProtocol
import NIOCore

/// Runs a SELECT over rows computed in memory (system tables, DESCRIBE output):
/// any relation filters, then projection, COUNT, LIMIT and position-based paging.
struct VirtualTableSelect {
    let statement: SelectStatement
    let table: TableSchema
    let evaluator: TermEvaluator

    func run(rows: [[CQLValue]], pageSize: Int?, pagingState: ByteBuffer?, skipMetadata: Bool) throws(CQLServerError) -> CQLRows {
        let selection = try Selection(statement, table: table)
        let restrictions = try Restrictions(statement.relations, table: table, evaluator: evaluator)
        let limit = try SelectExecutor.positiveInt(statement.limit, evaluator: evaluator, what: "LIMIT")
        var matching = rows.filter { row in restrictions.all.allSatisfy { $0.matches(row[$0.columnIndex]) } }
        if statement.orderBy.first.map({ ordering in
            table.columnIndex(named: ordering.column).map { table.columns[$0].descending != ordering.descending } ?? false
        }) == true {
            matching.reverse()
        }
        if let limit { matching = Array(matching.prefix(limit)) }
        if selection.isCount {
            do {
                return try CQLRows(columns: selection.specs, rows: [[.bigint(Int64(matching.count))]], skipMetadata: skipMetadata)
            } catch {
                throw CQLServerError(.serverError, "could not encode the count: \(error)")
            }
        }
        var offset = 0
        if let pagingState {
            offset = try PagingState.decode(pagingState, clusteringTypes: []).offset
        }
        var end = matching.count
        var nextState: ByteBuffer?
        if let pageSize, pageSize > 0, offset + pageSize < matching.count {
            end = offset + pageSize
            nextState = PagingState(partitionIndex: 0, partitionKey: [], clustering: nil, rowsReturned: 0, rowsInPartition: 0, offset: end)
                .encode(clusteringTypes: [])
        }
        let page = offset < end ? Array(matching[offset..<end]) : []
        let projected = page.map { row in
            selection.outputs.map { output -> CQLValue in
                switch output {
                case .column(let index): return row[index]
                case .writetime, .ttl: return .null
                }
            }
        }
        do {
            return try CQLRows(columns: selection.specs, rows: projected, pagingState: nextState, skipMetadata: skipMetadata)
        } catch {
            throw CQLServerError(.serverError, "could not encode \(table.keyspace).\(table.name) rows: \(error)")
        }
    }
}
