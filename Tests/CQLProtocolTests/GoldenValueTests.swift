import Foundation
import NIOCore
import Testing

@testable import CQLProtocol

/// One CQL value and the type it is serialized as; `name` joins it to `Fixtures/golden.json`.
struct GoldenValue: Sendable, CustomTestStringConvertible {
    var name: String
    var type: CQLDataType
    var value: CQLValue
    var testDescription: String { name }

    init(_ name: String, _ type: CQLDataType, _ value: CQLValue) {
        self.name = name
        self.type = type
        self.value = value
    }

    /// Every value case of the fixture, with the value CQLProtocol should decode it to.
    static let all: [GoldenValue] = [
        .init("ascii.hello", .ascii, .text("hello")),
        .init("ascii.empty", .ascii, .text("")),
        .init("ascii.all", .ascii, .text(String(decoding: (0..<128).map { UInt8($0) }, as: UTF8.self))),
        .init("bigint.zero", .bigint, .bigint(0)),
        .init("bigint.minus_one", .bigint, .bigint(-1)),
        .init("bigint.min", .bigint, .bigint(.min)),
        .init("bigint.max", .bigint, .bigint(.max)),
        .init("bigint.1234567890123", .bigint, .bigint(1_234_567_890_123)),
        .init("blob.empty", .blob, .blob([])),
        .init("blob.all_bytes", .blob, .blob((0..<256).map { UInt8($0) })),
        .init("boolean.true", .boolean, .boolean(true)),
        .init("boolean.false", .boolean, .boolean(false)),
        .init("counter.42", .counter, .bigint(42)),
        .init("counter.minus_one", .counter, .bigint(-1)),
        .init("date.epoch", .date, .date(1 << 31)),
        .init("date.2024_02_29", .date, .date((1 << 31) + 19782)),
        .init("date.min", .date, .date(0)),
        .init("date.max", .date, .date(.max)),
        .init("decimal.zero", .decimal, .decimal(CQLDecimal(unscaled: CQLVarint(0), scale: 0))),
        .init("decimal.negative", .decimal, .decimal(CQLDecimal(unscaled: CQLVarint(-12345), scale: 3))),
        .init("decimal.small_negative", .decimal, .decimal(CQLDecimal(unscaled: CQLVarint(-1), scale: 4))),
        .init("decimal.negative_scale", .decimal, .decimal(CQLDecimal(unscaled: CQLVarint(1), scale: -10))),
        .init(
            "decimal.big", .decimal,
            .decimal(CQLDecimal(unscaled: CQLVarint(bytes: varintBytes("123456789012345678901234567890123456789")), scale: 9))),
        .init("double.zero", .double, .double(0)),
        .init("double.negative_zero", .double, .double(-0.0)),
        .init("double.pi", .double, .double(.pi)),
        .init("double.infinity", .double, .double(.infinity)),
        .init("double.negative_infinity", .double, .double(-.infinity)),
        .init("double.nan", .double, .double(.nan)),
        .init("double.min_subnormal", .double, .double(.leastNonzeroMagnitude)),
        .init("double.max", .double, .double(.greatestFiniteMagnitude)),
        .init("duration.zero", .duration, .duration(CQLDuration(months: 0, days: 0, nanoseconds: 0))),
        .init("duration.small", .duration, .duration(CQLDuration(months: 1, days: 2, nanoseconds: 3))),
        .init("duration.negative", .duration, .duration(CQLDuration(months: -1, days: -2, nanoseconds: -3))),
        .init("duration.1h30m", .duration, .duration(CQLDuration(months: 0, days: 0, nanoseconds: 5_400_000_000_000))),
        .init("duration.extremes", .duration, .duration(CQLDuration(months: .max, days: .min, nanoseconds: .max))),
        .init("duration.min_nanos", .duration, .duration(CQLDuration(months: 14, days: 0, nanoseconds: .min))),
        .init("float.one_and_a_half", .float, .float(1.5)),
        .init("float.negative_zero", .float, .float(-0.0)),
        .init("float.infinity", .float, .float(.infinity)),
        .init("float.nan", .float, .float(.nan)),
        .init("float.max", .float, .float(.greatestFiniteMagnitude)),
        .init("float.min_normal", .float, .float(.leastNormalMagnitude)),
        .init("inet.loopback4", .inet, inet("127.0.0.1")),
        .init("inet.any4", .inet, inet("0.0.0.0")),
        .init("inet.broadcast4", .inet, inet("255.255.255.255")),
        .init("inet.loopback6", .inet, inet("::1")),
        .init("inet.any6", .inet, inet("::")),
        .init("inet.full6", .inet, inet("2001:db8:85a3::8a2e:370:7334")),
        .init("inet.link_local6", .inet, inet("fe80::1")),
        .init("int.zero", .int, .int(0)),
        .init("int.minus_one", .int, .int(-1)),
        .init("int.42", .int, .int(42)),
        .init("int.min", .int, .int(.min)),
        .init("int.max", .int, .int(.max)),
        .init("smallint.zero", .smallint, .smallint(0)),
        .init("smallint.min", .smallint, .smallint(.min)),
        .init("smallint.max", .smallint, .smallint(.max)),
        .init("text.empty", .text, .text("")),
        .init("text.hello", .text, .text("hello")),
        .init("text.unicode", .text, .text("héllo wörld ☃ 🦬")),
        .init("text.quote", .text, .text("it's")),
        .init("varchar.hello", .varchar, .text("hello")),
        .init("time.midnight", .time, .time(0)),
        .init("time.last_nanosecond", .time, .time(86_399_999_999_999)),
        .init("time.12_34_56_789", .time, .time(45_296_789_000_000)),
        .init("timestamp.epoch", .timestamp, .timestamp(0)),
        .init("timestamp.before_epoch", .timestamp, .timestamp(-1)),
        .init("timestamp.2023", .timestamp, .timestamp(1_700_000_000_123)),
        .init("timestamp.datetime", .timestamp, .timestamp(1_704_164_645_678)),
        .init("timestamp.min", .timestamp, .timestamp(.min)),
        .init("timestamp.max", .timestamp, .timestamp(.max)),
        .init("timeuuid.v1", .timeuuid, .uuid(timeUUID)),
        .init("uuid.v4", .uuid, .uuid(randomUUID)),
        .init("uuid.nil", .uuid, .uuid(uuid("00000000-0000-0000-0000-000000000000"))),
        .init("uuid.max", .uuid, .uuid(uuid("FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF"))),
        .init("tinyint.zero", .tinyint, .tinyint(0)),
        .init("tinyint.min", .tinyint, .tinyint(.min)),
        .init("tinyint.max", .tinyint, .tinyint(.max)),
        .init("varint.zero", .varint, varint("0")),
        .init("varint.one", .varint, varint("1")),
        .init("varint.minus_one", .varint, varint("-1")),
        .init("varint.127", .varint, varint("127")),
        .init("varint.128", .varint, varint("128")),
        .init("varint.minus_128", .varint, varint("-128")),
        .init("varint.minus_129", .varint, varint("-129")),
        .init("varint.255", .varint, varint("255")),
        .init("varint.256", .varint, varint("256")),
        .init("varint.int64_max", .varint, varint("9223372036854775807")),
        .init("varint.int64_min", .varint, varint("-9223372036854775808")),
        .init("varint.2_pow_64", .varint, varint("18446744073709551616")),
        .init("varint.10_pow_40", .varint, varint("10000000000000000000000000000000000000000")),
        .init("varint.big_negative", .varint, varint("-1267650600228229401496703217721")),
        .init("list_int.three", .list(.int), .list(ints(1, 2, 3))),
        .init("list_int.empty", .list(.int), .list([])),
        .init("list_text.mixed", .list(.varchar), .list(text("a", "", "ü"))),
        .init("set_int.three", .set(.int), .set(ints(1, 2, 3))),
        .init("set_uuid.two", .set(.uuid), .set([.uuid(randomUUID), .uuid(timeUUID)])),
        .init("map_text_int.two", .map(.varchar, .int), .map([entry(.text("a"), .int(1)), entry(.text("b"), .int(2))])),
        .init("map_text_int.empty", .map(.varchar, .int), .map([])),
        .init("map_text_blob.one", .map(.varchar, .blob), .map([entry(.text("k"), .blob([0x00, 0xFF]))])),
        .init(
            "map_int_list_text.nested", .map(.int, .list(.varchar)),
            .map([entry(.int(1), .list(text("x", "y"))), entry(.int(2), .list([]))])),
        .init(
            "list_map_text_list_int.nested", .list(.map(.varchar, .list(.int))),
            .list([
                .map([entry(.text("a"), .list(ints(1, 2)))]),
                .map([]),
                .map([entry(.text("b"), .list([])), entry(.text("c"), .list(ints(3)))]),
            ])),
        .init(
            "list_tuple_int_text.two", .list(.tuple([.int, .varchar])),
            .list([.tuple([.int(1), .text("one")]), .tuple([.int(2), .text("two")])])),
        .init("tuple_int_text_boolean.full", .tuple([.int, .varchar, .boolean]), .tuple([.int(1), .text("x"), .boolean(true)])),
        .init("tuple_int_text_boolean.with_null", .tuple([.int, .varchar, .boolean]), .tuple([.int(1), .null, .boolean(false)])),
        .init(
            "tuple_nested.collections", .tuple([.int, .list(.varchar), .map(.int, .int)]),
            .tuple([.int(7), .list(text("a")), .map([entry(.int(1), .int(10)), entry(.int(2), .int(20))])])),
        .init("udt_address.full", addressType, .udt([.text("Main St"), .int(12345), .set(text("home", "work"))])),
        .init("udt_address.with_nulls", addressType, .udt([.text("Side St"), .null, .null])),
    ]
}

