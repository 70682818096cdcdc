import Testing
@testable import Fleet

@Suite struct ClockOffsetEstimatorTests {
    @Test func offsetFromTheShortestRoundTrip() {
        var estimator = ClockOffsetEstimator()
        #expect(estimator.offsetNanos == 0)
        // Worker clock is 5 ms ahead. A slow probe (asymmetric delay) and a fast one.
        estimator.add(sentAt: 1_000_000_000, workerTime: 1_000_000_000 + 5_000_000 + 9_000_000, receivedAt: 1_010_000_000)
        estimator.add(sentAt: 2_000_000_000, workerTime: 2_000_000_000 + 5_000_000 + 100_000, receivedAt: 2_000_200_000)
        #expect(estimator.offsetNanos == 5_000_000)
        #expect(estimator.best?.roundTripNanos == 200_000)
        #expect(estimator.sampleCount == 2)
        estimator.add(sentAt: 10, workerTime: 0, receivedAt: 5)
        #expect(estimator.sampleCount == 2)
    }

    @Test func startBarrierOnEachWorkersClock() {
        let barrier = StartBarrier(now: 1_000, lead: .milliseconds(2))
        #expect(barrier.startAtCoordinatorNanos == 2_001_000)
        #expect(barrier.startOnWorker(offsetNanos: -1_000) == 2_000_000)
        #expect(Duration.seconds(3).nanoseconds == 3_000_000_000)
    }
}
