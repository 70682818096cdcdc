import NIOCore
import Testing

@testable import CQLProtocol

@Suite("CQLFrameDecoder and frame headers")
struct CQLFrameDecoderTests {
    func frameBytes(_ request: CQLRequest, stream: Int16, flags: CQLFrameFlags = []) -> [UInt8] {
        var buffer = ByteBuffer()
        CQLFrameEncoder.write(request, stream: stream, flags: flags, into: &buffer)
        return buffer.bytes
    }

    @Test func headerLayoutMatchesTheSpec() {
        var buffer = ByteBuffer()
        CQLFrameHeader(version: 4, isResponse: true, flags: [.tracing, .warning], stream: -1, opcode: .event, bodyLength: 0x0102_0304)
            .write(into: &buffer)
        #expect(buffer.bytes == [0x84, 0x0A, 0xFF, 0xFF, 0x0C, 0x01, 0x02, 0x03, 0x04])
        #expect(CQLFrameHeader.size == 9)
    }

    @Test func flagBitsMatchTheSpec() {
        #expect(CQLFrameFlags.compression.rawValue == 0x01)
        #expect(CQLFrameFlags.tracing.rawValue == 0x02)
        #expect(CQLFrameFlags.customPayload.rawValue == 0x04)
        #expect(CQLFrameFlags.warning.rawValue == 0x08)
        #expect(CQLFrameFlags.useBeta.rawValue == 0x10)
    }

