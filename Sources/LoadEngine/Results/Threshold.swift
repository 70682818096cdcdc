import Foundation

/// A pass/fail criterion on a run's metrics, k6-style: `p99<100ms`, `errors<0.1%`, `throughput>=5000`.
///
/// Grammar: `METRIC[{operation}] OP VALUE[UNIT]` where METRIC is `p50`…`p99.99` (any percentile), `max`, `mean`,
/// `errors` (a rate with `%`, else a count of failed attempts), `error_rate`, `unknown` (unknown outcomes, count or
/// `%`), `dropped` (count or `%`), `throughput`/`rps` (operations per second); OP is `<`, `<=`, `>`, `>=`;
/// latency units are `us`, `ms` (default), `s`.
public struct Threshold: Sendable, Hashable, CustomStringConvertible {
    public enum Metric: Sendable, Hashable {
        case percentile(Double)
        case max
        case mean
        case errorRate
        case errorCount
        case unknownRate
        case unknownCount
        case droppedRate
        case droppedCount
        case throughput
    }

    public enum Comparison: String, Sendable, Hashable {
        case less = "<"
        case lessOrEqual = "<="
        case greater = ">"
        case greaterOrEqual = ">="

        func holds(_ observed: Double, _ limit: Double) -> Bool {
            switch self {
            case .less: observed < limit
            case .lessOrEqual: observed <= limit
            case .greater: observed > limit
            case .greaterOrEqual: observed >= limit
            }
        }
    }

    public var metric: Metric
    public var comparison: Comparison
    /// The limit: microseconds for latencies, a fraction (0–1) for rates, a count, or operations per second.
    public var limit: Double
    /// Only this operation's metrics, when set (`p99{read_messages}<20ms`).
    public var operation: String?
    /// The expression as written.
    public var expression: String

    public var description: String { expression }

    public init(parsing text: String) throws(LoadEngineError) {
        let expression = text.filter { !$0.isWhitespace }
        func fail(_ why: String) -> LoadEngineError {
            LoadEngineError(.invalidThreshold, "threshold '\(text)': \(why) (examples: p99<100ms, errors<0.1%, throughput>1000)")
        }
        guard let opStart = expression.firstIndex(where: { $0 == "<" || $0 == ">" }) else { throw fail("no comparison (<, <=, >, >=)") }
        var afterOp = expression.index(after: opStart)
        var comparisonText = String(expression[opStart])
        if afterOp < expression.endIndex, expression[afterOp] == "=" {
            comparisonText += "="
            afterOp = expression.index(after: afterOp)
        }
        guard let comparison = Comparison(rawValue: comparisonText) else { throw fail("unknown comparison") }
        var metricText = String(expression[..<opStart]).lowercased()
        let valueText = String(expression[afterOp...]).lowercased()
        var operation: String?
        if let brace = metricText.firstIndex(of: "{") {
            guard metricText.hasSuffix("}") else { throw fail("unclosed '{'") }
            operation = String(metricText[metricText.index(after: brace)..<metricText.index(before: metricText.endIndex)])
            metricText = String(metricText[..<brace])
            if operation?.isEmpty == true { throw fail("empty operation name") }
        }
        let isPercent = valueText.hasSuffix("%")
        let metric: Metric
        var isLatency = false
        switch metricText {
        case "max": metric = .max; isLatency = true
        case "mean", "avg": metric = .mean; isLatency = true
        case "median": metric = .percentile(50); isLatency = true
        case "errors": metric = isPercent ? .errorRate : .errorCount
        case "error_rate", "errorrate": metric = .errorRate
        case "unknown", "unknown_outcomes": metric = isPercent ? .unknownRate : .unknownCount
        case "dropped": metric = isPercent ? .droppedRate : .droppedCount
        case "throughput", "rps", "ops": metric = .throughput
        default:
            guard metricText.hasPrefix("p"), let percentile = Double(metricText.dropFirst()), percentile > 0, percentile <= 100 else {
                throw fail("unknown metric '\(metricText)'")
            }
            metric = .percentile(percentile)
            isLatency = true
        }
        var number = valueText
        var scale = 1.0
        if isLatency {
            if number.hasSuffix("us") || number.hasSuffix("µs") { number.removeLast(2) } else if number.hasSuffix("ms") {
                number.removeLast(2); scale = 1000
            } else if number.hasSuffix("s") { number.removeLast(); scale = 1_000_000 } else { scale = 1000 }
        } else if isPercent {
            number.removeLast()
            scale = 0.01
        } else if case .errorRate = metric {
            scale = 1
        }
        guard let value = Double(number), value.isFinite, value >= 0 else { throw fail("'\(valueText)' is not a number with a valid unit") }
        if isPercent, !(metricText == "errors" || metricText == "error_rate" || metricText == "errorrate" || metricText.hasPrefix("unknown") || metricText == "dropped") {
            throw fail("'%' only applies to errors, unknown and dropped")
        }
        self.metric = metric
        self.comparison = comparison
        self.limit = value * scale
        self.operation = operation
        self.expression = text
    }

    /// Measures the metric on `metrics` over `elapsedSeconds` and compares it with the limit.
    public func evaluate(_ metrics: MetricsSnapshot, elapsedSeconds: Double) -> ThresholdResult {
        let m: OperationMetrics
        if let operation { m = metrics.operations[operation] ?? OperationMetrics() } else { m = metrics.combined }
        let observed: Double
        switch metric {
        case .percentile(let p): observed = Double(m.latency.valueAtPercentile(p))
        case .max: observed = Double(m.latency.maxMicros)
        case .mean: observed = m.latency.meanMicros
        case .errorRate: observed = m.attempts == 0 ? 0 : Double(m.errors) / Double(m.attempts)
        case .errorCount: observed = Double(m.errors)
        case .unknownRate: observed = m.attempts == 0 ? 0 : Double(m.unknownOutcomes) / Double(m.attempts)
        case .unknownCount: observed = Double(m.unknownOutcomes)
        case .droppedRate:
            let offered = Double(m.operations + metrics.dropped)
            observed = offered == 0 ? 0 : Double(metrics.dropped) / offered
        case .droppedCount: observed = Double(metrics.dropped)
        case .throughput: observed = elapsedSeconds > 0 ? Double(m.successes) / elapsedSeconds : 0
        }
        return ThresholdResult(expression: expression, passed: comparison.holds(observed, limit), observed: observed, observedText: format(observed))
    }

    func format(_ value: Double) -> String {
        switch metric {
        case .percentile, .max, .mean: return String(format: "%.3fms", value / 1000)
        case .errorRate, .unknownRate, .droppedRate: return String(format: "%.4f%%", value * 100)
        case .errorCount, .unknownCount, .droppedCount: return String(Int(value))
        case .throughput: return String(format: "%.1f/s", value)
        }
    }
}

/// A threshold's verdict.
public struct ThresholdResult: Sendable, Hashable, Codable {
    public var expression: String
    public var passed: Bool
    /// The measured value in the metric's base unit (µs, fraction, count, ops/s).
    public var observed: Double
    /// The measured value for people (`12.345ms`, `0.0100%`).
    public var observedText: String
}
