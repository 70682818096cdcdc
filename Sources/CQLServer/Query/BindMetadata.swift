import CQLProtocol

/// The bind variables of a statement, typed from the columns they are compared with or assigned to,
/// and the indexes of those that give the partition key (so drivers can route by token).
struct BindMetadata {
    var columns: [CQLColumnSpec]
    var partitionKeyIndexes: [Int]

    init(_ parsed: ParsedStatement, catalog: SchemaCatalog, sessionKeyspace: String?) throws(CQLServerError) {
        var specs = [CQLColumnSpec?](repeating: nil, count: parsed.bindMarkers.count)
        var keyMarkers: [String: Int] = [:]
        var firstTable: TableSchema?

        func assign(_ term: CQLTerm, _ spec: CQLColumnSpec) {
            switch term {
            case .bindMarker(let index) where index < specs.count:
                var spec = spec
                if let name = parsed.bindMarkers[index].name { spec.name = name }
                specs[index] = spec
            case .list(let elements), .set(let elements), .tuple(let elements):
                let elementType: CQLDataType
                switch spec.type {
                case .list(let element), .set(let element): elementType = element
                default: elementType = spec.type
                }
                for element in elements { assign(element, CQLColumnSpec(keyspace: spec.keyspace, table: spec.table, name: spec.name, type: elementType)) }
            case .map(let pairs):
                guard case .map(let keyType, let valueType) = spec.type else { return }
                for pair in pairs {
                    assign(pair.key, CQLColumnSpec(keyspace: spec.keyspace, table: spec.table, name: spec.name, type: keyType))
                    assign(pair.value, CQLColumnSpec(keyspace: spec.keyspace, table: spec.table, name: spec.name, type: valueType))
                }
            default:
                break
            }
        }
        func special(_ table: TableSchema, _ name: String, _ type: CQLDataType) -> CQLColumnSpec {
            CQLColumnSpec(keyspace: table.keyspace, table: table.name, name: name, type: type)
        }
        func relations(_ relations: [Relation], _ table: TableSchema, trackKeys: Bool) throws(CQLServerError) {
            for relation in relations {
                let column = try table.column(named: relation.column)
                let spec = CQLColumnSpec(keyspace: table.keyspace, table: table.name, name: column.name, type: column.type)
                switch relation.op {
                case .in:
                    if relation.inMarker {
                        assign(relation.value, CQLColumnSpec(keyspace: table.keyspace, table: table.name, name: "in(\(column.name))", type: .list(column.type)))
                    } else {
                        for value in relation.inValues { assign(value, spec) }
                        if trackKeys, column.kind == .partitionKey, relation.inValues.count == 1, case .bindMarker(let index) = relation.inValues[0] {
                            keyMarkers[column.name] = index
                        }
                    }
                case .contains:
                    switch column.type {
                    case .list(let element), .set(let element), .map(_, let element): assign(relation.value, special(table, column.name, element))
                    default: break
                    }
                case .containsKey:
                    if case .map(let key, _) = column.type { assign(relation.value, special(table, column.name, key)) }
                default:
                    assign(relation.value, spec)
                    if trackKeys, relation.op == .equal, column.kind == .partitionKey, case .bindMarker(let index) = relation.value {
                        keyMarkers[column.name] = index
                    }
                }
            }
        }
        func options(_ options: WriteOptions, _ table: TableSchema) {
            if let ttl = options.ttl { assign(ttl, special(table, "[ttl]", .int)) }
            if let timestamp = options.timestamp { assign(timestamp, special(table, "[timestamp]", .bigint)) }
        }
        func visit(_ statement: CQLStatement, topLevel: Bool) throws(CQLServerError) {
            switch statement {
            case .insert(let insert):
                let table = try catalog.table(insert.table, sessionKeyspace: sessionKeyspace)
                if firstTable == nil { firstTable = table }
                for (position, name) in insert.columns.enumerated() {
                    let column = try table.column(named: name)
                    assign(insert.values[position], CQLColumnSpec(keyspace: table.keyspace, table: table.name, name: column.name, type: column.type))
                    if topLevel, column.kind == .partitionKey, case .bindMarker(let index) = insert.values[position] {
                        keyMarkers[column.name] = index
                    }
                }
                options(insert.options, table)
            case .update(let update):
                let table = try catalog.table(update.table, sessionKeyspace: sessionKeyspace)
                if firstTable == nil { firstTable = table }
                options(update.options, table)
                for assignment in update.assignments {
                    let column = try table.column(named: assignment.column)
                    let spec = CQLColumnSpec(keyspace: table.keyspace, table: table.name, name: column.name, type: column.type)
                    switch assignment {
                    case .set(_, let value), .add(_, let value), .prepend(_, let value):
                        assign(value, spec)
                    case .remove(_, let value):
                        if case .map(let key, _) = column.type { assign(value, special(table, column.name, .set(key))) } else { assign(value, spec) }
                    case .setElement(_, let key, let value):
                        switch column.type {
                        case .map(let keyType, let valueType):
                            assign(key, special(table, "key(\(column.name))", keyType))
                            assign(value, special(table, "value(\(column.name))", valueType))
                        case .list(let element):
                            assign(key, special(table, "idx(\(column.name))", .int))
                            assign(value, special(table, "value(\(column.name))", element))
                        default: break
                        }
                    }
                }
                try relations(update.relations, table, trackKeys: topLevel)
                try relations(update.conditions, table, trackKeys: false)
            case .delete(let delete):
                let table = try catalog.table(delete.table, sessionKeyspace: sessionKeyspace)
                if firstTable == nil { firstTable = table }
                if let timestamp = delete.timestamp { assign(timestamp, special(table, "[timestamp]", .bigint)) }
                try relations(delete.relations, table, trackKeys: topLevel)
                try relations(delete.conditions, table, trackKeys: false)
            case .select(let select):
                let table = try catalog.table(select.table, sessionKeyspace: sessionKeyspace)
                firstTable = table
                try relations(select.relations, table, trackKeys: true)
                if let limit = select.perPartitionLimit { assign(limit, special(table, "[per_partition_limit]", .int)) }
                if let limit = select.limit { assign(limit, special(table, "[limit]", .int)) }
            case .batch(let batch):
                for inner in batch.statements { try visit(inner, topLevel: false) }
                if let timestamp = batch.timestamp, let table = firstTable { assign(timestamp, special(table, "[timestamp]", .bigint)) }
            default:
                break
            }
        }
        try visit(parsed.statement, topLevel: true)

        var columns: [CQLColumnSpec] = []
        for (index, spec) in specs.enumerated() {
            guard let spec else {
                throw CQLServerError(.invalid, "Cannot infer the type of bind marker \(index + 1) (bind markers are supported in values, WHERE, USING and LIMIT)")
            }
            columns.append(spec)
        }
        self.columns = columns
        var indexes: [Int] = []
        if let table = firstTable {
            for columnIndex in table.partitionKey {
                guard let marker = keyMarkers[table.columns[columnIndex].name] else {
                    indexes = []
                    break
                }
                indexes.append(marker)
            }
        }
        self.partitionKeyIndexes = indexes
    }
}
