import CQLProtocol
import Testing

/// Expected tokens computed with the DataStax Python driver (`cassandra.murmur3.murmur3`, 3.30.1).
@Suite struct Murmur3PartitionerTests {
    static func bytes(_ hex: String) -> [UInt8] {
        var result: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            result.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return result
    }

    @Test(arguments: [
        ("", Int64(0)),
        ("61", Int64(-8_839_064_797_231_613_815)),
        ("68656c6c6f", Int64(-3_758_069_500_696_749_310)),
        ("000102030405060708090a0b0c0d0e0f10", Int64(6_662_781_046_685_680_142)),
        ("80ff7f01fe", Int64(-2_860_353_042_049_036_854)),
        ("5b6962dd3f904c938f61eabfa4a803e2", Int64(-236_102_846_372_591_546)),
        ("0000002a", Int64(-7_160_136_740_246_525_330)),
        (String(repeating: "ff", count: 31), Int64(-3_550_403_632_215_323_560)),
    ])
    func tokenMatchesPythonDriver(hex: String, expected: Int64) {
        #expect(Murmur3Partitioner.token(of: Self.bytes(hex)) == expected)
    }

    @Test func compositeKeyEncodingAndToken() {
        let key = Murmur3Partitioner.serializedKey(components: [Array("user1".utf8), [0, 0, 0, 7]])
        #expect(key == Self.bytes("000575736572310000040000000700"))
        #expect(Murmur3Partitioner.token(of: key) == 621_578_763_449_673_092)
        #expect(Murmur3Partitioner.components(ofCompositeKey: key, count: 2) == [Array("user1".utf8), [0, 0, 0, 7]])
        #expect(Murmur3Partitioner.components(ofCompositeKey: [0, 9, 1], count: 2) == nil)
    }
}
