import Atomics

/// How a connection's requests went out: frames, the flushes that carried them (one socket write each, unless the
/// kernel takes a flush in parts), and bytes. `requests / flushes` is the write coalescing factor.
public struct CQLWriteStatistics: Sendable, Hashable {
    /// Request frames written (heartbeats and handshake included).
    public var requests: Int
    /// Flushes to the socket.
    public var flushes: Int
    /// Bytes handed to the socket.
    public var bytes: Int

    public init(requests: Int = 0, flushes: Int = 0, bytes: Int = 0) {
        self.requests = requests
        self.flushes = flushes
        self.bytes = bytes
    }

    /// Requests carried by one flush, on average.
    public var requestsPerFlush: Double { flushes == 0 ? 0 : Double(requests) / Double(flushes) }

    public static func + (lhs: CQLWriteStatistics, rhs: CQLWriteStatistics) -> CQLWriteStatistics {
        CQLWriteStatistics(requests: lhs.requests + rhs.requests, flushes: lhs.flushes + rhs.flushes, bytes: lhs.bytes + rhs.bytes)
    }
}

/// The counters behind `CQLWriteStatistics`: written on the connection's event loop, read from anywhere.
final class CQLWriteCounters: Sendable {
    let requests = ManagedAtomic(0)
    let flushes = ManagedAtomic(0)
    let bytes = ManagedAtomic(0)

    var snapshot: CQLWriteStatistics {
        CQLWriteStatistics(
            requests: requests.load(ordering: .relaxed), flushes: flushes.load(ordering: .relaxed), bytes: bytes.load(ordering: .relaxed))
    }
}

extension CQLSession {
    /// How the requests of the pooled connections now open went out (the control connection is not counted).
    public func writeStatistics() -> CQLWriteStatistics {
        let pools = state.withLockedValue { Array($0.pools.values) }
        return pools.flatMap(\.openConnections).reduce(CQLWriteStatistics()) { $0 + $1.writeStatistics }
    }
}
