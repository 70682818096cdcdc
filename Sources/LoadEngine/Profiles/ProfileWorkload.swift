import CQLProtocol
import Foundation

/// A workload built from a ``WorkloadProfile``: each index picks a statement by weight and generates its values,
/// all a pure function of (run, index) and the rows loaded at start.
public struct ProfileWorkload: Workload {
    public let profile: WorkloadProfile
    public let run: RunIdentity
    let seed: UInt64
    let cumulativeWeights: [UInt64]
    let bindTypes: [[CQLDataType]]
    let loadedRows: [String: [[CQLValue]]]
    let zipfTables: [String: [Double]]
    let textBase: [UInt8]
    let timeUUIDs: TimeUUIDGenerator

    public init(profile: WorkloadProfile, run: RunIdentity) {
        self.init(profile: profile, run: run, bindTypes: [], loadedRows: [:])
    }

    init(profile: WorkloadProfile, run: RunIdentity, bindTypes: [[CQLDataType]], loadedRows: [String: [[CQLValue]]]) {
        self.profile = profile
        self.run = run
        seed = run.seed
        var total: UInt64 = 0
        cumulativeWeights = profile.statements.map { statement in
            total += UInt64(max(0, statement.weight))
            return total
        }
        self.bindTypes = bindTypes
        self.loadedRows = loadedRows
        var tables: [String: [Double]] = [:]
        for statement in profile.statements {
            for case .zipf(let n, let s) in statement.columns where n <= 1_000_000 {
                let key = "\(n):\(s)"
                if tables[key] == nil { tables[key] = Self.zipfTable(n: n, exponent: s) }
            }
        }
        zipfTables = tables
        let needsText = profile.statements.contains { $0.columns.contains { if case .text = $0 { true } else { false } } }
        textBase = needsText ? Array(ChatText.pool(seed: run.seed, size: 2048, vietnamese: false).joined(separator: " ").utf8) : []
        timeUUIDs = TimeUUIDGenerator(run: run)
    }

    public var name: String { profile.name }
    public var operationNames: [String] { profile.statements.map(\.name) }
    public var writeOperationNames: Set<String> {
        Set(profile.statements.filter { !CQLStatementKind.isRead($0.cql) }.map(\.name))
    }
    public var schema: [String] { profile.schema }

    public var statements: [WorkloadStatement] {
        profile.statements.map {
            WorkloadStatement(cql: $0.cql, consistency: $0.consistency, isIdempotent: $0.isIdempotent, batchSize: $0.batchSize)
        }
    }

    public func setUp(_ context: WorkloadSetupContext) async throws -> any Workload {
        var rows: [String: [[CQLValue]]] = [:]
        for (name, query) in profile.load.sorted(by: { $0.key < $1.key }) {
            let loaded = try await context.loadRows(query)
            guard !loaded.isEmpty else {
                throw LoadEngineError(.workloadSetupFailed, "load query '\(name)' returned no rows: \(query)", file: profile.file)
            }
            // Sorted so every worker sees the same order whatever order the database returned.
            rows[name] = loaded.sorted { $0.description < $1.description }
        }
        for (statementIndex, statement) in profile.statements.enumerated() {
            for case .rows(let source, let column) in statement.columns {
                if let first = rows[source]?.first, column >= first.count {
                    throw LoadEngineError(
                        .workloadSetupFailed, "statement '\(statement.name)': load query '\(source)' has \(first.count) columns, column \(column) asked",
                        file: profile.file, line: statement.line)
                }
            }
            _ = statementIndex
        }
        return ProfileWorkload(profile: profile, run: run, bindTypes: context.bindTypes, loadedRows: rows)
    }

    public func operation(at index: UInt64) -> WorkloadOperation {
        let total = cumulativeWeights.last ?? 0
        let pick = DeterministicHash.bounded(DeterministicHash.hash(seed: seed, stream: 0x5747, index: index), max(1, total))
        var statementIndex = 0
        while statementIndex < cumulativeWeights.count - 1, pick >= cumulativeWeights[statementIndex] { statementIndex += 1 }
        let statement = profile.statements[statementIndex]
        let types = statementIndex < bindTypes.count ? bindTypes[statementIndex] : []
        if statement.batchSize > 1 {
            let rows = (0..<UInt64(statement.batchSize)).map { row in
                values(statement, statementIndex, types: types, index: index &* UInt64(statement.batchSize) &+ row)
            }
            return WorkloadOperation(operation: statementIndex, statement: statementIndex, values: rows.first ?? [], batchValues: rows)
        }
        return WorkloadOperation(operation: statementIndex, statement: statementIndex, values: values(statement, statementIndex, types: types, index: index))
    }

    /// The values of `statement` for row `index` (pure).
    func values(_ statement: ProfileStatement, _ statementIndex: Int, types: [CQLDataType], index: UInt64) -> [CQLValue] {
        var result: [CQLValue] = []
        result.reserveCapacity(statement.columns.count)
        for (column, generator) in statement.columns.enumerated() {
            let stream = UInt64(statementIndex) << 16 | UInt64(column)
            let value = generate(generator, stream: stream, index: index)
            result.append(column < types.count ? Self.coerce(value, to: types[column]) : value)
        }
        return result
    }