@Suite("Golden bytes: CQL values against the DataStax Python driver")
struct GoldenValueTests {
    @Test(arguments: GoldenValue.all)
    func encodesLikeThePythonDriver(_ golden: GoldenValue) throws {
        let expected = try GoldenFixture.shared().value(golden.name)
        var buffer = ByteBuffer()
        try golden.value.writeBody(as: golden.type, into: &buffer)
        #expect(buffer.bytes.hex == expected.hex)

        // The [value] form is the same bytes behind an [int] length.
        var framed = ByteBuffer()
        try golden.value.write(as: golden.type, into: &framed)
        #expect(framed.readInteger(as: Int32.self) == Int32(expected.count))
        #expect(framed.bytes == expected)
    }

    @Test(arguments: GoldenValue.all)
    func decodesThePythonDriversBytes(_ golden: GoldenValue) throws {
        var body = ByteBuffer(bytes: try GoldenFixture.shared().value(golden.name))
        let decoded = try CQLValue.decode(golden.type, body: &body)
        #expect(sameBits(decoded, golden.value), "decoded \(decoded), expected \(golden.value)")
        #expect(body.readableBytes == 0)

        // And through the [value] reader, as cells and bound values are read.
        var framed = ByteBuffer()
        framed.writeCQLBytes(try GoldenFixture.shared().value(golden.name))
        #expect(sameBits(try CQLValue.read(golden.type, from: &framed), golden.value))
    }

