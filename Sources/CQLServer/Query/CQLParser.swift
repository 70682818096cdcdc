import CQLProtocol

/// A recursive-descent parser for the CQL subset the embedded server executes.
///
/// Syntax it does not know is a `SyntaxError`; statements Cassandra has but this server does not
/// implement (ALTER TABLE, CREATE INDEX, ...) are an `Invalid` error naming the statement.
struct CQLParser {
    private var tokens: [CQLToken]
    private var position = 0
    private var markers: [BindMarkerDeclaration] = []

    init(tokens: [CQLToken]) {
        self.tokens = tokens
    }

    /// Parses exactly one statement (a trailing `;` is allowed).
    static func parse(_ text: String) throws(CQLServerError) -> ParsedStatement {
        var parser = CQLParser(tokens: try CQLLexer.tokenize(text))
        let statement = try parser.parseStatement()
        parser.skipSymbol(";")
        guard parser.current.kind == .end else {
            throw parser.syntaxError("extraneous input \(parser.describe(parser.current)) after the statement")
        }
        return ParsedStatement(statement: statement, bindMarkers: parser.markers)
    }

    // MARK: - Token helpers

    private var current: CQLToken { tokens[position] }

    private func peekKind(_ offset: Int = 1) -> CQLToken.Kind {
        let index = min(position + offset, tokens.count - 1)
        return tokens[index].kind
    }

    private mutating func advance() {
        if position < tokens.count - 1 { position += 1 }
    }

    private func describe(_ token: CQLToken) -> String {
        switch token.kind {
        case .word(let word): "'\(word)'"
        case .quotedName(let name): "'\"\(name)\"'"
        case .string(let text): "''\(text)''"
        case .integer(let text), .float(let text): "'\(text)'"
        case .uuid(let uuid): "'\(uuid.uuidString.lowercased())'"
        case .hex(let bytes): "'0x\(bytes.count) bytes'"
        case .questionMark: "'?'"
        case .namedMarker(let name): "':\(name)'"
        case .symbol(let symbol): "'\(symbol)'"
        case .end: "<EOF>"
        }
    }

    private func syntaxError(_ message: String) -> CQLServerError {
        CQLServerError(.syntaxError, "line 1:\(current.offset) \(message)")
    }

    private func unexpected(expecting what: String) -> CQLServerError {
        syntaxError("mismatched input \(describe(current)) expecting \(what)")
    }

    private func isWord(_ word: String) -> Bool {
        if case .word(word) = current.kind { return true }
        return false
    }

    private func isSymbol(_ symbol: String) -> Bool {
        if case .symbol(symbol) = current.kind { return true }
        return false
    }

    @discardableResult
    private mutating func skipWord(_ word: String) -> Bool {
        guard isWord(word) else { return false }
        advance()
        return true
    }

    @discardableResult
    private mutating func skipSymbol(_ symbol: String) -> Bool {
        guard isSymbol(symbol) else { return false }
        advance()
        return true
    }

    private mutating func expectWord(_ word: String) throws(CQLServerError) {
        guard skipWord(word) else { throw unexpected(expecting: word.uppercased()) }
    }

    private mutating func expectSymbol(_ symbol: String) throws(CQLServerError) {
        guard skipSymbol(symbol) else { throw unexpected(expecting: "'\(symbol)'") }
    }

    /// An identifier: an unquoted word (lower-cased) or a quoted name (exact).
    private mutating func identifier(_ what: String = "an identifier") throws(CQLServerError) -> String {
        switch current.kind {
        case .word(let word):
            advance()
            return word
        case .quotedName(let name):
            advance()
            return name
        default:
            throw unexpected(expecting: what)
        }
    }

    private mutating func qualifiedName() throws(CQLServerError) -> QualifiedName {
        let first = try identifier("a table name")
        if skipSymbol(".") {
            return QualifiedName(keyspace: first, name: try identifier("a table name"))
        }
        return QualifiedName(keyspace: nil, name: first)
    }

    private mutating func ifNotExists() throws(CQLServerError) -> Bool {
        guard isWord("if") else { return false }
        advance()
        try expectWord("not")
        try expectWord("exists")
        return true
    }

    private mutating func ifExists() throws(CQLServerError) -> Bool {
        guard isWord("if"), case .word("exists") = peekKind() else { return false }
        advance()
        advance()
        return true
    }

