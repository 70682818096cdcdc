import CQLProtocol
import DequeModule

/// "No timestamp": older than any write.
let noTimestamp = Int64.min

/// One stored cell: serialized bytes (nil for a deletion), the write timestamp and its expiry.
struct StoredCell: Sendable, Hashable {
    var value: [UInt8]?
    var timestamp: Int64
    /// Seconds since the epoch when the cell expires; 0 = never.
    var expiresAt: Int32
    /// The TTL the cell was written with, in seconds (0 = none), for `TTL(column)`.
    var ttl: Int32

    static let empty = StoredCell(value: nil, timestamp: noTimestamp, expiresAt: 0, ttl: 0)

    func isLive(at now: Int32, deletedAt: Int64) -> Bool {
        value != nil && timestamp > deletedAt && (expiresAt == 0 || expiresAt > now)
    }

    /// Last write wins; on equal timestamps a deletion wins, then the greater value (Cassandra's rule).
    mutating func merge(_ other: StoredCell) {
        if other.timestamp > timestamp {
            self = other
        } else if other.timestamp == timestamp {
            switch (value, other.value) {
            case (nil, _): return
            case (_, nil): self = other
            case (let mine?, let theirs?):
                if CQLValueOrdering.lexicographic(theirs, mine) > 0 { self = other }
            }
        }
    }
}

/// A row: its liveness marker (set by INSERT), a row deletion time and one cell per regular column slot.
struct StoredRow: Sendable, Hashable {
    var markerTimestamp: Int64 = noTimestamp
    var markerExpiresAt: Int32 = 0
    var deletedAt: Int64 = noTimestamp
    var cells: [StoredCell]

    init(slotCount: Int) {
        cells = Array(repeating: .empty, count: slotCount)
    }

    /// Whether the row shows up in a SELECT: a live marker or at least one live cell.
    func isLive(at now: Int32, partitionDeletedAt: Int64) -> Bool {
        let deletedAt = max(self.deletedAt, partitionDeletedAt)
        if markerTimestamp > deletedAt && (markerExpiresAt == 0 || markerExpiresAt > now) { return true }
        for cell in cells where cell.isLive(at: now, deletedAt: deletedAt) { return true }
        return false
    }

    /// Drops everything written at or before `timestamp`.
    mutating func delete(at timestamp: Int64) {
        deletedAt = max(deletedAt, timestamp)
        if markerTimestamp <= timestamp { markerTimestamp = noTimestamp }
        for index in cells.indices where cells[index].timestamp <= timestamp { cells[index] = .empty }
    }
}

/// A clustering key: the decoded clustering column values (empty for tables without clustering columns).
struct ClusteringKey: Sendable, Hashable {
    var values: [CQLValue]
}

/// One partition: rows by clustering key, kept in the table's clustering order.
///
/// Rows live in a dictionary; their order is a deque that stays sorted for the common cases of appending
/// after the last key or before the first (time-ordered inserts in ASC or DESC tables) and is re-sorted
/// lazily otherwise. Mutated only under the database lock, hence a class.
final class StoredPartition {
    let key: [UInt8]
    let token: Int64
    private(set) var rows: [ClusteringKey: StoredRow] = [:]
    private var order: Deque<ClusteringKey> = []
    private var isSorted = true
    var staticRow: StoredRow
    var deletedAt: Int64 = noTimestamp

    init(key: [UInt8], token: Int64, staticSlotCount: Int) {
        self.key = key
        self.token = token
        self.staticRow = StoredRow(slotCount: staticSlotCount)
    }

    var rowCount: Int { rows.count }

    /// Updates (or creates) the row at `clustering`.
    func modifyRow(_ clustering: ClusteringKey, slotCount: Int, schema: TableSchema, _ body: (inout StoredRow) -> Void) {
        if rows[clustering] == nil {
            insertKey(clustering, schema: schema)
            rows[clustering] = StoredRow(slotCount: slotCount)
        }
        body(&rows[clustering]!)
    }

    /// Removes rows entirely (TRUNCATE-like) when nothing in them is newer than `timestamp`.
    func deleteAll(at timestamp: Int64) {
        deletedAt = max(deletedAt, timestamp)
        staticRow.delete(at: timestamp)
        var removed = false
        for (key, var row) in rows {
            row.delete(at: timestamp)
            if row.markerTimestamp == noTimestamp && row.cells.allSatisfy({ $0.timestamp == noTimestamp }) {
                rows[key] = nil
                removed = true
            } else {
                rows[key] = row
            }
        }
        if removed { order = Deque(order.filter { rows[$0] != nil }) }
    }

    private func insertKey(_ key: ClusteringKey, schema: TableSchema) {
        guard let last = order.last, let first = order.first else {
            order.append(key)
            return
        }
        let types = schema.clusteringTypes
        let descending = schema.clusteringDescending
        if CQLValueOrdering.compareKeys(key.values, last.values, types: types, descending: descending) > 0 {
            order.append(key)
        } else if CQLValueOrdering.compareKeys(key.values, first.values, types: types, descending: descending) < 0 {
            order.prepend(key)
        } else {
            order.append(key)
            isSorted = false
        }
    }

    /// The clustering keys in clustering order.
    func orderedKeys(schema: TableSchema) -> Deque<ClusteringKey> {
        if !isSorted {
            let types = schema.clusteringTypes
            let descending = schema.clusteringDescending
            order.sort { CQLValueOrdering.compareKeys($0.values, $1.values, types: types, descending: descending) < 0 }
            isSorted = true
        }
        return order
    }

    /// Index of the first key in `keys` that sorts after `key` (binary search).
    static func indexAfter(_ key: ClusteringKey, in keys: Deque<ClusteringKey>, schema: TableSchema) -> Int {
        let types = schema.clusteringTypes
        let descending = schema.clusteringDescending
        var low = 0
        var high = keys.count
        while low < high {
            let middle = (low + high) / 2
            if CQLValueOrdering.compareKeys(keys[middle].values, key.values, types: types, descending: descending) <= 0 {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low
    }

    func row(_ key: ClusteringKey) -> StoredRow? { rows[key] }

    /// Whether the partition has a live static cell.
    func hasLiveStatic(at now: Int32) -> Bool {
        staticRow.cells.contains { $0.isLive(at: now, deletedAt: max(deletedAt, staticRow.deletedAt)) }
    }
}