    @Test func nullUnsetAndLengthPrefixedValues() throws {
        let fixture = try GoldenFixture.shared()
        var null = ByteBuffer()
        try CQLValue.null.write(as: .int, into: &null)
        #expect(null.bytes == (try fixture.value("value.null")))
        var unset = ByteBuffer()
        try CQLValue.unset.write(as: .varchar, into: &unset)
        #expect(unset.bytes == (try fixture.value("value.unset")))
        var int42 = ByteBuffer()
        try CQLValue.int(42).write(as: .int, into: &int42)
        #expect(int42.bytes == (try fixture.value("value.int42")))

        var buffer = ByteBuffer(bytes: try fixture.value("value.null") + fixture.value("value.unset") + fixture.value("value.int42"))
        #expect(try CQLValue.read(.int, from: &buffer) == .null)
        #expect(try CQLValue.read(.int, from: &buffer) == .unset)
        #expect(try CQLValue.read(.int, from: &buffer) == .int(42))
        #expect(buffer.readableBytes == 0)
        // The bound-value form of the same bytes.
        var bound = ByteBuffer(bytes: try fixture.value("value.null") + fixture.value("value.unset") + fixture.value("value.int42"))
        #expect(try CQLBoundValue.read(from: &bound) == .null)
        #expect(try CQLBoundValue.read(from: &bound) == .unset)
        #expect(try CQLBoundValue.read(from: &bound).decode(as: .int) == .int(42))
    }

    @Test func everyFixtureValueHasASwiftCase() throws {
        let fixture = try GoldenFixture.shared()
        let swiftNames = Set(GoldenValue.all.map(\.name)).union(["value.null", "value.unset", "value.int42"])
        #expect(Set(fixture.values.keys).subtracting(swiftNames).sorted() == [])
        #expect(swiftNames.subtracting(fixture.values.keys).sorted() == [])
        #expect(swiftNames.count == GoldenValue.all.count + 3, "duplicate names in GoldenValue.all")
    }

    @Test func everyScalarTypeIsCovered() {
        let covered = Set(GoldenValue.all.map(\.type.optionID))
        let scalarIDs: [UInt16] = Array(0x0001...0x0015).filter { $0 != 0x000A }  // 0x000A was `text`, removed in v3
        for id in scalarIDs + [0x0020, 0x0021, 0x0022, 0x0030, 0x0031] {
            #expect(covered.contains(id), "no golden value for type option 0x\(String(id, radix: 16))")
        }
    }

    @Test func varcharAndTextAreOneType() {
        #expect(CQLDataType.text == .varchar)
    }

    @Test func valuesThatDoNotFitTheTypeAreTypeMismatches() {
        var buffer = ByteBuffer()
        for (value, type) in [
            (CQLValue.text("é"), CQLDataType.ascii), (.uuid(randomUUID), .timeuuid), (.int(1), .varchar),
            (.tuple(ints(1, 2)), .tuple([.int])), (.udt(ints(1, 2, 3, 4)), addressType),
        ] {
            #expect(throws: CQLProtocolError.self) { try value.writeBody(as: type, into: &buffer) }
        }
    }
}
