import Foundation
import NIOCore
import Testing

@testable import CQLProtocol

/// The fast path (`CQLExecuteEncoder`) against the reference: the general path (`CQLBoundValues.typed` +
/// `CQLQueryParameters` + `CQLRequest.execute` + `CQLFrameEncoder`) and the DataStax Python driver's frames.
@Suite("EXECUTE fast path: the same bytes as the general path")
struct ExecuteEncoderTests {
    static let id: [UInt8] = [0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB]

    /// The frame the general path writes, or the error it throws.
    static func general(
        _ values: [CQLValue], types: [CQLDataType], parameters: CQLQueryParameters, stream: Int16 = 3, version: UInt8 = 4,
        id: [UInt8] = id
    ) throws -> [UInt8] {
        var parameters = parameters
        parameters.values = values.isEmpty ? .none : try CQLBoundValues.typed(values, types: types)
        var buffer = ByteBuffer()
        CQLFrameEncoder.write(.execute(id: id, parameters), stream: stream, version: version, into: &buffer)
        return buffer.bytes
    }

    /// The frame the fast path writes, appended after some unrelated bytes (as in a connection's outbound buffer).
    static func fast(
        _ values: [CQLValue], types: [CQLDataType], parameters: CQLQueryParameters, stream: Int16 = 3, version: UInt8 = 4,
        id: [UInt8] = id
    ) throws -> [UInt8] {
        var buffer = ByteBuffer(bytes: [0xAA, 0xBB, 0xCC])
        let layout = try CQLExecuteEncoder(id: id, types: types).writeFrame(values, stream: stream, version: version, parameters: parameters, into: &buffer)
        #expect(layout.frameStart == 3)
        #expect(layout.frameEnd == buffer.writerIndex)
        #expect(buffer.getBytes(at: 0, length: 3) == [0xAA, 0xBB, 0xCC])
        return buffer.getBytes(at: 3, length: buffer.readableBytes - 3)!
    }

    static let chatTypes: [CQLDataType] = [.uuid, .timeuuid, .uuid, .varchar, .varchar, .list(.varchar)]
    static let conversation = UUID(uuidString: "123e4567-e89b-42d3-a456-426614174000")!
    static let timeUUID = UUID(uuidString: "f4b8e1a0-8b9a-11ee-b9d1-0242ac120002")!

    /// Rows of chat values: null and unset, unicode, empty and multi-element lists.
    static let chatRows: [[CQLValue]] = [
        [.uuid(conversation), .uuid(timeUUID), .uuid(conversation), .text("an"), .text("Xin chào 👋, héllo wörld ☃"), .list([])],
        [.uuid(conversation), .uuid(timeUUID), .uuid(conversation), .text(""), .text(""), .list([.text("https://cdn/a.png")])],
        [.uuid(conversation), .uuid(timeUUID), .null, .unset, .text(String(repeating: "x", count: 70_000)),
         .list([.text("a"), .text(""), .text("ü"), .text("🦬🦬")])],
        [.uuid(conversation), .uuid(timeUUID), .uuid(conversation), .null, .null, .unset],
        [.uuid(conversation), .uuid(timeUUID), .uuid(conversation), .text("b"), .text("c"), .null],
        [.uuid(conversation), .uuid(timeUUID), .uuid(conversation), .text("b"), .text("c"), .list([.null, .text("z")])],
    ]

    /// Every combination of the optional query parameters, over every consistency level.
    static let parameterSets: [CQLQueryParameters] = {
        var sets: [CQLQueryParameters] = []
        for (index, consistency) in CQLConsistency.allCases.enumerated() {
            sets.append(CQLQueryParameters(consistency: consistency))
            sets.append(CQLQueryParameters(consistency: consistency, defaultTimestamp: 1_700_000_000_000_000 + Int64(index)))
            sets.append(CQLQueryParameters(consistency: consistency, skipMetadata: index.isMultiple(of: 2), pageSize: 5000))
            sets.append(
                CQLQueryParameters(
                    consistency: consistency, pageSize: 100, pagingState: ByteBuffer(bytes: [1, 2, 3, UInt8(index)]),
                    serialConsistency: index.isMultiple(of: 2) ? .serial : .localSerial))
            sets.append(
                CQLQueryParameters(
                    consistency: consistency, skipMetadata: true, pageSize: 1, pagingState: ByteBuffer(bytes: [UInt8](repeating: 0xFF, count: 20)),
                    serialConsistency: .localSerial, defaultTimestamp: index.isMultiple(of: 2) ? .max : .min))
            sets.append(CQLQueryParameters(consistency: consistency, pagingState: ByteBuffer(), serialConsistency: .serial))
        }
        return sets
    }()

