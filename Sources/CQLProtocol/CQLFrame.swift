import NIOCore

/// The operation of a frame (spec section 2.4).
public enum CQLOpcode: UInt8, Sendable, Hashable, CaseIterable {
    case error = 0x00
    case startup = 0x01
    case ready = 0x02
    case authenticate = 0x03
    case options = 0x05
    case supported = 0x06
    case query = 0x07
    case result = 0x08
    case prepare = 0x09
    case execute = 0x0A
    case register = 0x0B
    case event = 0x0C
    case batch = 0x0D
    case authChallenge = 0x0E
    case authResponse = 0x0F
    case authSuccess = 0x10

    /// Whether the opcode travels from client to server.
    public var isRequest: Bool {
        switch self {
        case .startup, .authResponse, .options, .query, .prepare, .execute, .batch, .register: true
        case .error, .ready, .authenticate, .supported, .result, .event, .authChallenge, .authSuccess: false
        }
    }
}

/// Frame header flags (spec section 2.2).
public struct CQLFrameFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let compression = CQLFrameFlags(rawValue: 0x01)
    public static let tracing = CQLFrameFlags(rawValue: 0x02)
    public static let customPayload = CQLFrameFlags(rawValue: 0x04)
    public static let warning = CQLFrameFlags(rawValue: 0x08)
    public static let useBeta = CQLFrameFlags(rawValue: 0x10)
}

/// The 9-byte header of a v3/v4 frame.
public struct CQLFrameHeader: Sendable, Hashable {
    /// Header size in bytes for protocol v3 and later.
    public static let size = 9

    /// The protocol version without the direction bit.
    public var version: UInt8
    /// Whether the frame is a response (the 0x80 bit of the version byte).
    public var isResponse: Bool
    public var flags: CQLFrameFlags
    public var stream: Int16
    public var opcode: CQLOpcode
    public var bodyLength: Int32

    public init(version: UInt8, isResponse: Bool, flags: CQLFrameFlags = [], stream: Int16, opcode: CQLOpcode, bodyLength: Int32 = 0) {
        self.version = version
        self.isResponse = isResponse
        self.flags = flags
        self.stream = stream
        self.opcode = opcode
        self.bodyLength = bodyLength
    }

    /// Writes the header. The body length is `bodyLength`.
    public func write(into buffer: inout ByteBuffer) {
        buffer.writeInteger(version | (isResponse ? 0x80 : 0))
        buffer.writeInteger(flags.rawValue)
        buffer.writeInteger(stream)
        buffer.writeInteger(opcode.rawValue)
        buffer.writeInteger(bodyLength)
    }
}

/// A whole frame: its header and its body bytes (decompressed if it was compressed).
public struct CQLFrame: Sendable {
    public var header: CQLFrameHeader
    public var body: ByteBuffer

    public init(header: CQLFrameHeader, body: ByteBuffer) {
        self.header = header
        self.body = body
    }
}

/// Splits a byte stream into frames. Pure: feed it bytes, take frames out.
///
/// It validates the fixed part of every header, so garbage is rejected as soon as 9 bytes have arrived,
/// and refuses bodies larger than `maximumBodyLength` (Cassandra's default: 256 MiB).
public struct CQLFrameDecoder: Sendable {
    /// The result of looking at the head of the buffer.
    public enum Peek: Sendable, Equatable {
        /// Fewer bytes than a header, or a header whose body has not fully arrived.
        case needMoreData
        /// A header with a version this side does not accept; the caller may answer with a protocol error.
        case unsupportedVersion(version: UInt8, stream: Int16)
    }

    public var maximumBodyLength: Int
    /// Versions accepted; others are reported as `unsupportedVersion`.
    public var acceptedVersions: ClosedRange<UInt8>

    public init(maximumBodyLength: Int = 256 * 1024 * 1024, acceptedVersions: ClosedRange<UInt8> = 3...4) {
        self.maximumBodyLength = maximumBodyLength
        self.acceptedVersions = acceptedVersions
    }

    /// Decodes one frame from the front of `buffer` when a whole frame is there.
    ///
    /// - Returns: the frame, or `nil` when more bytes are needed.
    /// - Throws: `CQLProtocolError` with `.unsupportedVersion` (version and stream in the message are best effort),
    ///   `.unknownOpcode`, `.malformed` or `.frameTooLarge`. The buffer is left at the bad frame.
    public func decodeFrame(from buffer: inout ByteBuffer) throws -> CQLFrame? {
        guard buffer.readableBytes >= 1 else { return nil }
        let start = buffer.readerIndex
        let versionByte = buffer.getInteger(at: start, as: UInt8.self)!
        let version = versionByte & 0x7F
        guard acceptedVersions.contains(version) else {
            throw CQLProtocolError(.unsupportedVersion, "Invalid or unsupported protocol version (\(version))")
        }
        guard buffer.readableBytes >= CQLFrameHeader.size else { return nil }
        let flags = buffer.getInteger(at: start + 1, as: UInt8.self)!
        let stream = buffer.getInteger(at: start + 2, as: Int16.self)!
        let opcodeByte = buffer.getInteger(at: start + 4, as: UInt8.self)!
        let length = buffer.getInteger(at: start + 5, as: Int32.self)!
        guard let opcode = CQLOpcode(rawValue: opcodeByte) else {
            throw CQLProtocolError(.unknownOpcode, "unknown opcode 0x\(String(opcodeByte, radix: 16)) on stream \(stream)")
        }
        guard length >= 0 else { throw CQLProtocolError.malformed("frame body length \(length)") }
        guard Int(length) <= maximumBodyLength else {
            throw CQLProtocolError(.frameTooLarge, "frame body of \(length) bytes exceeds the maximum of \(maximumBodyLength)")
        }
        guard buffer.readableBytes >= CQLFrameHeader.size + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: CQLFrameHeader.size)
        let body = buffer.readSlice(length: Int(length))!
        let header = CQLFrameHeader(
            version: version, isResponse: versionByte & 0x80 != 0, flags: CQLFrameFlags(rawValue: flags),
            stream: stream, opcode: opcode, bodyLength: length)
        return CQLFrame(header: header, body: body)
    }

    /// The version and stream of the header at the front of `buffer`, if at least 4 bytes are there.
    /// Used to answer an unsupported version on the right stream.
    public static func peekVersionAndStream(_ buffer: ByteBuffer) -> (version: UInt8, stream: Int16)? {
        guard let versionByte = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        let version = versionByte & 0x7F
        if version < 3 {
            // v1/v2 headers have a one-byte stream id.
            guard let stream = buffer.getInteger(at: buffer.readerIndex + 2, as: Int8.self) else { return nil }
            return (version, Int16(stream))
        }
        guard let stream = buffer.getInteger(at: buffer.readerIndex + 2, as: Int16.self) else { return nil }
        return (version, stream)
    }
}
