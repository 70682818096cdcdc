import CQLProtocol
import DequeModule
import NIOCore

/// Runs a SELECT against a stored table: picks partitions (by key or a token-ordered scan), walks rows in
/// clustering order (reversed for a reversed ORDER BY), filters, projects, counts and pages.
struct SelectExecutor {
    let statement: SelectStatement
    let table: TableSchema
    let selection: Selection
    let restrictions: Restrictions
    let partitionKeys: [[UInt8]]?
    let reversed: Bool
    let limit: Int?
    let perPartitionLimit: Int?
    let nowSeconds: Int32

    init(_ statement: SelectStatement, table: TableSchema, evaluator: TermEvaluator) throws(CQLServerError) {
        self.statement = statement
        self.table = table
        self.selection = try Selection(statement, table: table)
        self.restrictions = try Restrictions(statement.relations, table: table, evaluator: evaluator)
        self.partitionKeys = try restrictions.partitionKeys(table: table)
        self.nowSeconds = Int32(truncatingIfNeeded: evaluator.nowMicros / 1_000_000)
        self.limit = try Self.positiveInt(statement.limit, evaluator: evaluator, what: "LIMIT")
        self.perPartitionLimit = try Self.positiveInt(statement.perPartitionLimit, evaluator: evaluator, what: "PER PARTITION LIMIT")
        self.reversed = try Self.validate(statement, table: table, restrictions: restrictions, partitionKeysRestricted: partitionKeys != nil)
    }

    static func positiveInt(_ term: CQLTerm?, evaluator: TermEvaluator, what: String) throws(CQLServerError) -> Int? {
        guard let term else { return nil }
        switch try evaluator.value(term, as: .int, receiver: what == "LIMIT" ? "[limit]" : "[per_partition_limit]") {
        case .int(let value):
            guard value > 0 else { throw CQLServerError(.invalid, "\(what) must be strictly positive") }
            return Int(value)
        case .unset: return nil
        default: throw CQLServerError(.invalid, "Invalid null value of \(what.lowercased())")
        }
    }

    private static let filteringMessage =
        "Cannot execute this query as it might involve data filtering and thus may have unpredictable performance. If you want to execute this query despite the performance unpredictability, use ALLOW FILTERING"

    /// Cassandra's restriction rules; returns whether rows are read in reverse clustering order.
    private static func validate(_ statement: SelectStatement, table: TableSchema, restrictions: Restrictions, partitionKeysRestricted: Bool) throws(CQLServerError) -> Bool {
        let filtering = statement.allowFiltering
        if !partitionKeysRestricted {
            if restrictions.partitionKey.contains(where: { $0.op != .equal && $0.op != .in }) && !filtering {
                throw CQLServerError(.invalid, "Only EQ and IN relation are supported on the partition key (unless you use the token() function or allow filtering)")
            }
            if !restrictions.partitionKey.isEmpty && !filtering {
                let missing = table.partitionKey.map { table.columns[$0].name }.filter { name in
                    !restrictions.partitionKey.contains { $0.column.name == name }
                }
                throw CQLServerError(.invalid, "Cannot execute this query as it might involve data filtering and thus may have unpredictable performance. Partition key parts: \(missing.joined(separator: ", ")) must be restricted as other parts are")
            }
            if !restrictions.clustering.isEmpty && !filtering { throw CQLServerError(.invalid, filteringMessage) }
        }
        if !filtering {
            let positions = restrictions.clustering.map(\.column.position).sorted()
            var previousWasEquality = true
            for (expected, position) in Set(positions).sorted().enumerated() {
                guard position == expected else {
                    let column = table.columns[table.clustering[position]].name
                    let preceding = table.columns[table.clustering[expected]].name
                    throw CQLServerError(.invalid, "PRIMARY KEY column \"\(column)\" cannot be restricted as preceding column \"\(preceding)\" is not restricted")
                }
                guard previousWasEquality else {
                    let column = table.columns[table.clustering[position]].name
                    let preceding = table.columns[table.clustering[position - 1]].name
                    throw CQLServerError(.invalid, "Clustering column \"\(column)\" cannot be restricted (preceding column \"\(preceding)\" is restricted by a non-EQ relation)")
                }
                previousWasEquality = restrictions.clustering.filter { $0.column.position == position }.allSatisfy { $0.op == .equal || $0.op == .in }
            }
            if let other = restrictions.other.first {
                if other.op == .notEqual { throw CQLServerError(.invalid, "Unsupported \"!=\" relation: \(other.column.name) != ...") }
                throw CQLServerError(.invalid, filteringMessage)
            }
        }
        guard !statement.orderBy.isEmpty else { return false }
        guard partitionKeysRestricted else {
            throw CQLServerError(.invalid, "ORDER BY is only supported when the partition key is restricted by an EQ or an IN.")
        }
        var reversed: Bool?
        for (position, ordering) in statement.orderBy.enumerated() {
            guard let index = table.columnIndex(named: ordering.column) else {
                throw CQLServerError(.invalid, "Undefined column name \(ordering.column) in table \(table.keyspace).\(table.name)")
            }
            let column = table.columns[index]
            guard column.kind == .clustering else {
                throw CQLServerError(.invalid, "Order by on unknown column \(ordering.column)")
            }
            guard column.position == position else {
                throw CQLServerError(.invalid, "Order by currently only supports the ordering of columns following their declared order in the PRIMARY KEY")
            }
            let isReversed = ordering.descending != column.descending
            if let reversed, reversed != isReversed { throw CQLServerError(.invalid, "Unsupported order by relation") }
            reversed = isReversed
        }
        return reversed ?? false
    }

