import CQLProtocol

/// A prepared INSERT as sink mode checks it: each bind marker's column, resolved once per schema version.
///
/// Sink mode acknowledges writes without storing them, so planning a mutation (partition key, clustering values,
/// cells) only to drop it would make the server, not the load generator, the thing measured. With a plan, an EXECUTE
/// costs one check per bound value, with the general path's rules and messages: key columns may not be null or
/// unset, every value must be valid for its column's type (clustering values are decoded, as the general path does).
struct SinkInsertPlan: Sendable {
    struct Marker: Sendable {
        var column: String
        var type: CQLDataType
        var kind: ColumnKind
    }

    /// Bind marker `i`'s column.
    let markers: [Marker]

    /// The plan of `insert` on `table`, or `nil` when the statement is not a plain INSERT whose values are bind
    /// markers (one per column, naming every key column once, no IF NOT EXISTS, TTL or timestamp): the general
    /// path then runs it, and reports its errors.
    init?(_ insert: InsertStatement, table: TableSchema, markerCount: Int) {
        guard !insert.ifNotExists, insert.options.ttl == nil, insert.options.timestamp == nil,
            insert.columns.count == insert.values.count, insert.columns.count == markerCount
        else { return nil }
        var markers = [Marker?](repeating: nil, count: markerCount)
        var seen = ColumnSet(count: table.columns.count)
        var keyColumns = 0
        for (position, name) in insert.columns.enumerated() {
            guard let index = table.columnIndex(named: name), seen.insert(index),
                case .bindMarker(let marker) = insert.values[position], markers.indices.contains(marker), markers[marker] == nil
            else { return nil }
            let column = table.columns[index]
            if column.kind == .partitionKey || column.kind == .clustering { keyColumns += 1 }
            markers[marker] = Marker(column: column.name, type: column.type, kind: column.kind)
        }
        guard keyColumns == table.partitionKey.count + table.clustering.count else { return nil }
        self.markers = markers.compactMap { $0 }
    }

    /// Throws the error the general path would for the bound values `evaluator` holds (one per marker).
    func check(_ evaluator: TermEvaluator) throws(CQLServerError) {
        for (index, marker) in markers.enumerated() {
            switch marker.kind {
            case .partitionKey:
                guard case .bytes = try evaluator.checkedBound(index, as: marker.type, receiver: marker.column) else {
                    throw .nullValue(inConditionFor: marker.column)
                }
            case .clustering:
                let value = try evaluator.value(.bindMarker(index: index), as: marker.type, receiver: marker.column)
                if value.isNull || value == .unset { throw .nullValue(inConditionFor: marker.column) }
            case .regular, .static:
                _ = try evaluator.checkedBound(index, as: marker.type, receiver: marker.column)
            }
        }
    }
}
