import CQLProtocol
import NIOCore

/// Cuts the inbound byte stream into frames (a thin NIO adapter over the pure `CQLFrameDecoder`).
struct CQLFrameByteDecoder: ByteToMessageDecoder {
    typealias InboundOut = CQLFrame

    var decoder: CQLFrameDecoder

    init(maximumBodyLength: Int = 256 * 1024 * 1024) {
        decoder = CQLFrameDecoder(maximumBodyLength: maximumBodyLength, acceptedVersions: 1...5)
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try decoder.decodeFrame(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
