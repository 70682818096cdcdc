import Foundation
import Testing
@testable import LoadEngine

@Suite struct IndexRangeSetTests {
    @Test func insertsMergeTouchingAndOverlappingRanges() {
        var set = IndexRangeSet()
        for index: UInt64 in [5, 3, 4, 10, 12, 11, 20] { set.insert(index) }
        #expect(set.ranges == [3..<6, 10..<13, 20..<21])
        #expect(set.count == 7)
        set.insert(0..<4)
        set.insert(6..<10)
        #expect(set.ranges == [0..<13, 20..<21])
        #expect(set.count == 14)
        set.insert(5)  // already there
        #expect(set.count == 14)
        #expect(set.contains(0) && set.contains(12) && set.contains(20))
        #expect(!set.contains(13) && !set.contains(19) && !set.contains(21))
        #expect(set.indexes == Array(0..<13) + [20])
    }

    @Test func beyondTheLimitIndexesAreCountedNotKept() {
        var set = IndexRangeSet(rangeLimit: 2)
        set.insert(1)
        set.insert(10)
        set.insert(20)  // would need a third range
        set.insert(11)  // extends a kept range
        #expect(set.ranges == [1..<2, 10..<12])
        #expect(set.overflow == 1)
        #expect(!set.isComplete)
    }

    @Test func restrictsToAWindowAndRoundTripsThroughJSON() throws {
        let set = IndexRangeSet(ranges: [0..<5, 8..<9, 100..<200])
        #expect(set.restricted(to: 3..<150).ranges == [3..<5, 8..<9, 100..<150])
        #expect(set.restricted(to: 5..<8).isEmpty)
        let data = try JSONEncoder().encode(set)
        #expect(String(decoding: data, as: UTF8.self).contains("\"ranges\":[[0,5],[8,9],[100,200]]"))
        #expect(try JSONDecoder().decode(IndexRangeSet.self, from: data) == set)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(IndexRangeSet.self, from: Data("{\"ranges\": [[3]]}".utf8)) }
    }
}