    @Test func chatRowsWithEveryParameterCombinationMatchTheGeneralPath() throws {
        var checked = 0
        for parameters in Self.parameterSets {
            for (index, row) in Self.chatRows.enumerated() {
                let stream = Int16(truncatingIfNeeded: index * 4099 - 1)
                let version: UInt8 = index.isMultiple(of: 3) ? 3 : 4
                let expected = try Self.general(row, types: Self.chatTypes, parameters: parameters, stream: stream, version: version)
                #expect(try Self.fast(row, types: Self.chatTypes, parameters: parameters, stream: stream, version: version) == expected)
                checked += 1
            }
        }
        #expect(checked == CQLConsistency.allCases.count * 6 * Self.chatRows.count)
    }

    @Test func typedWriterMatchesTheGeneralPath() throws {
        let encoder = CQLExecuteEncoder(id: Self.id, types: Self.chatTypes)
        for parameters in Self.parameterSets {
            for attachments in [[], ["https://cdn/1.jpg"], ["a", "", "ü", "🦬"]] {
                var buffer = ByteBuffer()
                try encoder.writeFrame(stream: 77, parameters: parameters, into: &buffer) { row in
                    try row.write(Self.conversation)
                    try row.write(Self.timeUUID)
                    try row.write(Self.conversation)
                    try row.write("Nguyễn Văn An")
                    try row.write("héllo 🦬")
                    try row.write(texts: attachments)
                    #expect(row.valueCount == 6)
                }
                let values: [CQLValue] = [
                    .uuid(Self.conversation), .uuid(Self.timeUUID), .uuid(Self.conversation), .text("Nguyễn Văn An"), .text("héllo 🦬"),
                    .list(attachments.map { .text($0) }),
                ]
                #expect(buffer.bytes == (try Self.general(values, types: Self.chatTypes, parameters: parameters, stream: 77)))
            }
        }
    }

    @Test func typedScalarsMatchTheGeneralPath() throws {
        let types: [CQLDataType] = [.int, .bigint, .counter, .timestamp, .boolean, .ascii, .set(.varchar), .uuid, .varchar]
        let encoder = CQLExecuteEncoder(id: [9], types: types)
        var buffer = ByteBuffer()
        try encoder.writeFrame(stream: 1, parameters: CQLQueryParameters(consistency: .quorum), into: &buffer) { row in
            try row.write(Int32(-7))
            try row.write(Int64.max)
            try row.write(Int64(-1))
            try row.write(Int64(1_700_000_000_123))
            try row.write(true)
            try row.write("plain ascii")
            try row.write(texts: ["x", "y"])
            try row.writeNull()
            try row.writeUnset()
        }
        let values: [CQLValue] = [
            .int(-7), .bigint(.max), .bigint(-1), .timestamp(1_700_000_000_123), .boolean(true), .text("plain ascii"),
            .set([.text("x"), .text("y")]), .null, .unset,
        ]
        let expected = try Self.general(values, types: types, parameters: CQLQueryParameters(consistency: .quorum), stream: 1, id: [9])
        #expect(buffer.bytes == expected)
    }

