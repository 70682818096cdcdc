import CQLProtocol

/// A prepared statement: its text, the keyspace it was prepared in, its parse and its metadata.
struct PreparedStatement: Sendable {
    var query: String
    var keyspace: String?
    var parsed: ParsedStatement
    var metadata: CQLPrepared
}

/// Prepared statements by id. The id is a hash of the keyspace and the query text, so preparing the same
/// text twice (or on another node) gives the same id, as in Cassandra.
struct PreparedStatementRegistry: Sendable {
    private var statements: [[UInt8]: PreparedStatement] = [:]
    /// Bound on the number of entries; the oldest half is dropped when it is reached (clients re-prepare on UNPREPARED).
    var capacity = 50_000
    private var insertionOrder: [[UInt8]] = []

    static func id(query: String, keyspace: String?) -> [UInt8] {
        let hash = Murmur3Partitioner.hash128(Array(((keyspace ?? "") + "\u{0}" + query).utf8))
        var bytes: [UInt8] = []
        withUnsafeBytes(of: hash.h1.bigEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: hash.h2.bigEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    subscript(id: [UInt8]) -> PreparedStatement? { statements[id] }

    mutating func store(_ statement: PreparedStatement) {
        let id = statement.metadata.id
        if statements[id] == nil {
            if statements.count >= capacity {
                let evicted = insertionOrder.prefix(capacity / 2)
                for old in evicted { statements[old] = nil }
                insertionOrder.removeFirst(evicted.count)
            }
            insertionOrder.append(id)
        }
        statements[id] = statement
    }

    /// Forgets statements that read or write the given keyspace (after DROP), so clients re-prepare.
    mutating func invalidate(keyspace: String) {
        for (id, statement) in statements where statement.metadata.bindColumns.contains(where: { $0.keyspace == keyspace })
            || statement.metadata.resultColumns.contains(where: { $0.keyspace == keyspace }) || statement.keyspace == keyspace
        {
            statements[id] = nil
        }
        insertionOrder.removeAll { statements[$0] == nil }
    }

    var count: Int { statements.count }
}