    private func unsupported(_ construct: String) -> CQLServerError {
        CQLServerError(.invalid, "\(construct) is not supported by the Stampede embedded server")
    }

    // MARK: - Statements

    private mutating func parseStatement() throws(CQLServerError) -> CQLStatement {
        guard case .word(let keyword) = current.kind else {
            throw syntaxError("no viable alternative at input \(describe(current))")
        }
        switch keyword {
        case "select": return try parseSelect()
        case "insert": return try parseInsert()
        case "update": return try parseUpdate()
        case "delete": return try parseDelete()
        case "begin": return try parseBatch()
        case "use":
            advance()
            return .use(try identifier("a keyspace name"))
        case "truncate":
            advance()
            skipWord("table") || skipWord("columnfamily")
            return .truncate(try qualifiedName())
        case "create": return try parseCreate()
        case "drop": return try parseDrop()
        case "alter": return try parseAlter()
        case "describe", "desc": return try parseDescribe()
        case "grant", "revoke", "list":
            throw unsupported("\(keyword.uppercased()) (authorization)")
        default:
            throw syntaxError("no viable alternative at input \(describe(current))")
        }
    }

    private mutating func parseCreate() throws(CQLServerError) -> CQLStatement {
        advance()
        if skipWord("keyspace") || skipWord("schema") {
            return .createKeyspace(try parseKeyspaceDefinition(allowIfNotExists: true))
        }
        if skipWord("table") || skipWord("columnfamily") {
            return .createTable(try parseCreateTable())
        }
        if case .word(let what) = current.kind {
            switch what {
            case "index", "custom": throw unsupported("CREATE INDEX")
            case "type": throw unsupported("CREATE TYPE (user-defined types)")
            case "materialized": throw unsupported("CREATE MATERIALIZED VIEW")
            case "function", "or": throw unsupported("CREATE FUNCTION")
            case "aggregate": throw unsupported("CREATE AGGREGATE")
            case "trigger": throw unsupported("CREATE TRIGGER")
            case "role", "user": throw unsupported("CREATE \(what.uppercased())")
            default: break
            }
        }
        throw unexpected(expecting: "KEYSPACE or TABLE")
    }

    private mutating func parseDrop() throws(CQLServerError) -> CQLStatement {
        advance()
        if skipWord("keyspace") || skipWord("schema") {
            let exists = try ifExists()
            return .dropKeyspace(name: try identifier("a keyspace name"), ifExists: exists)
        }
        if skipWord("table") || skipWord("columnfamily") {
            let exists = try ifExists()
            return .dropTable(try qualifiedName(), ifExists: exists)
        }
        if case .word(let what) = current.kind {
            throw unsupported("DROP \(what.uppercased())")
        }
        throw unexpected(expecting: "KEYSPACE or TABLE")
    }

    private mutating func parseAlter() throws(CQLServerError) -> CQLStatement {
        advance()
        if skipWord("keyspace") || skipWord("schema") {
            return .alterKeyspace(try parseKeyspaceDefinition(allowIfNotExists: false))
        }
        if case .word(let what) = current.kind {
            throw unsupported("ALTER \(what.uppercased())")
        }
        throw unexpected(expecting: "KEYSPACE")
    }

    private mutating func parseKeyspaceDefinition(allowIfNotExists: Bool) throws(CQLServerError) -> CreateKeyspaceStatement {
        let notExists = allowIfNotExists ? try ifNotExists() : false
        let name = try identifier("a keyspace name")
        var statement = CreateKeyspaceStatement(name: name, ifNotExists: notExists, replication: [:], durableWrites: true)
        try expectWord("with")
        repeat {
            let option = try identifier("a keyspace option")
            try expectSymbol("=")
            switch option {
            case "replication":
                statement.replication = try stringMap()
            case "durable_writes":
                statement.durableWrites = try booleanOption()
            default:
                throw CQLServerError(.syntaxError, "Unknown property '\(option)'")
            }
        } while skipWord("and")
        return statement
    }

    private mutating func booleanOption() throws(CQLServerError) -> Bool {
        switch current.kind {
        case .word("true"): advance(); return true
        case .word("false"): advance(); return false
        case .string(let text) where text.lowercased() == "true": advance(); return true
        case .string(let text) where text.lowercased() == "false": advance(); return false
        default: throw unexpected(expecting: "true or false")
        }
    }

