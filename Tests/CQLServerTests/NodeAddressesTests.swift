import CQLProtocol
import Foundation
import Testing

@testable import CQLServer

#if canImport(Glibc)
import Glibc
#endif

/// `--node-addresses`: each node on its own IP address and the same port, advertising that address.
@Suite struct NodeAddressesTests {
    private func configuration(_ addresses: [String], nodes: Int? = nil, port: Int = 9042) -> EmbeddedCQLServerConfiguration {
        EmbeddedCQLServerConfiguration(port: port, nodes: nodes ?? addresses.count, addressing: .addresses(addresses))
    }

    private func validationMessage(_ configuration: EmbeddedCQLServerConfiguration) -> String? {
        do {
            try configuration.validate()
            return nil
        } catch {
            return error.message
        }
    }

    @Test func everyNodeGetsItsOwnAddressOnTheSamePort() throws {
        let config = configuration(["10.77.0.11", "10.77.0.12", "10.77.0.13"])
        try config.validate()
        #expect(config.nodeEndpoints == [
            CQLEndpoint(host: "10.77.0.11", port: 9042), CQLEndpoint(host: "10.77.0.12", port: 9042),
            CQLEndpoint(host: "10.77.0.13", port: 9042),
        ])
        let ipv6 = configuration(["fd00::1", "fd00::2"])
        try ipv6.validate()
        #expect(ipv6.nodeEndpoints.map(\.host) == ["fd00::1", "fd00::2"])
    }

    @Test func badAddressListsAreRefusedWithTheCause() {
        #expect(validationMessage(configuration(["10.0.0.1", "10.0.0.2"], nodes: 3))?.contains("lists 2 address(es) but the cluster has 3 node(s)") == true)
        #expect(validationMessage(configuration(["10.0.0.1", "10.0.0"]))?.contains("node 2's address '10.0.0' is not an IPv4 or IPv6 address") == true)
        #expect(validationMessage(configuration(["node1.example"]))?.contains("host names are not accepted") == true)
        #expect(validationMessage(configuration(["10.0.0.1", "300.0.0.2"]))?.contains("'300.0.0.2' is not an IPv4") == true)
        #expect(validationMessage(configuration(["10.0.0.1", ""]))?.contains("node 2's address ''") == true)
        #expect(validationMessage(configuration(["0.0.0.0"]))?.contains("is a wildcard") == true)
        #expect(validationMessage(configuration(["::", "::1"]))?.contains("node 1's address :: is a wildcard") == true)
        #expect(validationMessage(configuration(["10.0.0.1", "10.0.0.2", "10.0.0.1"]))?.contains("node 3's address 10.0.0.1 is listed twice") == true)
    }

    @Test func anAddressThisMachineDoesNotHaveIsAStartError() async {
        // 192.0.2.0/24 is TEST-NET-1: never assigned to a local interface.
        await #expect {
            _ = try await EmbeddedCQLCluster.start(configuration(["127.0.0.1", "192.0.2.77"], port: 0))
        } throws: { error in
            (error as? EmbeddedCQLServerError)?.message.contains("node 2 cannot listen on 192.0.2.77:0") == true
        }
    }

    /// A port free on the loopback addresses the test uses (picked by the kernel, then released).
    private func freePort(on host: String) throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr(host)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard bound else { throw EmbeddedCQLServerError("no free port on \(host)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private func rows(_ client: EmbeddedCQLClusterTests.RawClient, _ cql: String, stream: Int16) throws -> [[String: CQLValue]] {
        client.send(.query(cql, CQLQueryParameters()), stream: stream)
        guard case .result(.rows(let rows)) = client.receive()?.response else {
            throw EmbeddedCQLServerError("no rows for \(cql)")
        }
        let columns = rows.metadata.columns ?? []
        return try rows.decodeRows().map { row in
            Dictionary(uniqueKeysWithValues: zip(columns.map(\.name), row))
        }
    }

    @Test func systemTablesAdvertiseEachNodesOwnAddress() async throws {
        // Deliberately not consecutive and not in order: the list, not a rule, decides each node's address.
        let addresses = ["127.0.0.5", "127.0.0.3", "127.0.0.7"]
        let port = try freePort(on: addresses[0])
        let cluster = try await EmbeddedCQLCluster.start(configuration(addresses, port: port))
        do {
            #expect(cluster.endpoints == addresses.map { CQLEndpoint(host: $0, port: port) })
            for (index, address) in addresses.enumerated() {
                let client = try EmbeddedCQLClusterTests.RawClient(port: port, host: address)
                client.send(.startup(options: ["CQL_VERSION": "3.0.0"]), stream: 1)
                #expect(client.receive()?.response == .ready)
                let local = try rows(client, "SELECT rpc_address, broadcast_address, listen_address, rpc_port FROM system.local WHERE key='local'", stream: 2)
                #expect(local.count == 1)
                for column in ["rpc_address", "broadcast_address", "listen_address"] {
                    #expect(local.first?[column] == .inet(CQLInet(address)!), "node \(index + 1) \(column)")
                }
                #expect(local.first?["rpc_port"] == .int(Int32(port)))
                let others = addresses.filter { $0 != address }.map { CQLValue.inet(CQLInet($0)!) }
                let peers = try rows(client, "SELECT peer, rpc_address FROM system.peers", stream: 3)
                #expect(Set(peers.compactMap { $0["rpc_address"] }) == Set(others))
                #expect(Set(peers.compactMap { $0["peer"] }) == Set(others))
                let peersV2 = try rows(client, "SELECT peer, native_address, native_port FROM system.peers_v2", stream: 4)
                #expect(Set(peersV2.compactMap { $0["native_address"] }) == Set(others))
                #expect(peersV2.allSatisfy { $0["native_port"] == .int(Int32(port)) })
            }
        } catch {
            try await cluster.shutdown()
            throw error
        }
        try await cluster.shutdown()
    }
}
