import CQLProtocol

/// A custom workload read from a YAML profile: schema, rows to load at start, and weighted statements whose bind
/// values come from per-column generators.
///
/// (Quote a statement that contains `: `, as YAML would otherwise read it as a mapping.)
///
/// ```yaml
/// name: sensor-readings
/// schema:
///   - "CREATE KEYSPACE IF NOT EXISTS iot WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"
///   - CREATE TABLE IF NOT EXISTS iot.readings (device uuid, ts timeuuid, value double, tag text, PRIMARY KEY (device, ts))
/// load:
///   devices: SELECT device FROM iot.devices LIMIT 1000
/// statements:
///   insert_reading:
///     cql: INSERT INTO iot.readings (device, ts, value, tag) VALUES (?, ?, ?, ?)
///     weight: 8
///     consistency: LOCAL_QUORUM
///     batch: 10
///     columns:
///       - {generator: uuid, distinct: 1000}
///       - timeuuid
///       - {generator: gaussian, mean: 20, stddev: 5}
///       - {generator: choice, values: [ok, warn, fail]}
///   read_latest:
///     cql: SELECT * FROM iot.readings WHERE device = ? LIMIT 10
///     weight: 2
///     columns:
///       - {generator: rows, source: devices, column: 0}
/// ```
public struct WorkloadProfile: Sendable, Hashable {
    public var name: String
    /// The file it came from (for messages).
    public var file: String
    public var schema: [String]
    /// Named queries whose rows are loaded at start, for `rows` generators.
    public var load: [String: String]
    public var statements: [ProfileStatement]

    public init(name: String, file: String, schema: [String], load: [String: String], statements: [ProfileStatement]) {
        self.name = name
        self.file = file
        self.schema = schema
        self.load = load
        self.statements = statements
    }
}

/// One named statement of a profile.
public struct ProfileStatement: Sendable, Hashable {
    public var name: String
    public var cql: String
    public var weight: Int
    public var consistency: CQLConsistency
    /// Rows per unlogged batch (1: no batch).
    public var batchSize: Int
    public var isIdempotent: Bool
    public var columns: [ColumnGenerator]
    /// Where the statement is defined (1-based line), for messages.
    public var line: Int

    public init(name: String, cql: String, weight: Int = 1, consistency: CQLConsistency = .one, batchSize: Int = 1,
                isIdempotent: Bool = true, columns: [ColumnGenerator], line: Int = 0) {
        self.name = name
        self.cql = cql
        self.weight = weight
        self.consistency = consistency
        self.batchSize = batchSize
        self.isIdempotent = isIdempotent
        self.columns = columns
        self.line = line
    }
}

/// How one bind value is generated: a pure function of (run, statement, column, index).
public enum ColumnGenerator: Sendable, Hashable {
    /// A UUID unique per index, or one of `distinct` values.
    case uuid(distinct: UInt64?)
    /// A version-1 UUID, time-ordered by index.
    case timeuuid
    /// `start + index × step`.
    case sequence(start: Int64, step: Int64)
    /// Uniform integer in [min, max].
    case uniform(min: Int64, max: Int64)
    /// Normal distribution, clamped to [min, max] when given.
    case gaussian(mean: Double, standardDeviation: Double, min: Double?, max: Double?)
    /// Zipf-distributed integer in [1, n] with exponent s (rank 1 the most frequent).
    case zipf(n: UInt64, exponent: Double)
    /// Text with a length drawn uniformly from [min, max] characters.
    case text(minLength: Int, maxLength: Int)
    /// One of the listed values.
    case choice([CQLValue])
    /// A column of the rows loaded at start by the named query.
    case rows(source: String, column: Int)
    /// Always the same value.
    case constant(CQLValue)
    /// Milliseconds since the epoch of the index's timeuuid.
    case timestamp
}
