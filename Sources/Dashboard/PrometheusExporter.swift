import LoadEngine
import Prometheus
import Synchronization

/// Turns a ``RunSnapshot`` into Prometheus text (`/metrics`): run totals as counters, rates, progress and worker
/// counts as gauges, and latency quantiles (now and whole run) as gauges labelled like a summary.
///
/// Counters follow the run's totals; when a new run starts and a total goes down, the counter is reset first so it
/// never moves backwards within one run (Prometheus treats the drop as a counter reset).
public final class PrometheusExporter: Sendable {
    let registry = PrometheusCollectorRegistry()
    let lastTotals = Mutex<[String: UInt64]>([:])

    public init() {}

    static func descriptor(_ name: String, _ help: String, unit: String? = nil) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "stampede", metricName: name, unitName: unit ?? "", helpText: help)
    }

    /// Updates the metrics from `snapshot` and returns the exposition text.
    public func render(_ snapshot: RunSnapshot) -> [UInt8] {
        let summary = RunSummary(snapshot)
        // Totals per operation, so Grafana can split by operation; the aggregate is a sum() away.
        for name in snapshot.total.operations.keys.sorted() {
            guard let metrics = snapshot.total.operations[name] else { continue }
            let labels = [("operation", name)]
            counter("requests", "Operations that reached a final outcome (successes and failures).", labels, metrics.operations)
            counter("failures", "Operations that finally failed after retries.", labels, metrics.failures)
            counter("unknown_outcomes", "Attempts whose outcome is unknown (timeouts that may have applied).", labels, metrics.unknownOutcomes)
            counter("retries", "Extra attempts after a retryable failure.", labels, metrics.retries)
            for kind in ErrorKind.allCases {
                counter("errors", "Failed attempts by error kind.", labels + [("kind", kind.description)], metrics.errors(kind))
            }
            for (quantile, percentile) in [("0.5", 50.0), ("0.95", 95), ("0.99", 99), ("0.999", 99.9), ("1", 100)] {
                let micros = percentile >= 100 ? metrics.latency.maxMicros : metrics.latency.valueAtPercentile(percentile)
                gauge("operation_latency", "Whole-run latency quantiles of successful operations.", labels + [("quantile", quantile)], Double(micros) / 1e6, unit: "seconds")
            }
        }
        gauge("completed", "Operations counted toward the target (each message index once).", [], Double(summary.completed))
        gauge("target", "The run's fixed total (0 when open-ended).", [], Double(snapshot.target ?? 0))
        gauge("progress", "Progress toward the target or through the planned duration (0-1).", [], summary.progress ?? 0, unit: "ratio")
        gauge("elapsed", "Time since the run's start.", [], summary.elapsedSeconds, unit: "seconds")
        gauge("current_rps", "Operations per second over the last complete second.", [], summary.currentRPS)
        gauge("average_rps", "Operations per second over the whole run.", [], summary.averageRPS)
        gauge("current_failures_per_second", "Failures per second over the last complete second.", [], summary.currentFailuresPerSecond)
        gauge("failure_ratio", "Failures over requests for the whole run (0-1).", [], summary.failureRatio)
        gauge("users", "Virtual users now (closed model).", [], Double(snapshot.users ?? 0))
        gauge("target_rate", "Target arrival rate now, operations per second (open model).", [], snapshot.rate ?? 0)
        gauge("dropped", "Operations the open model could not start.", [], Double(summary.dropped))
        for (window, latency) in [("last_second", summary.now), ("run", summary.run)] {
            for (quantile, value) in [("0.5", latency.p50), ("0.95", latency.p95), ("0.99", latency.p99), ("0.999", latency.p999), ("1", latency.max)] {
                gauge("latency", "Latency quantiles of successful operations, all operations merged.", [("window", window), ("quantile", quantile)], value / 1000, unit: "seconds")
            }
        }
        for state in ["registered", "running", "lost", "finished"] {
            gauge("workers", "Workers by state.", [("state", state)], Double(snapshot.workers.filter { $0.state == state }.count))
        }
        for state in RunState.allCases {
            gauge("run_state", "1 for the run's current state.", [("state", state.rawValue)], state == snapshot.state ? 1 : 0)
        }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }

    func gauge(_ name: String, _ help: String, _ labels: [(String, String)], _ value: Double, unit: String? = nil) {
        registry.makeGauge(descriptor: Self.descriptor(name, help, unit: unit), labels: labels).set(to: value.isFinite ? value : 0)
    }

    func counter(_ name: String, _ help: String, _ labels: [(String, String)], _ value: UInt64) {
        let counter = registry.makeCounter(descriptor: Self.descriptor(name, help, unit: "total"), labels: labels)
        let key = name + labels.map { "|\($0.0)=\($0.1)" }.joined()
        lastTotals.withLock { last in
            let previous = last[key] ?? 0
            if value < previous {
                counter.reset()
                counter.increment(by: Int64(clamping: value))
            } else if value > previous {
                counter.increment(by: Int64(clamping: value - previous))
            }
            last[key] = value
        }
    }
}
