import NIOCore

/// LZ4 body compression as the native protocol v4 uses it (spec section 5): the body becomes a 4-byte
/// big-endian uncompressed length followed by one LZ4 block.
///
/// The block codec is written here in Swift (the LZ4 block format: sequences of a token, literals, a 2-byte
/// little-endian offset and a match length), so the build needs no system library.
public enum CQLLZ4 {
    /// The name used in STARTUP's COMPRESSION option and SUPPORTED.
    public static let name = "lz4"

    /// Compresses the readable bytes of `body`.
    public static func compress(_ body: ByteBuffer, allocator: ByteBufferAllocator = .init()) -> ByteBuffer {
        let source = Array(body.readableBytesView)
        var output = allocator.buffer(capacity: 4 + source.count + source.count / 255 + 16)
        output.writeInteger(Int32(source.count))
        LZ4Block.compress(source, into: &output)
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
        if length == 0 { return allocator.buffer(capacity: 0) }
        let inflated = LZ4Block.decompress(Array(body.readableBytesView), length: Int(length))
        guard let inflated, inflated.count == Int(length) else {
            throw CQLProtocolError(.compression, "corrupt LZ4 body: expected \(length) bytes, inflated \(inflated?.count ?? 0)")
        }
        var output = allocator.buffer(capacity: inflated.count)
        output.writeBytes(inflated)
        return output
    }
}

/// The LZ4 block format: a sequence is a token (high nibble: literal count, low nibble: match length − 4; 15 means
/// more length bytes follow, each added, while they are 255), the literals, then a 2-byte little-endian offset back
/// into the output and the match. The last sequence has literals only; the last 5 bytes are always literals, and no
/// match starts in the last 12.
enum LZ4Block {
    static let minimumMatch = 4
    static let lastLiterals = 5
    static let matchStartLimit = 12
    static let hashBits = 12

    /// Appends the block of `source` to `output` (greedy matching over a hash table of 4-byte sequences).
    static func compress(_ source: [UInt8], into output: inout ByteBuffer) {
        let count = source.count
        var anchor = 0
        if count > matchStartLimit {
            var table = [Int](repeating: -1, count: 1 << hashBits)
            var position = 0
            while position < count - matchStartLimit {
                let sequence = word(source, at: position)
                let slot = Int((sequence &* 2_654_435_761) >> (32 - UInt32(hashBits)))
                let candidate = table[slot]
                table[slot] = position
                guard candidate >= 0, position - candidate <= 65_535, word(source, at: candidate) == sequence else {
                    position += 1
                    continue
                }
                var length = minimumMatch
                while position + length < count - lastLiterals, source[candidate + length] == source[position + length] { length += 1 }
                writeSequence(source, literals: anchor..<position, offset: position - candidate, matchLength: length, into: &output)
                position += length
                anchor = position
            }
        }
        writeSequence(source, literals: anchor..<count, offset: nil, matchLength: 0, into: &output)
    }

    /// Inflates `block` to at most `length` bytes; `nil` when the block is malformed (truncated, an offset before the
    /// start, or more output than `length`).
    static func decompress(_ block: [UInt8], length: Int) -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(length)
        var index = 0
        while index < block.count {
            let token = Int(block[index])
            index += 1
            guard let literals = readLength(token >> 4, block, &index), literals <= block.count - index,
                literals <= length - output.count
            else { return nil }
            output.append(contentsOf: block[index..<index + literals])
            index += literals
            if index == block.count { return output }  // the last sequence: literals only
            guard index + 2 <= block.count else { return nil }
            let offset = Int(block[index]) | Int(block[index + 1]) << 8
            index += 2
            guard offset > 0, offset <= output.count, let extra = readLength(token & 0x0F, block, &index) else { return nil }
            let match = extra + minimumMatch
            guard match <= length - output.count else { return nil }
            // Byte by byte: a match may overlap the bytes it produces (offset < length repeats them).
            var from = output.count - offset
            for _ in 0..<match {
                output.append(output[from])
                from += 1
            }
        }
        return nil  // a block ends with a literals-only sequence
    }

    private static func word(_ bytes: [UInt8], at index: Int) -> UInt32 {
        UInt32(bytes[index]) | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2]) << 16 | UInt32(bytes[index + 3]) << 24
    }

    /// A length of nibble `nibble` plus its extension bytes; `nil` when the block ends inside them.
    private static func readLength(_ nibble: Int, _ block: [UInt8], _ index: inout Int) -> Int? {
        var length = nibble
        guard nibble == 15 else { return length }
        while true {
            guard index < block.count else { return nil }
            let byte = Int(block[index])
            index += 1
            length += byte
            guard length <= Int(Int32.max) else { return nil }
            if byte != 255 { return length }
        }
    }

    private static func writeSequence(_ source: [UInt8], literals: Range<Int>, offset: Int?, matchLength: Int, into output: inout ByteBuffer) {
        let matchCode = offset == nil ? 0 : matchLength - minimumMatch
        output.writeInteger(UInt8(min(literals.count, 15) << 4 | min(matchCode, 15)))
        writeExtension(literals.count, into: &output)
        output.writeBytes(source[literals])
        guard let offset else { return }
        output.writeInteger(UInt16(offset), endianness: .little)
        writeExtension(matchCode, into: &output)
    }

    private static func writeExtension(_ length: Int, into output: inout ByteBuffer) {
        guard length >= 15 else { return }
        var rest = length - 15
        while rest >= 255 {
            output.writeInteger(UInt8(255))
            rest -= 255
        }
        output.writeInteger(UInt8(rest))
    }
}
