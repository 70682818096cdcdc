import Foundation
import LoadEngine

/// Short names for the generated protobuf messages.
public typealias WorkerMessage = Stampede_Fleet_V1_WorkerMessage
public typealias CoordinatorMessage = Stampede_Fleet_V1_CoordinatorMessage

extension OperationMetrics {
    /// The wire form of these metrics.
    func wire(name: String) -> Stampede_Fleet_V1_OperationStats {
        var stats = Stampede_Fleet_V1_OperationStats()
        stats.operation = name
        stats.acknowledged = successes
        stats.failed = failures
        stats.unknown = unknownOutcomes
        stats.retries = retries
        for kind in ErrorKind.allCases {
            let count = errors(kind)
            if count > 0 { stats.errorsByKind[kind.description] = count }
        }
        stats.errorMessages = errorMessages.sorted().map { pair in
            var wire = Stampede_Fleet_V1_ErrorMessageCount()
            wire.kind = pair.key.kind.description
            wire.message = pair.key.message
            wire.count = pair.count
            return wire
        }
        stats.latencyHistogram = Data(latency.encoded())
        return stats
    }

    /// Metrics from their wire form. Unknown error kinds count as `other`; malformed histograms throw.
    init(wire stats: Stampede_Fleet_V1_OperationStats) throws(FleetError) {
        self.init()
        successes = stats.acknowledged
        failures = stats.failed
        unknownOutcomes = stats.unknown
        retries = stats.retries
        for (name, count) in stats.errorsByKind {
            let kind = ErrorKind.allCases.first { $0.description == name } ?? .other
            errorsByKind[kind.rawValue] &+= count
        }
        // Bounded again here: a worker cannot make the coordinator keep more than the limit.
        for entry in stats.errorMessages {
            let kind = ErrorKind.allCases.first { $0.description == entry.kind } ?? .other
            errorMessages.add(kind: kind, message: entry.message, count: entry.count)
        }
        if !stats.latencyHistogram.isEmpty {
            do {
                latency = try LatencyHistogram(encoded: [UInt8](stats.latencyHistogram))
            } catch {
                throw FleetError(.histogram, "malformed latency histogram for \(stats.operation): \(error.message)")
            }
        }
    }
}

extension MetricsSnapshot {
    /// The operations of this snapshot in wire form, sorted by name.
    func wireOperations() -> [Stampede_Fleet_V1_OperationStats] {
        operations.keys.sorted().compactMap { name in operations[name]?.wire(name: name) }
    }

    /// A snapshot from wire operations.
    init(wireOperations: [Stampede_Fleet_V1_OperationStats], dropped: UInt64 = 0, inFlight: Int = 0, maxInFlight: Int = 0)
        throws(FleetError)
    {
        var operations: [String: OperationMetrics] = [:]
        for stats in wireOperations {
            operations[stats.operation, default: OperationMetrics()].merge(try OperationMetrics(wire: stats))
        }
        self.init(operations: operations, dropped: dropped, inFlight: inFlight, maxInFlight: maxInFlight)
    }
}

extension WorkerInterval {
    /// The wire form.
    var wire: Stampede_Fleet_V1_IntervalStats {
        var stats = Stampede_Fleet_V1_IntervalStats()
        stats.sequence = sequence
        stats.second = Int64(second)
        stats.operations = metrics.wireOperations()
        stats.dropped = metrics.dropped
        stats.inFlight = UInt64(max(metrics.inFlight, 0))
        stats.maxInFlight = UInt64(max(metrics.maxInFlight, 0))
        stats.health = health
        stats.notes = notes
        return stats
    }

    /// From the wire form; throws for malformed content.
    init(wire stats: Stampede_Fleet_V1_IntervalStats) throws(FleetError) {
        guard stats.sequence > 0 else { throw FleetError(.protocolViolation, "interval stats sequence numbers start at 1") }
        guard stats.second >= -1, stats.second < 10_000_000 else {
            throw FleetError(.protocolViolation, "interval stats second \(stats.second) is out of range")
        }
        let metrics = try MetricsSnapshot(
            wireOperations: stats.operations, dropped: stats.dropped,
            inFlight: Int(clamping: stats.inFlight), maxInFlight: Int(clamping: stats.maxInFlight))
        self.init(sequence: stats.sequence, second: Int(stats.second), metrics: metrics, health: stats.health, notes: stats.notes)
    }
}

extension CoordinatorMessage {
    /// A message of one kind.
    static func with(_ kind: Stampede_Fleet_V1_CoordinatorMessage.OneOf_Kind) -> CoordinatorMessage {
        var message = CoordinatorMessage()
        message.kind = kind
        return message
    }
}

extension WorkerMessage {
    /// A message of one kind.
    static func with(_ kind: Stampede_Fleet_V1_WorkerMessage.OneOf_Kind) -> WorkerMessage {
        var message = WorkerMessage()
        message.kind = kind
        return message
    }
}
