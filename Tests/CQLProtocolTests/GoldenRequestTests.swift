import Foundation
import NIOCore
import Testing

@testable import CQLProtocol

/// A request frame; `name` joins it to the fixture's `requests`, whose bytes come from the Python driver's
/// `ProtocolHandler.encode_message`.
struct GoldenRequest: Sendable, CustomTestStringConvertible {
    var name: String
    var request: CQLRequest
    var flags: CQLFrameFlags = []
    /// Bytes the Python driver writes differently from us (both valid): only checked by decoding.
    var decodeOnly = false
    var testDescription: String { name }

    static let preparedID: [UInt8] = [0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB]

    static func int(_ value: Int32) -> CQLBoundValue {
        var buffer = ByteBuffer()
        buffer.writeInteger(value)
        return .bytes(buffer)
    }

    static func bigint(_ value: Int64) -> CQLBoundValue {
        var buffer = ByteBuffer()
        buffer.writeInteger(value)
        return .bytes(buffer)
    }

    /// The values the generator binds: int 42, null, unset, text "hi".
    static let fourValues = CQLBoundValues.positional([int(42), .null, .unset, .bytes(ByteBuffer(string: "hi"))])

    static let batchStatements: [CQLBatchStatement] = [
        CQLBatchStatement(kind: .query("INSERT INTO ks.t (id, v) VALUES (?, ?)"), values: .positional([int(1), .null])),
        CQLBatchStatement(kind: .prepared(id: preparedID), values: .positional([int(2), .unset])),
        CQLBatchStatement(kind: .query("DELETE FROM ks.t WHERE id = 3")),
    ]

    static let all: [GoldenRequest] = [
        .init(name: "options", request: .options),
        .init(name: "startup.cql_version", request: .startup(options: ["CQL_VERSION": "3.0.0"])),
        .init(name: "startup.lz4", request: .startup(options: ["CQL_VERSION": "3.0.0", "COMPRESSION": "lz4"])),
        .init(name: "register.all", request: .register(["TOPOLOGY_CHANGE", "STATUS_CHANGE", "SCHEMA_CHANGE"])),
        .init(name: "auth_response.plain", request: .authResponse(token: [0] + Array("cassandra".utf8) + [0] + Array("cassandra".utf8))),
        .init(name: "auth_response.empty", request: .authResponse(token: [])),
        .init(name: "prepare.insert", request: .prepare("INSERT INTO ks.t (id, v) VALUES (?, ?)")),
        .init(name: "query.simple", request: .query("SELECT * FROM system.local", CQLQueryParameters(consistency: .one))),
        .init(name: "query.unicode", request: .query("SELECT 'héllo 🦬' FROM t", CQLQueryParameters(consistency: .quorum))),
        .init(
            name: "query.all_flags",
            request: .query(
                "SELECT * FROM ks.t WHERE id = ? AND a = ? AND b = ? AND c = ?",
                CQLQueryParameters(
                    consistency: .localQuorum, values: fourValues, pageSize: 5000, pagingState: ByteBuffer(bytes: [1, 2, 3]),
                    serialConsistency: .localSerial, defaultTimestamp: 1_700_000_000_000_000))),
        .init(
            name: "query.tracing", request: .query("SELECT now() FROM system.local", CQLQueryParameters(consistency: .one)),
            flags: .tracing),
        .init(name: "query.page_size_only", request: .query("SELECT * FROM ks.t", CQLQueryParameters(consistency: .all, pageSize: 100))),
        .init(name: "execute.no_values", request: .execute(id: preparedID, CQLQueryParameters(consistency: .one))),
        // The Python driver sets the values flag with a count of 0; we leave the flag off. Both mean "no values".
        .init(name: "execute.empty_values_flag", request: .execute(id: preparedID, CQLQueryParameters(consistency: .one)), decodeOnly: true),
        .init(name: "execute.values", request: .execute(id: preparedID, CQLQueryParameters(consistency: .localOne, values: fourValues))),
        .init(
            name: "execute.all_flags",
            request: .execute(
                id: preparedID,
                CQLQueryParameters(
                    consistency: .eachQuorum, values: fourValues, pageSize: 1,
                    pagingState: ByteBuffer(bytes: [UInt8](repeating: 0xFF, count: 20)), serialConsistency: .serial,
                    defaultTimestamp: .max))),
        .init(name: "batch.logged", request: .batch(CQLBatch(type: .logged, statements: batchStatements, consistency: .quorum))),
        .init(
            name: "batch.unlogged",
            request: .batch(
                CQLBatch(
                    type: .unlogged, statements: Array(batchStatements.prefix(2)), consistency: .one, serialConsistency: .localSerial,
                    defaultTimestamp: 1_700_000_000_000_001))),
        .init(
            name: "batch.counter",
            request: .batch(
                CQLBatch(
                    type: .counter,
                    statements: [CQLBatchStatement(kind: .prepared(id: preparedID), values: .positional([bigint(1), int(5)]))],
                    consistency: .any, defaultTimestamp: 0))),
    ]
}