    // MARK: Running

    /// Reads one page. `pageSize` nil or ≤ 0 returns everything.
    func run(store: TableStore, pageSize: Int?, pagingState: ByteBuffer?, skipMetadata: Bool) throws(CQLServerError) -> CQLRows {
        let clusteringTypes = table.clusteringTypes
        let resume = try pagingState.map { buffer throws(CQLServerError) in try PagingState.decode(buffer, clusteringTypes: clusteringTypes) }
        var emitter = RowEmitter(
            selection: selection, table: table, nowSeconds: nowSeconds,
            pageSize: selection.isCount ? nil : pageSize.flatMap { $0 > 0 ? $0 : nil },
            limit: selection.isCount ? nil : limit, alreadyReturned: resume?.rowsReturned ?? 0)

        if let partitionKeys {
            for (index, key) in partitionKeys.enumerated() where index >= (resume?.partitionIndex ?? 0) {
                guard let partition = store.partition(key) else { continue }
                let resumeHere = resume.flatMap { $0.partitionIndex == index && $0.partitionKey == key ? $0 : nil }
                if let resumeHere, resumeHere.clustering == nil { continue }
                if !scan(partition, partitionIndex: index, resume: resumeHere, emitter: &emitter) { break }
            }
        } else {
            var stop = false
            var after: (token: Int64, key: [UInt8])?
            if let resume {
                after = (Murmur3Partitioner.token(of: resume.partitionKey), resume.partitionKey)
                if resume.clustering != nil, let partition = store.partition(resume.partitionKey) {
                    stop = !scan(partition, partitionIndex: 0, resume: resume, emitter: &emitter)
                }
            }
            if !stop {
                for partition in store.partitionsInTokenOrder(after: after) {
                    if !scan(partition, partitionIndex: 0, resume: nil, emitter: &emitter) { break }
                }
            }
        }
        return try emitter.finish(skipMetadata: skipMetadata, clusteringTypes: clusteringTypes)
    }

