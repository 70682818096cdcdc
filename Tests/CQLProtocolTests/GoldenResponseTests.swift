import Foundation
import NIOCore
import Testing

@testable import CQLProtocol

/// A response frame; `name` joins it to the fixture's `responses`, whose bytes were written from the spec by
/// `scripts/gen-golden.py` and decoded there by the Python driver to the values it expects.
struct GoldenResponse: Sendable, CustomTestStringConvertible {
    var name: String
    var stream: Int16
    var response: CQLResponse
    var flags: CQLFrameFlags = []
    var warnings: [String] = []
    /// The frame has a tracing id, warnings or a custom payload before the body, which `CQLFrameEncoder` does not write.
    var decodeOnly = false
    var testDescription: String { name }

    static let preparedID = GoldenRequest.preparedID

    static func error(_ name: String, _ kind: CQLServerError.Kind, _ message: String) -> GoldenResponse {
        GoldenResponse(name: name, stream: 9, response: .error(CQLServerError(kind, message)))
    }

    static func column(_ name: String, _ type: CQLDataType, table: String = "t", keyspace: String = "ks") -> CQLColumnSpec {
        CQLColumnSpec(keyspace: keyspace, table: table, name: name, type: type)
    }

    /// The columns and first row of `result.rows.scalars` (the second row is all nulls).
    static let scalarColumns: [(CQLColumnSpec, CQLValue)] = [
        (column("c_ascii", .ascii), .text("abc")),
        (column("c_bigint", .bigint), .bigint(.min)),
        (column("c_blob", .blob), .blob([0, 1])),
        (column("c_boolean", .boolean), .boolean(true)),
        (column("c_counter", .counter), .bigint(7)),
        (column("c_decimal", .decimal), .decimal(CQLDecimal(unscaled: CQLVarint(-150), scale: 2))),
        (column("c_double", .double), .double(-2.5)),
        (column("c_float", .float), .float(0.25)),
        (column("c_int", .int), .int(.max)),
        (column("c_timestamp", .timestamp), .timestamp(1_700_000_000_123)),
        (column("c_uuid", .uuid), .uuid(randomUUID)),
        (column("c_varchar", .varchar), .text("été")),
        (column("c_varint", .varint), varint("-1180591620717411303424")),
        (column("c_timeuuid", .timeuuid), .uuid(timeUUID)),
        (column("c_inet", .inet), inet("::1")),
        (column("c_date", .date), .date((1 << 31) + 19782)),
        (column("c_time", .time), .time(45_296_789_000_000)),
        (column("c_smallint", .smallint), .smallint(-2)),
        (column("c_tinyint", .tinyint), .tinyint(-1)),
        (column("c_duration", .duration), .duration(CQLDuration(months: 1, days: -1, nanoseconds: 1))),
    ]

    static let collectionColumns: [(CQLColumnSpec, CQLValue)] = [
        (column("c_list", .list(.int)), .list(ints(1, 2))),
        (column("c_set", .set(.varchar)), .set(text("a", "b"))),
        (column("c_map", .map(.varchar, .int)), .map([entry(.text("k"), .int(1))])),
        (column("c_tuple", .tuple([.int, .varchar, .boolean])), .tuple([.int(1), .text("t"), .boolean(false)])),
        (column("c_udt", addressType), .udt([.text("Main St"), .int(1), .set(text("x"))])),
        (column("c_nested", .list(.map(.varchar, .list(.int)))), .list([.map([entry(.text("a"), .list(ints(1)))]), .map([])])),
    ]

    static let idName = [column("id", .int), column("name", .varchar)]

    /// The rows of each Rows case, by name, with the columns to decode them (needed for no_metadata).
    static let rowsCases: [String: (columns: [CQLColumnSpec], rows: [[CQLValue]])] = [
        "result.rows.scalars": (scalarColumns.map(\.0), [scalarColumns.map(\.1), scalarColumns.map { _ in .null }]),
        "result.rows.collections": (collectionColumns.map(\.0), [collectionColumns.map(\.1)]),
        "result.rows.paging": (idName, [[.int(1), .text("a")], [.int(2), .text("b")]]),
        "result.rows.per_column": (
            [column("id", .int, table: "a"), column("name", .varchar, table: "b", keyspace: "other")], [[.int(3), .text("c")]]
        ),
        "result.rows.empty": (idName, []),
        "result.rows.no_metadata": (idName, [[.int(4), .text("d")], [.int(5), .null]]),
        "result.rows.no_metadata_paging": (idName, [[.int(6), .text("e")]]),
    ]

