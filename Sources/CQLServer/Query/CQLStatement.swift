import Foundation

/// A possibly keyspace-qualified table name.
struct QualifiedName: Sendable, Hashable, CustomStringConvertible {
    var keyspace: String?
    var name: String

    var description: String { keyspace.map { "\($0).\(name)" } ?? name }
}

/// A value in a statement: a literal, a bind marker, a collection or a function call.
indirect enum CQLTerm: Sendable, Hashable {
    case string(String)
    case integer(String)
    case float(String)
    case boolean(Bool)
    case uuid(UUID)
    case hex([UInt8])
    case null
    /// A bind marker; `index` is its position among all markers of the statement.
    case bindMarker(index: Int)
    case list([CQLTerm])
    case set([CQLTerm])
    case map([CQLTermPair])
    /// A tuple literal `(a, b)`.
    case tuple([CQLTerm])
    case function(name: String, arguments: [CQLTerm])
}

/// A key/value pair of a map literal.
struct CQLTermPair: Sendable, Hashable {
    var key: CQLTerm
    var value: CQLTerm
}

/// A bind marker as written: `?` (no name) or `:name`.
struct BindMarkerDeclaration: Sendable, Hashable {
    var name: String?
}

/// A comparison in a WHERE or IF clause.
enum RelationOperator: String, Sendable, Hashable {
    case equal = "="
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="
    case notEqual = "!="
    case `in` = "IN"
    case contains = "CONTAINS"
    case containsKey = "CONTAINS KEY"
}

/// `column op value`. For `IN`, `values` holds the list (or one bind marker standing for the whole list).
struct Relation: Sendable, Hashable {
    var column: String
    var op: RelationOperator
    var value: CQLTerm
    /// For `IN (a, b, c)`; empty otherwise.
    var inValues: [CQLTerm]
    /// `IN ?` binds the whole list to one marker.
    var inMarker: Bool
}

/// `USING TTL x AND TIMESTAMP y`.
struct WriteOptions: Sendable, Hashable {
    var ttl: CQLTerm?
    var timestamp: CQLTerm?
}

/// One entry of `UPDATE ... SET`.
enum Assignment: Sendable, Hashable {
    /// `c = value`
    case set(column: String, value: CQLTerm)
    /// `c = c + value` (append / add to a collection, or counter increment).
    case add(column: String, value: CQLTerm)
    /// `c = value + c` (list prepend).
    case prepend(column: String, value: CQLTerm)
    /// `c = c - value`
    case remove(column: String, value: CQLTerm)
    /// `c[key] = value`
    case setElement(column: String, key: CQLTerm, value: CQLTerm)

    var column: String {
        switch self {
        case .set(let column, _), .add(let column, _), .prepend(let column, _), .remove(let column, _),
            .setElement(let column, _, _):
            column
        }
    }
}

struct InsertStatement: Sendable, Hashable {
    var table: QualifiedName
    var columns: [String]
    var values: [CQLTerm]
    var ifNotExists: Bool
    var options: WriteOptions
}

struct UpdateStatement: Sendable, Hashable {
    var table: QualifiedName
    var options: WriteOptions
    var assignments: [Assignment]
    var relations: [Relation]
    var ifExists: Bool
    var conditions: [Relation]
}

struct DeleteStatement: Sendable, Hashable {
    var table: QualifiedName
    /// Columns to delete; empty deletes the whole row (or partition).
    var columns: [String]
    var timestamp: CQLTerm?
    var relations: [Relation]
    var ifExists: Bool
    var conditions: [Relation]
}

/// One thing a SELECT returns.
enum Selector: Sendable, Hashable {
    case column(String, alias: String?)
    case countAll(alias: String?)
    case writetime(String, alias: String?)
    case ttl(String, alias: String?)
}

struct SelectStatement: Sendable, Hashable {
    var table: QualifiedName
    var distinct: Bool
    /// Empty means `*`.
    var selectors: [Selector]
    var relations: [Relation]
    /// Column name and whether descending.
    var orderBy: [Ordering]
    var limit: CQLTerm?
    var perPartitionLimit: CQLTerm?
    var allowFiltering: Bool
    var json: Bool
}

/// One `ORDER BY` entry.
struct Ordering: Sendable, Hashable {
    var column: String
    var descending: Bool
}

/// A column definition of CREATE TABLE.
struct ColumnDefinition: Sendable, Hashable {
    var name: String
    var type: String
    var isStatic: Bool
}

/// A table option value (`WITH name = value`).
enum TableOptionValue: Sendable, Hashable {
    case string(String)
    case number(String)
    case boolean(Bool)
    case map([String: String])
}

struct CreateTableStatement: Sendable, Hashable {
    var table: QualifiedName
    var ifNotExists: Bool
    var columns: [ColumnDefinition]
    var partitionKey: [String]
    var clusteringKey: [String]
    /// Column name → descending.
    var clusteringOrder: [String: Bool]
    var clusteringOrderColumns: [String]
    var options: [String: TableOptionValue]
}

struct CreateKeyspaceStatement: Sendable, Hashable {
    var name: String
    var ifNotExists: Bool
    var replication: [String: String]
    var durableWrites: Bool
}

struct BatchStatement: Sendable, Hashable {
    enum Kind: Sendable, Hashable { case logged, unlogged, counter }
    var kind: Kind
    var timestamp: CQLTerm?
    var statements: [CQLStatement]
}

/// DESCRIBE / DESC forms executed on the server (cqlsh sends them unchanged).
enum DescribeStatement: Sendable, Hashable {
    case cluster
    case keyspaces
    case tables
    case types
    case functions
    case aggregates
    case keyspace(String?, only: Bool)
    case table(QualifiedName)
    case schema(full: Bool)
    /// `DESCRIBE name` — a keyspace or a table, whichever exists.
    case name(QualifiedName)
}

/// A parsed statement.
indirect enum CQLStatement: Sendable, Hashable {
    case createKeyspace(CreateKeyspaceStatement)
    case alterKeyspace(CreateKeyspaceStatement)
    case dropKeyspace(name: String, ifExists: Bool)
    case createTable(CreateTableStatement)
    case dropTable(QualifiedName, ifExists: Bool)
    case use(String)
    case truncate(QualifiedName)
    case insert(InsertStatement)
    case update(UpdateStatement)
    case delete(DeleteStatement)
    case batch(BatchStatement)
    case select(SelectStatement)
    case describe(DescribeStatement)

    /// Whether the statement changes data (so `--mode sink` may skip storing it).
    var isWrite: Bool {
        switch self {
        case .insert, .update, .delete, .batch: true
        default: false
        }
    }
}

/// A statement with the bind markers it declares, in order.
struct ParsedStatement: Sendable, Hashable {
    var statement: CQLStatement
    var bindMarkers: [BindMarkerDeclaration]
}
