/// How the load generator itself was doing during an interval: whether it, not the database, was the limit.
public struct GeneratorHealth: Sendable, Equatable, Codable {
    /// Process CPU time over wall time, as a fraction of the available cores (0–1).
    public var cpuUtilization: Double
    /// CPU seconds (user + system) the process used during the span.
    public var cpuSeconds: Double
    /// Resident memory at the end of the span, in bytes.
    public var residentMemoryBytes: UInt64
    /// The largest overshoot of a short timer on the engine's executor, in microseconds (scheduling lag).
    public var eventLoopLagMicros: UInt64
    /// The largest delay between an operation's intended start and its actual start (open model), in microseconds.
    public var scheduleLagMicros: UInt64
    /// Why the generator thinks it limited the results; empty when healthy.
    public var reasons: [String]
    /// Which workers were limited (filled by the distributed layer; a local run leaves it empty).
    public var limitedWorkers: [String]

    public init(
        cpuUtilization: Double = 0, cpuSeconds: Double = 0, residentMemoryBytes: UInt64 = 0,
        eventLoopLagMicros: UInt64 = 0, scheduleLagMicros: UInt64 = 0, reasons: [String] = [], limitedWorkers: [String] = []
    ) {
        self.cpuUtilization = cpuUtilization
        self.cpuSeconds = cpuSeconds
        self.residentMemoryBytes = residentMemoryBytes
        self.eventLoopLagMicros = eventLoopLagMicros
        self.scheduleLagMicros = scheduleLagMicros
        self.reasons = reasons
        self.limitedWorkers = limitedWorkers
    }

    /// True when the generator, not the database, was (probably) the limit.
    public var isLimitingResults: Bool { !reasons.isEmpty || !limitedWorkers.isEmpty }

    /// Combines another worker's health for the same span: worst values win, CPU seconds and memory add up.
    public mutating func merge(_ other: GeneratorHealth) {
        cpuUtilization = max(cpuUtilization, other.cpuUtilization)
        cpuSeconds += other.cpuSeconds
        residentMemoryBytes += other.residentMemoryBytes
        eventLoopLagMicros = max(eventLoopLagMicros, other.eventLoopLagMicros)
        scheduleLagMicros = max(scheduleLagMicros, other.scheduleLagMicros)
        for reason in other.reasons where !reasons.contains(reason) { reasons.append(reason) }
        for worker in other.limitedWorkers where !limitedWorkers.contains(worker) { limitedWorkers.append(worker) }
    }
}
