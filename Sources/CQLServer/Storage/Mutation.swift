import CQLProtocol

/// A resolved change to one partition of one table: what the executor computes from INSERT, UPDATE,
/// DELETE or a batch, what storage applies and what the commit log records.
struct Mutation: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        /// Write cells (and, for INSERT, the row marker).
        case upsert(marker: Bool, cells: [SlotWrite], staticCells: [SlotWrite])
        /// Delete the row at `clustering`.
        case deleteRow
        /// Delete every row of the partition.
        case deletePartition
        /// Delete some cells of a row (or static cells).
        case deleteCells(slots: [Int], staticSlots: [Int])
    }

    var keyspace: String
    var table: String
    var partitionKey: [UInt8]
    /// The row's clustering key; empty for tables without clustering columns and for partition-level changes.
    var clustering: [CQLValue]
    var kind: Kind
    /// Microseconds since the epoch.
    var timestamp: Int64
    /// Absolute expiry in seconds since the epoch (0 = never), computed once so that replay is exact.
    var expiresAt: Int32
    var ttl: Int32
}

/// One cell of an upsert: the column slot and its new bytes (nil writes a tombstone).
struct SlotWrite: Sendable, Hashable {
    var slot: Int
    var value: [UInt8]?
}
