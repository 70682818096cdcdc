import Foundation

/// Two runs side by side: throughput, percentiles and error rates, with their differences (`stampede compare A B`
/// and the dashboard's compare page).
public struct RunComparison: Sendable {
    /// One compared figure.
    public struct Row: Sendable, Hashable, Codable {
        public var metric: String
        public var unit: String
        public var a: Double
        public var b: Double
        /// `b - a`.
        public var difference: Double { b - a }
        /// `(b - a) / a`, or `nil` when `a` is 0.
        public var relativeChange: Double? { a == 0 ? nil : (b - a) / a }
        /// True when a higher value is better (throughput), false when lower is (latency, errors).
        public var higherIsBetter: Bool

        /// Whether B is better, worse or the same as A (within 0.5 %).
        public var verdict: String {
            guard let change = relativeChange else { return a == b ? "same" : (higherIsBetter == (b > a) ? "better" : "worse") }
            if abs(change) < 0.005 { return "same" }
            return (change > 0) == higherIsBetter ? "better" : "worse"
        }
    }

    public var a: RunBundle
    public var b: RunBundle
    public var rows: [Row]

    public init(a: RunBundle, b: RunBundle) {
        self.a = a
        self.b = b
        func row(_ metric: String, _ unit: String, _ value: (RunBundle) -> Double, higherIsBetter: Bool = false) -> Row {
            Row(metric: metric, unit: unit, a: value(a), b: value(b), higherIsBetter: higherIsBetter)
        }
        func throughput(_ bundle: RunBundle) -> Double {
            bundle.summary.elapsedSeconds > 0 ? Double(bundle.summary.completed) / bundle.summary.elapsedSeconds : 0
        }
        rows = [
            row("throughput", "ops/s", throughput, higherIsBetter: true),
            row("completed", "ops", { Double($0.summary.completed) }, higherIsBetter: true),
            row("duration", "s", { $0.summary.elapsedSeconds }),
            row("p50", "ms", { $0.summary.run.p50 }),
            row("p95", "ms", { $0.summary.run.p95 }),
            row("p99", "ms", { $0.summary.run.p99 }),
            row("p99.9", "ms", { $0.summary.run.p999 }),
            row("max", "ms", { $0.summary.run.max }),
            row("mean", "ms", { $0.summary.run.mean }),
            row("failures", "ops", { Double($0.summary.failures) }),
            row("error rate", "%", { $0.summary.failureRatio * 100 }),
            row("unknown outcomes", "ops", { Double($0.summary.unknownOutcomes) }),
            row("retries", "attempts", { Double($0.summary.retries) }),
        ]
    }

    static func format(_ value: Double) -> String {
        guard value.isFinite else { return "n/a" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(format: abs(value) >= 100 ? "%.1f" : "%.3f", value)
    }

    /// A plain-text table for the terminal.
    public var text: String {
        var lines: [[String]] = [["metric", "A: \(a.runID)", "B: \(b.runID)", "B - A", "change", ""]]
        for row in rows {
            let change = row.relativeChange.map { String(format: "%+.1f%%", $0 * 100) } ?? "–"
            let difference = (row.difference >= 0 ? "+" : "") + Self.format(row.difference)
            lines.append([row.metric + " (\(row.unit))", Self.format(row.a), Self.format(row.b), difference, change, row.verdict])
        }
        var widths = [Int](repeating: 0, count: lines[0].count)
        for line in lines { for (index, field) in line.enumerated() { widths[index] = max(widths[index], field.count) } }
        var output = "A: \(a.runID)  \(a.configuration["workload"] ?? "")  (Stampede \(a.context.stampedeVersion), \(ISO8601DateFormatter().string(from: a.createdAt)))\n"
        output += "B: \(b.runID)  \(b.configuration["workload"] ?? "")  (Stampede \(b.context.stampedeVersion), \(ISO8601DateFormatter().string(from: b.createdAt)))\n\n"
        for line in lines {
            output += line.enumerated().map { index, field in
                index == 0 ? field.padding(toLength: widths[index], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[index] - field.count) + field
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces) + "\n"
        }
        return output
    }

    /// The two run ids and the rows as JSON (`stampede compare --json`).
    public func jsonBytes() throws(DashboardError) -> [UInt8] {
        struct Output: Encodable {
            struct Entry: Encodable {
                var metric: String
                var unit: String
                var a: Double
                var b: Double
                var difference: Double
                var relativeChange: Double?
                var verdict: String
            }
            var a: String
            var b: String
            var rows: [Entry]
        }
        let output = Output(a: a.runID, b: b.runID, rows: rows.map {
            .init(metric: $0.metric, unit: $0.unit, a: $0.a, b: $0.b, difference: $0.difference, relativeChange: $0.relativeChange, verdict: $0.verdict)
        })
        let encoder = JSONBody.encoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            return Array(try encoder.encode(output))
        } catch {
            throw DashboardError(.reportFailed, "the comparison could not be encoded: \(error)")
        }
    }

    /// An HTML fragment (a table) for the compare page.
    public var htmlTable: String {
        var html = "<div class=\"scroll\"><table id=\"compare-table\"><thead><tr><th class=\"text\">Metric</th>"
        html += "<th>A: \(DashboardPage.escapeHTML(a.runID))</th><th>B: \(DashboardPage.escapeHTML(b.runID))</th><th>B − A</th><th>Change</th><th class=\"text\"></th></tr></thead><tbody>"
        for row in rows {
            let change = row.relativeChange.map { String(format: "%+.1f%%", $0 * 100) } ?? "–"
            let colour = row.verdict == "better" ? "var(--ok)" : row.verdict == "worse" ? "var(--bad)" : "var(--muted)"
            html += "<tr><td class=\"text\">\(row.metric) (\(row.unit))</td><td>\(Self.format(row.a))</td><td>\(Self.format(row.b))</td>"
            html += "<td>\(row.difference >= 0 ? "+" : "")\(Self.format(row.difference))</td><td>\(change)</td><td class=\"text\" style=\"color:\(colour)\">\(row.verdict)</td></tr>"
        }
        return html + "</tbody></table></div>"
    }
}
