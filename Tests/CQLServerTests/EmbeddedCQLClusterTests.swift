import CQLProtocol
import Foundation
import NIOCore
import Testing

@testable import CQLServer

#if canImport(Glibc)
import Glibc
#endif

/// Live-socket tests on 127.0.0.1 with raw frames: version negotiation, malformed frames, node stop/restart.
@Suite struct EmbeddedCQLClusterTests {
    /// A blocking TCP client with a receive timeout.
    // @unchecked Sendable: a test helper owning one socket; a test hands clients from the thread that connected them.
    final class RawClient: @unchecked Sendable {
        let descriptor: Int32

        init(port: Int, host: String = "127.0.0.1") throws {
            descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr(host)
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard result == 0 else { throw EmbeddedCQLServerError("connect failed") }
        }

        deinit { close(descriptor) }

        func send(_ bytes: [UInt8]) {
            _ = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, 0) }
        }

        func send(_ request: CQLRequest, stream: Int16, version: UInt8 = 4) {
            var buffer = ByteBuffer()
            CQLFrameEncoder.write(request, stream: stream, version: version, into: &buffer)
            send(Array(buffer.readableBytesView))
        }

        /// Reads one response frame; nil when the server closed the connection.
        func receive() -> (header: CQLFrameHeader, response: CQLResponse)? {
            guard let head = read(9) else { return nil }
            let length = Int(Int32(bigEndian: head[5...8].withUnsafeBytes { $0.loadUnaligned(as: Int32.self) }))
            guard let body = length == 0 ? [] : read(length) else { return nil }
            var buffer = ByteBuffer(bytes: head + body)
            guard let frame = try? CQLFrameDecoder(acceptedVersions: 1...6).decodeFrame(from: &buffer),
                let response = try? CQLResponse.decode(opcode: frame.header.opcode, flags: frame.header.flags, body: frame.body)
            else { return nil }
            return (frame.header, response)
        }

        private func read(_ count: Int) -> [UInt8]? {
            var bytes = [UInt8](repeating: 0, count: count)
            var offset = 0
            while offset < count {
                let received = bytes.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress! + offset, count - offset, 0) }
                if received <= 0 { return nil }
                offset += received
            }
            return bytes
        }
    }

    func withCluster(nodes: Int = 1, _ body: (EmbeddedCQLCluster) async throws -> Void) async throws {
        let cluster = try await EmbeddedCQLCluster.start(EmbeddedCQLServerConfiguration(port: 0, nodes: nodes))
        do {
            try await body(cluster)
        } catch {
            try await cluster.shutdown()
            throw error
        }
        try await cluster.shutdown()
    }

    @Test func unsupportedVersionsGetAProtocolErrorOnTheRequestStream() async throws {
        try await withCluster { cluster in
            for version: UInt8 in [0x42, 0x41, 5] {
                let client = try RawClient(port: cluster.endpoints[0].port)
                client.send(.options, stream: 0, version: version)
                let reply = client.receive()
                #expect(reply?.header.version == 4)
                #expect(reply?.header.stream == 0)
                guard case .error(let error) = reply?.response else { Issue.record("no error for v\(version)"); continue }
                #expect(error.kind == .protocolError)
                #expect(error.message.contains("unsupported protocol version (\(version))"))
                #expect(client.receive() == nil)
            }
        }
    }

    @Test func handshakeAndPipelinedQueriesKeepTheirStreams() async throws {
        try await withCluster { cluster in
            let client = try RawClient(port: cluster.endpoints[0].port)
            client.send(.options, stream: 0)
            guard case .supported(let options) = client.receive()?.response else { Issue.record("no SUPPORTED"); return }
            #expect(options["COMPRESSION"] == [])
            client.send(.startup(options: ["CQL_VERSION": "3.0.0"]), stream: 1)
            #expect(client.receive()?.response == .ready)
            client.send(.query("SELECT * FROM system.peers_v2", CQLQueryParameters()), stream: 7)
            client.send(.query("SELECT * FROM system.local WHERE key='local'", CQLQueryParameters()), stream: 9)
            let first = client.receive()
            let second = client.receive()
            #expect(Set([first?.header.stream, second?.header.stream]) == [7, 9])
        }
    }

    @Test func malformedFrameClosesOnlyThatConnection() async throws {
        try await withCluster { cluster in
            let healthy = try RawClient(port: cluster.endpoints[0].port)
            healthy.send(.options, stream: 3)
            #expect(healthy.receive() != nil)
            let broken = try RawClient(port: cluster.endpoints[0].port)
            broken.send([0x04, 0x00, 0x00, 0x05, 0x7E, 0, 0, 0, 0])  // unknown opcode 0x7E
            guard case .error(let error) = broken.receive()?.response else { Issue.record("no protocol error"); return }
            #expect(error.kind == .protocolError)
            #expect(broken.receive() == nil)
            healthy.send(.options, stream: 4)
            #expect(healthy.receive()?.header.stream == 4)
        }
    }

    @Test func stoppedNodeRefusesConnectionsAndRestartsOnItsPort() async throws {
        try await withCluster(nodes: 3) { cluster in
            let endpoints = cluster.endpoints
            #expect(Set(endpoints.map(\.port)).count == 3)
            let client = try RawClient(port: endpoints[1].port)
            try await cluster.stopNode(1)
            #expect(client.receive() == nil)
            #expect(throws: EmbeddedCQLServerError.self) { _ = try RawClient(port: endpoints[1].port) }
            try await cluster.restartNode(1)
            #expect(cluster.endpoints[1] == endpoints[1])
            let again = try RawClient(port: endpoints[1].port)
            again.send(.options, stream: 0)
            #expect(again.receive() != nil)
        }
    }

    @Test func connectionsAcceptedWhileANodeStopsDoNotOutliveTheStop() async throws {
        try await withCluster(nodes: 2) { cluster in
            let port = cluster.endpoints[1].port
            // Clients keep connecting from another thread while the node stops: each is refused, reset, or closed by
            // the stop — including one accepted just before it whose set-up finished after it.
            let connecting = Task.detached { () -> [RawClient] in
                var clients: [RawClient] = []
                for _ in 0..<300 {
                    if let client = try? RawClient(port: port) { clients.append(client) }
                }
                return clients
            }
            try await Task.sleep(for: .milliseconds(5))
            try await cluster.stopNode(1)
            let clients = await connecting.value
            var answered = 0
            for (stream, client) in clients.enumerated() {
                client.send(.options, stream: Int16(stream))
                if client.receive() != nil { answered += 1 }
            }
            #expect(answered == 0, "\(answered) of \(clients.count) connections to the stopped node still answered")
            #expect(!cluster.isNodeRunning(1))
        }
    }
}
