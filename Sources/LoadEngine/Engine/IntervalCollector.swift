import Synchronization

/// Cuts the run into one-second intervals: takes the recorder's interval, adds the generator's health, keeps the
/// running totals, checks thresholds when aborting on failure, and hands each report to the caller.
final class IntervalCollector: Sendable {
    let startNanos: UInt64
    let recorder: MetricsRecorder
    let thresholds: [Threshold]
    let inFlightBound: Int?

    struct State {
        var nextSecond = 0
        var totals = MetricsSnapshot()
        var intervals: [IntervalReport] = []
        var health = GeneratorHealth()
        var lastCPU: Double
        var lastSteal: Double
        var lastWall: UInt64
        var maxLoopLagMicros: UInt64 = 0
        var maxInFlight = 0
    }
    let state: Mutex<State>

    init(startNanos: UInt64, recorder: MetricsRecorder, thresholds: [Threshold], inFlightBound: Int?) {
        self.startNanos = startNanos
        self.recorder = recorder
        self.thresholds = thresholds
        self.inFlightBound = inFlightBound
        state = Mutex(State(lastCPU: ProcessProbe.cpuSeconds(), lastSteal: ProcessProbe.stealSeconds(), lastWall: startNanos))
    }

    /// Emits an interval at every second boundary until cancelled.
    func runIntervals<E>(runner: LoadRunner<E>, onInterval: @Sendable (IntervalReport) async -> Void) async {
        while !Task.isCancelled {
            let second = state.withLock { $0.nextSecond }
            let boundary = startNanos + UInt64(second + 1) * 1_000_000_000
            do { try await MonotonicClock.sleep(until: boundary) } catch { return }
            await emit(endNanos: boundary, runner: runner, onInterval: onInterval)
        }
    }

    /// Samples executor lag and the in-flight count until cancelled.
    func runProbe(interval: Duration) async {
        let expected = UInt64(max(0.001, interval.seconds) * 1e9)
        while !Task.isCancelled {
            let before = MonotonicClock.nanoseconds()
            do { try await Task.sleep(for: interval) } catch { return }
            let after = MonotonicClock.nanoseconds()
            let lag = after > before + expected ? (after - before - expected) / 1000 : 0
            let inFlight = recorder.inFlight
            state.withLock { state in
                state.maxLoopLagMicros = max(state.maxLoopLagMicros, lag)
                state.maxInFlight = max(state.maxInFlight, inFlight)
            }
        }
    }

    /// Emits the last (partial) interval.
    func finish<E>(runner: LoadRunner<E>, onInterval: @Sendable (IntervalReport) async -> Void, endNanos: UInt64) async {
        await emit(endNanos: max(endNanos, state.withLock { $0.lastWall } + 1), runner: runner, onInterval: onInterval)
    }