    static func rows(_ name: String, pagingState: [UInt8]? = nil, skipMetadata: Bool = false) -> GoldenResponse {
        let (columns, rows) = rowsCases[name] ?? ([], [])
        let built = try? CQLRows(columns: columns, rows: rows, pagingState: pagingState.map { ByteBuffer(bytes: $0) }, skipMetadata: skipMetadata)
        // A failure to build shows up as a mismatch against the fixture.
        return GoldenResponse(name: name, stream: 5, response: built.map { .result(.rows($0)) } ?? .ready)
    }

    static let schemaTargets: [(String, CQLSchemaChange)] = [
        ("keyspace", CQLSchemaChange(change: .created, target: .keyspace("ks"))),
        ("table", CQLSchemaChange(change: .updated, target: .table(keyspace: "ks", name: "t"))),
        ("type", CQLSchemaChange(change: .dropped, target: .type(keyspace: "ks", name: "address"))),
        ("function", CQLSchemaChange(change: .created, target: .function(keyspace: "ks", name: "fn", argumentTypes: ["int", "text"]))),
        ("aggregate", CQLSchemaChange(change: .dropped, target: .aggregate(keyspace: "ks", name: "agg", argumentTypes: []))),
    ]

    static let warnings = ["Batch for [ks.t] is of size 6.0KiB, exceeding specified threshold", "second warning"]

    static let writeTypes: [(String, CQLWriteType)] = [
        ("simple", .simple), ("batch", .batch), ("unlogged_batch", .unloggedBatch), ("counter", .counter),
        ("batch_log", .batchLog), ("cas", .cas), ("view", .view), ("cdc", .cdc),
    ]

    static let connection: [GoldenResponse] = [
        .init(name: "ready", stream: 1, response: .ready),
        .init(name: "authenticate", stream: 1, response: .authenticate(authenticator: "org.apache.cassandra.auth.PasswordAuthenticator")),
        .init(name: "auth_challenge", stream: 3, response: .authChallenge(token: [1, 2] + Array("challenge".utf8))),
        .init(name: "auth_success.null", stream: 3, response: .authSuccess(token: nil)),
        .init(name: "auth_success.token", stream: 3, response: .authSuccess(token: Array("ok".utf8))),
        .init(
            name: "supported", stream: 0,
            response: .supported([
                "COMPRESSION": ["lz4", "snappy"], "CQL_VERSION": ["3.4.7"], "PROTOCOL_VERSIONS": ["3/v3", "4/v4", "5/v5-beta"],
            ])),
    ]

    static let errors: [GoldenResponse] = [
        error("error.server", .serverError, "internal error"),
        error("error.protocol", .protocolError, "Invalid or unsupported protocol version (5)"),
        error("error.bad_credentials", .badCredentials, "Provided username cassandra and/or password are incorrect"),
        error("error.unavailable", .unavailable(consistency: .quorum, required: 2, alive: 1), "Cannot achieve consistency level QUORUM"),
        error("error.overloaded", .overloaded, "Server is in overloaded state"),
        error("error.is_bootstrapping", .isBootstrapping, "Cannot read from a bootstrapping node"),
        error("error.truncate", .truncateError, "Truncate failed"),
        error("error.read_timeout.no_data", .readTimeout(consistency: .one, received: 0, blockFor: 1, dataPresent: false), "Operation timed out"),
        error("error.read_timeout.data", .readTimeout(consistency: .quorum, received: 2, blockFor: 2, dataPresent: true), "Operation timed out"),
        error("error.read_failure", .readFailure(consistency: .all, received: 1, blockFor: 3, failures: 2, dataPresent: false), "Replica failed"),
        error("error.function_failure", .functionFailure(keyspace: "ks", function: "fn", argumentTypes: ["int", "text"]), "UDF failed"),
        error(
            "error.write_failure", .writeFailure(consistency: .one, received: 0, blockFor: 1, failures: 1, writeType: .simple),
            "Replica failed"),
        error("error.cdc_write_failure", .cdcWriteFailure, "CDC space exhausted"),
        error("error.cas_write_unknown", .casWriteUnknown(consistency: .serial, received: 1, blockFor: 2), "CAS operation result is unknown"),
        error("error.syntax", .syntaxError, "line 1:0 no viable alternative at input 'SELEC'"),
        error("error.unauthorized", .unauthorized, "User x has no SELECT permission"),
        error("error.invalid", .invalid, "Keyspace realtime_chat_app does not exist"),
        error("error.config", .configError, "Cannot add already existing column"),
        error("error.already_exists.table", .alreadyExists(keyspace: "ks", table: "t"), "Table ks.t already exists"),
        error("error.already_exists.keyspace", .alreadyExists(keyspace: "ks", table: ""), "Keyspace ks already exists"),
        error("error.unprepared", .unprepared(id: preparedID), "Prepared query with ID deadbeef not found"),
        error("error.unknown_code", .unknown(code: 0x7777), "from the future"),
    ]

