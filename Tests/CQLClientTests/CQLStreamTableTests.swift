import NIOCore
import Testing

@testable import CQLClient

@Suite struct CQLStreamTableTests {
    @Test func allocatesUpToCapacityThenRefuses() {
        var table = CQLStreamTable<Int>(capacity: 3)
        let far = NIODeadline.now() + .hours(1)
        #expect(table.allocate(10, deadline: far) == 0)
        #expect(table.allocate(11, deadline: far) == 1)
        #expect(table.allocate(12, deadline: far) == 2)
        #expect(table.allocate(13, deadline: far) == nil)
        #expect(table.inFlightCount == 3)
        guard case .pending(11) = table.complete(stream: 1) else {
            Issue.record("stream 1 should complete request 11")
            return
        }
        #expect(table.allocate(14, deadline: far) == 1)
    }

    @Test func timedOutStreamsStayReservedUntilTheLateAnswerArrives() {
        var table = CQLStreamTable<Int>(capacity: 1)
        let past = NIODeadline.now() - .seconds(1)
        #expect(table.allocate(1, deadline: past) == 0)
        #expect(table.expire(now: .now()) == [1])
        #expect(table.orphanedCount == 1)
        #expect(table.allocate(2, deadline: past) == nil, "an orphaned id must not be reused")
        guard case .orphaned = table.complete(stream: 0) else {
            Issue.record("late answer should hit the orphaned slot")
            return
        }
        #expect(table.allocate(3, deadline: past) == 0)
    }

    @Test func unknownAndOutOfRangeStreamsAreReported() {
        var table = CQLStreamTable<Int>(capacity: 2)
        guard case .unknownStream = table.complete(stream: 1), case .unknownStream = table.complete(stream: 500),
              case .unknownStream = table.complete(stream: -5)
        else {
            Issue.record("unknown streams must be reported")
            return
        }
    }

    @Test func removeAllReturnsEveryWaitingRequest() {
        var table = CQLStreamTable<Int>(capacity: 4)
        let far = NIODeadline.now() + .hours(1)
        for value in 0..<4 { _ = table.allocate(value, deadline: far) }
        #expect(table.removeAll().sorted() == [0, 1, 2, 3])
        #expect(table.inFlightCount == 0)
        #expect(table.allocate(9, deadline: far) == 0)
    }
}
