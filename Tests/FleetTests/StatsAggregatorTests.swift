import LoadEngine
import Testing
@testable import Fleet

@Suite struct StatsAggregatorTests {
    func interval(_ sequence: UInt64, second: Int, latencies: [UInt64], failures: UInt64 = 0) -> WorkerInterval {
        var metrics = OperationMetrics()
        for latency in latencies { metrics.recordSuccess(latencyMicros: latency) }
        for _ in 0..<failures {
            metrics.recordFailure(OperationFailure(kind: .timeout, outcomeUnknown: true, isRetryable: false, message: "t"), final: true)
        }
        return WorkerInterval(sequence: sequence, second: second, metrics: MetricsSnapshot(operations: ["insert": metrics]))
    }

    @Test func mergedPercentilesEqualOneHistogramFedEverySample() throws {
        var generator = SplitMix(seed: 7)
        var reference = LatencyHistogram()
        var aggregator = StatsAggregator()
        for worker in ["a", "b", "c"] {
            for sequence in 1...5 as ClosedRange<UInt64> {
                let samples = (0..<200).map { _ in 50 + generator.next() % 200_000 }
                for sample in samples { reference.record(micros: sample) }
                // Through the wire form, as the coordinator receives it.
                let wire = interval(sequence, second: Int(sequence) - 1, latencies: samples).wire
                #expect(aggregator.ingest(try WorkerInterval(wire: wire), from: worker) == .accepted)
            }
        }
        let merged = try #require(aggregator.total.operations["insert"])
        #expect(merged.successes == 3_000)
        #expect(merged.latency == reference)
        for percentile in [50.0, 95, 99, 99.9, 100] {
            #expect(merged.latency.valueAtPercentile(percentile) == reference.valueAtPercentile(percentile))
        }
        #expect(aggregator.perSecond.count == 5)
        #expect(aggregator.perSecond[0]?.operations["insert"]?.successes == 600)
    }

    @Test func resentIntervalsAreDroppedBySequence() {
        var aggregator = StatsAggregator()
        let first = interval(1, second: 0, latencies: [100, 200])
        let third = interval(3, second: 2, latencies: [300])
        #expect(aggregator.ingest(first, from: "a", instance: "x") == .accepted)
        #expect(aggregator.ingest(third, from: "a", instance: "x") == .accepted)
        #expect(aggregator.contiguousThrough(worker: "a", instance: "x") == 1)
        #expect(aggregator.ingest(first, from: "a", instance: "x") == .duplicate)
        #expect(aggregator.ingest(interval(2, second: 1, latencies: [5]), from: "a", instance: "x") == .accepted)
        #expect(aggregator.contiguousThrough(worker: "a", instance: "x") == 3)
        #expect(aggregator.ingest(third, from: "a", instance: "x") == .duplicate)
        // A new process of the same worker restarts its numbering.
        #expect(aggregator.ingest(first, from: "a", instance: "y") == .accepted)
        #expect(aggregator.total.operations["insert"]?.successes == 6)
        #expect(aggregator.perWorker["a"]?.operations["insert"]?.successes == 6)
        #expect(aggregator.duplicates == 2)
    }

    @Test func reconcilesFinalTotalsWithTheSumOfIntervals() {
        var aggregator = StatsAggregator()
        let one = interval(1, second: 0, latencies: [100, 200], failures: 1)
        let two = interval(2, second: 1, latencies: [300])
        aggregator.ingest(one, from: "a")
        var totals = one.metrics
        totals.accumulate(later: two.metrics)
        let missing = aggregator.reconcile(worker: "a", finalTotals: totals, lastSequence: 2)
        #expect(missing.count == 2)
        aggregator.ingest(two, from: "a")
        #expect(aggregator.reconcile(worker: "a", finalTotals: totals, lastSequence: 2).isEmpty)
        #expect(aggregator.total.operations["insert"]?.errors(.timeout) == 1)
        #expect(aggregator.total.operations["insert"]?.unknownOutcomes == 1)
    }

    @Test func malformedHistogramBytesAreAnErrorNotACrash() {
        var wire = interval(1, second: 0, latencies: [1]).wire
        wire.operations[0].latencyHistogram = .init([1, 200, 3])
        #expect(throws: FleetError.self) { try WorkerInterval(wire: wire) }
        wire = interval(0, second: 0, latencies: [1]).wire
        #expect(throws: FleetError.self) { try WorkerInterval(wire: wire) }
    }
}