    static let writeTimeouts: [GoldenResponse] = writeTypes.map { (suffix: String, writeType: CQLWriteType) -> GoldenResponse in
        error(
            "error.write_timeout.\(suffix)", .writeTimeout(consistency: .localQuorum, received: 1, blockFor: 2, writeType: writeType),
            "Operation timed out")
    }

    static let schemaChanges: [GoldenResponse] = schemaTargets.flatMap { (suffix: String, change: CQLSchemaChange) -> [GoldenResponse] in
        let result = GoldenResponse(name: "result.schema_change.\(suffix)", stream: 5, response: .result(.schemaChange(change)))
        let event = GoldenResponse(name: "event.schema_change.\(suffix)", stream: -1, response: .event(.schemaChange(change)))
        return [result, event]
    }

    static let results: [GoldenResponse] = [
        .init(name: "result.void", stream: 5, response: .result(.void)),
        .init(name: "result.set_keyspace", stream: 5, response: .result(.setKeyspace("realtime_chat_app"))),
        .init(
            name: "result.prepared.insert", stream: 4,
            response: .result(
                .prepared(
                    CQLPrepared(
                        id: preparedID, bindColumns: [column("id", .uuid), column("v", .varchar)], partitionKeyIndexes: [0],
                        resultColumns: [])))),
        .init(
            name: "result.prepared.select", stream: 4,
            response: .result(
                .prepared(
                    CQLPrepared(
                        id: [1, 2, 3, 4],
                        bindColumns: [
                            column("day", .date, table: "events"), column("bucket", .int, table: "events"),
                            column("since", .timestamp, table: "events"),
                        ],
                        partitionKeyIndexes: [1, 0],
                        resultColumns: [column("id", .timeuuid, table: "events"), column("payload", .map(.varchar, .int), table: "events")]
                    )))),
        .init(
            name: "result.prepared.per_column", stream: 4,
            response: .result(
                .prepared(
                    CQLPrepared(
                        id: [0xAA], bindColumns: [column("x", .int, table: "a"), column("y", .varchar, table: "b")], partitionKeyIndexes: [],
                        resultColumns: [])))),
        rows("result.rows.scalars"),
        rows("result.rows.collections"),
        rows("result.rows.paging", pagingState: [0, 4] + Array("page".utf8)),
        rows("result.rows.per_column"),
        rows("result.rows.empty"),
        rows("result.rows.no_metadata", skipMetadata: true),
        rows("result.rows.no_metadata_paging", pagingState: [7], skipMetadata: true),
    ]

    static let eventsAndFlags: [GoldenResponse] = [
        .init(
            name: "event.topology_change.new_node", stream: -1,
            response: .event(.topologyChange(.newNode, address: inetAddress("127.0.0.2"), port: 9042))),
        .init(
            name: "event.topology_change.removed_node", stream: -1,
            response: .event(.topologyChange(.removedNode, address: inetAddress("127.0.0.3"), port: 19042))),
        .init(
            name: "event.topology_change.moved_node", stream: -1,
            response: .event(.topologyChange(.movedNode, address: inetAddress("127.0.0.4"), port: 9042))),
        .init(name: "event.status_change.up", stream: -1, response: .event(.statusChange(.up, address: inetAddress("127.0.0.2"), port: 9042))),
        .init(
            name: "event.status_change.down_ipv6", stream: -1,
            response: .event(.statusChange(.down, address: inetAddress("::1"), port: 9043))),
        .init(name: "flags.tracing", stream: 12, response: .result(.void), flags: .tracing, decodeOnly: true),
        .init(name: "flags.warning", stream: 12, response: .result(.void), flags: .warning, warnings: warnings, decodeOnly: true),
        .init(name: "flags.custom_payload", stream: 12, response: .result(.void), flags: .customPayload, decodeOnly: true),
        .init(
            name: "flags.all", stream: 12, response: .result(.void), flags: [.tracing, .warning, .customPayload], warnings: warnings,
            decodeOnly: true),
    ]

    static let all: [GoldenResponse] = connection + errors + writeTimeouts + results + schemaChanges + eventsAndFlags
}

@Suite("Golden bytes: response frames written from the spec and read by the DataStax Python driver")
struct GoldenResponseTests {
    @Test(arguments: GoldenResponse.all.filter { !$0.decodeOnly })
    func encodesTheSpecBytes(_ golden: GoldenResponse) throws {
        let expected = try GoldenFixture.shared().response(golden.name)
        var buffer = ByteBuffer()
        CQLFrameEncoder.write(golden.response, stream: golden.stream, flags: golden.flags, into: &buffer)
        #expect(buffer.bytes.hex == expected.hex)
    }