    /// `{'k': 'v', 'n': 3}` with every value rendered as text.
    private mutating func stringMap() throws(CQLServerError) -> [String: String] {
        try expectSymbol("{")
        var map: [String: String] = [:]
        if skipSymbol("}") { return map }
        repeat {
            let key = try optionScalar()
            try expectSymbol(":")
            map[key] = try optionScalar()
        } while skipSymbol(",")
        try expectSymbol("}")
        return map
    }

    private mutating func optionScalar() throws(CQLServerError) -> String {
        switch current.kind {
        case .string(let text): advance(); return text
        case .integer(let text), .float(let text): advance(); return text
        case .word(let word): advance(); return word
        case .quotedName(let name): advance(); return name
        default: throw unexpected(expecting: "a constant")
        }
    }

    private mutating func parseCreateTable() throws(CQLServerError) -> CreateTableStatement {
        let notExists = try ifNotExists()
        let table = try qualifiedName()
        var statement = CreateTableStatement(
            table: table, ifNotExists: notExists, columns: [], partitionKey: [], clusteringKey: [], clusteringOrder: [:],
            clusteringOrderColumns: [], options: [:])
        try expectSymbol("(")
        repeat {
            if isWord("primary"), case .word("key") = peekKind() {
                advance()
                advance()
                guard statement.partitionKey.isEmpty else {
                    throw CQLServerError(.invalid, "Multiple PRIMARY KEYs specified (exactly one required)")
                }
                try expectSymbol("(")
                if skipSymbol("(") {
                    repeat { statement.partitionKey.append(try identifier("a column name")) } while skipSymbol(",")
                    try expectSymbol(")")
                } else {
                    statement.partitionKey.append(try identifier("a column name"))
                }
                while skipSymbol(",") { statement.clusteringKey.append(try identifier("a column name")) }
                try expectSymbol(")")
            } else {
                let name = try identifier("a column name")
                let type = try typeName()
                var isStatic = false
                if skipWord("static") { isStatic = true }
                if isWord("primary") {
                    advance()
                    try expectWord("key")
                    guard statement.partitionKey.isEmpty else {
                        throw CQLServerError(.invalid, "Multiple PRIMARY KEYs specified (exactly one required)")
                    }
                    statement.partitionKey = [name]
                }
                statement.columns.append(ColumnDefinition(name: name, type: type, isStatic: isStatic))
            }
        } while skipSymbol(",")
        try expectSymbol(")")
        if skipWord("with") {
            repeat {
                if skipWord("clustering") {
                    try expectWord("order")
                    try expectWord("by")
                    try expectSymbol("(")
                    repeat {
                        let column = try identifier("a column name")
                        var descending = false
                        if skipWord("desc") { descending = true } else { skipWord("asc") }
                        statement.clusteringOrder[column] = descending
                        statement.clusteringOrderColumns.append(column)
                    } while skipSymbol(",")
                    try expectSymbol(")")
                } else if skipWord("compact") {
                    throw unsupported("COMPACT STORAGE")
                } else {
                    let option = try identifier("a table option")
                    try expectSymbol("=")
                    statement.options[option] = try tableOptionValue()
                }
            } while skipWord("and")
        }
        return statement
    }

    private mutating func tableOptionValue() throws(CQLServerError) -> TableOptionValue {
        switch current.kind {
        case .string(let text): advance(); return .string(text)
        case .integer(let text), .float(let text): advance(); return .number(text)
        case .word("true"): advance(); return .boolean(true)
        case .word("false"): advance(); return .boolean(false)
        case .symbol("{"): return .map(try stringMap())
        default: throw unexpected(expecting: "an option value")
        }
    }

    /// A type as text, e.g. `map<text, frozen<list<int>>>`; validated later by the catalog.
    private mutating func typeName() throws(CQLServerError) -> String {
        if case .string(let className) = current.kind {
            advance()
            return "'\(className)'"
        }
        let base = try identifier("a type")
        guard skipSymbol("<") else { return base }
        var arguments: [String] = []
        repeat { arguments.append(try typeName()) } while skipSymbol(",")
        try expectSymbol(">")
        return "\(base)<\(arguments.joined(separator: ", "))>"
    }

    // MARK: DML

