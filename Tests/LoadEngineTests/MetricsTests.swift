import Testing
@testable import LoadEngine

@Suite struct MetricsTests {
    /// Deterministic pseudo-random latencies spanning several orders of magnitude.
    func latencies(count: Int, seed: UInt64) -> [UInt64] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let magnitude = (state >> 60) % 7
            var value = (state >> 20) % 1000 + 1
            for _ in 0..<magnitude { value *= 3 }
            return value
        }
    }

    @Test func encodingRoundTripIsExact() throws {
        var histogram = LatencyHistogram()
        for value in latencies(count: 20_000, seed: 7) { histogram.record(micros: value) }
        histogram.record(micros: 123_456_789)  // beyond the initial range: the histogram grows
        let bytes = histogram.encoded()
        let decoded = try LatencyHistogram(encoded: bytes)
        #expect(decoded == histogram)
        #expect(decoded.count == histogram.count)
        #expect(decoded.maxMicros == histogram.maxMicros)
        #expect(decoded.minMicros == histogram.minMicros)
        for percentile in [50.0, 90, 95, 99, 99.9, 99.99, 100] {
            #expect(decoded.valueAtPercentile(percentile) == histogram.valueAtPercentile(percentile))
        }
        #expect(bytes.count < 20_000)
    }

    @Test func emptyAndSingleSampleRoundTrip() throws {
        let empty = LatencyHistogram()
        #expect(try LatencyHistogram(encoded: empty.encoded()) == empty)
        var single = LatencyHistogram()
        single.record(micros: 4321)
        let decoded = try LatencyHistogram(encoded: single.encoded())
        #expect(decoded == single)
        #expect(decoded.maxMicros == 4321 && decoded.minMicros == 4321)
        var zero = LatencyHistogram()
        zero.record(micros: 0, count: 3)
        zero.record(micros: 77)
        #expect(try LatencyHistogram(encoded: zero.encoded()) == zero)
    }

    @Test func malformedEncodingIsRejected() {
        var histogram = LatencyHistogram()
        for value in latencies(count: 100, seed: 3) { histogram.record(micros: value) }
        let bytes = histogram.encoded()
        #expect(throws: LoadEngineError.self) { try LatencyHistogram(encoded: Array(bytes.dropLast())) }
        #expect(throws: LoadEngineError.self) { try LatencyHistogram(encoded: bytes + [0]) }
        #expect(throws: LoadEngineError.self) { try LatencyHistogram(encoded: [9]) }
        #expect(throws: LoadEngineError.self) { try LatencyHistogram(encoded: []) }
    }

    @Test func mergedWorkerHistogramsEqualOneHistogramOfAllSamples() {
        var all = LatencyHistogram()
        var merged = LatencyHistogram()
        for worker in 0..<4 {
            var local = LatencyHistogram()
            for value in latencies(count: 5000, seed: UInt64(worker) + 11) {
                local.record(micros: value)
                all.record(micros: value)
            }
            merged.merge(local)
        }
        #expect(merged == all)
        #expect(merged.valueAtPercentile(99) == all.valueAtPercentile(99))
    }

    @Test func recorderIntervalsAddUpToEverySample() async {
        let recorder = MetricsRecorder(operationNames: ["write", "read"], shardCount: 4)
        var reference = LatencyHistogram()
        let values = latencies(count: 4000, seed: 5)
        for value in values { reference.record(micros: value) }
        var total = MetricsSnapshot()
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    let shard = recorder.shard(for: task)
                    for (offset, value) in values.enumerated() where offset % 8 == task {
                        recorder.recordSuccess(shard: shard, operation: 0, latencyMicros: value)
                    }
                    recorder.recordFailure(
                        shard: shard, operation: 1,
                        failure: OperationFailure(kind: .timeout, outcomeUnknown: true, isRetryable: true, message: "t"),
                        final: task % 2 == 0)
                }
            }
            // Take intervals while recording goes on: nothing may be lost or counted twice.
            for _ in 0..<3 {
                total.accumulate(later: recorder.takeInterval().metrics)
                await Task.yield()
            }
        }
        total.accumulate(later: recorder.takeInterval().metrics)
        let write = total.operations["write"] ?? OperationMetrics()
        #expect(write.successes == 4000)
        #expect(write.latency == reference)
        let read = total.operations["read"] ?? OperationMetrics()
        #expect(read.errors(.timeout) == 8)
        #expect(read.unknownOutcomes == 8)
        #expect(read.failures == 4 && read.retries == 4)
        #expect(total.combined.attempts == 4008)
    }

    @Test func recorderTakesShardsThatRecordedOnlyDropsOrLag() {
        let recorder = MetricsRecorder(operationNames: ["write"], shardCount: 4)
        recorder.recordDropped(shard: 3, count: 7)
        recorder.recordScheduleLag(shard: 2, micros: 1500)
        let first = recorder.takeInterval()
        #expect(first.metrics.dropped == 7)
        #expect(first.maxScheduleLagMicros == 1500)
        // Taken once: the next interval starts empty.
        let second = recorder.takeInterval()
        #expect(second.metrics.dropped == 0 && second.maxScheduleLagMicros == 0)
    }

    @Test func reusedAccumulatorsStartEachIntervalEmpty() {
        // The accumulator taken in one interval is emptied and swapped back in at the next: every interval must still
        // hold exactly its own samples, errors and drops, including after a latency that grew the histogram.
        let recorder = MetricsRecorder(operationNames: ["write"], shardCount: 1)
        let timeout = OperationFailure(kind: .timeout, outcomeUnknown: true, isRetryable: true, message: "slow")
        for interval in 0..<4 {
            let values = latencies(count: 100 + interval, seed: UInt64(interval + 1))
            var reference = LatencyHistogram()
            for value in values {
                recorder.recordSuccess(shard: 0, operation: 0, latencyMicros: value)
                reference.record(micros: value)
            }
            if interval == 1 {
                // Beyond the initial range: the histogram resizes, and keeps its size when emptied.
                recorder.recordSuccess(shard: 0, operation: 0, latencyMicros: 90_000_000)
                reference.record(micros: 90_000_000)
            }
            if interval == 2 {
                recorder.recordFailure(shard: 0, operation: 0, failure: timeout, final: false)
                recorder.recordDropped(shard: 0, count: 3)
            }
            let taken = recorder.takeInterval().metrics
            let write = taken.operations["write"] ?? OperationMetrics()
            #expect(write.successes == UInt64(reference.count), "interval \(interval)")
            #expect(write.latency.buckets.map { [$0.value, $0.count] } == reference.buckets.map { [$0.value, $0.count] }, "interval \(interval)")
            #expect(write.latency.maxMicros == reference.maxMicros, "interval \(interval)")
            #expect(write.retries == (interval == 2 ? 1 : 0) && write.errors(.timeout) == (interval == 2 ? 1 : 0))
            #expect(write.errorMessages.isEmpty == (interval != 2))
            #expect(taken.dropped == (interval == 2 ? 3 : 0))
        }
    }

    @Test func logsShowTheFirstSecondThenOneLineEveryTenSeconds() {
        let logged = (0..<35).filter { ProgressFormatter.logsLine(afterInterval: $0) }
        #expect(logged == [0, 9, 19, 29])
    }
}
