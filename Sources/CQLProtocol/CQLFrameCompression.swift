import CLZ4
import NIOCore

/// LZ4 body compression as the native protocol v4 uses it (spec section 5): the body becomes a 4-byte
/// big-endian uncompressed length followed by one LZ4 block.
public enum CQLLZ4 {
    /// The name used in STARTUP's COMPRESSION option and SUPPORTED.
    public static let name = "lz4"

    /// Compresses the readable bytes of `body`.
    public static func compress(_ body: ByteBuffer, allocator: ByteBufferAllocator = .init()) -> ByteBuffer {
        let sourceLength = body.readableBytes
        let bound = Int(LZ4_compressBound(Int32(sourceLength)))
        var output = allocator.buffer(capacity: 4 + bound)
        output.writeInteger(Int32(sourceLength))
        let written = body.withUnsafeReadableBytes { source in
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { destination in
                let count = LZ4_compress_default(
                    source.baseAddress?.assumingMemoryBound(to: CChar.self), destination.baseAddress!.assumingMemoryBound(to: CChar.self),
                    Int32(sourceLength), Int32(bound))
                return Int(max(count, 0))
            }
        }
        precondition(written > 0 || sourceLength == 0, "LZ4_compress_default cannot fail with a bound-sized output")
        return output
    }

    /// Decompresses a compressed body. Throws on a bad length or corrupt block; never traps.
    public static func decompress(_ body: ByteBuffer, maximumLength: Int = 256 * 1024 * 1024, allocator: ByteBufferAllocator = .init()) throws -> ByteBuffer {
        var body = body
        guard let length = body.readInteger(as: Int32.self) else { throw CQLProtocolError.truncated("compressed body length") }
        // LZ4 cannot expand data more than about 255 times, so a larger claim is a lie: refuse it before allocating.
        let plausible = min(maximumLength, body.readableBytes * 255 + 16)
        guard length >= 0, Int(length) <= plausible else {
            throw CQLProtocolError(.compression, "compressed body of \(body.readableBytes) bytes claims \(length) bytes uncompressed")
        }
        var output = allocator.buffer(capacity: Int(length))
        if length == 0 { return output }
        let compressedLength = body.readableBytes
        let produced = body.withUnsafeReadableBytes { source in
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: Int(length)) { destination in
                let count = LZ4_decompress_safe(
                    source.baseAddress?.assumingMemoryBound(to: CChar.self), destination.baseAddress!.assumingMemoryBound(to: CChar.self),
                    Int32(compressedLength), length)
                return Int(max(count, 0))
            }
        }
        guard produced == Int(length) else {
            throw CQLProtocolError(.compression, "corrupt LZ4 body: expected \(length) bytes, inflated \(produced)")
        }
        return output
    }
}