    private mutating func parseInsert() throws(CQLServerError) -> CQLStatement {
        advance()
        try expectWord("into")
        let table = try qualifiedName()
        if isWord("json") { throw unsupported("INSERT JSON") }
        try expectSymbol("(")
        var columns: [String] = []
        repeat { columns.append(try identifier("a column name")) } while skipSymbol(",")
        try expectSymbol(")")
        try expectWord("values")
        try expectSymbol("(")
        var values: [CQLTerm] = []
        repeat { values.append(try term()) } while skipSymbol(",")
        try expectSymbol(")")
        guard columns.count == values.count else {
            throw CQLServerError(.invalid, "Unmatched column names/values")
        }
        var notExists = false
        if isWord("if") { notExists = try ifNotExists() }
        let options = try usingClause(allowTTL: true)
        return .insert(InsertStatement(table: table, columns: columns, values: values, ifNotExists: notExists, options: options))
    }

    private mutating func usingClause(allowTTL: Bool) throws(CQLServerError) -> WriteOptions {
        var options = WriteOptions()
        guard skipWord("using") else { return options }
        repeat {
            if skipWord("ttl") {
                guard allowTTL else { throw CQLServerError(.invalid, "TTL is not allowed here") }
                options.ttl = try term()
            } else if skipWord("timestamp") {
                options.timestamp = try term()
            } else {
                throw unexpected(expecting: "TTL or TIMESTAMP")
            }
        } while skipWord("and")
        return options
    }

    private mutating func parseUpdate() throws(CQLServerError) -> CQLStatement {
        advance()
        let table = try qualifiedName()
        let options = try usingClause(allowTTL: true)
        try expectWord("set")
        var assignments: [Assignment] = []
        repeat { assignments.append(try assignment()) } while skipSymbol(",")
        let (relations, exists, conditions) = try whereAndConditions()
        return .update(
            UpdateStatement(table: table, options: options, assignments: assignments, relations: relations, ifExists: exists, conditions: conditions))
    }

    private mutating func assignment() throws(CQLServerError) -> Assignment {
        let column = try identifier("a column name")
        if skipSymbol("[") {
            let key = try term()
            try expectSymbol("]")
            try expectSymbol("=")
            return .setElement(column: column, key: key, value: try term())
        }
        try expectSymbol("=")
        // `c = c + x` / `c = c - x`
        let isSelfReference: Bool
        switch current.kind {
        case .word(let word) where word == column: isSelfReference = true
        case .quotedName(let name) where name == column: isSelfReference = true
        default: isSelfReference = false
        }
        if isSelfReference, case .symbol(let op) = peekKind(), op == "+" || op == "-" {
            advance()
            advance()
            let value = try term()
            return op == "+" ? .add(column: column, value: value) : .remove(column: column, value: value)
        }
        let value = try term()
        if skipSymbol("+") {
            let other = try identifier("a column name")
            guard other == column else { throw CQLServerError(.invalid, "Only expressions of the form X = <value> + X are supported.") }
            return .prepend(column: column, value: value)
        }
        return .set(column: column, value: value)
    }

    private mutating func parseDelete() throws(CQLServerError) -> CQLStatement {
        advance()
        var columns: [String] = []
        if !isWord("from") {
            repeat {
                columns.append(try identifier("a column name"))
                if skipSymbol("[") { throw unsupported("Deleting collection elements") }
            } while skipSymbol(",")
        }
        try expectWord("from")
        let table = try qualifiedName()
        let options = try usingClause(allowTTL: false)
        let (relations, exists, conditions) = try whereAndConditions()
        return .delete(
            DeleteStatement(table: table, columns: columns, timestamp: options.timestamp, relations: relations, ifExists: exists, conditions: conditions))
    }

    private mutating func parseBatch() throws(CQLServerError) -> CQLStatement {
        advance()
        var kind = BatchStatement.Kind.logged
        if skipWord("unlogged") { kind = .unlogged } else if skipWord("counter") { kind = .counter } else { skipWord("logged") }
        try expectWord("batch")
        let options = try usingClause(allowTTL: false)
        var statements: [CQLStatement] = []
        while !isWord("apply") {
            guard case .word(let keyword) = current.kind, ["insert", "update", "delete"].contains(keyword) else {
                throw unexpected(expecting: "INSERT, UPDATE, DELETE or APPLY BATCH")
            }
            statements.append(try parseStatement())
            skipSymbol(";")
        }
        try expectWord("apply")
        try expectWord("batch")
        return .batch(BatchStatement(kind: kind, timestamp: options.timestamp, statements: statements))
    }

