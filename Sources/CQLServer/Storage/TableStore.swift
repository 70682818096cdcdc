import CQLProtocol

/// The rows of one table: partitions hashed by serialized key, and a token-ordered view for scans.
/// Mutated only under the database lock.
final class TableStore {
    private(set) var schema: TableSchema
    private var partitions: [[UInt8]: StoredPartition] = [:]
    private var tokenOrder: [StoredPartition] = []
    private var tokenOrderIsSorted = true

    init(schema: TableSchema) {
        self.schema = schema
    }

    var partitionCount: Int { partitions.count }

    func partition(_ key: [UInt8]) -> StoredPartition? { partitions[key] }

    /// Applies a mutation. Writes older than a deletion they follow are discarded, as in Cassandra.
    func apply(_ mutation: Mutation) {
        switch mutation.kind {
        case .upsert(let marker, let cells, let staticCells):
            let partition = partitionCreating(mutation.partitionKey)
            if !staticCells.isEmpty {
                for write in staticCells {
                    partition.staticRow.cells[write.slot].merge(
                        StoredCell(value: write.value, timestamp: mutation.timestamp, expiresAt: write.value == nil ? 0 : mutation.expiresAt, ttl: mutation.ttl))
                }
            }
            guard marker || !cells.isEmpty else { return }
            let clustering = ClusteringKey(values: mutation.clustering)
            if partition.row(clustering) == nil && mutation.timestamp <= partition.deletedAt { return }
            partition.modifyRow(clustering, slotCount: schema.regular.count, schema: schema) { row in
                if marker, mutation.timestamp > row.markerTimestamp {
                    row.markerTimestamp = mutation.timestamp
                    row.markerExpiresAt = mutation.expiresAt
                }
                for write in cells {
                    row.cells[write.slot].merge(
                        StoredCell(value: write.value, timestamp: mutation.timestamp, expiresAt: write.value == nil ? 0 : mutation.expiresAt, ttl: mutation.ttl))
                }
            }
        case .deleteRow:
            guard let partition = partitions[mutation.partitionKey] else { return }
            let clustering = ClusteringKey(values: mutation.clustering)
            guard partition.row(clustering) != nil else { return }
            partition.modifyRow(clustering, slotCount: schema.regular.count, schema: schema) { row in
                row.delete(at: mutation.timestamp)
            }
        case .deletePartition:
            guard let partition = partitions[mutation.partitionKey] else { return }
            partition.deleteAll(at: mutation.timestamp)
        case .deleteCells(let slots, let staticSlots):
            guard let partition = partitions[mutation.partitionKey] else { return }
            let tombstone = StoredCell(value: nil, timestamp: mutation.timestamp, expiresAt: 0, ttl: 0)
            for slot in staticSlots { partition.staticRow.cells[slot].merge(tombstone) }
            guard !slots.isEmpty else { return }
            let clustering = ClusteringKey(values: mutation.clustering)
            guard partition.row(clustering) != nil else { return }
            partition.modifyRow(clustering, slotCount: schema.regular.count, schema: schema) { row in
                for slot in slots { row.cells[slot].merge(tombstone) }
            }
        }
    }

    private func partitionCreating(_ key: [UInt8]) -> StoredPartition {
        if let existing = partitions[key] { return existing }
        let partition = StoredPartition(key: key, token: Murmur3Partitioner.token(of: key), staticSlotCount: schema.statics.count)
        partitions[key] = partition
        if let last = tokenOrder.last, Self.precedes(partition, last) { tokenOrderIsSorted = false }
        tokenOrder.append(partition)
        return partition
    }

    static func precedes(_ lhs: StoredPartition, _ rhs: StoredPartition) -> Bool {
        if lhs.token != rhs.token { return lhs.token < rhs.token }
        return CQLValueOrdering.lexicographic(lhs.key, rhs.key) < 0
    }

    /// Partitions in token order (the order of full scans), starting after `(token, key)` when given.
    func partitionsInTokenOrder(after position: (token: Int64, key: [UInt8])? = nil) -> ArraySlice<StoredPartition> {
        if !tokenOrderIsSorted {
            tokenOrder.sort(by: Self.precedes)
            tokenOrderIsSorted = true
        }
        guard let position else { return tokenOrder[...] }
        var low = 0
        var high = tokenOrder.count
        while low < high {
            let middle = (low + high) / 2
            let candidate = tokenOrder[middle]
            let isAfter =
                candidate.token > position.token
                || (candidate.token == position.token && CQLValueOrdering.lexicographic(candidate.key, position.key) > 0)
            if isAfter { high = middle } else { low = middle + 1 }
        }
        return tokenOrder[low...]
    }

    func truncate() {
        partitions.removeAll()
        tokenOrder.removeAll()
        tokenOrderIsSorted = true
    }
}
