import NIOCore

/// Kinds of BATCH (spec section 4.1.7).
public enum CQLBatchType: UInt8, Sendable, Hashable {
    case logged = 0
    case unlogged = 1
    case counter = 2
}

/// One statement of a BATCH: a query string or a prepared id, with its values (positional only).
public struct CQLBatchStatement: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case query(String)
        case prepared(id: [UInt8])
    }

    public var kind: Kind
    public var values: CQLBoundValues

    public init(kind: Kind, values: CQLBoundValues = .none) {
        self.kind = kind
        self.values = values
    }
}

/// A BATCH request body.
public struct CQLBatch: Sendable, Hashable {
    public var type: CQLBatchType
    public var statements: [CQLBatchStatement]
    public var consistency: CQLConsistency
    public var serialConsistency: CQLConsistency?
    public var defaultTimestamp: Int64?

    public init(
        type: CQLBatchType, statements: [CQLBatchStatement], consistency: CQLConsistency = .one,
        serialConsistency: CQLConsistency? = nil, defaultTimestamp: Int64? = nil
    ) {
        self.type = type
        self.statements = statements
        self.consistency = consistency
        self.serialConsistency = serialConsistency
        self.defaultTimestamp = defaultTimestamp
    }
}

/// Event types a client may REGISTER for.
public enum CQLEventType: String, Sendable, Hashable, CaseIterable {
    case topologyChange = "TOPOLOGY_CHANGE"
    case statusChange = "STATUS_CHANGE"
    case schemaChange = "SCHEMA_CHANGE"
}

/// A message from client to server.
public enum CQLRequest: Sendable, Hashable {
    case startup(options: [String: String])
    case authResponse(token: [UInt8]?)
    case options
    case query(String, CQLQueryParameters)
    case prepare(String)
    case execute(id: [UInt8], CQLQueryParameters)
    case batch(CQLBatch)
    case register([String])

    public var opcode: CQLOpcode {
        switch self {
        case .startup: .startup
        case .authResponse: .authResponse
        case .options: .options
        case .query: .query
        case .prepare: .prepare
        case .execute: .execute
        case .batch: .batch
        case .register: .register
        }
    }

    /// Writes the body of the message (without the frame header).
    public func writeBody(into buffer: inout ByteBuffer) {
        switch self {
        case .startup(let options):
            buffer.writeCQLStringMap(options)
        case .authResponse(let token):
            buffer.writeCQLBytes(token)
        case .options:
            break
        case .query(let query, let parameters):
            buffer.writeCQLLongString(query)
            parameters.write(into: &buffer)
        case .prepare(let query):
            buffer.writeCQLLongString(query)
        case .execute(let id, let parameters):
            buffer.writeCQLShortBytes(id)
            parameters.write(into: &buffer)
        case .batch(let batch):
            buffer.writeInteger(batch.type.rawValue)
            buffer.writeInteger(UInt16(truncatingIfNeeded: batch.statements.count))
            for statement in batch.statements {
                switch statement.kind {
                case .query(let query):
                    buffer.writeInteger(UInt8(0))
                    buffer.writeCQLLongString(query)
                case .prepared(let id):
                    buffer.writeInteger(UInt8(1))
                    buffer.writeCQLShortBytes(id)
                }
                buffer.writeInteger(UInt16(truncatingIfNeeded: statement.values.count))
                switch statement.values {
                case .none: break
                case .positional(let values): for value in values { value.write(into: &buffer) }
                case .named(let values): for (_, value) in values { value.write(into: &buffer) }
                case .encoded(_, var bytes): buffer.writeBuffer(&bytes)
                }
            }
            buffer.writeInteger(batch.consistency.rawValue)
            var flags: UInt8 = 0
            if batch.serialConsistency != nil { flags |= 0x10 }
            if batch.defaultTimestamp != nil { flags |= 0x20 }
            buffer.writeInteger(flags)
            if let serial = batch.serialConsistency { buffer.writeInteger(serial.rawValue) }
            if let timestamp = batch.defaultTimestamp { buffer.writeInteger(timestamp) }
        case .register(let events):
            buffer.writeCQLStringList(events)
        }
    }

    /// Decodes a request body (already decompressed). A custom payload announced by the frame flags is skipped.
    public static func decode(opcode: CQLOpcode, flags: CQLFrameFlags = [], body: ByteBuffer) throws -> CQLRequest {
        var body = body
        if flags.contains(.customPayload) { _ = try body.readCQLBytesMap("custom payload") }
        let request: CQLRequest
        switch opcode {
        case .startup:
            request = .startup(options: try body.readCQLStringMap("STARTUP options"))
        case .authResponse:
            request = .authResponse(token: try body.readCQLBytesArray("AUTH_RESPONSE token"))
        case .options:
            request = .options
        case .query:
            let query = try body.readCQLLongString("QUERY string")
            request = .query(query, try CQLQueryParameters.read(from: &body))
        case .prepare:
            request = .prepare(try body.readCQLLongString("PREPARE string"))
        case .execute:
            let id = try body.readCQLShortBytes("EXECUTE id")
            request = .execute(id: id, try CQLQueryParameters.read(from: &body))
        case .batch:
            request = .batch(try readBatch(from: &body))
        case .register:
            request = .register(try body.readCQLStringList("REGISTER event types"))
        case .error, .ready, .authenticate, .supported, .result, .event, .authChallenge, .authSuccess:
            throw CQLProtocolError(.unknownOpcode, "opcode \(opcode) is not a request")
        }
        // Cassandra ignores trailing bytes in some messages (v5 keyspace flags etc.); we accept them too.
        return request
    }

    private static func readBatch(from body: inout ByteBuffer) throws -> CQLBatch {
        let rawType = try body.readCQLByte("BATCH type")
        guard let type = CQLBatchType(rawValue: rawType) else { throw CQLProtocolError.malformed("BATCH type \(rawType)") }
        let count = try body.readCQLShort("BATCH statement count")
        var statements: [CQLBatchStatement] = []
        for _ in 0..<count {
            let kind: CQLBatchStatement.Kind
            switch try body.readCQLByte("BATCH statement kind") {
            case 0: kind = .query(try body.readCQLLongString("BATCH query"))
            case 1: kind = .prepared(id: try body.readCQLShortBytes("BATCH prepared id"))
            case let other: throw CQLProtocolError.malformed("BATCH statement kind \(other)")
            }
            let valueCount = try body.readCQLShort("BATCH value count")
            var values: [CQLBoundValue] = []
            for _ in 0..<valueCount { values.append(try CQLBoundValue.read(from: &body)) }
            statements.append(CQLBatchStatement(kind: kind, values: valueCount == 0 ? .none : .positional(values)))
        }
        var batch = CQLBatch(type: type, statements: statements, consistency: try body.readCQLConsistency())
        let flags = try body.readCQLByte("BATCH flags")
        if flags & 0x40 != 0 { throw CQLProtocolError.malformed("BATCH with named values (unsupported by Cassandra)") }
        if flags & 0x10 != 0 { batch.serialConsistency = try body.readCQLConsistency() }
        if flags & 0x20 != 0 { batch.defaultTimestamp = try body.readCQLLong("BATCH timestamp") }
        return batch
    }
}