    // MARK: SELECT

    private mutating func parseSelect() throws(CQLServerError) -> CQLStatement {
        advance()
        var json = false
        if isWord("json"), !(peekKind() == .word("from") || peekKind() == .symbol(",")) {
            advance()
            json = true
        }
        if json { throw unsupported("SELECT JSON") }
        var distinct = false
        if isWord("distinct"), !(peekKind() == .word("from") || peekKind() == .symbol(",")) {
            advance()
            distinct = true
        }
        var selectors: [Selector] = []
        if skipSymbol("*") {
            // all columns
        } else {
            repeat { selectors.append(try selector()) } while skipSymbol(",")
        }
        try expectWord("from")
        let table = try qualifiedName()
        var statement = SelectStatement(
            table: table, distinct: distinct, selectors: selectors, relations: [], orderBy: [], limit: nil,
            perPartitionLimit: nil, allowFiltering: false, json: false)
        if skipWord("where") { statement.relations = try whereClause() }
        if isWord("group") { throw unsupported("GROUP BY") }
        if skipWord("order") {
            try expectWord("by")
            repeat {
                let column = try identifier("a column name")
                var descending = false
                if skipWord("desc") { descending = true } else { skipWord("asc") }
                statement.orderBy.append(Ordering(column: column, descending: descending))
            } while skipSymbol(",")
        }
        if skipWord("per") {
            try expectWord("partition")
            try expectWord("limit")
            statement.perPartitionLimit = try term()
        }
        if skipWord("limit") { statement.limit = try term() }
        if skipWord("allow") {
            try expectWord("filtering")
            statement.allowFiltering = true
        }
        return .select(statement)
    }

    private mutating func selector() throws(CQLServerError) -> Selector {
        let selector: Selector
        if case .word(let function) = current.kind, peekKind() == .symbol("(") {
            advance()
            advance()
            switch function {
            case "count":
                if skipSymbol("*") {
                } else if case .integer("1") = current.kind {
                    advance()
                } else {
                    throw unsupported("COUNT of a column (use COUNT(*))")
                }
                try expectSymbol(")")
                selector = .countAll(alias: nil)
            case "writetime", "ttl":
                let column = try identifier("a column name")
                try expectSymbol(")")
                selector = function == "ttl" ? .ttl(column, alias: nil) : .writetime(column, alias: nil)
            default:
                throw unsupported("The selector function \(function)()")
            }
        } else {
            selector = .column(try identifier("a column name"), alias: nil)
        }
        guard skipWord("as") else { return selector }
        let alias = try identifier("an alias")
        switch selector {
        case .column(let name, _): return .column(name, alias: alias)
        case .countAll: return .countAll(alias: alias)
        case .writetime(let name, _): return .writetime(name, alias: alias)
        case .ttl(let name, _): return .ttl(name, alias: alias)
        }
    }

    /// `WHERE relations [IF EXISTS | IF conditions]`, the tail shared by UPDATE and DELETE.
    private mutating func whereAndConditions() throws(CQLServerError) -> (relations: [Relation], ifExists: Bool, conditions: [Relation]) {
        try expectWord("where")
        let relations = try whereClause()
        var exists = false
        var conditions: [Relation] = []
        if isWord("if") {
            if try ifExists() { exists = true } else {
                advance()
                conditions = try whereClause()
            }
        }
        return (relations, exists, conditions)
    }

    private mutating func whereClause() throws(CQLServerError) -> [Relation] {
        var relations: [Relation] = []
        repeat { relations.append(try relation()) } while skipWord("and")
        return relations
    }

    private mutating func relation() throws(CQLServerError) -> Relation {
        if isSymbol("(") { throw unsupported("Multi-column relations") }
        if isWord("token"), peekKind() == .symbol("(") { throw unsupported("token() restrictions") }
        let column = try identifier("a column name")
        if skipWord("in") {
            if case .questionMark = current.kind {
                return Relation(column: column, op: .in, value: try term(), inValues: [], inMarker: true)
            }
            if case .namedMarker = current.kind {
                return Relation(column: column, op: .in, value: try term(), inValues: [], inMarker: true)
            }
            try expectSymbol("(")
            var values: [CQLTerm] = []
            if !isSymbol(")") {
                repeat { values.append(try term()) } while skipSymbol(",")
            }
            try expectSymbol(")")
            return Relation(column: column, op: .in, value: .null, inValues: values, inMarker: false)
        }
        if skipWord("contains") {
            if skipWord("key") { return Relation(column: column, op: .containsKey, value: try term(), inValues: [], inMarker: false) }
            return Relation(column: column, op: .contains, value: try term(), inValues: [], inMarker: false)
        }
        if skipWord("like") { throw unsupported("LIKE") }
        guard case .symbol(let symbol) = current.kind, let op = RelationOperator(rawValue: symbol) else {
            throw unexpected(expecting: "a comparison operator")
        }
        advance()
        return Relation(column: column, op: op, value: try term(), inValues: [], inMarker: false)
    }

