import CQLProtocol
import NIOCore

/// A request frame already encoded by the caller (for example by `CQLExecuteEncoder`), sent as it is.
///
/// The connection copies the bytes into its outbound buffer (so the frame still goes out with the other requests of
/// the same event-loop tick, in one write) and sets the version byte and the stream id there; the caller's bytes are
/// never changed, so the same frame can be sent again (to another host, or after a re-prepare).
public struct CQLEncodedRequest: Sendable {
    /// The whole frame: 9-byte header and body.
    public let frame: ByteBuffer

    /// Wraps a whole request frame, checking its header.
    ///
    /// - Throws: `CQLClientError` with `.invalidArgument` when the buffer is not exactly one request frame.
    public init(frame: ByteBuffer) throws {
        guard frame.readableBytes >= CQLFrameHeader.size,
            let versionByte = frame.getInteger(at: frame.readerIndex, as: UInt8.self),
            let opcodeByte = frame.getInteger(at: frame.readerIndex + 4, as: UInt8.self),
            let length = frame.getInteger(at: frame.readerIndex + 5, as: Int32.self)
        else {
            throw CQLClientError(.invalidArgument, "an encoded request needs a 9-byte frame header, given \(frame.readableBytes) bytes")
        }
        guard versionByte & 0x80 == 0 else {
            throw CQLClientError(.invalidArgument, "an encoded request has the response bit set in its version byte")
        }
        guard let opcode = CQLOpcode(rawValue: opcodeByte), opcode.isRequest else {
            throw CQLClientError(.invalidArgument, "an encoded request has opcode 0x\(String(opcodeByte, radix: 16)), which is not a request")
        }
        guard Int(length) == frame.readableBytes - CQLFrameHeader.size else {
            throw CQLClientError(
                .invalidArgument, "an encoded request declares a \(length)-byte body but carries \(frame.readableBytes - CQLFrameHeader.size) bytes")
        }
        self.frame = frame
    }

    /// A frame this module wrote itself (header known to be right).
    init(trusted frame: ByteBuffer) {
        self.frame = frame
    }

    /// The frame's opcode.
    public var opcode: CQLOpcode {
        CQLOpcode(rawValue: frame.getInteger(at: frame.readerIndex + 4, as: UInt8.self)!)!
    }

    /// The frame's header flags.
    public var flags: CQLFrameFlags {
        CQLFrameFlags(rawValue: frame.getInteger(at: frame.readerIndex + 1, as: UInt8.self)!)
    }

    /// The body, without the header.
    var body: ByteBuffer {
        frame.getSlice(at: frame.readerIndex + CQLFrameHeader.size, length: frame.readableBytes - CQLFrameHeader.size)!
    }
}

/// What a connection sends: a request it encodes itself, or a frame encoded by the caller.
enum CQLOutboundMessage: Sendable {
    case request(CQLRequest)
    case encoded(CQLEncodedRequest)

    var opcode: CQLOpcode {
        switch self {
        case .request(let request): request.opcode
        case .encoded(let encoded): encoded.opcode
        }
    }
}