    /// Every golden value of the Python driver, bound alone and beside a text, through the fast path: the value's
    /// bytes in the frame are the fixture's, and the frame is the general path's.
    @Test(arguments: GoldenValue.all)
    func everyGoldenValueEncodesLikeThePythonDriver(_ golden: GoldenValue) throws {
        let expectedValue = try GoldenFixture.shared().value(golden.name)
        let frame = try Self.fast([golden.value], types: [golden.type], parameters: CQLQueryParameters(consistency: .one))
        // header 9, id 2 + 16, consistency 2, flags 1, count 2, then the [value].
        let valueStart = CQLFrameHeader.size + 2 + Self.id.count + 5
        #expect(Array(frame[valueStart..<valueStart + 4]) == Array(withUnsafeBytes(of: Int32(expectedValue.count).bigEndian, Array.init)))
        #expect(Array(frame[(valueStart + 4)...]) == expectedValue)
        let types = [golden.type, .varchar]
        let values = [golden.value, .text("tail ✓")]
        let parameters = CQLQueryParameters(consistency: .localOne, pageSize: 10, defaultTimestamp: 42)
        #expect(try Self.fast(values, types: types, parameters: parameters) == (try Self.general(values, types: types, parameters: parameters)))
    }

    @Test func pythonDriversExecuteFramesAreReproduced() throws {
        // execute.values: int 42, null, unset, text "hi" at LOCAL_ONE; execute.all_flags: the same values with every flag.
        let types: [CQLDataType] = [.int, .int, .int, .varchar]
        let values: [CQLValue] = [.int(42), .null, .unset, .text("hi")]
        let fixture = try GoldenFixture.shared()
        let (valuesStream, valuesBytes) = try fixture.request("execute.values")
        #expect(try Self.fast(values, types: types, parameters: CQLQueryParameters(consistency: .localOne), stream: valuesStream) == valuesBytes)
        let (flagsStream, flagsBytes) = try fixture.request("execute.all_flags")
        let allFlags = CQLQueryParameters(
            consistency: .eachQuorum, pageSize: 1, pagingState: ByteBuffer(bytes: [UInt8](repeating: 0xFF, count: 20)),
            serialConsistency: .serial, defaultTimestamp: .max)
        #expect(try Self.fast(values, types: types, parameters: allFlags, stream: flagsStream) == flagsBytes)
        let (noValuesStream, noValuesBytes) = try fixture.request("execute.no_values")
        #expect(try Self.fast([], types: [], parameters: CQLQueryParameters(consistency: .one), stream: noValuesStream) == noValuesBytes)
    }

    @Test func framesDecodeBackToTheRequest() throws {
        let parameters = CQLQueryParameters(consistency: .two, pageSize: 3, serialConsistency: .localSerial, defaultTimestamp: -5)
        var buffer = ByteBuffer()
        try CQLExecuteEncoder(id: Self.id, types: Self.chatTypes).writeFrame(Self.chatRows[2], stream: -2, parameters: parameters, into: &buffer)
        let frame = try #require(try CQLFrameDecoder().decodeFrame(from: &buffer))
        #expect(frame.header.stream == -2)
        #expect(frame.header.opcode == .execute)
        #expect(!frame.header.isResponse)
        guard case .execute(let id, let decoded) = try CQLRequest.decode(opcode: .execute, body: frame.body) else {
            Issue.record("not an EXECUTE")
            return
        }
        #expect(id == Self.id)
        let values = try decoded.values.positionalValues()
        #expect(try zip(values, Self.chatTypes).map { try $0.decode(as: $1) } == Self.chatRows[2])
        #expect(decoded.consistency == .two && decoded.pageSize == 3 && decoded.serialConsistency == .localSerial && decoded.defaultTimestamp == -5)
    }

