import NIOCore
import Testing

@testable import CQLProtocol

/// SplitMix64: a small deterministic generator so every run feeds the same inputs.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Feeds random, truncated and mutated bytes to every decoder. A trap would kill the test process, so reaching
/// the end is the "no crash" check; every error must be a `CQLProtocolError`.
@Suite("Decoder robustness")
struct DecoderRobustnessTests {
    static let valueTypes: [CQLDataType] = [
        .ascii, .bigint, .blob, .boolean, .counter, .decimal, .double, .float, .int, .timestamp, .uuid, .varchar, .varint,
        .timeuuid, .inet, .date, .time, .smallint, .tinyint, .duration, .custom("org.example.T"),
        .list(.int), .set(.varchar), .map(.varchar, .list(.int)), .tuple([.int, .varchar, .map(.int, .int)]), addressType,
        .list(.map(.varchar, .list(.tuple([.int, .duration])))),
    ]

    /// Tallies of what the decoders did, so the test can show it exercised both paths.
    struct Tally {
        var inputs = 0
        var decoded = 0
        var protocolErrors = 0
        var otherErrors: [String] = []

        mutating func run(_ body: () throws -> Void) {
            do {
                try body()
                decoded += 1
            } catch is CQLProtocolError {
                protocolErrors += 1
            } catch {
                if otherErrors.count < 10 { otherErrors.append(String(describing: error)) }
            }
        }
    }

    /// Valid frames to truncate and mutate: every golden request and response.
    static func seedFrames() throws -> [[UInt8]] {
        let fixture = try GoldenFixture.shared()
        return try fixture.requests.keys.sorted().map { try fixture.request($0).bytes }
            + fixture.responses.keys.sorted().map { try fixture.response($0) }
    }

    static func seedValues() throws -> [(CQLDataType, [UInt8])] {
        let fixture = try GoldenFixture.shared()
        return try GoldenValue.all.map { ($0.type, try fixture.value($0.name)) }
    }

    /// Runs every decoder that can take `bytes`.
    static func feed(_ bytes: [UInt8], rng: inout SplitMix64, tally: inout Tally) {
        tally.inputs += 1
        let buffer = ByteBuffer(bytes: bytes)

        // The frame decoder, as a connection would call it: until it needs more data or fails.
        var decodedRows: [CQLRows] = []
        tally.run {
            var stream = buffer
            let decoder = CQLFrameDecoder(maximumBodyLength: 1 << 20)
            while let frame = try decoder.decodeFrame(from: &stream) {
                if frame.header.opcode.isRequest {
                    _ = try CQLRequest.decode(opcode: frame.header.opcode, body: frame.body)
                } else {
                    let response = try CQLResponse.decode(opcode: frame.header.opcode, flags: frame.header.flags, body: frame.body)
                    if case .result(.rows(let rows)) = response { decodedRows.append(rows) }
                }
            }
        }

        // The body decoders directly, on the bytes after a would-be header.
        let body = bytes.count > CQLFrameHeader.size ? ByteBuffer(bytes: bytes[CQLFrameHeader.size...]) : buffer
        let requestOpcodes = CQLOpcode.allCases.filter(\.isRequest)
        let responseOpcodes = CQLOpcode.allCases.filter { !$0.isRequest }
        let responseOpcode = responseOpcodes[Int(rng.next() % UInt64(responseOpcodes.count))]
        let flags = CQLFrameFlags(rawValue: UInt8(truncatingIfNeeded: rng.next()) & 0x0E)
        tally.run { _ = try CQLResponse.decodeWithWarnings(opcode: responseOpcode, flags: flags, body: body) }
        tally.run { _ = try CQLRequest.decode(opcode: requestOpcodes[Int(rng.next() % UInt64(requestOpcodes.count))], body: body) }
        tally.run {
            var result = body
            if case .rows(let rows) = try CQLResult.decode(from: &result) { decodedRows.append(rows) }
        }
        for rows in decodedRows { decodeRowsEveryWay(rows, rng: &rng, tally: &tally) }
        tally.run {
            var value = buffer
            _ = try CQLValue.decode(valueTypes[Int(rng.next() % UInt64(valueTypes.count))], body: &value)
        }
        tally.run {
            var value = buffer
            _ = try CQLValue.read(valueTypes[Int(rng.next() % UInt64(valueTypes.count))], from: &value)
        }
        tally.run {
            var option = buffer
            _ = try option.readCQLOption()
        }
    }

