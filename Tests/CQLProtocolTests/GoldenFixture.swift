import Foundation
import NIOCore
import Testing

@testable import CQLProtocol

/// The golden bytes in `Fixtures/golden.json`, produced by `scripts/gen-golden.py` with the DataStax Python driver
/// (values and requests) or written by hand from the spec and checked by that driver's decoder (responses).
struct GoldenFixture: Sendable {
    struct Case: Sendable, Decodable {
        var name: String
        var hex: String
        var stream: Int16?
        var python: String?
        /// For compressed frames: the uncompressed body.
        var plain: String?
    }

    private struct Document: Decodable {
        var values: [Case]
        var requests: [Case]
        var responses: [Case]
        var compressed: [Case]
    }

    let values: [String: Case]
    let requests: [String: Case]
    let responses: [String: Case]
    let compressed: [String: Case]

    /// Loaded once; a missing or unreadable fixture fails every test that uses it with the reason.
    static let loaded: Result<GoldenFixture, any Error> = Result { try GoldenFixture.load() }

    static func shared() throws -> GoldenFixture { try loaded.get() }

    private static func load() throws -> GoldenFixture {
        let data = try Data(contentsOf: try fixtureURL())
        let document = try JSONDecoder().decode(Document.self, from: data)
        func index(_ cases: [Case]) -> [String: Case] {
            Dictionary(cases.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        }
        return GoldenFixture(
            values: index(document.values), requests: index(document.requests), responses: index(document.responses),
            compressed: index(document.compressed))
    }

    private static func fixtureURL() throws -> URL {
        if let url = Bundle.module.url(forResource: "golden", withExtension: "json", subdirectory: "Fixtures") {
            return url
        }
        // Fall back to the source tree (e.g. when resources are not bundled).
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/golden.json")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw GoldenFixtureError(message: "golden.json not found; run python3 scripts/gen-golden.py")
        }
        return url
    }

    func value(_ name: String) throws -> [UInt8] { try bytes(of: try find(name, in: values, section: "values")) }
    func request(_ name: String) throws -> (stream: Int16, bytes: [UInt8]) {
        let found = try find(name, in: requests, section: "requests")
        return (found.stream ?? 0, try bytes(of: found))
    }
    func response(_ name: String) throws -> [UInt8] { try bytes(of: try find(name, in: responses, section: "responses")) }

    /// A compressed frame and its uncompressed body.
    func compressedFrame(_ name: String) throws -> (stream: Int16, frame: [UInt8], plainBody: [UInt8]) {
        let found = try find(name, in: compressed, section: "compressed")
        guard let plain = found.plain.flatMap({ [UInt8](hex: $0) }) else {
            throw GoldenFixtureError(message: "compressed case \(name) has no plain body")
        }
        return (found.stream ?? 0, try bytes(of: found), plain)
    }

    private func find(_ name: String, in cases: [String: Case], section: String) throws -> Case {
        guard let found = cases[name] else {
            throw GoldenFixtureError(message: "no \(section) case named \(name) in golden.json; run python3 scripts/gen-golden.py")
        }
        return found
    }

    private func bytes(of found: Case) throws -> [UInt8] {
        guard let bytes = [UInt8](hex: found.hex) else { throw GoldenFixtureError(message: "bad hex in case \(found.name)") }
        return bytes
    }
}

struct GoldenFixtureError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

extension Array where Element == UInt8 {
    init?(hex: String) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hex.utf8.count / 2)
        var iterator = hex.utf8.makeIterator()
        while let high = iterator.next() {
            guard let low = iterator.next(), let h = Self.nibble(high), let l = Self.nibble(low) else { return nil }
            bytes.append(h << 4 | l)
        }
        self = bytes
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    var hex: String { map { String(format: "%02x", $0) }.joined() }
}

extension ByteBuffer {
    var bytes: [UInt8] { Array(readableBytesView) }
}

// MARK: - Building expected values without going through the code under test

/// Values compared bit for bit: NaN equals NaN and -0.0 differs from 0.0, unlike `==`.
func sameBits(_ a: CQLValue, _ b: CQLValue) -> Bool {
    switch (a, b) {
    case (.float(let x), .float(let y)): return x.bitPattern == y.bitPattern
    case (.double(let x), .double(let y)): return x.bitPattern == y.bitPattern
    case (.list(let x), .list(let y)), (.set(let x), .set(let y)), (.tuple(let x), .tuple(let y)), (.udt(let x), .udt(let y)):
        return x.count == y.count && zip(x, y).allSatisfy(sameBits)
    case (.map(let x), .map(let y)):
        return x.count == y.count && zip(x, y).allSatisfy { sameBits($0.key, $1.key) && sameBits($0.value, $1.value) }
    default: return a == b
    }
}

/// Two's-complement big-endian bytes of a decimal integer string, computed independently of `CQLVarint`.
func varintBytes(_ decimal: String) -> [UInt8] {
    let negative = decimal.hasPrefix("-")
    var magnitude: [UInt8] = [0]  // big-endian
    for digit in decimal.utf8 where digit != UInt8(ascii: "-") {
        var carry = Int(digit - UInt8(ascii: "0"))
        for index in magnitude.indices.reversed() {
            let value = Int(magnitude[index]) * 10 + carry
            magnitude[index] = UInt8(value & 0xFF)
            carry = value >> 8
        }
        while carry > 0 {
            magnitude.insert(UInt8(carry & 0xFF), at: 0)
            carry >>= 8
        }
    }
    magnitude.insert(0, at: 0)  // room for the sign bit
    if negative {
        var carry = 1
        for index in magnitude.indices.reversed() {
            let value = Int(~magnitude[index]) + carry
            magnitude[index] = UInt8(value & 0xFF)
            carry = value >> 8
        }
    }
    // Strip redundant sign bytes.
    while magnitude.count > 1,
        (magnitude[0] == 0x00 && magnitude[1] & 0x80 == 0) || (magnitude[0] == 0xFF && magnitude[1] & 0x80 != 0)
    {
        magnitude.removeFirst()
    }
    return magnitude
}

func varint(_ decimal: String) -> CQLValue { .varint(CQLVarint(bytes: varintBytes(decimal))) }

func uuid(_ text: String) -> UUID { UUID(uuidString: text) ?? UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)) }

func inet(_ text: String) -> CQLValue {
    guard let address = CQLInet(text) else { return .blob(Array(text.utf8)) }  // makes the comparison fail visibly
    return .inet(address)
}

func inetAddress(_ text: String) -> CQLInet { CQLInet(text) ?? CQLInet(bytes: [0, 0, 0, 0])! }

func text(_ values: String...) -> [CQLValue] { values.map(CQLValue.text) }
func ints(_ values: Int32...) -> [CQLValue] { values.map(CQLValue.int) }
func entry(_ key: CQLValue, _ value: CQLValue) -> CQLMapEntry { CQLMapEntry(key: key, value: value) }

let timeUUID = uuid("F4B8E1A0-8B9A-11EE-B9D1-0242AC120002")
let randomUUID = uuid("123E4567-E89B-42D3-A456-426614174000")
let addressType = CQLDataType.udt(
    keyspace: "ks", name: "address",
    fields: [
        CQLUDTField(name: "street", type: .varchar), CQLUDTField(name: "zip", type: .int),
        CQLUDTField(name: "tags", type: .set(.varchar)),
    ])
