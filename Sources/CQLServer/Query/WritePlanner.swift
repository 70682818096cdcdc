import CQLProtocol
import NIOCore

/// Turns INSERT, UPDATE and DELETE into mutations. Collection updates (`c = c + x`) read the current
/// value, which is consistent because planning and applying happen under the same lock.
struct WritePlanner {
    var evaluator: TermEvaluator
    /// The protocol's default timestamp or the batch's, in microseconds.
    var defaultTimestamp: Int64?
    /// Reads the current stored row, for read-modify-write collection updates.
    var currentRow: (TableSchema, [UInt8], [CQLValue]) -> StoredRow?

    private var nowSeconds: Int32 { Int32(truncatingIfNeeded: evaluator.nowMicros / 1_000_000) }

    private func timestamp(_ term: CQLTerm?) throws(CQLServerError) -> Int64 {
        if let term {
            guard case .bigint(let value) = try evaluator.value(term, as: .bigint, receiver: "[timestamp]") else {
                throw CQLServerError(.invalid, "Invalid null value of timestamp")
            }
            return value
        }
        return defaultTimestamp ?? evaluator.nowMicros
    }

    private func ttl(_ term: CQLTerm?, table: TableSchema) throws(CQLServerError) -> Int32 {
        guard let term else { return table.defaultTimeToLive }
        switch try evaluator.value(term, as: .int, receiver: "[ttl]") {
        case .int(let value):
            guard value >= 0 else { throw CQLServerError(.invalid, "A TTL must be greater or equal to 0, but was \(value)") }
            guard value <= 630_720_000 else { throw CQLServerError(.invalid, "ttl is too large. requested (\(value)) maximum (630720000)") }
            return value
        case .null, .unset: return table.defaultTimeToLive
        default: throw CQLServerError(.invalid, "Invalid TTL value")
        }
    }

    private func expiry(_ ttl: Int32) -> Int32 { ttl > 0 ? nowSeconds &+ ttl : 0 }

    // MARK: INSERT

    func insert(_ statement: InsertStatement, table: TableSchema) throws(CQLServerError) -> Mutation {
        var keyComponents = [[UInt8]?](repeating: nil, count: table.partitionKey.count)
        var clustering = [CQLValue?](repeating: nil, count: table.clustering.count)
        var cells: [SlotWrite] = []
        var staticCells: [SlotWrite] = []
        var seen = ColumnSet(count: table.columns.count)
        for (position, name) in statement.columns.enumerated() {
            guard let index = table.columnIndex(named: name) else { throw table.undefinedColumn(name) }
            guard seen.insert(index) else { throw CQLServerError(.invalid, "The column names contains duplicates") }
            let column = table.columns[index]
            let term = statement.values[position]
            switch column.kind {
            case .partitionKey:
                guard case .bytes(let bytes) = try evaluator.cell(term, as: column.type, receiver: column.name) else {
                    throw .nullValue(inConditionFor: column.name)
                }
                keyComponents[column.position] = bytes
            case .clustering:
                let value = try evaluator.value(term, as: column.type, receiver: column.name)
                if value.isNull || value == .unset { throw .nullValue(inConditionFor: column.name) }
                clustering[column.position] = value
            case .regular, .static:
                switch try evaluator.cell(term, as: column.type, receiver: column.name) {
                case .unset: continue
                case .null:
                    if column.kind == .static { staticCells.append(SlotWrite(slot: column.slot, value: nil)) } else {
                        cells.append(SlotWrite(slot: column.slot, value: nil))
                    }
                case .bytes(let bytes):
                    if column.kind == .static { staticCells.append(SlotWrite(slot: column.slot, value: bytes)) } else {
                        cells.append(SlotWrite(slot: column.slot, value: bytes))
                    }
                }
            }
        }
        var components: [[UInt8]] = []
        for (position, component) in keyComponents.enumerated() {
            guard let component else {
                throw CQLServerError(.invalid, "Some partition key parts are missing: \(table.columns[table.partitionKey[position]].name)")
            }
            components.append(component)
        }
        var key: [CQLValue] = []
        for (position, value) in clustering.enumerated() {
            guard let value else {
                throw CQLServerError(.invalid, "Some clustering keys are missing: \(table.columns[table.clustering[position]].name)")
            }
            key.append(value)
        }
        let ttl = try ttl(statement.options.ttl, table: table)
        return Mutation(
            keyspace: table.keyspace, table: table.name, partitionKey: Murmur3Partitioner.serializedKey(components: components),
            clustering: key, kind: .upsert(marker: true, cells: cells, staticCells: staticCells),
            timestamp: try timestamp(statement.options.timestamp), expiresAt: expiry(ttl), ttl: ttl)
    }

