import Foundation
import LoadEngine

extension RunReport {
    /// The reports of a finished run built from the load engine's values (a headless `stampede run`, or the
    /// coordinator at the end of a run without the dashboard open): the whole-run totals, the per-second reports and
    /// the results document written beside them.
    ///
    /// - Parameters:
    ///   - results: the results document; written verbatim as `distributed_results.json`.
    ///   - totals: whole-run metrics, all workers merged.
    ///   - intervals: one merged report per second, in order.
    ///   - failures: failures by operation, kind and message, when known (the CSV then lists them).
    ///   - context: version, driver settings and topology for the bundle.
    public init(
        results: RunResults, totals: MetricsSnapshot, intervals: [IntervalReport], failures: [FailureRecord] = [],
        context: RunBundleContext = RunBundleContext()
    ) {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let startedAt = formatter.date(from: results.startedAt) ?? ISO8601DateFormatter().date(from: results.startedAt)
        let snapshot = RunSnapshot(
            runID: results.runID, state: .finished, workload: results.workload,
            loadDescription: results.config["model"] ?? "", startedAt: startedAt,
            elapsed: .milliseconds(Int64((results.totalTime * 1000).rounded())), target: results.target,
            completed: results.totalMessages, total: totals, recent: intervals.last?.metrics ?? MetricsSnapshot(),
            series: intervals.map { SecondSample(second: $0.second, metrics: $0.metrics) },
            failures: failures,
            workers: results.workers.map {
                WorkerStatus(id: $0.workerID, host: "", state: $0.status, total: $0.totalMessages, failures: $0.failures, wasLost: $0.status == "lost")
            },
            configuration: results.config, message: "Stopped: \(results.stopReason)."
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        self.init(
            snapshot: snapshot,
            secondHistograms: intervals.map { SecondHistogram(second: $0.second, histogram: $0.metrics.combined.latency) },
            context: context, providedResultsJSON: (try? encoder.encode(results)).map(Array.init)
        )
    }
}

extension RunBundle {
    /// A bundle from a results document alone (no bundle was written, e.g. an older run's `distributed_results.json`),
    /// so `stampede compare` can read either.
    public init(results: RunResults) {
        var summary = RunSummary(RunSnapshot(runID: results.runID, state: .finished, workload: results.workload, target: results.target))
        summary.startedAt = results.startedAt
        summary.elapsedSeconds = results.totalTime
        summary.completed = results.totalMessages
        summary.requests = results.totalOperations
        summary.failures = results.failures
        summary.failureRatio = results.totalOperations > 0 ? Double(results.failures) / Double(results.totalOperations) : 0
        summary.unknownOutcomes = results.unknownOutcomes
        summary.retries = results.retries
        summary.dropped = results.dropped
        summary.averageRPS = results.totalTime > 0 ? Double(results.totalOperations) / results.totalTime : 0
        summary.run = LatencySummary(p50: results.p50, p95: results.p95, p99: results.p99, p999: results.p999, max: results.max, mean: results.mean)
        summary.progress = results.target.map { $0 > 0 ? Swift.min(1, Double(results.totalMessages) / Double($0)) : 1 }
        let series = results.perSecond.map {
            SecondSample(
                second: $0.second, requests: $0.operations, failures: $0.operations - $0.successes,
                percentilesMicros: [$0.p50, $0.p50, $0.p50, $0.p95, $0.p95, $0.p95, $0.p99, $0.p99, $0.max, $0.max, $0.max].map { UInt64(($0 * 1000).rounded()) }
            )
        }
        let created = ISO8601DateFormatter().date(from: results.startedAt) ?? Date(timeIntervalSince1970: 0)
        self.init(
            runID: results.runID, createdAt: created, context: RunBundleContext(), configuration: results.config, summary: summary,
            operations: [], failures: [],
            errorsByKind: ErrorKind.allCases.map { ErrorKindCount(kind: $0.description, count: results.errorsByKind[$0.description] ?? 0) },
            workers: results.workers.map { WorkerStatus(id: $0.workerID, host: "", state: $0.status, total: $0.totalMessages, failures: $0.failures) },
            series: series
        )
    }
}
