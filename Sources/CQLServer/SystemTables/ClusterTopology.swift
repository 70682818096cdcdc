import CQLProtocol
import Foundation

/// One node of the simulated cluster as the system tables describe it.
public struct CQLNodeDescriptor: Sendable, Hashable {
    /// The IP address clients connect to (and the node reports as its rpc/broadcast/listen address).
    public var address: String
    /// The native-protocol port; 0 until the listener is bound.
    public var port: Int
    public var hostID: UUID
    /// The node's single token (Murmur3 ring, evenly split).
    public var token: Int64
    public var dataCenter: String
    public var rack: String
    /// Whether the node's listener is accepting connections.
    public var isUp: Bool

    public init(address: String, port: Int, hostID: UUID, token: Int64, dataCenter: String = "datacenter1", rack: String = "rack1", isUp: Bool = true) {
        self.address = address
        self.port = port
        self.hostID = hostID
        self.token = token
        self.dataCenter = dataCenter
        self.rack = rack
        self.isUp = isUp
    }
}

/// The nodes of the embedded cluster. All nodes share one store; replication is not simulated.
public struct ClusterTopology: Sendable, Hashable {
    public var clusterName: String
    public var nodes: [CQLNodeDescriptor]

    /// Reported as `release_version`: ≥ 4.0 so drivers use system_schema, peers_v2 and server-side DESCRIBE.
    public static let releaseVersion = "4.1.5"
    public static let cqlVersion = "3.4.6"
    public static let nativeProtocolVersion = "4"

    public init(clusterName: String, nodes: [CQLNodeDescriptor]) {
        self.clusterName = clusterName
        self.nodes = nodes
    }

    /// `count` nodes with evenly spaced tokens; node 0 owns the ring's minimum token.
    public static func evenlySpaced(clusterName: String, addresses: [String], ports: [Int]) -> ClusterTopology {
        let count = max(1, addresses.count)
        let step = UInt64.max / UInt64(count)
        var nodes: [CQLNodeDescriptor] = []
        for index in 0..<addresses.count {
            let token = Int64.min &+ Int64(bitPattern: step &* UInt64(index))
            nodes.append(
                CQLNodeDescriptor(
                    address: addresses[index], port: index < ports.count ? ports[index] : 0, hostID: UUID(), token: token))
        }
        return ClusterTopology(clusterName: clusterName, nodes: nodes)
    }
}
