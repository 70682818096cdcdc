import Foundation
import LoadEngine

/// Every report of one run, generated from one snapshot: the self-contained HTML report, Locust-style CSVs, the JSON
/// results, an HDR histogram log and the run bundle. Served by the dashboard and written to `--report-dir`.
public struct RunReport: Sendable {
    public static let htmlFileName = "report.html"
    public static let resultsFileName = "distributed_results.json"
    public static let hdrLogFileName = "latency.hlog"
    public static let bundleFileName = "bundle.json"

    public var snapshot: RunSnapshot
    public var secondHistograms: [SecondHistogram]
    public var context: RunBundleContext
    /// The distributed layer's own results JSON, written verbatim when present.
    public var providedResultsJSON: [UInt8]?
    /// When the report was generated.
    public var generatedAt: Date

    public init(
        snapshot: RunSnapshot, secondHistograms: [SecondHistogram] = [], context: RunBundleContext = RunBundleContext(),
        providedResultsJSON: [UInt8]? = nil, generatedAt: Date = Date()
    ) {
        self.snapshot = snapshot
        self.secondHistograms = secondHistograms.sorted { $0.second < $1.second }
        self.context = context
        self.providedResultsJSON = providedResultsJSON
        self.generatedAt = generatedAt
    }

    /// Gathers everything from a data source.
    public static func collect(from dataSource: any DashboardDataSource, stampedeVersion: String) async -> RunReport {
        var context = await dataSource.bundleContext()
        if context.stampedeVersion.isEmpty { context.stampedeVersion = stampedeVersion }
        return RunReport(
            snapshot: await dataSource.snapshot(), secondHistograms: await dataSource.secondHistograms(), context: context,
            providedResultsJSON: await dataSource.resultsJSON()
        )
    }

    /// The full update (whole series) the page and the HTML report render.
    public var update: DashboardUpdate { DashboardUpdate(snapshot) }

    /// The bundle: configuration, version, driver settings, topology and results.
    public var bundle: RunBundle {
        let update = self.update
        return RunBundle(
            runID: snapshot.runID, createdAt: generatedAt, context: context, configuration: snapshot.configuration,
            summary: update.run, operations: update.operations, failures: update.failures,
            errorsByKind: update.errorsByKind, workers: update.workers, series: update.series
        )
    }

    /// `<prefix>_stats.csv`.
    public var statsCSV: String { LocustCSV.stats(OperationStatsRow.rows(snapshot)) }

    /// `<prefix>_stats_history.csv`.
    public var historyCSV: String {
        var cumulative: [Int: LatencyHistogram] = [:]
        var running = LatencyHistogram()
        for entry in secondHistograms {
            running.merge(entry.histogram)
            cumulative[entry.second] = running
        }
        return LocustCSV.history(series: snapshot.series, start: snapshot.startedAt, cumulative: cumulative)
    }

    /// `<prefix>_failures.csv`.
    public var failuresCSV: String { LocustCSV.failures(snapshot.failures) }

    /// The HDR histogram log: one interval per second when the data source gave them, else the whole run.
    public var hdrLog: String {
        let start = snapshot.startedAt ?? generatedAt
        if !secondHistograms.isEmpty {
            return HDRHistogramLog.render(intervals: secondHistograms.map { (Double($0.second), 1, $0.histogram) }, start: start)
        }
        let whole = snapshot.total.combined.latency
        return HDRHistogramLog.render(intervals: whole.isEmpty ? [] : [(0, max(snapshot.elapsed.seconds, 0.001), whole)], start: start)
    }

