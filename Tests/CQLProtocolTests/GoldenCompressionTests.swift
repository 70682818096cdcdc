import Foundation
import NIOCore
import Testing

@testable import CQLProtocol

/// LZ4-compressed frames written by the DataStax Python driver's own codec (`cassandra.connection`'s lz4 pair).
@Suite("Golden bytes: LZ4 frame compression against the DataStax Python driver")
struct GoldenCompressionTests {
    @Test func inflatesTheDriversCompressedRequest() throws {
        let (stream, frameBytes, plain) = try GoldenFixture.shared().compressedFrame("lz4.request.query")
        var buffer = ByteBuffer(bytes: frameBytes)
        let frame = try #require(try CQLFrameDecoder().decodeFrame(from: &buffer))
        #expect(frame.header.flags.contains(.compression))
        #expect(frame.header.stream == stream)
        let body = try CQLLZ4.decompress(frame.body)
        #expect(body.bytes == plain)
        let expected = CQLRequest.query(
            "SELECT * FROM realtime_chat_app.messages_by_conversation WHERE conversation_id = ? LIMIT 50",
            CQLQueryParameters(consistency: .localQuorum, values: .positional([.bytes(ByteBuffer(bytes: randomUUID.cqlBytes))]), pageSize: 50))
        #expect(try CQLRequest.decode(opcode: frame.header.opcode, body: body) == expected)
    }

    @Test func inflatesTheDriversCompressedRows() throws {
        let (_, frameBytes, plain) = try GoldenFixture.shared().compressedFrame("lz4.response.rows")
        var buffer = ByteBuffer(bytes: frameBytes)
        let frame = try #require(try CQLFrameDecoder().decodeFrame(from: &buffer))
        #expect(frame.header.flags == .compression)
        let body = try CQLLZ4.decompress(frame.body)
        #expect(body.bytes == plain)
        guard case .result(.rows(let rows)) = try CQLResponse.decode(opcode: frame.header.opcode, body: body) else {
            Issue.record("not a Rows result")
            return
        }
        let decoded = try rows.decodeRows()
        #expect(decoded.count == 20)
        #expect(decoded.last == [.int(19), .text("message number 19, repeated text repeated text repeated text")])
    }

    @Test func ourCompressionUsesTheSameFramingAndInflates() throws {
        // Our bytes need not equal the driver's (LZ4 output is not canonical across versions), but the framing does:
        // a 4-byte big-endian uncompressed length, then a block that inflates to the body.
        for name in ["lz4.request.query", "lz4.response.rows"] {
            let plain = try GoldenFixture.shared().compressedFrame(name).plainBody
            let compressed = CQLLZ4.compress(ByteBuffer(bytes: plain))
            #expect(compressed.getInteger(at: compressed.readerIndex, as: Int32.self) == Int32(plain.count))
            #expect(compressed.readableBytes < plain.count + 4 + plain.count / 255 + 16)
            #expect(try CQLLZ4.decompress(compressed).bytes == plain)
        }
        #expect(try CQLLZ4.decompress(CQLLZ4.compress(ByteBuffer())).readableBytes == 0)
    }

    @Test func roundTripsRunsRepeatsAndNoise() throws {
        var rng = SplitMix64(seed: 11)
        let noise = (0..<5_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let samples: [[UInt8]] = [
            [], [1], Array(repeating: 7, count: 12), Array(repeating: 7, count: 13),
            Array(repeating: 0, count: 100_000),  // one overlapping match with long length extensions
            noise,  // literals only, with a long literal extension
            Array("message number 1, repeated text repeated text repeated text".utf8),
            Array((0..<300).flatMap { Array("row \($0 % 17) of the chat; ".utf8) }) + noise[..<400] + Array(repeating: 9, count: 70_000),
        ]
        for plain in samples {
            let compressed = CQLLZ4.compress(ByteBuffer(bytes: plain))
            #expect(compressed.readableBytes <= plain.count + 4 + plain.count / 255 + 16)
            #expect(try CQLLZ4.decompress(compressed).bytes == plain)
        }
        // Repetitive data does shrink.
        #expect(CQLLZ4.compress(ByteBuffer(bytes: samples[4])).readableBytes < 1_000)
    }

    /// `Fixtures/lz4-stampede-blocks.json` holds blocks this compressor wrote; `Tests/Interop/test_protocol_bytes.py`
    /// inflates them with the reference lz4 library. Here: the compressor still writes exactly those blocks.
    @Test func writesTheBlocksTheReferenceLibraryWasShown() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/lz4-stampede-blocks.json")
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [[String: String]])
        #expect(entries.count == 6)
        for entry in entries {
            let plain = try #require([UInt8](hex: entry["plain"] ?? ""))
            let block = try #require([UInt8](hex: entry["block"] ?? ""))
            let compressed = CQLLZ4.compress(ByteBuffer(bytes: plain))
            #expect(Array(compressed.readableBytesView.dropFirst(4)) == block, "\(entry["name"] ?? "?")")
            #expect(try CQLLZ4.decompress(compressed).bytes == plain)
        }
    }

    @Test func corruptCompressedBodiesThrow() throws {
        let (_, frameBytes, _) = try GoldenFixture.shared().compressedFrame("lz4.response.rows")
        let body = Array(frameBytes[CQLFrameHeader.size...])
        var rng = SplitMix64(seed: 7)
        var failures = 0
        for length in 0..<body.count {
            do { _ = try CQLLZ4.decompress(ByteBuffer(bytes: body[..<length])) } catch is CQLProtocolError { failures += 1 }
        }
        for _ in 0..<5_000 {
            let mutated = DecoderRobustnessTests.mutate(body, rng: &rng)
            do { _ = try CQLLZ4.decompress(ByteBuffer(bytes: mutated), maximumLength: 1 << 20) } catch is CQLProtocolError { failures += 1 }
        }
        #expect(failures > body.count / 2)
        // A length beyond the maximum is refused before allocating.
        var huge = ByteBuffer()
        huge.writeInteger(Int32.max)
        #expect(throws: CQLProtocolError.self) { try CQLLZ4.decompress(huge, maximumLength: 1 << 20) }
        var negative = ByteBuffer()
        negative.writeInteger(Int32(-1))
        #expect(throws: CQLProtocolError.self) { try CQLLZ4.decompress(negative) }
    }
}
