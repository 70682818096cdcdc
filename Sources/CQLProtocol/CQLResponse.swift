import NIOCore

/// A server-pushed event (spec section 4.2.6).
public enum CQLEvent: Sendable, Hashable {
    public enum TopologyChange: String, Sendable, Hashable {
        case newNode = "NEW_NODE"
        case removedNode = "REMOVED_NODE"
        case movedNode = "MOVED_NODE"
    }

    public enum StatusChange: String, Sendable, Hashable {
        case up = "UP"
        case down = "DOWN"
    }

    case topologyChange(TopologyChange, address: CQLInet, port: Int32)
    case statusChange(StatusChange, address: CQLInet, port: Int32)
    case schemaChange(CQLSchemaChange)

    func write(into buffer: inout ByteBuffer) {
        switch self {
        case .topologyChange(let change, let address, let port):
            buffer.writeCQLString(CQLEventType.topologyChange.rawValue)
            buffer.writeCQLString(change.rawValue)
            buffer.writeCQLInet(address, port: port)
        case .statusChange(let change, let address, let port):
            buffer.writeCQLString(CQLEventType.statusChange.rawValue)
            buffer.writeCQLString(change.rawValue)
            buffer.writeCQLInet(address, port: port)
        case .schemaChange(let change):
            buffer.writeCQLString(CQLEventType.schemaChange.rawValue)
            change.write(into: &buffer)
        }
    }

    static func read(from buffer: inout ByteBuffer) throws -> CQLEvent {
        let type = try buffer.readCQLString("event type")
        switch type {
        case CQLEventType.topologyChange.rawValue:
            let raw = try buffer.readCQLString("topology change")
            guard let change = TopologyChange(rawValue: raw) else { throw CQLProtocolError.malformed("topology change \(raw)") }
            let (address, port) = try buffer.readCQLInet()
            return .topologyChange(change, address: address, port: port)
        case CQLEventType.statusChange.rawValue:
            let raw = try buffer.readCQLString("status change")
            guard let change = StatusChange(rawValue: raw) else { throw CQLProtocolError.malformed("status change \(raw)") }
            let (address, port) = try buffer.readCQLInet()
            return .statusChange(change, address: address, port: port)
        case CQLEventType.schemaChange.rawValue:
            return .schemaChange(try CQLSchemaChange.read(from: &buffer))
        default:
            throw CQLProtocolError.malformed("event type \(type)")
        }
    }
}

/// A message from server to client.
public enum CQLResponse: Sendable, Hashable {
    case error(CQLServerError)
    case ready
    case authenticate(authenticator: String)
    case supported([String: [String]])
    case result(CQLResult)
    case event(CQLEvent)
    case authChallenge(token: [UInt8]?)
    case authSuccess(token: [UInt8]?)

    public var opcode: CQLOpcode {
        switch self {
        case .error: .error
        case .ready: .ready
        case .authenticate: .authenticate
        case .supported: .supported
        case .result: .result
        case .event: .event
        case .authChallenge: .authChallenge
        case .authSuccess: .authSuccess
        }
    }

    public func writeBody(into buffer: inout ByteBuffer) {
        switch self {
        case .error(let error): error.writeBody(into: &buffer)
        case .ready: break
        case .authenticate(let authenticator): buffer.writeCQLString(authenticator)
        case .supported(let options): buffer.writeCQLStringMultimap(options)
        case .result(let result): result.writeBody(into: &buffer)
        case .event(let event): event.write(into: &buffer)
        case .authChallenge(let token): buffer.writeCQLBytes(token)
        case .authSuccess(let token): buffer.writeCQLBytes(token)
        }
    }

    /// Decodes a response body. A frame with the warning or custom-payload flag carries those before
    /// the body; pass the flags so they are skipped (warnings are returned separately by `decodeWithWarnings`).
    public static func decode(opcode: CQLOpcode, flags: CQLFrameFlags = [], body: ByteBuffer) throws -> CQLResponse {
        try decodeWithWarnings(opcode: opcode, flags: flags, body: body).response
    }

    public static func decodeWithWarnings(opcode: CQLOpcode, flags: CQLFrameFlags, body: ByteBuffer) throws -> (response: CQLResponse, warnings: [String]) {
        var body = body
        if flags.contains(.tracing) { _ = try body.readCQLUUID("tracing id") }
        var warnings: [String] = []
        if flags.contains(.warning) { warnings = try body.readCQLStringList("warnings") }
        if flags.contains(.customPayload) { _ = try body.readCQLBytesMap("custom payload") }
        let response: CQLResponse
        switch opcode {
        case .error: response = .error(try CQLServerError.decode(from: &body))
        case .ready: response = .ready
        case .authenticate: response = .authenticate(authenticator: try body.readCQLString("authenticator"))
        case .supported: response = .supported(try body.readCQLStringMultimap("SUPPORTED options"))
        case .result: response = .result(try CQLResult.decode(from: &body))
        case .event: response = .event(try CQLEvent.read(from: &body))
        case .authChallenge: response = .authChallenge(token: try body.readCQLBytesArray("AUTH_CHALLENGE token"))
        case .authSuccess: response = .authSuccess(token: try body.readCQLBytesArray("AUTH_SUCCESS token"))
        case .startup, .authResponse, .options, .query, .prepare, .execute, .batch, .register:
            throw CQLProtocolError(.unknownOpcode, "opcode \(opcode) is not a response")
        }
        return (response, warnings)
    }
}

/// Writes whole frames: header, then body, with the length patched in after the body is written.
public enum CQLFrameEncoder {
    /// Appends a request frame to `buffer`.
    public static func write(_ request: CQLRequest, stream: Int16, version: UInt8 = 4, flags: CQLFrameFlags = [], into buffer: inout ByteBuffer) {
        let start = buffer.writerIndex
        CQLFrameHeader(version: version, isResponse: false, flags: flags, stream: stream, opcode: request.opcode).write(into: &buffer)
        request.writeBody(into: &buffer)
        buffer.setInteger(Int32(buffer.writerIndex - start - CQLFrameHeader.size), at: start + 5)
    }

    /// Appends a response frame to `buffer`.
    public static func write(_ response: CQLResponse, stream: Int16, version: UInt8 = 4, flags: CQLFrameFlags = [], into buffer: inout ByteBuffer) {
        let start = buffer.writerIndex
        CQLFrameHeader(version: version, isResponse: true, flags: flags, stream: stream, opcode: response.opcode).write(into: &buffer)
        response.writeBody(into: &buffer)
        buffer.setInteger(Int32(buffer.writerIndex - start - CQLFrameHeader.size), at: start + 5)
    }
}
