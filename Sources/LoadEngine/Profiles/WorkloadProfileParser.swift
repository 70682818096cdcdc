import CQLProtocol
import Foundation
import Yams

/// Reads a ``WorkloadProfile`` from YAML; every mistake is reported with the file, line, column and what was expected.
public enum WorkloadProfileParser {
    /// Reads and parses the profile at `path`.
    public static func load(path: String) throws(LoadEngineError) -> WorkloadProfile {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw LoadEngineError(.invalidProfile, "cannot read the profile: \(error.localizedDescription)", file: path)
        }
        return try parse(text, file: path)
    }

    /// Parses profile YAML; `file` names it in errors.
    public static func parse(_ yaml: String, file: String) throws(LoadEngineError) -> WorkloadProfile {
        do {
            return try parseUntyped(yaml, file: file)
        } catch let error as LoadEngineError {
            throw error
        } catch {
            throw LoadEngineError(.invalidProfile, "\(error)", file: file)
        }
    }

    static func parseUntyped(_ yaml: String, file: String) throws -> WorkloadProfile {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw yamlError(error, file: file)
        } catch {
            throw LoadEngineError(.invalidProfile, "not valid YAML: \(error)", file: file)
        }
        let reader = Reader(file: file)
        guard let root else { throw LoadEngineError(.invalidProfile, "the profile is empty; expected a mapping with 'statements'", file: file) }
        let top = try reader.mapping(root, "the profile", allowed: ["name", "keyspace", "schema", "load", "statements"])
        let name = try top["name"].map { try reader.string($0, "'name'") } ?? URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        var schema: [String] = []
        if let node = top["schema"] {
            schema = try reader.sequence(node, "'schema'").map { try reader.string($0, "a schema statement") }
        }
        var load: [String: String] = [:]
        if let node = top["load"] {
            for (key, value) in try reader.pairs(node, "'load'") {
                load[try reader.string(key, "a load name")] = try reader.string(value, "a SELECT statement")
            }
        }
        guard let statementsNode = top["statements"] else {
            throw reader.error(root, "missing 'statements': expected a mapping of statement names to {cql, weight, columns}")
        }
        var statements: [ProfileStatement] = []
        for (key, value) in try reader.pairs(statementsNode, "'statements'") {
            let statementName = try reader.string(key, "a statement name")
            statements.append(try parseStatement(statementName, value, reader: reader, loadNames: Set(load.keys)))
        }
        guard !statements.isEmpty else { throw reader.error(statementsNode, "'statements' is empty; expected at least one statement") }
        guard statements.contains(where: { $0.weight > 0 }) else {
            throw reader.error(statementsNode, "every statement has weight 0; expected at least one positive weight")
        }
        return WorkloadProfile(name: name, file: file, schema: schema, load: load, statements: statements)
    }

    static func parseStatement(_ name: String, _ node: Node, reader: Reader, loadNames: Set<String>) throws -> ProfileStatement {
        let fields = try reader.mapping(node, "statement '\(name)'", allowed: ["cql", "weight", "consistency", "batch", "idempotent", "columns"])
        guard let cqlNode = fields["cql"] else { throw reader.error(node, "statement '\(name)' has no 'cql'; expected the CQL text with ? markers") }
        let cql = try reader.string(cqlNode, "the CQL of '\(name)'")
        let weight = try fields["weight"].map { try reader.integer($0, "the weight of '\(name)'", range: 0...1_000_000) } ?? 1
        var consistency = CQLConsistency.one
        if let node = fields["consistency"] {
            let text = try reader.string(node, "a consistency level")
            guard let level = CQLConsistency(name: text) else {
                throw reader.error(node, "unknown consistency '\(text)'; expected one of ONE, TWO, THREE, QUORUM, ALL, LOCAL_QUORUM, EACH_QUORUM, LOCAL_ONE, ANY")
            }
            consistency = level
        }
        let batch = try fields["batch"].map { try reader.integer($0, "the batch size of '\(name)'", range: 1...10_000) } ?? 1
        let idempotent = try fields["idempotent"].map { try reader.bool($0, "'idempotent'") } ?? true
        var columns: [ColumnGenerator] = []
        if let node = fields["columns"] {
            for item in try reader.sequence(node, "'columns' of '\(name)'") {
                columns.append(try parseGenerator(item, reader: reader, loadNames: loadNames))
            }
        }
        let markers = bindMarkerCount(cql)
        if markers != columns.count {
            throw reader.error(fields["columns"] ?? cqlNode,
                "statement '\(name)' has \(markers) bind marker\(markers == 1 ? "" : "s") (?) but \(columns.count) column generator\(columns.count == 1 ? "" : "s"); expected one generator per marker")
        }
        return ProfileStatement(
            name: name, cql: cql, weight: weight, consistency: consistency, batchSize: batch, isIdempotent: idempotent,
            columns: columns, line: node.mark?.line ?? 0)
    }

    static let generatorNames = ["uuid", "timeuuid", "sequence", "uniform", "gaussian", "zipf", "text", "choice", "rows", "constant", "timestamp"]

    static func parseGenerator(_ node: Node, reader: Reader, loadNames: Set<String>) throws -> ColumnGenerator {
        let kind: String
        var fields: [String: Node] = [:]
        if case .scalar(let scalar) = node {
            kind = scalar.string
        } else {
            fields = try reader.mapping(node, "a column generator", allowed: nil)
            guard let kindNode = fields["generator"] else {
                throw reader.error(node, "column generator has no 'generator'; expected one of \(generatorNames.joined(separator: ", "))")
            }
            kind = try reader.string(kindNode, "a generator name")
        }
        func allow(_ keys: [String]) throws {
            for key in fields.keys where key != "generator" && !keys.contains(key) {
                throw reader.error(fields[key] ?? node, "unknown option '\(key)' for generator '\(kind)'; expected \(keys.isEmpty ? "no options" : keys.joined(separator: ", "))")
            }
        }
        func int(_ key: String, _ fallback: Int64?) throws -> Int64 {
            guard let value = fields[key] else {
                guard let fallback else { throw reader.error(node, "generator '\(kind)' needs '\(key)'") }
                return fallback
            }
            return Int64(try reader.integer(value, "'\(key)'", range: Int.min...Int.max))
        }
        func double(_ key: String, _ fallback: Double?) throws -> Double? {
            guard let value = fields[key] else { return fallback }
            return try reader.number(value, "'\(key)'")
        }
        switch kind {
        case "uuid":
            try allow(["distinct"])
            let distinct = try fields["distinct"].map { UInt64(try reader.integer($0, "'distinct'", range: 1...Int.max)) }
            return .uuid(distinct: distinct)
        case "timeuuid":
            try allow([])
            return .timeuuid
        case "timestamp":
            try allow([])
            return .timestamp
        case "sequence":
            try allow(["start", "step"])
            return .sequence(start: try int("start", 0), step: try int("step", 1))
        case "uniform":
            try allow(["min", "max"])
            let low = try int("min", 0)
            let high = try int("max", nil)
            guard low <= high else { throw reader.error(node, "uniform needs min ≤ max (got \(low) and \(high))") }
            return .uniform(min: low, max: high)
        case "gaussian":
            try allow(["mean", "stddev", "min", "max"])
            guard let mean = try double("mean", nil) else { throw reader.error(node, "generator 'gaussian' needs 'mean'") }
            let deviation = try double("stddev", 1) ?? 1
            guard deviation >= 0 else { throw reader.error(node, "gaussian needs stddev ≥ 0") }
            return .gaussian(mean: mean, standardDeviation: deviation, min: try double("min", nil), max: try double("max", nil))
        case "zipf":
            try allow(["n", "exponent", "s"])
            let n = try int("n", nil)
            guard n >= 1, n <= 10_000_000 else { throw reader.error(node, "zipf needs 1 ≤ n ≤ 10,000,000") }
            let exponent = try double("exponent", nil) ?? double("s", 1.0) ?? 1.0
            guard exponent > 0 else { throw reader.error(node, "zipf needs an exponent > 0") }
            return .zipf(n: UInt64(n), exponent: exponent)
        case "text":
            try allow(["min", "max", "length"])
            if let length = fields["length"] {
                let value = try reader.integer(length, "'length'", range: 0...1_000_000)
                return .text(minLength: value, maxLength: value)
            }
            let low = Int(try int("min", 10))
            let high = Int(try int("max", Int64(max(low, 100))))
            guard low >= 0, low <= high, high <= 1_000_000 else { throw reader.error(node, "text needs 0 ≤ min ≤ max ≤ 1,000,000") }
            return .text(minLength: low, maxLength: high)
        case "choice":
            try allow(["values"])
            guard let valuesNode = fields["values"] else { throw reader.error(node, "generator 'choice' needs 'values': a list") }
            let values = try reader.sequence(valuesNode, "'values'").map { try reader.value($0) }
            guard !values.isEmpty else { throw reader.error(valuesNode, "'values' is empty; expected at least one value") }
            return .choice(values)
        case "rows":
            try allow(["source", "column"])
            guard let sourceNode = fields["source"] else { throw reader.error(node, "generator 'rows' needs 'source': a name under 'load'") }
            let source = try reader.string(sourceNode, "a load name")
            guard loadNames.contains(source) else {
                throw reader.error(sourceNode, "no query named '\(source)' under 'load'; expected one of: \(loadNames.sorted().joined(separator: ", "))")
            }
            let column = Int(try int("column", 0))
            guard column >= 0 else { throw reader.error(node, "'column' must be ≥ 0") }
            return .rows(source: source, column: column)
        case "constant":
            try allow(["value"])
            guard let value = fields["value"] else { throw reader.error(node, "generator 'constant' needs 'value'") }
            return .constant(try reader.value(value))
        default:
            throw reader.error(node, "unknown generator '\(kind)'; expected one of \(generatorNames.joined(separator: ", "))")
        }
    }

    /// Counts `?` markers outside string literals and comments.
    static func bindMarkerCount(_ cql: String) -> Int {
        var count = 0
        var inString = false
        for character in cql {
            if character == "'" { inString.toggle() } else if character == "?", !inString { count += 1 }
        }
        return count
    }

    static func yamlError(_ error: YamlError, file: String) -> LoadEngineError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
            return LoadEngineError(.invalidProfile, "not valid YAML: \(problem)", file: file, line: mark.line, column: mark.column)
        default:
            return LoadEngineError(.invalidProfile, "not valid YAML: \(error)", file: file)
        }
    }

    /// Typed access to YAML nodes, with located errors.
    struct Reader {
        let file: String

        func error(_ node: Node, _ message: String) -> LoadEngineError {
            LoadEngineError(.invalidProfile, message, file: file, line: node.mark?.line, column: node.mark?.column)
        }

        func pairs(_ node: Node, _ what: String) throws -> [(Node, Node)] {
            guard case .mapping(let mapping) = node else { throw error(node, "expected a mapping for \(what), found \(kindName(node))") }
            return mapping.map { ($0.key, $0.value) }
        }

        func mapping(_ node: Node, _ what: String, allowed: [String]?) throws -> [String: Node] {
            var result: [String: Node] = [:]
            for (key, value) in try pairs(node, what) {
                let name = try string(key, "a key")
                if let allowed, !allowed.contains(name) {
                    throw error(key, "unknown key '\(name)' in \(what); expected one of: \(allowed.joined(separator: ", "))")
                }
                guard result[name] == nil else { throw error(key, "duplicate key '\(name)' in \(what)") }
                result[name] = value
            }
            return result
        }

        func sequence(_ node: Node, _ what: String) throws -> [Node] {
            guard case .sequence(let sequence) = node else { throw error(node, "expected a list for \(what), found \(kindName(node))") }
            return Array(sequence)
        }

        func string(_ node: Node, _ what: String) throws -> String {
            guard case .scalar(let scalar) = node else { throw error(node, "expected text for \(what), found \(kindName(node))") }
            return scalar.string
        }

        func integer(_ node: Node, _ what: String, range: ClosedRange<Int>) throws -> Int {
            guard case .scalar(let scalar) = node, let value = Int(scalar.string.replacingOccurrences(of: "_", with: "")) else {
                throw error(node, "expected an integer for \(what), found \(describe(node))")
            }
            guard range.contains(value) else {
                throw error(node, "\(what) must be between \(range.lowerBound) and \(range.upperBound), found \(value)")
            }
            return value
        }

        func number(_ node: Node, _ what: String) throws -> Double {
            guard case .scalar(let scalar) = node, let value = Double(scalar.string), value.isFinite else {
                throw error(node, "expected a number for \(what), found \(describe(node))")
            }
            return value
        }

        func bool(_ node: Node, _ what: String) throws -> Bool {
            guard let value = node.bool else { throw error(node, "expected true or false for \(what), found \(describe(node))") }
            return value
        }

        /// A scalar as a CQL value: integers as bigint, decimals as double, true/false as boolean, else text.
        func value(_ node: Node) throws -> CQLValue {
            guard case .scalar(let scalar) = node else { throw error(node, "expected a single value, found \(kindName(node))") }
            if scalar.style == .plain {
                if let integer = Int64(scalar.string) { return .bigint(integer) }
                if let number = Double(scalar.string) { return .double(number) }
                if let flag = node.bool { return .boolean(flag) }
            }
            return .text(scalar.string)
        }

        func kindName(_ node: Node) -> String {
            switch node {
            case .scalar(let scalar): "'\(scalar.string)'"
            case .mapping: "a mapping"
            case .sequence: "a list"
            case .alias: "an alias"
            }
        }

        func describe(_ node: Node) -> String { kindName(node) }
    }
}
