import NIOCore

/// The kind of write a write timeout or failure was about.
public enum CQLWriteType: String, Sendable, Hashable {
    case simple = "SIMPLE"
    case batch = "BATCH"
    case unloggedBatch = "UNLOGGED_BATCH"
    case counter = "COUNTER"
    case batchLog = "BATCH_LOG"
    case cas = "CAS"
    case view = "VIEW"
    case cdc = "CDC"
    /// A write type this client does not know.
    case other = "OTHER"
}

/// An ERROR message from the server, with every code's extra fields decoded (spec section 9).
public struct CQLServerError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case serverError
        case protocolError
        case badCredentials
        case unavailable(consistency: CQLConsistency, required: Int32, alive: Int32)
        case overloaded
        case isBootstrapping
        case truncateError
        case writeTimeout(consistency: CQLConsistency, received: Int32, blockFor: Int32, writeType: CQLWriteType)
        case readTimeout(consistency: CQLConsistency, received: Int32, blockFor: Int32, dataPresent: Bool)
        case readFailure(consistency: CQLConsistency, received: Int32, blockFor: Int32, failures: Int32, dataPresent: Bool)
        case functionFailure(keyspace: String, function: String, argumentTypes: [String])
        case writeFailure(consistency: CQLConsistency, received: Int32, blockFor: Int32, failures: Int32, writeType: CQLWriteType)
        case cdcWriteFailure
        case casWriteUnknown(consistency: CQLConsistency, received: Int32, blockFor: Int32)
        case syntaxError
        case unauthorized
        case invalid
        case configError
        case alreadyExists(keyspace: String, table: String)
        case unprepared(id: [UInt8])
        /// A code this client does not know.
        case unknown(code: Int32)

        public var code: Int32 {
            switch self {
            case .serverError: 0x0000
            case .protocolError: 0x000A
            case .badCredentials: 0x0100
            case .unavailable: 0x1000
            case .overloaded: 0x1001
            case .isBootstrapping: 0x1002
            case .truncateError: 0x1003
            case .writeTimeout: 0x1100
            case .readTimeout: 0x1200
            case .readFailure: 0x1300
            case .functionFailure: 0x1400
            case .writeFailure: 0x1500
            case .cdcWriteFailure: 0x1600
            case .casWriteUnknown: 0x1700
            case .syntaxError: 0x2000
            case .unauthorized: 0x2100
            case .invalid: 0x2200
            case .configError: 0x2300
            case .alreadyExists: 0x2400
            case .unprepared: 0x2500
            case .unknown(let code): code
            }
        }

        /// Cassandra's name for the code.
        public var name: String {
            switch self {
            case .serverError: "ServerError"
            case .protocolError: "ProtocolError"
            case .badCredentials: "BadCredentials"
            case .unavailable: "Unavailable"
            case .overloaded: "Overloaded"
            case .isBootstrapping: "IsBootstrapping"
            case .truncateError: "TruncateError"
            case .writeTimeout: "WriteTimeout"
            case .readTimeout: "ReadTimeout"
            case .readFailure: "ReadFailure"
            case .functionFailure: "FunctionFailure"
            case .writeFailure: "WriteFailure"
            case .cdcWriteFailure: "CDCWriteFailure"
            case .casWriteUnknown: "CASWriteUnknown"
            case .syntaxError: "SyntaxError"
            case .unauthorized: "Unauthorized"
            case .invalid: "Invalid"
            case .configError: "ConfigError"
            case .alreadyExists: "AlreadyExists"
            case .unprepared: "Unprepared"
            case .unknown(let code): "Error(0x\(String(code, radix: 16)))"
            }
        }
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind.name): \(message)" }

    public func writeBody(into buffer: inout ByteBuffer) {
        buffer.writeInteger(kind.code)
        buffer.writeCQLString(message)
        switch kind {
        case .unavailable(let consistency, let required, let alive):
            buffer.writeInteger(consistency.rawValue)
            buffer.writeInteger(required)
            buffer.writeInteger(alive)
        case .writeTimeout(let consistency, let received, let blockFor, let writeType):
            buffer.writeInteger(consistency.rawValue)
            buffer.writeInteger(received)
            buffer.writeInteger(blockFor)
            buffer.writeCQLString(writeType.rawValue)
        case .readTimeout(let consistency, let received, let blockFor, let dataPresent):
            buffer.writeInteger(consistency.rawValue)
            buffer.writeInteger(received)
            buffer.writeInteger(blockFor)
            buffer.writeInteger(UInt8(dataPresent ? 1 : 0))
        case .readFailure(let consistency, let received, let blockFor, let failures, let dataPresent):
            buffer.writeInteger(consistency.rawValue)
            buffer.writeInteger(received)
            buffer.writeInteger(blockFor)
            buffer.writeInteger(failures)
            buffer.writeInteger(UInt8(dataPresent ? 1 : 0))
        case .functionFailure(let keyspace, let function, let argumentTypes):
            buffer.writeCQLString(keyspace)
            buffer.writeCQLString(function)
            buffer.writeCQLStringList(argumentTypes)
        case .writeFailure(let consistency, let received, let blockFor, let failures, let writeType):
            buffer.writeInteger(consistency.rawValue)
            buffer.writeInteger(received)
            buffer.writeInteger(blockFor)
            buffer.writeInteger(failures)
            buffer.writeCQLString(writeType.rawValue)
        case .casWriteUnknown(let consistency, let received, let blockFor):
            buffer.writeInteger(consistency.rawValue)
            buffer.writeInteger(received)
            buffer.writeInteger(blockFor)
        case .alreadyExists(let keyspace, let table):
            buffer.writeCQLString(keyspace)
            buffer.writeCQLString(table)
        case .unprepared(let id):
            buffer.writeCQLShortBytes(id)
        case .serverError, .protocolError, .badCredentials, .overloaded, .isBootstrapping, .truncateError,
            .cdcWriteFailure, .syntaxError, .unauthorized, .invalid, .configError, .unknown:
            break
        }
    }

    public static func decode(from buffer: inout ByteBuffer) throws -> CQLServerError {
        let code = try buffer.readCQLInt("error code")
        let message = try buffer.readCQLString("error message")
        func writeType() throws -> CQLWriteType {
            CQLWriteType(rawValue: try buffer.readCQLString("write type")) ?? .other
        }
        let kind: Kind
        switch code {
        case 0x0000: kind = .serverError
        case 0x000A: kind = .protocolError
        case 0x0100: kind = .badCredentials
        case 0x1000:
            kind = .unavailable(consistency: try buffer.readCQLConsistency(), required: try buffer.readCQLInt(), alive: try buffer.readCQLInt())
        case 0x1001: kind = .overloaded
        case 0x1002: kind = .isBootstrapping
        case 0x1003: kind = .truncateError
        case 0x1100:
            kind = .writeTimeout(
                consistency: try buffer.readCQLConsistency(), received: try buffer.readCQLInt(), blockFor: try buffer.readCQLInt(),
                writeType: try writeType())
        case 0x1200:
            kind = .readTimeout(
                consistency: try buffer.readCQLConsistency(), received: try buffer.readCQLInt(), blockFor: try buffer.readCQLInt(),
                dataPresent: try buffer.readCQLByte() != 0)
        case 0x1300:
            kind = .readFailure(
                consistency: try buffer.readCQLConsistency(), received: try buffer.readCQLInt(), blockFor: try buffer.readCQLInt(),
                failures: try buffer.readCQLInt(), dataPresent: try buffer.readCQLByte() != 0)
        case 0x1400:
            kind = .functionFailure(
                keyspace: try buffer.readCQLString(), function: try buffer.readCQLString(), argumentTypes: try buffer.readCQLStringList())
        case 0x1500:
            kind = .writeFailure(
                consistency: try buffer.readCQLConsistency(), received: try buffer.readCQLInt(), blockFor: try buffer.readCQLInt(),
                failures: try buffer.readCQLInt(), writeType: try writeType())
        case 0x1600: kind = .cdcWriteFailure
        case 0x1700:
            kind = .casWriteUnknown(consistency: try buffer.readCQLConsistency(), received: try buffer.readCQLInt(), blockFor: try buffer.readCQLInt())
        case 0x2000: kind = .syntaxError
        case 0x2100: kind = .unauthorized
        case 0x2200: kind = .invalid
        case 0x2300: kind = .configError
        case 0x2400: kind = .alreadyExists(keyspace: try buffer.readCQLString(), table: try buffer.readCQLString())
        case 0x2500: kind = .unprepared(id: try buffer.readCQLShortBytes())
        default: kind = .unknown(code: code)
        }
        return CQLServerError(kind, message)
    }
}