    func generate(_ generator: ColumnGenerator, stream: UInt64, index: UInt64) -> CQLValue {
        let h = DeterministicHash.hash(seed: seed, stream: stream, index: index)
        switch generator {
        case .uuid(let distinct):
            let key = distinct.map { DeterministicHash.bounded(h, $0) } ?? index
            return .uuid(UUID.deterministic(seed: seed, stream: stream, index: key))
        case .timeuuid:
            return .uuid(timeUUIDs.uuid(for: index))
        case .timestamp:
            return .timestamp(timeUUIDs.unixMillis(of: index))
        case .sequence(let start, let step):
            return .bigint(start &+ Int64(truncatingIfNeeded: index) &* step)
        case .uniform(let low, let high):
            let span = UInt64(bitPattern: high &- low) &+ 1
            return .bigint(low &+ Int64(bitPattern: span == 0 ? h : DeterministicHash.bounded(h, span)))
        case .gaussian(let mean, let deviation, let low, let high):
            let u1 = max(DeterministicHash.unit(h), 1e-300)
            let u2 = DeterministicHash.unit(DeterministicHash.mix(h))
            var value = mean + deviation * (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
            if let low { value = max(low, value) }
            if let high { value = min(high, value) }
            return .double(value)
        case .zipf(let n, let exponent):
            let u = DeterministicHash.unit(h)
            if let table = zipfTables["\(n):\(exponent)"] {
                var lowIndex = 0
                var highIndex = table.count - 1
                while lowIndex < highIndex {
                    let mid = (lowIndex + highIndex) / 2
                    if table[mid] < u { lowIndex = mid + 1 } else { highIndex = mid }
                }
                return .bigint(Int64(lowIndex + 1))
            }
            // Continuous approximation for very large n: inverse CDF of x^-s on [1, n + 1).
            let value: Double
            if exponent == 1 {
                value = exp(u * log(Double(n) + 1))
            } else {
                let a = 1 - exponent
                value = pow(1 + u * (pow(Double(n) + 1, a) - 1), 1 / a)
            }
            return .bigint(min(Int64(n), max(1, Int64(value))))
        case .text(let minLength, let maxLength):
            let length = minLength + Int(DeterministicHash.bounded(h, UInt64(maxLength - minLength + 1)))
            guard !textBase.isEmpty, length > 0 else { return .text("") }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(length)
            var offset = Int(DeterministicHash.bounded(DeterministicHash.mix(h), UInt64(textBase.count)))
            while bytes.count < length {
                let take = min(length - bytes.count, textBase.count - offset)
                bytes.append(contentsOf: textBase[offset..<offset + take])
                offset = 0
            }
            // The base text is mostly ASCII; cut back to a character boundary so the result is valid UTF-8.
            return .text(String(decoding: bytes, as: UTF8.self))
        case .choice(let values):
            return values[Int(DeterministicHash.bounded(h, UInt64(values.count)))]
        case .rows(let source, let column):
            guard let rows = loadedRows[source], !rows.isEmpty else { return .null }
            let row = rows[Int(DeterministicHash.bounded(h, UInt64(rows.count)))]
            return column < row.count ? row[column] : .null
        case .constant(let value):
            return value
        }
    }

    static func zipfTable(n: UInt64, exponent: Double) -> [Double] {
        var table = [Double](repeating: 0, count: Int(n))
        var sum = 0.0
        for rank in 0..<Int(n) {
            sum += 1 / pow(Double(rank + 1), exponent)
            table[rank] = sum
        }
        for rank in table.indices { table[rank] /= sum }
        return table
    }

    /// Converts a generated value to the column's type where a natural conversion exists.
    static func coerce(_ value: CQLValue, to type: CQLDataType) -> CQLValue {
        switch (value, type) {
        case (.bigint(let v), .int): return .int(Int32(clamping: v))
        case (.bigint(let v), .smallint): return .smallint(Int16(clamping: v))
        case (.bigint(let v), .tinyint): return .tinyint(Int8(clamping: v))
        case (.bigint(let v), .varint): return .varint(CQLVarint(v))
        case (.bigint(let v), .double): return .double(Double(v))
        case (.bigint(let v), .float): return .float(Float(v))
        case (.bigint(let v), .timestamp): return .timestamp(v)
        case (.bigint(let v), .varchar), (.bigint(let v), .ascii): return .text(String(v))
        case (.bigint(let v), .boolean): return .boolean(v != 0)
        case (.double(let v), .float): return .float(Float(v))
        case (.double(let v), .bigint), (.double(let v), .counter): return .bigint(Int64(v.rounded()))
        case (.double(let v), .int): return .int(Int32(clamping: Int64(v.rounded())))
        case (.double(let v), .smallint): return .smallint(Int16(clamping: Int64(v.rounded())))
        case (.double(let v), .tinyint): return .tinyint(Int8(clamping: Int64(v.rounded())))
        case (.double(let v), .varchar), (.double(let v), .ascii): return .text(String(v))
        case (.text(let v), .int): return Int32(v).map(CQLValue.int) ?? value
        case (.text(let v), .bigint): return Int64(v).map(CQLValue.bigint) ?? value
        case (.text(let v), .uuid), (.text(let v), .timeuuid): return UUID(uuidString: v).map(CQLValue.uuid) ?? value
        case (.text(let v), .blob): return .blob(Array(v.utf8))
        default: return value
        }
    }
}

/// Tells reads from writes by their first keyword.
enum CQLStatementKind {
    static func isRead(_ cql: String) -> Bool {
        cql.trimmingCharacters(in: .whitespacesAndNewlines).prefix(6).uppercased() == "SELECT"
    }
}
