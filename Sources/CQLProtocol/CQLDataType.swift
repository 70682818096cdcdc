import NIOCore

/// A field of a user-defined type.
public struct CQLUDTField: Sendable, Hashable {
    public var name: String
    public var type: CQLDataType
    public init(name: String, type: CQLDataType) {
        self.name = name
        self.type = type
    }
}

/// A CQL column type, as carried by the native protocol's `[option]`.
public enum CQLDataType: Sendable, Hashable {
    case custom(String)
    case ascii
    case bigint
    case blob
    case boolean
    case counter
    case decimal
    case double
    case float
    case int
    case timestamp
    case uuid
    case varchar
    case varint
    case timeuuid
    case inet
    case date
    case time
    case smallint
    case tinyint
    case duration
    indirect case list(CQLDataType)
    indirect case map(CQLDataType, CQLDataType)
    indirect case set(CQLDataType)
    case udt(keyspace: String, name: String, fields: [CQLUDTField])
    case tuple([CQLDataType])

    /// `text` is an alias of `varchar`.
    public static var text: CQLDataType { .varchar }

    /// The option id used on the wire (spec section 4.2.5.2).
    public var optionID: UInt16 {
        switch self {
        case .custom: 0x0000
        case .ascii: 0x0001
        case .bigint: 0x0002
        case .blob: 0x0003
        case .boolean: 0x0004
        case .counter: 0x0005
        case .decimal: 0x0006
        case .double: 0x0007
        case .float: 0x0008
        case .int: 0x0009
        case .timestamp: 0x000B
        case .uuid: 0x000C
        case .varchar: 0x000D
        case .varint: 0x000E
        case .timeuuid: 0x000F
        case .inet: 0x0010
        case .date: 0x0011
        case .time: 0x0012
        case .smallint: 0x0013
        case .tinyint: 0x0014
        case .duration: 0x0015
        case .list: 0x0020
        case .map: 0x0021
        case .set: 0x0022
        case .udt: 0x0030
        case .tuple: 0x0031
        }
    }

    /// The CQL name of the type, as written in `CREATE TABLE` and reported in `system_schema.columns`.
    public var cqlName: String {
        switch self {
        case .custom(let className): "'\(className)'"
        case .ascii: "ascii"
        case .bigint: "bigint"
        case .blob: "blob"
        case .boolean: "boolean"
        case .counter: "counter"
        case .decimal: "decimal"
        case .double: "double"
        case .float: "float"
        case .int: "int"
        case .timestamp: "timestamp"
        case .uuid: "uuid"
        case .varchar: "text"
        case .varint: "varint"
        case .timeuuid: "timeuuid"
        case .inet: "inet"
        case .date: "date"
        case .time: "time"
        case .smallint: "smallint"
        case .tinyint: "tinyint"
        case .duration: "duration"
        case .list(let element): "list<\(element.cqlName)>"
        case .map(let key, let value): "map<\(key.cqlName), \(value.cqlName)>"
        case .set(let element): "set<\(element.cqlName)>"
        case .udt(_, let name, _): name
        case .tuple(let elements): "tuple<\(elements.map(\.cqlName).joined(separator: ", "))>"
        }
    }

    /// Parses a simple or collection type name such as `int`, `text`, `list<text>` or `map<text, int>`.
    /// User-defined types and frozen wrappers are the parser's business; this handles what schema tables hold.
    public init?(cqlName raw: String) {
        let name = raw.trimmingCharacters(in: " ").lowercased()
        if let inner = name.unwrapGeneric("frozen") {
            guard let type = CQLDataType(cqlName: inner) else { return nil }
            self = type
            return
        }
        if let inner = name.unwrapGeneric("list") {
            guard let element = CQLDataType(cqlName: inner) else { return nil }
            self = .list(element)
            return
        }
        if let inner = name.unwrapGeneric("set") {
            guard let element = CQLDataType(cqlName: inner) else { return nil }
            self = .set(element)
            return
        }
        if let inner = name.unwrapGeneric("map") {
            let parts = inner.splitTopLevel(",")
            guard parts.count == 2, let key = CQLDataType(cqlName: parts[0]), let value = CQLDataType(cqlName: parts[1])
            else { return nil }
            self = .map(key, value)
            return
        }
        if let inner = name.unwrapGeneric("tuple") {
            var elements: [CQLDataType] = []
            for part in inner.splitTopLevel(",") {
                guard let element = CQLDataType(cqlName: part) else { return nil }
                elements.append(element)
            }
            self = .tuple(elements)
            return
        }
        switch name {
        case "ascii": self = .ascii
        case "bigint": self = .bigint
        case "blob": self = .blob
        case "boolean": self = .boolean
        case "counter": self = .counter
        case "decimal": self = .decimal
        case "double": self = .double
        case "float": self = .float
        case "int": self = .int
        case "timestamp": self = .timestamp
        case "uuid": self = .uuid
        case "text", "varchar": self = .varchar
        case "varint": self = .varint
        case "timeuuid": self = .timeuuid
        case "inet": self = .inet
        case "date": self = .date
        case "time": self = .time
        case "smallint": self = .smallint
        case "tinyint": self = .tinyint
        case "duration": self = .duration
        default: return nil
        }
    }

    /// Whether values of this type are collections (list, set, map).
    public var isCollection: Bool {
        switch self {
        case .list, .set, .map: true
        default: false
        }
    }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var slice = Substring(self)
        while slice.first == set { slice.removeFirst() }
        while slice.last == set { slice.removeLast() }
        return String(slice)
    }

    /// `"list<int>".unwrapGeneric("list") == "int"`.
    func unwrapGeneric(_ keyword: String) -> String? {
        guard hasPrefix(keyword + "<"), hasSuffix(">") else { return nil }
        return String(dropFirst(keyword.count + 1).dropLast()).trimmingCharacters(in: " ")
    }

    /// Splits at `separator` outside of angle brackets.
    func splitTopLevel(_ separator: Character) -> [String] {
        var parts: [String] = []
        var depth = 0
        var current = ""
        for character in self {
            if character == "<" { depth += 1 }
            if character == ">" { depth -= 1 }
            if character == separator && depth == 0 {
                parts.append(current.trimmingCharacters(in: " "))
                current = ""
            } else {
                current.append(character)
            }
        }
        parts.append(current.trimmingCharacters(in: " "))
        return parts
    }
}