    // MARK: UPDATE

    func update(_ statement: UpdateStatement, table: TableSchema) throws(CQLServerError) -> [Mutation] {
        let restrictions = try Restrictions(statement.relations, table: table, evaluator: evaluator)
        try Self.checkKeyOnly(restrictions, verb: "UPDATE")
        guard let partitionKeys = try restrictions.partitionKeys(table: table) else {
            throw CQLServerError(.invalid, "Some partition key parts are missing: \(missingPartitionKeyParts(restrictions, table))")
        }
        var touchesRegular = false
        for assignment in statement.assignments where try table.column(named: assignment.column).kind == .regular {
            touchesRegular = true
        }
        let clusteringKeys: [[CQLValue]]
        if let keys = restrictions.clusteringKeys(table: table) {
            clusteringKeys = keys
        } else if !touchesRegular && restrictions.clustering.isEmpty {
            clusteringKeys = [[]]
        } else {
            let missing = table.clustering.map { table.columns[$0].name }.filter { name in !restrictions.clustering.contains { $0.column.name == name } }
            throw CQLServerError(.invalid, "Some clustering keys are missing: \(missing.joined(separator: ", "))")
        }
        let timestamp = try timestamp(statement.options.timestamp)
        let ttl = try ttl(statement.options.ttl, table: table)
        var mutations: [Mutation] = []
        for partitionKey in partitionKeys {
            for clustering in clusteringKeys {
                var cells: [SlotWrite] = []
                var staticCells: [SlotWrite] = []
                for assignment in statement.assignments {
                    let column = try table.column(named: assignment.column)
                    guard column.kind == .regular || column.kind == .static else {
                        throw CQLServerError(.invalid, "PRIMARY KEY part \(column.name) found in SET part")
                    }
                    let current = currentRow(table, partitionKey, column.kind == .static ? [] : clustering)
                    let currentBytes = current.flatMap { row -> [UInt8]? in
                        let cell = row.cells[column.slot]
                        return cell.isLive(at: nowSeconds, deletedAt: row.deletedAt) ? cell.value : nil
                    }
                    guard let input = try newValue(assignment, column: column, current: currentBytes) else { continue }
                    let write = SlotWrite(slot: column.slot, value: input)
                    if column.kind == .static { staticCells.append(write) } else { cells.append(write) }
                }
                mutations.append(
                    Mutation(
                        keyspace: table.keyspace, table: table.name, partitionKey: partitionKey,
                        clustering: cells.isEmpty ? [] : clustering, kind: .upsert(marker: false, cells: cells, staticCells: staticCells),
                        timestamp: timestamp, expiresAt: expiry(ttl), ttl: ttl))
            }
        }
        return mutations
    }

    private func missingPartitionKeyParts(_ restrictions: Restrictions, _ table: TableSchema) -> String {
        table.partitionKey.map { table.columns[$0].name }.filter { name in
            !restrictions.partitionKey.contains { $0.column.name == name && ($0.op == .equal || $0.op == .in) }
        }.joined(separator: ", ")
    }

    private static func checkKeyOnly(_ restrictions: Restrictions, verb: String) throws(CQLServerError) {
        if let other = restrictions.other.first {
            throw CQLServerError(.invalid, "Non PRIMARY KEY columns found in where clause: \(other.column.name) ")
        }
        for relation in restrictions.partitionKey + restrictions.clustering where relation.op != .equal && relation.op != .in {
            if restrictions.clustering.contains(where: { $0.columnIndex == relation.columnIndex }), verb == "DELETE" { continue }
            throw CQLServerError(.invalid, "Invalid operator \(relation.op.rawValue) for PRIMARY KEY part \(relation.column.name) in \(verb)")
        }
    }