    func emit<E>(endNanos: UInt64, runner: LoadRunner<E>, onInterval: @Sendable (IntervalReport) async -> Void) async {
        let (taken, scheduleLag) = recorder.takeInterval()
        let cpu = ProcessProbe.cpuSeconds()
        let steal = ProcessProbe.stealSeconds()
        let memory = ProcessProbe.residentMemoryBytes()
        let (report, totals) = state.withLock { state -> (IntervalReport, MetricsSnapshot) in
            var metrics = taken
            metrics.maxInFlight = max(state.maxInFlight, metrics.inFlight)
            let wall = Double(endNanos > state.lastWall ? endNanos - state.lastWall : 1) / 1e9
            let cpuUsed = max(0, cpu - state.lastCPU)
            var health = GeneratorHealth(
                cpuUtilization: min(1, cpuUsed / wall / Double(ProcessProbe.cores)), cpuSeconds: cpuUsed,
                residentMemoryBytes: memory, eventLoopLagMicros: state.maxLoopLagMicros, scheduleLagMicros: scheduleLag)
            let stolen = min(1, max(0, steal - state.lastSteal) / wall / Double(ProcessProbe.cores))
            health.reasons = Self.diagnose(health, metrics: metrics, inFlightBound: inFlightBound, stolenShare: stolen)
            let report = IntervalReport(second: state.nextSecond, metrics: metrics, health: health)
            state.nextSecond += 1
            state.lastCPU = cpu
            state.lastSteal = steal
            state.lastWall = endNanos
            state.maxLoopLagMicros = 0
            state.maxInFlight = 0
            state.totals.accumulate(later: metrics)
            state.intervals.append(report)
            var overall = state.health
            overall.cpuUtilization = max(overall.cpuUtilization, health.cpuUtilization)
            overall.cpuSeconds += health.cpuSeconds
            overall.residentMemoryBytes = max(overall.residentMemoryBytes, memory)
            overall.eventLoopLagMicros = max(overall.eventLoopLagMicros, health.eventLoopLagMicros)
            overall.scheduleLagMicros = max(overall.scheduleLagMicros, health.scheduleLagMicros)
            for reason in health.reasons {
                let general = Self.generalReason(reason)
                if !overall.reasons.contains(general) { overall.reasons.append(general) }
            }
            state.health = overall
            return (report, state.totals)
        }
        if runner.configuration.abortOnThresholdFailure, !thresholds.isEmpty {
            let elapsed = Double(endNanos - startNanos) / 1e9
            let failed = thresholds.contains { threshold in
                if case .throughput = threshold.metric { return false }
                return !threshold.evaluate(totals, elapsedSeconds: elapsed).passed
            }
            if failed { runner.stop(.thresholdFailed) }
        }
        await onInterval(report)
    }

    /// The share of the process's CPUs the hypervisor may take in an interval before it is named as a limit: at
    /// this level a stolen slice of several milliseconds every few tens of milliseconds shows in an open model's p99.
    static let stolenShareReported = 0.05

    /// Why the generator, not the database, limited this interval (empty when it did not). `stolenShare` is the part
    /// of the process's CPUs the host took during the interval (hypervisor steal, 0–1).
    static func diagnose(_ health: GeneratorHealth, metrics: MetricsSnapshot, inFlightBound: Int?, stolenShare: Double = 0) -> [String] {
        var reasons: [String] = []
        if stolenShare >= stolenShareReported {
            reasons.append("host steal (the hypervisor took \(Int((stolenShare * 100).rounded()))% of this process's CPUs)")
        }
        if health.cpuUtilization >= 0.9 {
            reasons.append("CPU saturated (\(Int((health.cpuUtilization * 100).rounded()))% of \(ProcessProbe.cores) cores)")
        }
        if health.eventLoopLagMicros >= 50_000 {
            reasons.append("executor lagging (timers \(health.eventLoopLagMicros / 1000) ms late)")
        }
        if health.scheduleLagMicros >= 100_000 {
            reasons.append("open model behind schedule (operations started up to \(health.scheduleLagMicros / 1000) ms late)")
        }
        if metrics.dropped > 0 {
            if let bound = inFlightBound, metrics.maxInFlight >= bound {
                reasons.append("in-flight bound of \(bound) reached: \(metrics.dropped) operations dropped")
            } else {
                reasons.append("\(metrics.dropped) operations dropped for lack of capacity")
            }
        }
        return reasons
    }

    /// A reason without its numbers, for the run-level summary.
    static func generalReason(_ reason: String) -> String {
        if let parenthesis = reason.firstIndex(of: "(") { return String(reason[..<parenthesis]).trimmingCharacters(in: .whitespaces) }
        if let colon = reason.firstIndex(of: ":") { return String(reason[..<colon]) }
        return reason.filter { !$0.isNumber }.trimmingCharacters(in: .whitespaces)
    }

    func summary() -> (totals: MetricsSnapshot, intervals: [IntervalReport], health: GeneratorHealth) {
        state.withLock { ($0.totals, $0.intervals, $0.health) }
    }
}