@Suite("Golden bytes: request frames against the DataStax Python driver")
struct GoldenRequestTests {
    @Test(arguments: GoldenRequest.all.filter { !$0.decodeOnly })
    func encodesLikeThePythonDriver(_ golden: GoldenRequest) throws {
        let (stream, expected) = try GoldenFixture.shared().request(golden.name)
        var buffer = ByteBuffer()
        CQLFrameEncoder.write(golden.request, stream: stream, flags: golden.flags, into: &buffer)
        #expect(buffer.bytes.hex == expected.hex)
    }

    @Test(arguments: GoldenRequest.all)
    func decodesThePythonDriversFrames(_ golden: GoldenRequest) throws {
        let (stream, expected) = try GoldenFixture.shared().request(golden.name)
        var buffer = ByteBuffer(bytes: expected)
        let frame = try #require(try CQLFrameDecoder().decodeFrame(from: &buffer))
        #expect(buffer.readableBytes == 0)
        #expect(frame.header.version == 4)
        #expect(!frame.header.isResponse)
        #expect(frame.header.stream == stream)
        #expect(frame.header.flags == golden.flags)
        #expect(frame.header.opcode == golden.request.opcode)
        #expect(frame.header.opcode.isRequest)
        #expect(Int(frame.header.bodyLength) == expected.count - CQLFrameHeader.size)
        let decoded = try CQLRequest.decode(opcode: frame.header.opcode, body: frame.body)
        #expect(decoded == golden.request)
    }

    @Test func everyFixtureRequestHasASwiftCase() throws {
        let names = GoldenRequest.all.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(Set(try GoldenFixture.shared().requests.keys) == Set(names))
        // Every request opcode appears.
        let opcodes = Set(GoldenRequest.all.map(\.request.opcode))
        #expect(opcodes == Set(CQLOpcode.allCases.filter(\.isRequest)))
    }

    @Test func executeValuesDecodeToTheBoundBytes() throws {
        let (_, bytes) = try GoldenFixture.shared().request("execute.values")
        var buffer = ByteBuffer(bytes: bytes)
        let frame = try #require(try CQLFrameDecoder().decodeFrame(from: &buffer))
        guard case .execute(let id, let parameters) = try CQLRequest.decode(opcode: frame.header.opcode, body: frame.body) else {
            Issue.record("not an EXECUTE")
            return
        }
        #expect(id == GoldenRequest.preparedID)
        let values = try parameters.values.positionalValues()
        #expect(values.count == 4)
        #expect(try values[0].decode(as: .int) == .int(42))
        #expect(values[1] == .null)
        #expect(values[2] == .unset)
        #expect(try values[3].decode(as: .varchar) == .text("hi"))
    }

    @Test func typedValuesEncodeLikePositionalBytes() throws {
        // The prepared-write fast path (`.typed` → `.encoded`) must put the same bytes on the wire.
        let typed = try CQLBoundValues.typed([.int(42), .null, .unset, .text("hi")], types: [.int, .int, .int, .varchar])
        let request = CQLRequest.execute(id: GoldenRequest.preparedID, CQLQueryParameters(consistency: .localOne, values: typed))
        var buffer = ByteBuffer()
        CQLFrameEncoder.write(request, stream: 9, into: &buffer)
        #expect(buffer.bytes == (try GoldenFixture.shared().request("execute.values").bytes))
    }

    @Test func skipMetadataSetsItsFlag() throws {
        // The Python driver accepts `skip_meta` but never writes the flag (v4), so this one is checked by hand:
        // flags 0x02 between the consistency and the rest, and it survives decoding.
        let request = CQLRequest.execute(id: [1], CQLQueryParameters(consistency: .one, skipMetadata: true))
        var body = ByteBuffer()
        request.writeBody(into: &body)
        #expect(body.bytes == [0x00, 0x01, 0x01, 0x00, 0x01, 0x02])
        #expect(try CQLRequest.decode(opcode: .execute, body: body) == request)
    }

    @Test func namedValuesRoundTrip() throws {
        // The Python driver never sends named values; check our own round trip and the flag.
        let parameters = CQLQueryParameters(consistency: .one, values: .named([("id", GoldenRequest.int(7)), ("v", .null)]))
        let request = CQLRequest.query("INSERT INTO ks.t (id, v) VALUES (:id, :v)", parameters)
        var body = ByteBuffer()
        request.writeBody(into: &body)
        var probe = body
        _ = try probe.readCQLLongString()
        _ = try probe.readCQLConsistency()
        #expect(try probe.readCQLByte() == 0x41)  // values | names for values
        #expect(try CQLRequest.decode(opcode: .query, body: body) == request)
    }
}