    /// The serialized new value of an assignment (nil bytes = delete the cell); nil when unset.
    private func newValue(_ assignment: Assignment, column: ColumnSchema, current: [UInt8]?) throws(CQLServerError) -> [UInt8]?? {
        func decodeCurrent() throws(CQLServerError) -> CQLValue {
            guard var bytes = current.map({ ByteBuffer(bytes: $0) }) else { return .null }
            do { return try CQLValue.decode(column.type, body: &bytes) } catch {
                throw CQLServerError(.serverError, "stored value of \(column.name) is unreadable: \(error)")
            }
        }
        func encode(_ value: CQLValue) throws(CQLServerError) -> [UInt8]?? {
            switch try TermEvaluator.serialize(value, as: column.type, receiver: column.name) {
            case .bytes(let bytes): return .some(bytes)
            case .null: return .some(nil)
            case .unset: return nil
            }
        }
        switch assignment {
        case .set(_, let term):
            switch try evaluator.cell(term, as: column.type, receiver: column.name) {
            case .bytes(let bytes): return .some(bytes)
            case .null: return .some(nil)
            case .unset: return nil
            }
        case .add(_, let term), .prepend(_, let term):
            let isPrepend: Bool
            if case .prepend = assignment { isPrepend = true } else { isPrepend = false }
            let addition = try evaluator.value(term, as: column.type, receiver: column.name)
            if case .unset = addition { return nil }
            let existing = try decodeCurrent()
            switch (column.type, existing, addition) {
            case (.list, _, .list(let added)):
                var elements: [CQLValue] = []
                if case .list(let old) = existing { elements = old }
                return try encode(.list(isPrepend ? added + elements : elements + added))
            case (.set(let elementType), _, .set(let added)):
                var elements: [CQLValue] = []
                if case .set(let old) = existing { elements = old }
                for element in added where !elements.contains(element) { elements.append(element) }
                elements.sort { CQLValueOrdering.compare($0, $1, type: elementType) < 0 }
                return try encode(.set(elements))
            case (.map(let keyType, _), _, .map(let added)):
                var entries: [CQLMapEntry] = []
                if case .map(let old) = existing { entries = old }
                for entry in added {
                    entries.removeAll { $0.key == entry.key }
                    entries.append(entry)
                }
                entries.sort { CQLValueOrdering.compare($0.key, $1.key, type: keyType) < 0 }
                return try encode(.map(entries))
            case (_, _, .null):
                return nil
            default:
                throw CQLServerError(.invalid, "Invalid operation (\(column.name) = \(column.name) + ?) for non list/set/map column \(column.name)")
            }
        case .remove(_, let term):
            let receiverType: CQLDataType
            if case .map(let keyType, _) = column.type { receiverType = .set(keyType) } else { receiverType = column.type }
            let removal = try evaluator.value(term, as: receiverType, receiver: column.name)
            let existing = try decodeCurrent()
            switch (existing, removal) {
            case (.null, _): return nil
            case (.list(let old), .list(let removed)): return try encode(.list(old.filter { !removed.contains($0) }))
            case (.set(let old), .set(let removed)): return try encode(.set(old.filter { !removed.contains($0) }))
            case (.map(let old), .set(let removed)): return try encode(.map(old.filter { !removed.contains($0.key) }))
            default:
                throw CQLServerError(.invalid, "Invalid operation (\(column.name) = \(column.name) - ?) for non list/set/map column \(column.name)")
            }
        case .setElement(_, let keyTerm, let valueTerm):
            let existing = try decodeCurrent()
            switch column.type {
            case .map(let keyType, let valueType):
                let key = try evaluator.value(keyTerm, as: keyType, receiver: column.name)
                let value = try evaluator.value(valueTerm, as: valueType, receiver: column.name)
                var entries: [CQLMapEntry] = []
                if case .map(let old) = existing { entries = old }
                entries.removeAll { $0.key == key }
                if !value.isNull { entries.append(CQLMapEntry(key: key, value: value)) }
                entries.sort { CQLValueOrdering.compare($0.key, $1.key, type: keyType) < 0 }
                return try encode(.map(entries))
            case .list(let elementType):
                guard case .int(let index) = try evaluator.value(keyTerm, as: .int, receiver: "idx(\(column.name))") else {
                    throw CQLServerError(.invalid, "Invalid null value for list index")
                }
                guard case .list(var elements) = existing, index >= 0, Int(index) < elements.count else {
                    throw CQLServerError(.invalid, "List index \(index) out of bound, list has size \(0)")
                }
                elements[Int(index)] = try evaluator.value(valueTerm, as: elementType, receiver: column.name)
                return try encode(.list(elements))
            default:
                throw CQLServerError(.invalid, "Invalid element access on non-collection column \(column.name)")
            }
        }
    }