    // MARK: Terms

    private mutating func term() throws(CQLServerError) -> CQLTerm {
        let token = current
        switch token.kind {
        case .string(let text): advance(); return .string(text)
        case .integer(let text): advance(); return .integer(text)
        case .float(let text): advance(); return .float(text)
        case .uuid(let uuid): advance(); return .uuid(uuid)
        case .hex(let bytes): advance(); return .hex(bytes)
        case .questionMark:
            advance()
            markers.append(BindMarkerDeclaration(name: nil))
            return .bindMarker(index: markers.count - 1)
        case .namedMarker(let name):
            advance()
            markers.append(BindMarkerDeclaration(name: name))
            return .bindMarker(index: markers.count - 1)
        case .word("true"): advance(); return .boolean(true)
        case .word("false"): advance(); return .boolean(false)
        case .word("null"): advance(); return .null
        case .word(let name) where peekKind() == .symbol("("):
            advance()
            advance()
            var arguments: [CQLTerm] = []
            if !isSymbol(")") {
                repeat { arguments.append(try term()) } while skipSymbol(",")
            }
            try expectSymbol(")")
            return .function(name: name, arguments: arguments)
        case .symbol("["):
            advance()
            var elements: [CQLTerm] = []
            if !isSymbol("]") {
                repeat { elements.append(try term()) } while skipSymbol(",")
            }
            try expectSymbol("]")
            return .list(elements)
        case .symbol("{"):
            advance()
            if skipSymbol("}") { return .map([]) }
            let first = try term()
            if skipSymbol(":") {
                var pairs = [CQLTermPair(key: first, value: try term())]
                while skipSymbol(",") {
                    let key = try term()
                    try expectSymbol(":")
                    pairs.append(CQLTermPair(key: key, value: try term()))
                }
                try expectSymbol("}")
                return .map(pairs)
            }
            var elements = [first]
            while skipSymbol(",") { elements.append(try term()) }
            try expectSymbol("}")
            return .set(elements)
        case .symbol("("):
            advance()
            var elements: [CQLTerm] = []
            repeat { elements.append(try term()) } while skipSymbol(",")
            try expectSymbol(")")
            return .tuple(elements)
        default:
            throw unexpected(expecting: "a value")
        }
    }

    // MARK: DESCRIBE

    private mutating func parseDescribe() throws(CQLServerError) -> CQLStatement {
        advance()
        guard case .word(let what) = current.kind else {
            if case .quotedName = current.kind { return .describe(.name(try qualifiedName())) }
            throw unexpected(expecting: "what to describe")
        }
        switch what {
        case "cluster": advance(); return .describe(.cluster)
        case "keyspaces": advance(); return .describe(.keyspaces)
        case "tables", "columnfamilies": advance(); return .describe(.tables)
        case "types": advance(); return .describe(.types)
        case "functions": advance(); return .describe(.functions)
        case "aggregates": advance(); return .describe(.aggregates)
        case "full":
            advance()
            try expectWord("schema")
            return .describe(.schema(full: true))
        case "schema" where peekKind() == .end || peekKind() == .symbol(";"):
            advance()
            return .describe(.schema(full: false))
        case "only", "keyspace" where peekKind() != .symbol("."):
            var only = false
            if skipWord("only") { only = true }
            try expectWord("keyspace")
            if current.kind == .end || isSymbol(";") { return .describe(.keyspace(nil, only: only)) }
            return .describe(.keyspace(try identifier("a keyspace name"), only: only))
        case "table", "columnfamily":
            advance()
            return .describe(.table(try qualifiedName()))
        case "index", "materialized", "type", "function", "aggregate":
            throw unsupported("DESCRIBE \(what.uppercased())")
        default:
            return .describe(.name(try qualifiedName()))
        }
    }
}
