import Foundation
import LoadEngine

/// CSVs with Locust's file names and column headers, so scripts written for Locust's `--csv` output keep working.
///
/// Times are milliseconds (Locust's unit) with up to three decimals, since CQL latencies are often below 1 ms.
public enum LocustCSV {
    /// `<prefix>_stats.csv` columns.
    public static let statsHeader = [
        "Type", "Name", "Request Count", "Failure Count", "Median Response Time", "Average Response Time",
        "Min Response Time", "Max Response Time", "Average Content Size", "Requests/s", "Failures/s",
        "50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%",
    ]
    /// `<prefix>_stats_history.csv` columns.
    public static let historyHeader = [
        "Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s",
        "50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%",
        "Total Request Count", "Total Failure Count", "Total Median Response Time", "Total Average Response Time",
        "Total Min Response Time", "Total Max Response Time", "Total Average Content Size",
    ]
    /// `<prefix>_failures.csv` columns.
    public static let failuresHeader = ["Method", "Name", "Error", "Occurrences"]

    /// The statistics table: one row per operation, then `Aggregated`.
    public static func stats(_ rows: [OperationStatsRow]) -> String {
        var lines = [line(statsHeader)]
        for row in rows {
            lines.append(line([
                row.type, row.name, String(row.requests), String(row.failures), number(row.latency.p50),
                number(row.latency.mean, decimals: 2), number(row.latency.min), number(row.latency.max), "0",
                number(row.averageRPS, decimals: 2), number(row.averageFailuresPerSecond, decimals: 2),
            ] + row.percentiles.map { number($0) }))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The per-second history (aggregated rows), with running totals.
    /// - Parameters:
    ///   - cumulative: whole-run-so-far histograms per second (from ``SecondHistogram``s), for the `Total ...`
    ///     latency columns; seconds without one write `N/A` there.
    public static func history(series: [SecondSample], start: Date?, cumulative: [Int: LatencyHistogram]) -> String {
        var lines = [line(historyHeader)]
        var totalRequests: UInt64 = 0
        var totalFailures: UInt64 = 0
        let startSeconds = Int((start ?? Date(timeIntervalSince1970: 0)).timeIntervalSince1970)
        for sample in series {
            totalRequests += sample.requests
            totalFailures += sample.failures
            let hasLatency = sample.requests > sample.failures
            let percentiles = SecondSample.percentiles.map { hasLatency ? number(Double(sample.micros(at: $0)) / 1000) : "N/A" }
            var totals = ["N/A", "N/A", "N/A", "N/A"]
            if let histogram = cumulative[sample.second], !histogram.isEmpty {
                totals = [
                    number(Double(histogram.valueAtPercentile(50)) / 1000), number(histogram.meanMicros / 1000, decimals: 2),
                    number(Double(histogram.minMicros) / 1000), number(Double(histogram.maxMicros) / 1000),
                ]
            }
            lines.append(line(
                [String(startSeconds + sample.second + 1), sample.load.map { String(Int($0.rounded())) } ?? "0", "", "Aggregated",
                 number(Double(sample.requests), decimals: 2), number(Double(sample.failures), decimals: 2)]
                    + percentiles + [String(totalRequests), String(totalFailures)] + totals + ["0"]
            ))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Failures by operation and error.
    public static func failures(_ records: [FailureRecord]) -> String {
        var lines = [line(failuresHeader)]
        for record in records.sorted(by: { $0.count > $1.count }) {
            lines.append(line(["CQL", record.operation, "\(record.kind): \(record.message)", String(record.count)]))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One CSV line; fields with a comma, quote or line break are quoted (RFC 4180, as Python's csv module does).
    static func line(_ fields: [String]) -> String {
        fields.map { field in
            guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
            return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }.joined(separator: ",")
    }

    /// A number with at most `decimals` decimals and no trailing zeros (`4`, `0.25`, `12.5`).
    static func number(_ value: Double, decimals: Int = 3) -> String {
        guard value.isFinite else { return "N/A" }
        var text = String(format: "%.\(decimals)f", value)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text == "-0" ? "0" : text
    }
}