    @Test func opcodesMatchTheSpec() {
        let expected: [CQLOpcode: UInt8] = [
            .error: 0x00, .startup: 0x01, .ready: 0x02, .authenticate: 0x03, .options: 0x05, .supported: 0x06, .query: 0x07,
            .result: 0x08, .prepare: 0x09, .execute: 0x0A, .register: 0x0B, .event: 0x0C, .batch: 0x0D, .authChallenge: 0x0E,
            .authResponse: 0x0F, .authSuccess: 0x10,
        ]
        #expect(expected.count == CQLOpcode.allCases.count)
        for (opcode, raw) in expected { #expect(opcode.rawValue == raw) }
    }

    @Test func everyFlagSurvivesARoundTrip() throws {
        for raw in UInt8(0)...0x1F {
            let bytes = frameBytes(.options, stream: 3, flags: CQLFrameFlags(rawValue: raw))
            var buffer = ByteBuffer(bytes: bytes)
            let frame = try #require(try CQLFrameDecoder().decodeFrame(from: &buffer))
            #expect(frame.header.flags.rawValue == raw)
        }
    }

    @Test func splitsAStreamAndWaitsForWholeFrames() throws {
        let first = frameBytes(.query("SELECT 1", CQLQueryParameters()), stream: 1)
        let second = frameBytes(.options, stream: 2)
        let third = frameBytes(.prepare("SELECT * FROM t WHERE k = ?"), stream: 32767)
        let all = first + second + third
        let decoder = CQLFrameDecoder()
        // Feed the stream in every possible two-piece split: frames come out whole, in order, once.
        for split in 0...all.count {
            var buffer = ByteBuffer(bytes: all[..<split])
            var streams: [Int16] = []
            while let frame = try decoder.decodeFrame(from: &buffer) { streams.append(frame.header.stream) }
            buffer.writeBytes(all[split...])
            while let frame = try decoder.decodeFrame(from: &buffer) { streams.append(frame.header.stream) }
            #expect(streams == [1, 2, 32767], "split at \(split)")
            #expect(buffer.readableBytes == 0)
        }
    }

    @Test func partialHeaderNeedsMoreData() throws {
        let bytes = frameBytes(.options, stream: 1)
        for length in 0..<bytes.count {
            var buffer = ByteBuffer(bytes: bytes[..<length])
            #expect(try CQLFrameDecoder().decodeFrame(from: &buffer) == nil)
            #expect(buffer.readableBytes == length, "the decoder must not consume a partial frame")
        }
    }

    @Test func rejectsUnsupportedVersionsAtTheFirstByte() {
        for version: UInt8 in [0x01, 0x02, 0x05, 0x06, 0x7F, 0x85, 0x00] {
            var buffer = ByteBuffer(bytes: [version])
            #expect(throws: CQLProtocolError.self) { try CQLFrameDecoder().decodeFrame(from: &buffer) }
            do {
                _ = try CQLFrameDecoder().decodeFrame(from: &buffer)
            } catch let error as CQLProtocolError {
                #expect(error.code == .unsupportedVersion)
            } catch {
                Issue.record("unexpected error \(error)")
            }
        }
        // A v3 frame is accepted by default, a v4-only decoder refuses it.
        var v3 = ByteBuffer(bytes: [0x03, 0, 0, 1, 0x05, 0, 0, 0, 0])
        #expect((try? CQLFrameDecoder().decodeFrame(from: &v3))??.header.version == 3)
        var v3Again = ByteBuffer(bytes: [0x03, 0, 0, 1, 0x05, 0, 0, 0, 0])
        #expect(throws: CQLProtocolError.self) { try CQLFrameDecoder(acceptedVersions: 4...4).decodeFrame(from: &v3Again) }
    }

    @Test func rejectsUnknownOpcodesNegativeAndOversizedLengths() {
        func code(_ bytes: [UInt8], maximum: Int = 256 * 1024 * 1024) -> CQLProtocolError.Code? {
            var buffer = ByteBuffer(bytes: bytes)
            do {
                _ = try CQLFrameDecoder(maximumBodyLength: maximum).decodeFrame(from: &buffer)
                return nil
            } catch let error as CQLProtocolError {
                return error.code
            } catch {
                return nil
            }
        }
        #expect(code([0x04, 0, 0, 1, 0x04, 0, 0, 0, 0]) == .unknownOpcode)  // CREDENTIALS (v1 only)
        #expect(code([0x04, 0, 0, 1, 0x11, 0, 0, 0, 0]) == .unknownOpcode)
        #expect(code([0x04, 0, 0, 1, 0xFF, 0, 0, 0, 0]) == .unknownOpcode)
        #expect(code([0x04, 0, 0, 1, 0x07, 0xFF, 0xFF, 0xFF, 0xFF]) == .malformed)
        #expect(code([0x04, 0, 0, 1, 0x07, 0x7F, 0xFF, 0xFF, 0xFF]) == .frameTooLarge)
        #expect(code([0x04, 0, 0, 1, 0x07, 0, 0, 0x04, 0x01], maximum: 1024) == .frameTooLarge)
        #expect(code([0x04, 0, 0, 1, 0x07, 0, 0, 0x04, 0x00], maximum: 1024) == nil)  // exactly the maximum: wait for it
    }

    @Test func peeksVersionAndStreamForErrorReplies() {
        #expect(CQLFrameDecoder.peekVersionAndStream(ByteBuffer(bytes: [0x04, 0x00, 0x12, 0x34])).map { [Int($0.version), Int($0.stream)] } == [4, 0x1234])
        // v1/v2 headers have a one-byte stream.
        #expect(CQLFrameDecoder.peekVersionAndStream(ByteBuffer(bytes: [0x02, 0x00, 0x05, 0x01])).map { [Int($0.version), Int($0.stream)] } == [2, 5])
        #expect(CQLFrameDecoder.peekVersionAndStream(ByteBuffer(bytes: [0x05, 0x00])) == nil)
        #expect(CQLFrameDecoder.peekVersionAndStream(ByteBuffer()) == nil)
    }

    @Test func requestAndResponseDecodersRefuseTheOtherDirection() {
        for opcode in CQLOpcode.allCases {
            if opcode.isRequest {
                #expect(throws: CQLProtocolError.self) { try CQLResponse.decode(opcode: opcode, body: ByteBuffer()) }
            } else {
                #expect(throws: CQLProtocolError.self) { try CQLRequest.decode(opcode: opcode, body: ByteBuffer()) }
            }
        }
    }

    @Test func unsignedVIntBoundaries() throws {
        // Cassandra's unsigned vint: leading one bits of the first byte count the extra bytes.
        let cases: [(UInt64, [UInt8])] = [
            (0, [0x00]), (0x7F, [0x7F]), (0x80, [0x80, 0x80]), (0x3FFF, [0xBF, 0xFF]), (0x4000, [0xC0, 0x40, 0x00]),
            (UInt64.max, [0xFF] + [UInt8](repeating: 0xFF, count: 8)),
        ]
        for (value, bytes) in cases {
            var buffer = ByteBuffer()
            buffer.writeCQLUnsignedVInt(value)
            #expect(buffer.bytes == bytes, "\(value)")
            #expect(try buffer.readCQLUnsignedVInt() == value)
        }
        for value: Int64 in [0, -1, 1, 63, -64, 64, .max, .min, 1 << 40, -(1 << 40)] {
            var buffer = ByteBuffer()
            buffer.writeCQLVInt(value)
            #expect(try buffer.readCQLVInt() == value)
            #expect(buffer.readableBytes == 0)
        }
    }
}
