import CQLProtocol
import NIOCore

/// A WHERE relation with its column resolved and its operands evaluated.
struct ResolvedRelation {
    var column: ColumnSchema
    var columnIndex: Int
    var op: RelationOperator
    /// One operand for comparisons, the list for IN.
    var operands: [CQLValue]

    /// Whether `value` satisfies the relation.
    func matches(_ value: CQLValue) -> Bool {
        let type = column.type
        switch op {
        case .equal: return CQLValueOrdering.compare(value, operands[0], type: type) == 0 && !value.isNull
        case .notEqual: return CQLValueOrdering.compare(value, operands[0], type: type) != 0
        case .less: return !value.isNull && CQLValueOrdering.compare(value, operands[0], type: type) < 0
        case .lessOrEqual: return !value.isNull && CQLValueOrdering.compare(value, operands[0], type: type) <= 0
        case .greater: return !value.isNull && CQLValueOrdering.compare(value, operands[0], type: type) > 0
        case .greaterOrEqual: return !value.isNull && CQLValueOrdering.compare(value, operands[0], type: type) >= 0
        case .in: return !value.isNull && operands.contains { CQLValueOrdering.compare(value, $0, type: type) == 0 }
        case .contains:
            switch value {
            case .list(let elements), .set(let elements): return elements.contains(operands[0])
            case .map(let entries): return entries.contains { $0.value == operands[0] }
            default: return false
            }
        case .containsKey:
            if case .map(let entries) = value { return entries.contains { $0.key == operands[0] } }
            return false
        }
    }
}

/// The relations of a WHERE clause, grouped by the role of their column.
struct Restrictions {
    var partitionKey: [ResolvedRelation] = []
    var clustering: [ResolvedRelation] = []
    var other: [ResolvedRelation] = []

    var all: [ResolvedRelation] { partitionKey + clustering + other }

    /// Resolves and evaluates `relations` against `table`.
    init(_ relations: [Relation], table: TableSchema, evaluator: TermEvaluator) throws(CQLServerError) {
        for relation in relations {
            guard let index = table.columnIndex(named: relation.column) else {
                throw CQLServerError(.invalid, "Undefined column name \(relation.column) in table \(table.keyspace).\(table.name)")
            }
            let column = table.columns[index]
            var operands: [CQLValue] = []
            switch relation.op {
            case .in:
                if relation.inMarker {
                    let list = try evaluator.value(relation.value, as: .list(column.type), receiver: "in(\(column.name))")
                    switch list {
                    case .list(let values), .set(let values): operands = values
                    case .null: throw CQLServerError(.invalid, "Invalid null value for IN restriction on \(column.name)")
                    default: operands = []
                    }
                } else {
                    for term in relation.inValues { operands.append(try evaluator.value(term, as: column.type, receiver: column.name)) }
                }
            case .contains:
                let elementType: CQLDataType
                switch column.type {
                case .list(let element), .set(let element): elementType = element
                case .map(_, let value): elementType = value
                default: throw CQLServerError(.invalid, "Cannot use CONTAINS on non-collection column \(column.name)")
                }
                operands = [try evaluator.value(relation.value, as: elementType, receiver: column.name)]
            case .containsKey:
                guard case .map(let keyType, _) = column.type else {
                    throw CQLServerError(.invalid, "Cannot use CONTAINS KEY on non-map column \(column.name)")
                }
                operands = [try evaluator.value(relation.value, as: keyType, receiver: column.name)]
            default:
                let value = try evaluator.value(relation.value, as: column.type, receiver: column.name)
                if value.isNull { throw .nullValue(inConditionFor: column.name) }
                if case .unset = value { throw CQLServerError(.invalid, "Invalid unset value for column \(column.name)") }
                operands = [value]
            }
            let resolved = ResolvedRelation(column: column, columnIndex: index, op: relation.op, operands: operands)
            switch column.kind {
            case .partitionKey: partitionKey.append(resolved)
            case .clustering: clustering.append(resolved)
            case .regular, .static: other.append(resolved)
            }
        }
    }

    /// The serialized partition keys selected by `=`/`IN` on every partition-key column, or nil when the
    /// partition key is not fully restricted that way.
    func partitionKeys(table: TableSchema) throws(CQLServerError) -> [[UInt8]]? {
        var perComponent: [[[UInt8]]] = []
        for columnIndex in table.partitionKey {
            let relations = partitionKey.filter { $0.columnIndex == columnIndex }
            guard relations.count == 1, let relation = relations.first, relation.op == .equal || relation.op == .in else { return nil }
            var encoded: [[UInt8]] = []
            for value in relation.operands {
                guard case .bytes(let bytes) = try TermEvaluator.serialize(value, as: relation.column.type, receiver: relation.column.name) else {
                    throw CQLServerError(.invalid, "Invalid null value for partition key part \(relation.column.name)")
                }
                if !encoded.contains(bytes) { encoded.append(bytes) }
            }
            perComponent.append(encoded)
        }
        var keys: [[[UInt8]]] = [[]]
        for options in perComponent {
            keys = keys.flatMap { prefix in options.map { prefix + [$0] } }
        }
        return keys.map { Murmur3Partitioner.serializedKey(components: $0) }
    }

    /// The full clustering key when every clustering column is restricted by `=` (UPDATE, DELETE of a row),
    /// expanded over IN lists. Nil when some clustering column is unrestricted.
    func clusteringKeys(table: TableSchema) -> [[CQLValue]]? {
        var keys: [[CQLValue]] = [[]]
        for columnIndex in table.clustering {
            guard let relation = clustering.first(where: { $0.columnIndex == columnIndex && ($0.op == .equal || $0.op == .in) }) else {
                return nil
            }
            keys = keys.flatMap { prefix in relation.operands.map { prefix + [$0] } }
        }
        return keys
    }
}