    /// Emits the partition's matching rows; false when the page or the limit is full.
    private func scan(_ partition: StoredPartition, partitionIndex: Int, resume: PagingState?, emitter: inout RowEmitter) -> Bool {
        let components = Murmur3Partitioner.components(ofCompositeKey: partition.key, count: table.partitionKey.count) ?? []
        if partitionKeys == nil && !restrictions.partitionKey.isEmpty {
            for relation in restrictions.partitionKey {
                guard relation.column.position < components.count else { return true }
                var bytes = ByteBuffer(bytes: components[relation.column.position])
                guard let value = try? CQLValue.decode(relation.column.type, body: &bytes), relation.matches(value) else { return true }
            }
        }
        let partitionDeletedAt = partition.deletedAt
        var rowsInPartition = resume?.rowsInPartition ?? 0
        emitter.beginPartition(partition, components: components, partitionIndex: partitionIndex)

        if statement.distinct {
            let hasRow = partition.hasLiveStatic(at: nowSeconds)
                || partition.orderedKeys(schema: table).contains { partition.row($0)?.isLive(at: nowSeconds, partitionDeletedAt: partitionDeletedAt) ?? false }
            guard hasRow, matchesOther(partition: partition, row: nil) else { return true }
            return emitter.emit(clustering: nil, row: nil, rowsInPartition: 1)
        }

        let keys = partition.orderedKeys(schema: table)
        var emittedAny = resume != nil
        var start = 0
        var end = keys.count
        if let after = resume?.clustering {
            if reversed {
                end = Self.lowerBound(ClusteringKey(values: after), in: keys, table: table)
            } else {
                start = StoredPartition.indexAfter(ClusteringKey(values: after), in: keys, schema: table)
            }
        }
        if let perPartitionLimit, rowsInPartition >= perPartitionLimit { return true }
        for step in 0..<max(0, end - start) {
            let key = keys[reversed ? end - 1 - step : start + step]
            guard let row = partition.row(key), row.isLive(at: nowSeconds, partitionDeletedAt: partitionDeletedAt) else { continue }
            guard matchesClustering(key), matchesOther(partition: partition, row: row) else { continue }
            emittedAny = true
            rowsInPartition += 1
            guard emitter.emit(clustering: key.values, row: row, rowsInPartition: rowsInPartition) else { return false }
            if let perPartitionLimit, rowsInPartition >= perPartitionLimit { break }
        }
        if !emittedAny && restrictions.clustering.isEmpty && partition.hasLiveStatic(at: nowSeconds)
            && matchesOther(partition: partition, row: nil)
        {
            return emitter.emit(clustering: nil, row: nil, rowsInPartition: 1)
        }
        return true
    }

