import CQLProtocol
import Foundation
import Testing

@Suite struct CQLTimeUUIDTests {
    @Test func generatedUUIDsAreVersionOneRFCVariantAndStrictlyIncreasing() {
        let generator = CQLTimeUUIDGenerator()
        let fixedNow = Date(timeIntervalSince1970: 1_700_000_000)
        var previous: UUID?
        for _ in 0..<10_000 {
            let uuid = generator.next(now: fixedNow)
            #expect(uuid.cqlVersion == 1)
            #expect(uuid.cqlBytes[8] & 0xC0 == 0x80)
            if let previous { #expect(CQLTimeUUIDGenerator.compare(previous, uuid)) }
            previous = uuid
        }
    }

    @Test func timestampRoundTripsThroughTheUUID() throws {
        let uuid = CQLTimeUUIDGenerator().next(now: Date(timeIntervalSince1970: 1_700_000_000.123))
        #expect(CQLTimeUUIDGenerator.unixMilliseconds(of: uuid) == 1_700_000_000_123)
        let date = try Date(cqlValue: .uuid(uuid))
        #expect(abs(date.timeIntervalSince1970 - 1_700_000_000.123) < 0.001)
    }

    @Test func knownLayoutMatchesRFC4122() {
        // Fields: time_low 0x1E4D5C00, time_mid 0x0A34, version 1 + time_hi 0x1EB, clock seq 0x0123, node 0xA1B2C3D4E5F6.
        let timestamp: Int64 = 0x1EB_0A34_1E4D_5C00
        let uuid = CQLTimeUUIDGenerator.make(timestamp: timestamp, clockSequence: 0x0123, node: 0xA1B2_C3D4_E5F6)
        #expect(uuid.uuidString.lowercased() == "1e4d5c00-0a34-11eb-8123-a1b2c3d4e5f6")
        #expect(CQLTimeUUIDGenerator.timestamp(of: uuid) == timestamp)
    }

    @Test func twoGeneratorsNeverCollide() {
        let first = CQLTimeUUIDGenerator(), second = CQLTimeUUIDGenerator()
        let now = Date()
        let a = Set((0..<1000).map { _ in first.next(now: now) })
        let b = Set((0..<1000).map { _ in second.next(now: now) })
        #expect(a.isDisjoint(with: b))
    }
}

@Suite struct CQLValueConvertibleTests {
    @Test func swiftValuesRoundTrip() throws {
        let id = UUID()
        #expect(try UUID(cqlValue: id.cqlValue) == id)
        #expect(try String(cqlValue: "héllo".cqlValue) == "héllo")
        #expect(try Int32(cqlValue: Int32(-5).cqlValue) == -5)
        #expect(try Int(cqlValue: .int(42)) == 42)
        #expect(try [String](cqlValue: ["a", "b"].cqlValue) == ["a", "b"])
        #expect(try [String](cqlValue: .null) == [])
        #expect(try Set<Int32>(cqlValue: Set<Int32>([1, 2]).cqlValue) == [1, 2])
        #expect(try [String: Int32](cqlValue: ["k": Int32(1)].cqlValue) == ["k": 1])
        #expect(try String?(cqlValue: .null) == nil)
        #expect(try Date(cqlValue: .timestamp(1500)).timeIntervalSince1970 == 1.5)
    }

    @Test func mismatchedKindsThrowInsteadOfTrapping() {
        #expect(throws: CQLProtocolError.self) { try String(cqlValue: .int(1)) }
        #expect(throws: CQLProtocolError.self) { try Int8(cqlValue: .int(300)) }
        #expect(throws: CQLProtocolError.self) { try [CQLValue]().decode(String.self, at: 0) }
    }
}

@Suite struct CQLLZ4Tests {
    @Test func compressedBodiesRoundTrip() throws {
        let text = String(repeating: "chat message body ", count: 200)
        let body = ByteBufferFixture.make(text)
        let compressed = CQLLZ4.compress(body)
        #expect(compressed.readableBytes < body.readableBytes)
        #expect(compressed.getInteger(at: compressed.readerIndex, as: Int32.self) == Int32(body.readableBytes))
        #expect(try CQLLZ4.decompress(compressed) == body)
        #expect(try CQLLZ4.decompress(CQLLZ4.compress(ByteBufferFixture.make(""))).readableBytes == 0)
    }

    @Test func corruptOrLyingBodiesAreErrors() {
        var lying = CQLLZ4.compress(ByteBufferFixture.make("abcdefabcdefabcdef"))
        lying.setInteger(Int32(1000), at: lying.readerIndex)
        #expect(throws: CQLProtocolError.self) { try CQLLZ4.decompress(lying) }
        #expect(throws: CQLProtocolError.self) { try CQLLZ4.decompress(ByteBufferFixture.make("\u{0}\u{0}\u{0}\u{9}garbage!!")) }
        #expect(throws: CQLProtocolError.self) { try CQLLZ4.decompress(ByteBufferFixture.make("\u{0}")) }
        var negative = ByteBufferFixture.make("")
        negative.writeInteger(Int32(-1))
        #expect(throws: CQLProtocolError.self) { try CQLLZ4.decompress(negative) }
    }
}

import NIOCore

enum ByteBufferFixture {
    static func make(_ string: String) -> ByteBuffer { ByteBuffer(string: string) }
}