    /// `decodeRows` with the rows' own metadata and with random column types of the right count.
    static func decodeRowsEveryWay(_ rows: CQLRows, rng: inout SplitMix64, tally: inout Tally) {
        tally.run { _ = try rows.decodeRows() }
        let columns = (0..<rows.metadata.columnCount).map { index in
            CQLColumnSpec(keyspace: "ks", table: "t", name: "c\(index)", type: valueTypes[Int(rng.next() % UInt64(valueTypes.count))])
        }
        tally.run { _ = try rows.decodeRows(columns: columns) }
    }

    static func mutate(_ seed: [UInt8], rng: inout SplitMix64) -> [UInt8] {
        var bytes = seed
        guard !bytes.isEmpty else { return bytes }
        let edits = 1 + Int(rng.next() % 4)
        for _ in 0..<edits {
            let index = Int(rng.next() % UInt64(bytes.count))
            switch rng.next() % 6 {
            case 0: bytes[index] = UInt8(truncatingIfNeeded: rng.next())
            case 1: bytes[index] ^= 1 << UInt8(rng.next() % 8)
            case 2: bytes[index] = [0x00, 0x7F, 0x80, 0xFF][Int(rng.next() % 4)]
            case 3:  // a length or count field made huge or negative
                let end = min(bytes.count, index + 4)
                for position in index..<end { bytes[position] = rng.next() % 2 == 0 ? 0xFF : 0x7F }
            case 4: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: index)
            default: bytes.remove(at: index)
            }
            if bytes.isEmpty { break }
        }
        // Keep the header's body length honest half of the time, so mutations reach the body decoders.
        if bytes.count >= CQLFrameHeader.size, rng.next() % 2 == 0 {
            let length = Int32(bytes.count - CQLFrameHeader.size)
            bytes[5] = UInt8(truncatingIfNeeded: length >> 24)
            bytes[6] = UInt8(truncatingIfNeeded: length >> 16)
            bytes[7] = UInt8(truncatingIfNeeded: length >> 8)
            bytes[8] = UInt8(truncatingIfNeeded: length)
            bytes[0] = rng.next() % 2 == 0 ? 0x84 : 0x04
        }
        return bytes
    }

    @Test func truncatedGoldenFramesOnlyThrow() throws {
        var rng = SplitMix64(seed: 1)
        var tally = Tally()
        for frame in try Self.seedFrames() {
            for length in 0..<frame.count {
                Self.feed(Array(frame[..<length]), rng: &rng, tally: &tally)
                // The body alone, cut short, with the header's length patched to match: reaches the body decoders.
                if length > CQLFrameHeader.size {
                    var patched = Array(frame[..<length])
                    let bodyLength = Int32(length - CQLFrameHeader.size)
                    withUnsafeBytes(of: bodyLength.bigEndian) { patched.replaceSubrange(5..<9, with: $0) }
                    var buffer = ByteBuffer(bytes: patched)
                    tally.run {
                        if let frame = try CQLFrameDecoder().decodeFrame(from: &buffer), !frame.header.opcode.isRequest {
                            _ = try CQLResponse.decode(opcode: frame.header.opcode, flags: frame.header.flags, body: frame.body)
                        } else if let frame = try CQLFrameDecoder().decodeFrame(from: &buffer) {
                            _ = try CQLRequest.decode(opcode: frame.header.opcode, body: frame.body)
                        }
                    }
                }
            }
        }
        for (type, value) in try Self.seedValues() {
            for length in 0..<value.count {
                var body = ByteBuffer(bytes: value[..<length])
                tally.run { _ = try CQLValue.decode(type, body: &body) }
            }
        }
        #expect(tally.otherErrors == [])
        #expect(tally.inputs > 5_000)
        #expect(tally.protocolErrors > 0)
    }

    @Test func hundredThousandRandomAndMutatedInputsOnlyThrow() throws {
        var rng = SplitMix64(seed: 0x5EED_CAFE)
        var tally = Tally()
        let seeds = try Self.seedFrames()
        let values = try Self.seedValues()
        // 40,000 random byte strings, some starting with a plausible v4 header.
        for index in 0..<40_000 {
            let length = Int(rng.next() % 80)
            var bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if index % 2 == 0, bytes.count >= CQLFrameHeader.size {
                bytes[0] = 0x84
                bytes[4] = UInt8(rng.next() % 0x11)
                let bodyLength = Int32(bytes.count - CQLFrameHeader.size)
                withUnsafeBytes(of: bodyLength.bigEndian) { bytes.replaceSubrange(5..<9, with: $0) }
            }
            Self.feed(bytes, rng: &rng, tally: &tally)
        }
        // 60,000 mutations of valid frames.
        for _ in 0..<60_000 {
            let seed = seeds[Int(rng.next() % UInt64(seeds.count))]
            Self.feed(Self.mutate(seed, rng: &rng), rng: &rng, tally: &tally)
        }
        // 20,000 mutations of valid values, decoded as their own type.
        for _ in 0..<20_000 {
            let (type, value) = values[Int(rng.next() % UInt64(values.count))]
            var body = ByteBuffer(bytes: Self.mutate(value, rng: &rng))
            tally.inputs += 1
            tally.run { _ = try CQLValue.decode(type, body: &body) }
        }
        #expect(tally.inputs >= 120_000)
        #expect(tally.otherErrors == [])
        // Both outcomes happened: mutations of valid frames often still decode, random bytes mostly do not.
        #expect(tally.decoded > 1_000)
        #expect(tally.protocolErrors > 100_000)
    }

    @Test func deeplyNestedTypeOptionsAreRejected() {
        // 40 nested lists: refused as malformed instead of recursing without bound.
        var buffer = ByteBuffer()
        for _ in 0..<40 { buffer.writeInteger(UInt16(0x0020)) }
        buffer.writeInteger(UInt16(0x0009))
        #expect(throws: CQLProtocolError.self) { try buffer.readCQLOption() }
    }

    @Test func hugeCountsWithLittleDataAreRejectedCheaply() throws {
        // A Rows result claiming 2^31-1 rows of 65535 columns in a few bytes.
        var body = ByteBuffer()
        body.writeInteger(Int32(0x0002))
        body.writeInteger(Int32(0x0004))
        body.writeInteger(Int32(65535))
        body.writeInteger(Int32.max)
        body.writeInteger(Int32(0))
        #expect(throws: CQLProtocolError.self) { try CQLResult.decode(from: &body) }
        // Rows of no columns take no bytes, so no count of them can be checked against the data: refused.
        var noColumns = ByteBuffer()
        noColumns.writeInteger(Int32(0x0002))
        noColumns.writeInteger(Int32(0x0004))
        noColumns.writeInteger(Int32(0))
        noColumns.writeInteger(Int32.max)
        #expect(throws: CQLProtocolError.self) { try CQLResult.decode(from: &noColumns) }
        // A hand-built CQLRows with a negative count.
        let bogus = CQLRows(metadata: CQLRowsMetadata(columns: []), rowCount: -1, content: ByteBuffer())
        #expect(throws: CQLProtocolError.self) { try bogus.decodeRows() }
        // A list claiming 2^31-1 elements.
        var list = ByteBuffer()
        list.writeInteger(Int32.max)
        #expect(throws: CQLProtocolError.self) { try CQLValue.decode(.list(.int), body: &list) }
        // A map with a negative size.
        var map = ByteBuffer()
        map.writeInteger(Int32(-5))
        #expect(throws: CQLProtocolError.self) { try CQLValue.decode(.map(.int, .int), body: &map) }
    }
}