    /// Values that do not fit the column: the fast path throws exactly when the general path does, with the same
    /// code, and leaves the buffer as it was.
    @Test func mismatchesThrowLikeTheGeneralPathAndLeaveTheBufferUnchanged() throws {
        let version4 = UUID(uuidString: "123e4567-e89b-42d3-a456-426614174000")!
        let cases: [(CQLDataType, CQLValue)] = [
            (.uuid, .text("x")), (.timeuuid, .uuid(version4)), (.varchar, .uuid(version4)), (.ascii, .text("é")),
            (.int, .bigint(1)), (.bigint, .int(1)), (.bigint, .timestamp(1)), (.timestamp, .int(1)), (.boolean, .int(1)),
            (.blob, .text("x")), (.list(.varchar), .list([.int(1)])), (.list(.varchar), .text("x")), (.set(.varchar), .map([])),
            (.map(.varchar, .int), .map([CQLMapEntry(key: .text("a"), value: .text("b"))])), (.double, .float(1)),
            (.list(.int), .list([.text("x")])), (.timeuuid, .uuid(Self.timeUUID)), (.set(.varchar), .list([.text("ok")])),
            (.counter, .bigint(3)), (.timestamp, .bigint(9)), (.ascii, .text("ok")),
        ]
        for (type, value) in cases {
            let types = [CQLDataType.varchar, type]
            let values = [CQLValue.text("first"), value]
            let generalError: (any Error)? = {
                do {
                    _ = try Self.general(values, types: types, parameters: CQLQueryParameters())
                    return nil
                } catch {
                    return error
                }
            }()
            var buffer = ByteBuffer(bytes: [1, 2, 3])
            let encoder = CQLExecuteEncoder(id: Self.id, types: types)
            do {
                try encoder.writeFrame(values, stream: 0, parameters: CQLQueryParameters(), into: &buffer)
                #expect(generalError == nil, "fast path accepted \(value) as \(type.cqlName); the general path did not")
                #expect(try buffer.bytes.dropFirst(3) == ArraySlice(Self.general(values, types: types, parameters: CQLQueryParameters(), stream: 0)))
            } catch let error as CQLProtocolError {
                #expect(error.code == .typeMismatch)
                #expect((generalError as? CQLProtocolError)?.code == .typeMismatch, "fast path refused \(value) as \(type.cqlName)")
                #expect((generalError as? CQLProtocolError)?.message == error.message)
                #expect(buffer.bytes == [1, 2, 3])
            }
        }
    }

