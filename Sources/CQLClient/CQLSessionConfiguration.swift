import CQLProtocol
import NIOCore
import NIOPosix

/// Settings of a session (a cluster connection). Defaults are documented on each property.
public struct CQLSessionConfiguration: Sendable {
    /// Where to start discovering the cluster: `host` or `host:port` (port 9042 by default).
    public var contactPoints: [String]
    /// The keyspace every connection `USE`s.
    public var keyspace: String?
    /// Connections opened to each host of the local datacenter; `nil` (the default): one per event loop of
    /// ``eventLoopGroup``. Protocol v4 multiplexes 32,768 requests on one connection; a second one on the same loop
    /// only spreads the same requests over more socket writes and reads, which costs both sides CPU per request.
    public var connectionsPerHost: Int?
    /// The datacenter to prefer; taken from the first contact point that answers when `nil`.
    public var localDatacenter: String?
    /// Route statements to a replica of their partition (true).
    public var tokenAwareRouting = true
    /// Consistency used when a statement does not set one (ONE).
    public var defaultConsistency: CQLConsistency = .one
    /// Serial consistency for conditional statements when a statement does not set one (none).
    public var defaultSerialConsistency: CQLConsistency?
    /// Rows per page for reads (5000, like the DataStax drivers).
    public var pageSize: Int32 = 5000
    /// Send client-side timestamps with writes (true).
    public var clientTimestamps = true
    /// How statements are retried.
    public var retryPolicy = CQLRetryPolicy()
    /// First and longest delay between reconnection attempts to a down host (1 s, 60 s).
    public var reconnectBaseDelay: Duration = .seconds(1)
    public var reconnectMaxDelay: Duration = .seconds(60)
    /// Follow topology and status events and refresh the host list (true).
    public var watchTopology = true
    /// Per-connection settings: timeouts, in-flight cap, heartbeats, credentials, TLS.
    public var connection = CQLConnectionConfiguration()
    /// The event loops connections run on.
    public var eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton

    public init(contactPoints: [String], keyspace: String? = nil) {
        self.contactPoints = contactPoints
        self.keyspace = keyspace
    }

    /// The connections opened to each host: ``connectionsPerHost``, or one per event loop of ``eventLoopGroup``.
    public var effectiveConnectionsPerHost: Int {
        connectionsPerHost ?? max(1, eventLoopGroup.makeIterator().reduce(0) { count, _ in count + 1 })
    }

    /// Checks values once at start-up.
    func validated() throws -> [CQLHostAddress] {
        guard !contactPoints.isEmpty else { throw CQLClientError(.invalidArgument, "no contact points given") }
        guard (connectionsPerHost ?? 1) >= 1 else { throw CQLClientError(.invalidArgument, "connections per host must be at least 1") }
        guard (1...32768).contains(connection.maxInFlightRequests) else {
            throw CQLClientError(.invalidArgument, "in-flight requests per connection must be from 1 to 32768")
        }
        guard pageSize > 0 else { throw CQLClientError(.invalidArgument, "page size must be positive") }
        return try contactPoints.flatMap { $0.split(separator: ",") }.map { try CQLHostAddress(parsing: String($0)) }
    }
}

/// Per-statement options; `nil` fields take the session's defaults.
public struct CQLStatementOptions: Sendable {
    public var consistency: CQLConsistency?
    public var serialConsistency: CQLConsistency?
    /// Per-request timeout.
    public var timeout: Duration?
    /// Whether the statement may be applied twice without harm; only idempotent statements are retried
    /// after a timeout or a lost connection. `nil`: writes are not idempotent, reads are.
    public var isIdempotent: Bool?
    public var pageSize: Int32?
    /// Resume paging from here.
    public var pagingState: ByteBuffer?
    /// Write timestamp in microseconds since the epoch; the session's clock when `nil`.
    public var timestamp: Int64?

    public init(
        consistency: CQLConsistency? = nil, serialConsistency: CQLConsistency? = nil, timeout: Duration? = nil,
        isIdempotent: Bool? = nil, pageSize: Int32? = nil, pagingState: ByteBuffer? = nil, timestamp: Int64? = nil
    ) {
        self.consistency = consistency
        self.serialConsistency = serialConsistency
        self.timeout = timeout
        self.isIdempotent = isIdempotent
        self.pageSize = pageSize
        self.pagingState = pagingState
        self.timestamp = timestamp
    }
}