    @Test(arguments: GoldenResponse.all)
    func decodesTheSpecBytes(_ golden: GoldenResponse) throws {
        var buffer = ByteBuffer(bytes: try GoldenFixture.shared().response(golden.name))
        let frame = try #require(try CQLFrameDecoder().decodeFrame(from: &buffer))
        #expect(buffer.readableBytes == 0)
        #expect(frame.header.version == 4)
        #expect(frame.header.isResponse)
        #expect(frame.header.stream == golden.stream)
        #expect(frame.header.flags == golden.flags)
        #expect(frame.header.opcode == golden.response.opcode)
        #expect(!frame.header.opcode.isRequest)
        let (response, warnings) = try CQLResponse.decodeWithWarnings(opcode: frame.header.opcode, flags: frame.header.flags, body: frame.body)
        #expect(response == golden.response)
        #expect(warnings == golden.warnings)
    }

    @Test(arguments: Array(GoldenResponse.rowsCases.keys).sorted())
    func rowsDecodeToTheirValues(_ name: String) throws {
        let (columns, expected) = try #require(GoldenResponse.rowsCases[name])
        var buffer = ByteBuffer(bytes: try GoldenFixture.shared().response(name))
        let frame = try #require(try CQLFrameDecoder().decodeFrame(from: &buffer))
        guard case .result(.rows(let rows)) = try CQLResponse.decode(opcode: frame.header.opcode, body: frame.body) else {
            Issue.record("\(name) is not a Rows result")
            return
        }
        #expect(rows.rowCount == expected.count)
        #expect(rows.metadata.columnCount == columns.count)
        let noMetadata = name.contains("no_metadata")
        #expect((rows.metadata.columns == nil) == noMetadata)
        if noMetadata {
            #expect(throws: CQLProtocolError.self) { try rows.decodeRows() }
        } else {
            #expect(rows.metadata.columns == columns)
        }
        let decoded = try rows.decodeRows(columns: noMetadata ? columns : nil)
        #expect(decoded.count == expected.count)
        for (got, want) in zip(decoded, expected) {
            #expect(got.count == want.count)
            for (index, (cell, wanted)) in zip(got, want).enumerated() {
                #expect(sameBits(cell, wanted), "\(name) row cell \(columns[index].name): \(cell) != \(wanted)")
            }
        }
    }

    @Test func pagingStateIsExposed() throws {
        for (name, state) in [("result.rows.paging", [0, 4] + Array("page".utf8)), ("result.rows.no_metadata_paging", [7])] {
            var buffer = ByteBuffer(bytes: try GoldenFixture.shared().response(name))
            let frame = try #require(try CQLFrameDecoder().decodeFrame(from: &buffer))
            guard case .result(.rows(let rows)) = try CQLResponse.decode(opcode: .result, body: frame.body) else {
                Issue.record("\(name) is not a Rows result")
                continue
            }
            #expect(rows.metadata.pagingState.map(\.bytes) == state)
        }
    }

    @Test func preparedCarriesPartitionKeyIndexes() throws {
        var buffer = ByteBuffer(bytes: try GoldenFixture.shared().response("result.prepared.select"))
        let frame = try #require(try CQLFrameDecoder().decodeFrame(from: &buffer))
        guard case .result(.prepared(let prepared)) = try CQLResponse.decode(opcode: .result, body: frame.body) else {
            Issue.record("not a Prepared result")
            return
        }
        #expect(prepared.partitionKeyIndexes == [1, 0])
        #expect(prepared.bindColumns.map(\.name) == ["day", "bucket", "since"])
        #expect(prepared.resultColumns.map(\.type) == [.timeuuid, .map(.varchar, .int)])
    }

    @Test func everyFixtureResponseHasASwiftCase() throws {
        let names = GoldenResponse.all.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(Set(try GoldenFixture.shared().responses.keys) == Set(names))
        #expect(Set(GoldenResponse.all.map(\.response.opcode)) == Set(CQLOpcode.allCases.filter { !$0.isRequest }))
    }

    @Test func everyErrorCodeIsCovered() {
        let codes = Set(GoldenResponse.all.compactMap { golden -> Int32? in
            if case .error(let error) = golden.response { return error.kind.code }
            return nil
        })
        let spec: [Int32] = [
            0x0000, 0x000A, 0x0100, 0x1000, 0x1001, 0x1002, 0x1003, 0x1100, 0x1200, 0x1300, 0x1400, 0x1500, 0x1600, 0x1700,
            0x2000, 0x2100, 0x2200, 0x2300, 0x2400, 0x2500,
        ]
        #expect(Set(spec).subtracting(codes).sorted() == [])
    }

    @Test func serverErrorsDescribeThemselves() {
        let error = CQLServerError(.invalid, "Keyspace realtime_chat_app does not exist")
        #expect(error.description == "Invalid: Keyspace realtime_chat_app does not exist")
        #expect(CQLServerError.Kind.unknown(code: 0x7777).name == "Error(0x7777)")
    }
}