    /// The JSON results: the distributed layer's own when provided, else the seed's fields plus the richer ones.
    public func resultsJSON() throws(DashboardError) -> [UInt8] {
        if let providedResultsJSON { return providedResultsJSON }
        let encoder = JSONBody.encoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            return Array(try encoder.encode(SeedResults(snapshot)))
        } catch {
            throw DashboardError(.reportFailed, "the results could not be encoded: \(error)")
        }
    }

    /// The self-contained HTML report (one file: styles, script, data and charts inline).
    public var html: String { DashboardPage.report(update: update, bundle: bundle) }

    /// The report files as (name, bytes), named with `prefix` where Locust names them so.
    public func files(prefix: String) throws(DashboardError) -> [(name: String, bytes: [UInt8])] {
        [
            (Self.htmlFileName, Array(html.utf8)),
            ("\(prefix)_stats.csv", Array(statsCSV.utf8)),
            ("\(prefix)_stats_history.csv", Array(historyCSV.utf8)),
            ("\(prefix)_failures.csv", Array(failuresCSV.utf8)),
            (Self.resultsFileName, try resultsJSON()),
            (Self.hdrLogFileName, Array(hdrLog.utf8)),
            (Self.bundleFileName, try bundle.encoded()),
        ]
    }

    /// Writes every file into `directory` (created if needed); returns their paths.
    @discardableResult
    public func write(to directory: String, prefix: String) throws(DashboardError) -> [String] {
        let manager = FileManager.default
        do {
            try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw DashboardError(.reportFailed, "cannot create the report directory: \(error.localizedDescription)", file: directory)
        }
        var written: [String] = []
        for file in try files(prefix: prefix) {
            let path = (directory as NSString).appendingPathComponent(file.name)
            guard manager.createFile(atPath: path, contents: Data(file.bytes)) else {
                throw DashboardError(.reportFailed, "cannot write the report file", file: path)
            }
            written.append(path)
        }
        return written
    }

    /// Writes every file into `<reportDirectory>/<run id>/`; returns their paths.
    @discardableResult
    public func write(toRunDirectoryIn reportDirectory: String, prefix: String) throws(DashboardError) -> [String] {
        try write(to: (reportDirectory as NSString).appendingPathComponent(Self.safeDirectoryName(snapshot.runID)), prefix: prefix)
    }

    /// A run id made safe as a directory name.
    static func safeDirectoryName(_ runID: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        let cleaned = String(runID.map { allowed.contains($0) ? $0 : "_" })
        return cleaned.isEmpty || cleaned.hasPrefix(".") ? "run-\(cleaned)" : cleaned
    }
}

/// The seed tool's `distributed_results.json` fields, plus the richer ones (snake_case, times in ms and seconds).
struct SeedResults: Encodable {
    struct Worker: Encodable {
        var worker_id: String
        var host: String
        var total_messages: UInt64
        var duration: Double
        var throughput: Double
        var failures: UInt64
        var state: String
        var was_lost: Bool
        var joined_mid_run: Bool
    }

    struct Second: Encodable {
        var second: Int
        var requests: UInt64
        var failures: UInt64
        var p50: Double
        var p95: Double
        var p99: Double
        var max: Double
    }

    var run_id: String
    var workload: String
    var total_messages: UInt64
    var total_time: Double
    var throughput: Double
    var p50: Double
    var p95: Double
    var p99: Double
    var p999: Double
    var max: Double
    var mean: Double
    var failures: UInt64
    var unknown_outcomes: UInt64
    var retries: UInt64
    var errors_by_kind: [String: UInt64]
    var target: UInt64?
    var workers: [Worker]
    var per_second: [Second]
    var run_configuration: [String: String]

    init(_ snapshot: RunSnapshot) {
        let summary = RunSummary(snapshot)
        let combined = snapshot.total.combined
        run_id = snapshot.runID
        workload = snapshot.workload
        total_messages = summary.completed
        total_time = summary.elapsedSeconds
        throughput = summary.elapsedSeconds > 0 ? Double(summary.completed) / summary.elapsedSeconds : 0
        p50 = summary.run.p50
        p95 = summary.run.p95
        p99 = summary.run.p99
        p999 = summary.run.p999
        max = summary.run.max
        mean = summary.run.mean
        failures = summary.failures
        unknown_outcomes = summary.unknownOutcomes
        retries = summary.retries
        errors_by_kind = Dictionary(uniqueKeysWithValues: ErrorKind.allCases.map { ($0.description, combined.errors($0)) })
        target = snapshot.target
        workers = snapshot.workers.sorted { $0.id < $1.id }.map {
            Worker(
                worker_id: $0.id, host: $0.host, total_messages: $0.total, duration: summary.elapsedSeconds,
                throughput: summary.elapsedSeconds > 0 ? Double($0.total) / summary.elapsedSeconds : 0, failures: $0.failures,
                state: $0.state, was_lost: $0.wasLost, joined_mid_run: $0.joinedMidRun
            )
        }
        per_second = snapshot.series.map {
            Second(
                second: $0.second, requests: $0.requests, failures: $0.failures, p50: Double($0.p50Micros) / 1000,
                p95: Double($0.p95Micros) / 1000, p99: Double($0.p99Micros) / 1000, max: Double($0.maxMicros) / 1000
            )
        }
        run_configuration = snapshot.configuration
    }
}
