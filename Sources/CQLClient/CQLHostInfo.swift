import CQLProtocol

/// What the session knows about one node of the cluster.
public struct CQLHostInfo: Sendable, Hashable {
    public var address: CQLHostAddress
    public var datacenter: String
    public var rack: String
    public var hostID: String?
    public var releaseVersion: String?
    public var tokens: [Int64]
    /// Whether the session currently believes the host is reachable.
    public var isUp: Bool

    public init(address: CQLHostAddress, datacenter: String, rack: String, hostID: String?, releaseVersion: String?,
                tokens: [Int64], isUp: Bool = true) {
        self.address = address
        self.datacenter = datacenter
        self.rack = rack
        self.hostID = hostID
        self.releaseVersion = releaseVersion
        self.tokens = tokens
        self.isUp = isUp
    }
}

/// Reads host rows of system.local / system.peers_v2 / system.peers.
enum CQLSystemTables {
    static let localQuery = "SELECT * FROM system.local WHERE key='local'"
    static let peersV2Query = "SELECT * FROM system.peers_v2"
    static let peersQuery = "SELECT * FROM system.peers"
    static let keyspacesQuery = "SELECT keyspace_name, replication FROM system_schema.keyspaces"

    /// Builds host infos from rows of one of the system tables.
    /// - Parameters:
    ///   - connectedAddress: for system.local, the address we are connected to (used as the host's address).
    static func hosts(from result: CQLQueryResult, connectedAddress: CQLHostAddress?, defaultPort: Int) -> [CQLHostInfo] {
        var hosts: [CQLHostInfo] = []
        for row in result.rows.indices {
            func text(_ column: String) -> String? {
                if case .text(let value)? = result.value(row: row, column: column) { return value }
                return nil
            }
            func inet(_ column: String) -> CQLInet? {
                if case .inet(let value)? = result.value(row: row, column: column) { return value }
                return nil
            }
            func int(_ column: String) -> Int? {
                if case .int(let value)? = result.value(row: row, column: column) { return Int(value) }
                return nil
            }
            let address: CQLHostAddress
            if let connectedAddress {
                address = connectedAddress
            } else {
                // peers_v2: native_address/native_port; peers: rpc_address (0.0.0.0 means "use peer").
                var host = inet("native_address") ?? inet("rpc_address")
                if host == nil || host?.bytes.allSatisfy({ $0 == 0 }) == true { host = inet("peer") }
                guard let host else { continue }
                address = CQLHostAddress(host: host.description, port: int("native_port") ?? defaultPort)
            }
            var tokens: [Int64] = []
            if case .set(let values)? = result.value(row: row, column: "tokens") {
                for case .text(let token) in values { if let value = Int64(token) { tokens.append(value) } }
            }
            var hostID: String?
            if case .uuid(let id)? = result.value(row: row, column: "host_id") { hostID = id.uuidString.lowercased() }
            hosts.append(CQLHostInfo(
                address: address, datacenter: text("data_center") ?? "datacenter1", rack: text("rack") ?? "rack1",
                hostID: hostID, releaseVersion: text("release_version"), tokens: tokens))
        }
        return hosts
    }

    static func replications(from result: CQLQueryResult) -> [String: CQLReplication] {
        var replications: [String: CQLReplication] = [:]
        for row in result.rows.indices {
            guard case .text(let name)? = result.value(row: row, column: "keyspace_name") else { continue }
            var options: [String: String] = [:]
            if case .map(let entries)? = result.value(row: row, column: "replication") {
                for entry in entries {
                    if case .text(let key) = entry.key, case .text(let value) = entry.value { options[key] = value }
                }
            }
            replications[name] = CQLReplication(options: options)
        }
        return replications
    }
}