    /// Index of the first key not sorting before `key`.
    private static func lowerBound(_ key: ClusteringKey, in keys: Deque<ClusteringKey>, table: TableSchema) -> Int {
        let types = table.clusteringTypes
        let descending = table.clusteringDescending
        var low = 0
        var high = keys.count
        while low < high {
            let middle = (low + high) / 2
            if CQLValueOrdering.compareKeys(keys[middle].values, key.values, types: types, descending: descending) < 0 {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low
    }

    private func matchesClustering(_ key: ClusteringKey) -> Bool {
        for relation in restrictions.clustering {
            let position = relation.column.position
            guard position < key.values.count, relation.matches(key.values[position]) else { return false }
        }
        return true
    }

    private func matchesOther(partition: StoredPartition, row: StoredRow?) -> Bool {
        for relation in restrictions.other {
            let column = relation.column
            let cell: StoredCell?
            let deletedAt: Int64
            if column.kind == .static {
                cell = partition.staticRow.cells[column.slot]
                deletedAt = max(partition.deletedAt, partition.staticRow.deletedAt)
            } else {
                cell = row?.cells[column.slot]
                deletedAt = max(partition.deletedAt, row?.deletedAt ?? noTimestamp)
            }
            var value = CQLValue.null
            if let cell, cell.isLive(at: nowSeconds, deletedAt: deletedAt), let bytes = cell.value {
                var buffer = ByteBuffer(bytes: bytes)
                value = (try? CQLValue.decode(column.type, body: &buffer)) ?? .null
            }
            guard relation.matches(value) else { return false }
        }
        return true
    }
}

/// Accumulates the rows of one page in wire form.
struct RowEmitter {
    let selection: Selection
    let table: TableSchema
    let nowSeconds: Int32
    let pageSize: Int?
    let limit: Int?
    var alreadyReturned: Int

    var content = ByteBuffer()
    var rowCount = 0
    var count: Int64 = 0
    var pagingState: PagingState?

    private var partition: StoredPartition?
    private var components: [[UInt8]] = []
    private var partitionIndex = 0
    /// Set when the page filled; the state is kept only if another row turns up.
    private var pendingState: PagingState?

    init(selection: Selection, table: TableSchema, nowSeconds: Int32, pageSize: Int?, limit: Int?, alreadyReturned: Int) {
        self.selection = selection
        self.table = table
        self.nowSeconds = nowSeconds
        self.pageSize = pageSize
        self.limit = limit
        self.alreadyReturned = alreadyReturned
    }

    mutating func beginPartition(_ partition: StoredPartition, components: [[UInt8]], partitionIndex: Int) {
        self.partition = partition
        self.components = components
        self.partitionIndex = partitionIndex
    }

    /// Adds a row; false when no more rows are wanted on this page.
    mutating func emit(clustering: [CQLValue]?, row: StoredRow?, rowsInPartition: Int) -> Bool {
        if let pendingState {
            pagingState = pendingState
            return false
        }
        if selection.isCount {
            count += 1
            return true
        }
        write(clustering: clustering, row: row)
        rowCount += 1
        let total = alreadyReturned + rowCount
        if let limit, total >= limit { return false }
        if let pageSize, rowCount >= pageSize, let partition {
            pendingState = PagingState(
                partitionIndex: partitionIndex, partitionKey: partition.key, clustering: clustering, rowsReturned: total,
                rowsInPartition: rowsInPartition, offset: 0)
        }
        return true
    }

    private mutating func write(clustering: [CQLValue]?, row: StoredRow?) {
        guard let partition else { return }
        for output in selection.outputs {
            switch output {
            case .column(let index):
                let column = table.columns[index]
                switch column.kind {
                case .partitionKey:
                    if column.position < components.count { content.writeCQLBytes(components[column.position]) } else { content.writeInteger(Int32(-1)) }
                case .clustering:
                    if let clustering, column.position < clustering.count,
                        (try? clustering[column.position].write(as: column.type, into: &content)) != nil
                    {
                    } else {
                        content.writeInteger(Int32(-1))
                    }
                case .regular:
                    let deletedAt = max(partition.deletedAt, row?.deletedAt ?? noTimestamp)
                    if let cell = row?.cells[column.slot], cell.isLive(at: nowSeconds, deletedAt: deletedAt) {
                        content.writeCQLBytes(cell.value)
                    } else {
                        content.writeInteger(Int32(-1))
                    }
                case .static:
                    let cell = partition.staticRow.cells[column.slot]
                    if cell.isLive(at: nowSeconds, deletedAt: max(partition.deletedAt, partition.staticRow.deletedAt)) {
                        content.writeCQLBytes(cell.value)
                    } else {
                        content.writeInteger(Int32(-1))
                    }
                }
            case .writetime(let index), .ttl(let index):
                let column = table.columns[index]
                let cell: StoredCell? = column.kind == .static ? partition.staticRow.cells[column.slot] : row?.cells[column.slot]
                guard let cell, cell.isLive(at: nowSeconds, deletedAt: partition.deletedAt) else {
                    content.writeInteger(Int32(-1))
                    continue
                }
                if case .writetime = output {
                    content.writeInteger(Int32(8))
                    content.writeInteger(cell.timestamp)
                } else if cell.expiresAt > 0 {
                    content.writeInteger(Int32(4))
                    content.writeInteger(cell.expiresAt - nowSeconds)
                } else {
                    content.writeInteger(Int32(-1))
                }
            }
        }
    }

    func finish(skipMetadata: Bool, clusteringTypes: [CQLDataType]) throws(CQLServerError) -> CQLRows {
        if selection.isCount {
            var content = ByteBuffer()
            content.writeInteger(Int32(8))
            content.writeInteger(count)
            let metadata = skipMetadata ? CQLRowsMetadata(noMetadataColumnCount: 1) : CQLRowsMetadata(columns: selection.specs)
            return CQLRows(metadata: metadata, rowCount: 1, content: content)
        }
        let state = pagingState?.encode(clusteringTypes: clusteringTypes)
        let metadata =
            skipMetadata
            ? CQLRowsMetadata(noMetadataColumnCount: selection.specs.count, pagingState: state)
            : CQLRowsMetadata(columns: selection.specs, pagingState: state)
        return CQLRows(metadata: metadata, rowCount: rowCount, content: content)
    }
}
