import CQLProtocol

/// Settings of an embedded CQL cluster. Defaults: one in-memory node on 127.0.0.1:9042, no authentication.
public struct EmbeddedCQLServerConfiguration: Sendable, Hashable {
    /// How the nodes of a multi-node cluster get distinct endpoints.
    public enum Addressing: Sendable, Hashable {
        /// Distinct loopback addresses (127.0.0.1, .2, .3) when `host` is an IPv4 loopback address and a fixed
        /// port is given (what drivers handle best); otherwise distinct ports.
        case automatic
        /// 127.0.0.1, 127.0.0.2, ... all on `port`.
        case distinctAddresses
        /// `host` on `port`, `port + 1`, ... (or each on its own ephemeral port when `port` is 0).
        case distinctPorts
        /// Node `i` listens on `addresses[i]` (IPv4 or IPv6 text), every node on `port`, and advertises that address
        /// as its rpc/broadcast/listen address in system.local and system.peers — like the nodes of a real cluster,
        /// one per machine. There must be exactly `nodes` addresses, all distinct and none a wildcard.
        case addresses([String])
    }

    /// What happens to writes.
    public enum StorageMode: String, Sendable, Hashable, CaseIterable {
        /// Store in memory (and in the commit log with a data directory).
        case memory
        /// Acknowledge writes without storing them: measures the load generator alone.
        case sink
    }

    /// Where the first node (and the admin endpoint) listens; with `.addresses` only the admin endpoint uses it.
    public var host: String
    /// 0 picks an ephemeral port per node (tests); the bound ports are in `EmbeddedCQLCluster.endpoints`.
    public var port: Int
    public var nodes: Int
    public var addressing: Addressing
    public var mode: StorageMode
    /// When set, PasswordAuthenticator (SASL PLAIN) is required.
    public var credentials: CQLServerCredentials?
    public var clusterName: String
    /// Directory for the commit log and snapshot; nil keeps everything in memory only.
    public var dataDirectory: String?
    public var commitLogSync: CommitLogSync
    /// Interval of the writes/s summary log line.
    public var summaryInterval: Duration
    /// Port of the admin HTTP endpoint (stop/start a node's listener); nil disables it, 0 is ephemeral.
    public var adminPort: Int?

    public init(
        host: String = "127.0.0.1", port: Int = 9042, nodes: Int = 1, addressing: Addressing = .automatic, mode: StorageMode = .memory,
        credentials: CQLServerCredentials? = nil, clusterName: String = "Stampede Cluster", dataDirectory: String? = nil,
        commitLogSync: CommitLogSync = .batch, summaryInterval: Duration = .seconds(10), adminPort: Int? = nil
    ) {
        self.host = host
        self.port = port
        self.nodes = nodes
        self.addressing = addressing
        self.mode = mode
        self.credentials = credentials
        self.clusterName = clusterName
        self.dataDirectory = dataDirectory
        self.commitLogSync = commitLogSync
        self.summaryInterval = summaryInterval
        self.adminPort = adminPort
    }

    /// Checks the values once, at start-up.
    public func validate() throws(EmbeddedCQLServerError) {
        guard (1...32).contains(nodes) else { throw EmbeddedCQLServerError("--nodes must be between 1 and 32 (got \(nodes))") }
        guard (0...65535).contains(port) else { throw EmbeddedCQLServerError("--port must be between 0 and 65535 (got \(port))") }
        if let adminPort, !(0...65535).contains(adminPort) {
            throw EmbeddedCQLServerError("--admin-port must be between 0 and 65535 (got \(adminPort))")
        }
        if case .periodic(let period) = commitLogSync, period <= .zero {
            throw EmbeddedCQLServerError("the periodic commit log sync period must be positive")
        }
        if resolvedAddressing == .distinctAddresses, !isIPv4Loopback {
            throw EmbeddedCQLServerError("distinct addresses need an IPv4 loopback host such as 127.0.0.1 (got \(host))")
        }
        if case .addresses(let addresses) = addressing { try Self.validate(nodeAddresses: addresses, nodes: nodes) }
    }

    private static func validate(nodeAddresses addresses: [String], nodes: Int) throws(EmbeddedCQLServerError) {
        guard addresses.count == nodes else {
            throw EmbeddedCQLServerError(
                "--node-addresses lists \(addresses.count) address(es) but the cluster has \(nodes) node(s); give one address per node")
        }
        var seen: Set<CQLInet> = []
        for (index, address) in addresses.enumerated() {
            guard let inet = CQLInet(address) else {
                throw EmbeddedCQLServerError(
                    "node \(index + 1)'s address '\(address)' is not an IPv4 or IPv6 address (host names are not accepted)")
            }
            guard inet.bytes.contains(where: { $0 != 0 }) else {
                throw EmbeddedCQLServerError(
                    "node \(index + 1)'s address \(address) is a wildcard; a node must advertise an address clients can reach")
            }
            guard seen.insert(inet).inserted else {
                throw EmbeddedCQLServerError("node \(index + 1)'s address \(address) is listed twice; every node needs its own address")
            }
        }
    }

    private var isIPv4Loopback: Bool { host.hasPrefix("127.") && host.split(separator: ".").count == 4 }

    var resolvedAddressing: Addressing {
        switch addressing {
        case .automatic: return nodes > 1 && port != 0 && isIPv4Loopback ? .distinctAddresses : .distinctPorts
        case .distinctAddresses, .distinctPorts, .addresses: return addressing
        }
    }

    /// The address and requested port of each node.
    var nodeEndpoints: [CQLEndpoint] {
        (0..<nodes).map { index in
            switch resolvedAddressing {
            case .distinctAddresses:
                let parts = host.split(separator: ".").map(String.init)
                let last = (Int(parts[3]) ?? 1) + index
                return CQLEndpoint(host: "\(parts[0]).\(parts[1]).\(parts[2]).\(last)", port: port)
            case .addresses(let addresses):
                return CQLEndpoint(host: addresses[index], port: port)
            case .automatic, .distinctPorts:
                return CQLEndpoint(host: host, port: port == 0 ? 0 : port + index)
            }
        }
    }
}

/// A host and port a node listens on.
public struct CQLEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { "\(host):\(port)" }
}

/// A problem starting, stopping or configuring the embedded server.
public struct EmbeddedCQLServerError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
