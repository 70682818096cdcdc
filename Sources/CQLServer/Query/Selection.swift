import CQLProtocol

/// What a SELECT returns: its output columns, resolved against the table.
struct Selection {
    enum Output {
        case column(Int)
        case writetime(Int)
        case ttl(Int)
    }

    var outputs: [Output]
    var specs: [CQLColumnSpec]
    var isCount: Bool

    init(_ statement: SelectStatement, table: TableSchema) throws(CQLServerError) {
        outputs = []
        specs = []
        isCount = false
        if statement.selectors.isEmpty {
            for index in table.selectStarOrder {
                outputs.append(.column(index))
                specs.append(table.spec(index))
            }
            return
        }
        for selector in statement.selectors {
            switch selector {
            case .countAll(let alias):
                guard statement.selectors.count == 1 else {
                    throw CQLServerError(.invalid, "COUNT(*) combined with other selectors is not supported by the Stampede embedded server")
                }
                isCount = true
                specs.append(CQLColumnSpec(keyspace: table.keyspace, table: table.name, name: alias ?? "count", type: .bigint))
            case .column(let name, let alias):
                let index = try columnIndex(name, table)
                outputs.append(.column(index))
                var spec = table.spec(index)
                if let alias { spec.name = alias }
                specs.append(spec)
            case .writetime(let name, let alias):
                let index = try columnIndex(name, table)
                try requireRegular(table.columns[index], function: "writetime")
                outputs.append(.writetime(index))
                specs.append(CQLColumnSpec(keyspace: table.keyspace, table: table.name, name: alias ?? "writetime(\(name))", type: .bigint))
            case .ttl(let name, let alias):
                let index = try columnIndex(name, table)
                try requireRegular(table.columns[index], function: "ttl")
                outputs.append(.ttl(index))
                specs.append(CQLColumnSpec(keyspace: table.keyspace, table: table.name, name: alias ?? "ttl(\(name))", type: .int))
            }
        }
        if statement.distinct {
            for output in outputs {
                guard case .column(let index) = output, table.columns[index].kind == .partitionKey || table.columns[index].kind == .static else {
                    throw CQLServerError(.invalid, "SELECT DISTINCT queries must only request partition key columns and/or static columns (not clustering or regular columns)")
                }
            }
        }
    }

    private func columnIndex(_ name: String, _ table: TableSchema) throws(CQLServerError) -> Int {
        guard let index = table.columnIndex(named: name) else {
            throw CQLServerError(.invalid, "Undefined column name \(name) in table \(table.keyspace).\(table.name)")
        }
        return index
    }

    private func requireRegular(_ column: ColumnSchema, function: String) throws(CQLServerError) {
        guard column.kind == .regular || column.kind == .static else {
            throw CQLServerError(.invalid, "Cannot use selection function \(function) on PRIMARY KEY part \(column.name)")
        }
        guard !column.type.isCollection || column.typeText.hasPrefix("frozen") else {
            throw CQLServerError(.invalid, "Cannot use selection function \(function) on non-frozen collection \(column.name)")
        }
    }
}