    // MARK: DELETE

    func delete(_ statement: DeleteStatement, table: TableSchema) throws(CQLServerError) -> [Mutation] {
        let restrictions = try Restrictions(statement.relations, table: table, evaluator: evaluator)
        try Self.checkKeyOnly(restrictions, verb: "DELETE")
        guard let partitionKeys = try restrictions.partitionKeys(table: table) else {
            throw CQLServerError(.invalid, "Some partition key parts are missing: \(missingPartitionKeyParts(restrictions, table))")
        }
        if restrictions.clustering.contains(where: { $0.op != .equal && $0.op != .in }) {
            throw CQLServerError(.invalid, "Range deletions are not supported by the Stampede embedded server")
        }
        let timestamp = try timestamp(statement.timestamp)
        var slots: [Int] = []
        var staticSlots: [Int] = []
        for name in statement.columns {
            let column = try table.column(named: name)
            switch column.kind {
            case .regular: slots.append(column.slot)
            case .static: staticSlots.append(column.slot)
            case .partitionKey, .clustering:
                throw CQLServerError(.invalid, "Invalid identifier \(name) for deletion (should not be a PRIMARY KEY part)")
            }
        }
        let clusteringKeys = restrictions.clusteringKeys(table: table)
        var mutations: [Mutation] = []
        for partitionKey in partitionKeys {
            func mutation(_ clustering: [CQLValue], _ kind: Mutation.Kind) -> Mutation {
                Mutation(
                    keyspace: table.keyspace, table: table.name, partitionKey: partitionKey, clustering: clustering, kind: kind,
                    timestamp: timestamp, expiresAt: 0, ttl: 0)
            }
            if restrictions.clustering.isEmpty && (statement.columns.isEmpty || slots.isEmpty) {
                if statement.columns.isEmpty {
                    mutations.append(mutation([], .deletePartition))
                } else {
                    mutations.append(mutation([], .deleteCells(slots: [], staticSlots: staticSlots)))
                }
                continue
            }
            guard let clusteringKeys else {
                throw CQLServerError(.invalid, "Range deletions are not supported by the Stampede embedded server (restrict every clustering column with =)")
            }
            for clustering in clusteringKeys {
                if statement.columns.isEmpty {
                    mutations.append(mutation(clustering, .deleteRow))
                } else {
                    mutations.append(mutation(clustering, .deleteCells(slots: slots, staticSlots: staticSlots)))
                }
            }
        }
        return mutations
    }
}

extension CQLServerError {
    /// A key column (or a restricted one) given a null or unset value.
    static func nullValue(inConditionFor column: String) -> CQLServerError {
        CQLServerError(.invalid, "Invalid null value in condition for column \(column)")
    }
}

/// Which of a table's columns a statement has named so far: a bit per column index (no hashing of names).
struct ColumnSet {
    private var words: [UInt64]

    init(count: Int) {
        words = Array(repeating: 0, count: (count + 63) / 64)
    }

    /// Adds column `index`; false when it was already there.
    mutating func insert(_ index: Int) -> Bool {
        let (word, bit) = index.quotientAndRemainder(dividingBy: 64)
        let mask = UInt64(1) << UInt64(bit)
        guard words[word] & mask == 0 else { return false }
        words[word] |= mask
        return true
    }
}
