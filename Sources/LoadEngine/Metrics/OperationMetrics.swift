/// Everything measured about one kind of operation over some span of time (one interval, or the whole run).
///
/// A plain value that merges exactly: merging the interval metrics of every worker gives the same counts and the
/// same latency buckets as one recorder fed every sample.
public struct OperationMetrics: Sendable, Equatable {
    /// Latencies of successful operations, in microseconds (from the intended start under an open model).
    public var latency: LatencyHistogram
    /// Operations that finally succeeded (possibly after retries).
    public var successes: UInt64
    /// Operations that finally failed (after retries, or not retryable).
    public var failures: UInt64
    /// Failed attempts by kind, indexed by ``ErrorKind/rawValue`` (every failed attempt counts, retried or not).
    public var errorsByKind: [UInt64]
    /// Attempts whose outcome is unknown (client timeout, write timeout, connection lost after sending).
    public var unknownOutcomes: UInt64
    /// Extra attempts made after a retryable failure.
    public var retries: UInt64
    /// Failed attempts by kind and message (bounded; see ``ErrorMessageCounts``).
    public var errorMessages: ErrorMessageCounts

    /// Empty metrics.
    public init() {
        latency = LatencyHistogram()
        successes = 0
        failures = 0
        errorsByKind = [UInt64](repeating: 0, count: ErrorKind.allCases.count)
        unknownOutcomes = 0
        retries = 0
        errorMessages = ErrorMessageCounts()
    }

    /// Empties these metrics, keeping the histogram's memory (and any size it grew to).
    public mutating func reset() {
        latency.reset()
        successes = 0
        failures = 0
        for index in errorsByKind.indices { errorsByKind[index] = 0 }
        unknownOutcomes = 0
        retries = 0
        if !errorMessages.isEmpty { errorMessages = ErrorMessageCounts() }
    }

    /// Operations that reached a final outcome.
    public var operations: UInt64 { successes + failures }

    /// Every attempt made (operations plus retries).
    public var attempts: UInt64 { successes + failures + retries }

    /// Every failed attempt, whatever its kind.
    public var errors: UInt64 { errorsByKind.reduce(0, +) }

    /// Failed attempts of one kind.
    public func errors(_ kind: ErrorKind) -> UInt64 { errorsByKind[kind.rawValue] }

    /// Adds `other` into these metrics, exactly.
    public mutating func merge(_ other: OperationMetrics) {
        latency.merge(other.latency)
        successes &+= other.successes
        failures &+= other.failures
        for index in errorsByKind.indices where index < other.errorsByKind.count {
            errorsByKind[index] &+= other.errorsByKind[index]
        }
        unknownOutcomes &+= other.unknownOutcomes
        retries &+= other.retries
        if !other.errorMessages.isEmpty { errorMessages.merge(other.errorMessages) }
    }

    /// Records a successful operation.
    @inlinable
    public mutating func recordSuccess(latencyMicros: UInt64) {
        successes &+= 1
        latency.record(micros: latencyMicros)
    }

    /// Records one failed attempt. `final` says whether the operation is given up (otherwise it is retried).
    @inlinable
    public mutating func recordFailure(_ failure: OperationFailure, final: Bool) {
        errorsByKind[failure.kind.rawValue] &+= 1
        if failure.outcomeUnknown { unknownOutcomes &+= 1 }
        if final { failures &+= 1 } else { retries &+= 1 }
        errorMessages.add(kind: failure.kind, message: failure.message)
    }
}
