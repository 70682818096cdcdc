import Foundation

/// Text for people: the live progress line, the periodic log line and the end-of-run summary table.
/// Pure string building; the CLI decides where it goes.
public struct ProgressFormatter: Sendable {
    /// The operations target, when the run has one (for the bar and the ETA).
    public var target: UInt64?
    /// The run's planned length, when it has one.
    public var plannedSeconds: Double?

    public init(target: UInt64? = nil, plannedSeconds: Double? = nil) {
        self.target = target
        self.plannedSeconds = plannedSeconds
    }

    /// Whether a log (not a terminal) shows the line of interval `second` (0-based): the first second's, then one
    /// every 10 s (after seconds 10, 20, ...).
    public static func logsLine(afterInterval second: Int) -> Bool {
        second == 0 || second % 10 == 9
    }

    /// A one-line status: `[#####.....] 512,000/1,000,000  RPS 48,210  p50 1.2ms p99 4.8ms  errors 0  ETA 10s`.
    public func liveLine(latest: IntervalReport, totals: MetricsSnapshot, elapsedSeconds: Double, barWidth: Int = 24) -> String {
        let combined = totals.combined
        let done = combined.operations
        let rate = Double(latest.metrics.combined.successes)
        let interval = latest.metrics.combined
        var parts: [String] = []
        if let target, target > 0 {
            let fraction = min(1, Double(done) / Double(target))
            let filled = Int((fraction * Double(barWidth)).rounded(.down))
            parts.append("[" + String(repeating: "#", count: filled) + String(repeating: ".", count: barWidth - filled) + "]")
            parts.append("\(grouped(done))/\(grouped(target))")
        } else if let plannedSeconds, plannedSeconds > 0 {
            let fraction = min(1, elapsedSeconds / plannedSeconds)
            let filled = Int((fraction * Double(barWidth)).rounded(.down))
            parts.append("[" + String(repeating: "#", count: filled) + String(repeating: ".", count: barWidth - filled) + "]")
            parts.append("\(grouped(done)) ops")
        } else {
            parts.append("\(grouped(done)) ops")
        }
        parts.append("RPS \(grouped(UInt64(rate)))")
        parts.append("p50 \(latency(interval.latency.valueAtPercentile(50))) p99 \(latency(interval.latency.valueAtPercentile(99)))")
        parts.append("errors \(grouped(combined.errors))")
        if latest.metrics.dropped > 0 || totals.dropped > 0 { parts.append("dropped \(grouped(totals.dropped))") }
        parts.append("in-flight \(latest.metrics.inFlight)")
        if let eta = eta(done: done, elapsedSeconds: elapsedSeconds) { parts.append("ETA \(eta)") }
        if !latest.health.reasons.isEmpty { parts.append("⚠ generator-limited: " + latest.health.reasons.joined(separator: "; ")) }
        return parts.joined(separator: "  ")
    }

    /// The time left, from the target's progress or the planned duration.
    func eta(done: UInt64, elapsedSeconds: Double) -> String? {
        var remaining: Double?
        if let target, target > 0, done > 0, elapsedSeconds > 0 {
            remaining = Double(target - min(target, done)) / (Double(done) / elapsedSeconds)
        }
        if let plannedSeconds {
            let left = max(0, plannedSeconds - elapsedSeconds)
            remaining = remaining.map { min($0, left) } ?? left
        }
        return remaining.map { clock($0) }
    }

    /// The summary table of a finished run.
    public func summaryTable(_ results: RunResults) -> String {
        var lines: [String] = []
        let header = ["operation", "count", "ok", "failed", "unknown", "rps", "p50", "p95", "p99", "p99.9", "max"]
        var rows: [[String]] = [header]
        for name in results.operations.keys.sorted() {
            guard let op = results.operations[name] else { continue }
            rows.append([
                name, grouped(op.count), grouped(op.successes), grouped(op.failures), grouped(op.unknownOutcomes),
                String(format: "%.1f", op.throughput), msText(op.p50), msText(op.p95), msText(op.p99), msText(op.p999), msText(op.max),
            ])
        }
        rows.append([
            "all", grouped(results.totalOperations), grouped(results.successes), grouped(results.failures), grouped(results.unknownOutcomes),
            String(format: "%.1f", results.throughput), msText(results.p50), msText(results.p95), msText(results.p99), msText(results.p999),
            msText(results.max),
        ])
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        for (index, row) in rows.enumerated() {
            let cells = row.enumerated().map { column, cell in
                column == 0 ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - cell.count) + cell
            }
            lines.append(cells.joined(separator: "  "))
            if index == 0 || index == rows.count - 2 { lines.append(String(repeating: "-", count: widths.reduce(0, +) + 2 * (widths.count - 1))) }
        }
        lines.append("")
        lines.append("run \(results.runID) · \(results.workload) · \(String(format: "%.2f", results.totalTime)) s · stopped: \(results.stopReason)")
        lines.append("messages written: \(grouped(results.totalMessages)) · dropped: \(grouped(results.dropped)) · retries: \(grouped(results.retries))")
        let errors = results.errorsByKind.sorted { $0.key < $1.key }.map { "\($0.key) \(grouped($0.value))" }.joined(separator: ", ")
        lines.append("errors by kind: \(errors)")
        lines.append(String(format: "client CPU: %.2f s (%.0f ops per CPU-second)", results.generator.cpuSeconds, results.generator.operationsPerCPUSecond))
        if results.generator.limitedByGenerator {
            let workers = results.generator.limitedWorkers.isEmpty ? "" : " on worker " + results.generator.limitedWorkers.joined(separator: ", ")
            lines.append("⚠ results limited by the load generator\(workers): " + results.generator.reasons.joined(separator: "; "))
        }
        for threshold in results.thresholds {
            lines.append("threshold \(threshold.expression): \(threshold.passed ? "passed" : "FAILED") (observed \(threshold.observedText))")
        }
        return lines.joined(separator: "\n")
    }

    func msText(_ milliseconds: Double) -> String {
        milliseconds >= 100 ? String(format: "%.0fms", milliseconds) : String(format: "%.2fms", milliseconds)
    }

    func latency(_ micros: UInt64) -> String { msText(Double(micros) / 1000) }

    func clock(_ seconds: Double) -> String {
        let total = Int(seconds.rounded(.up))
        return total >= 3600 ? "\(total / 3600)h\(total % 3600 / 60)m" : total >= 60 ? "\(total / 60)m\(total % 60)s" : "\(total)s"
    }

    func grouped(_ value: UInt64) -> String {
        let digits = String(value)
        var result = ""
        for (offset, character) in digits.enumerated() {
            if offset > 0, (digits.count - offset) % 3 == 0 { result.append(",") }
            result.append(character)
        }
        return result
    }
}