    @Test func typedWritesOfTheWrongKindOrCountAreTypeMismatches() throws {
        let encoder = CQLExecuteEncoder(id: [1], types: [.uuid, .timeuuid, .ascii])
        let attempts: [(String, (inout CQLValueWriter) throws -> Void)] = [
            ("text into uuid", { try $0.write("x") }),
            ("too few", { try $0.write(Self.conversation) }),
            ("v4 uuid as timeuuid", { try $0.write(Self.conversation); try $0.write(Self.conversation) }),
            ("non-ASCII", { try $0.write(Self.conversation); try $0.write(Self.timeUUID); try $0.write("é") }),
            ("int into ascii", { try $0.write(Self.conversation); try $0.write(Self.timeUUID); try $0.write(Int32(1)) }),
            ("too many", { try $0.write(Self.conversation); try $0.write(Self.timeUUID); try $0.writeNull(); try $0.writeUnset() }),
            ("list into uuid", { try $0.write(texts: []) }),
            ("bool into uuid", { try $0.write(false) }),
            ("bigint into uuid", { try $0.write(Int64(1)) }),
        ]
        for (name, attempt) in attempts {
            var buffer = ByteBuffer(bytes: [9])
            let error = #expect(throws: CQLProtocolError.self, "\(name)") {
                try encoder.writeFrame(stream: 0, parameters: CQLQueryParameters(), into: &buffer, values: attempt)
            }
            #expect(error?.code == .typeMismatch, "\(name)")
            #expect(buffer.bytes == [9], "\(name)")
        }
        // A caller's own error passes through, buffer untouched.
        struct Stop: Error {}
        var buffer = ByteBuffer()
        #expect(throws: Stop.self) { try encoder.writeFrame(stream: 0, parameters: CQLQueryParameters(), into: &buffer) { _ in throw Stop() } }
        #expect(buffer.readableBytes == 0)
        // The right kinds and count go through.
        try encoder.writeFrame(stream: 0, parameters: CQLQueryParameters(), into: &buffer) { row in
            try row.writeNull()
            try row.write(Self.timeUUID)
            try row.write("ok")
        }
        #expect(buffer.bytes == (try Self.general([.null, .uuid(Self.timeUUID), .text("ok")], types: [.uuid, .timeuuid, .ascii], parameters: CQLQueryParameters(), stream: 0, id: [1])))
    }

    @Test func wrongValueCountIsATypeMismatch() {
        let encoder = CQLExecuteEncoder(id: [1], types: [.int, .int])
        var buffer = ByteBuffer()
        for values in [[], [CQLValue.int(1)], [.int(1), .int(2), .int(3)]] {
            let error = #expect(throws: CQLProtocolError.self) { try encoder.writeFrame(values, stream: 0, parameters: CQLQueryParameters(), into: &buffer) }
            #expect(error?.code == .typeMismatch)
            #expect(buffer.readableBytes == 0)
        }
    }

    /// Random rows over many column types (seeded, so a failure reproduces): fast and general paths agree.
    @Test func randomRowsMatchTheGeneralPath() throws {
        var random = SplitMix64(seed: 0x5EED)
        let pool: [(CQLDataType, (inout SplitMix64) -> CQLValue)] = [
            (.uuid, { _ in .uuid(UUID()) }),
            (.timeuuid, { _ in .uuid(Self.timeUUID) }),
            (.varchar, { .text(Self.randomText(&$0)) }),
            (.ascii, { r in .text(String((0..<Int(r.next() % 12)).map { _ in Character(Unicode.Scalar(UInt8(32 + r.next() % 90))) })) }),
            (.int, { .int(Int32(truncatingIfNeeded: $0.next())) }),
            (.bigint, { .bigint(Int64(bitPattern: $0.next())) }),
            (.counter, { .bigint(Int64(bitPattern: $0.next())) }),
            (.timestamp, { r in r.next() % 2 == 0 ? .timestamp(Int64(bitPattern: r.next())) : .bigint(Int64(bitPattern: r.next())) }),
            (.boolean, { .boolean($0.next() % 2 == 0) }),
            (.blob, { r in .blob((0..<Int(r.next() % 40)).map { _ in UInt8(truncatingIfNeeded: r.next()) }) }),
            (.list(.varchar), { r in .list((0..<Int(r.next() % 4)).map { _ in .text(Self.randomText(&r)) }) }),
            (.set(.varchar), { r in .set((0..<Int(r.next() % 4)).map { _ in .text(Self.randomText(&r)) }) }),
            (.double, { .double(Double(bitPattern: $0.next())) }),
            (.smallint, { .smallint(Int16(truncatingIfNeeded: $0.next())) }),
            (.map(.varchar, .int), { r in .map([CQLMapEntry(key: .text(Self.randomText(&r)), value: .int(Int32(truncatingIfNeeded: r.next())))]) }),
            (.list(.int), { r in .list((0..<Int(r.next() % 4)).map { _ in .int(Int32(truncatingIfNeeded: r.next())) }) }),
            (.tuple([.int, .varchar]), { r in .tuple([.int(1), .text(Self.randomText(&r))]) }),
            (.date, { .date(UInt32(truncatingIfNeeded: $0.next())) }),
        ]
        for round in 0..<300 {
            let width = 1 + Int(random.next() % 8)
            var types: [CQLDataType] = []
            var values: [CQLValue] = []
            for _ in 0..<width {
                let (type, make) = pool[Int(random.next() % UInt64(pool.count))]
                types.append(type)
                switch random.next() % 10 {
                case 0: values.append(.null)
                case 1: values.append(.unset)
                default: values.append(make(&random))
                }
            }
            let parameters = Self.parameterSets[round % Self.parameterSets.count]
            #expect(try Self.fast(values, types: types, parameters: parameters) == (try Self.general(values, types: types, parameters: parameters)),
                    "round \(round): \(values) as \(types.map(\.cqlName))")
        }
    }

    static func randomText(_ random: inout SplitMix64) -> String {
        let alphabet = Array("aé☃🦬 xyzÃ\u{0}'")
        return String((0..<Int(random.next() % 20)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] })
    }

    @Test func estimatedSizeHoldsTheChatFrame() throws {
        let encoder = CQLExecuteEncoder(id: Self.id, types: Self.chatTypes)
        for row in Self.chatRows {
            var buffer = ByteBuffer()
            try encoder.writeFrame(row, stream: 0, parameters: CQLQueryParameters(consistency: .one, pageSize: 5000, defaultTimestamp: 1), into: &buffer)
            #expect(buffer.readableBytes <= encoder.estimatedFrameSize(row))
        }
    }
}
