import CQLProtocol
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import CQLClient

/// A one-node "cluster" scripted at the protocol level, for behaviour the embedded server cannot provoke:
/// a server that forgets prepared statements, and one that only speaks protocol v3.
final class ScriptedClusterHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Highest protocol version accepted; higher versions get Cassandra's "unsupported protocol version" error.
    let maximumVersion: UInt8
    /// The node's datacenter, and its peers as (address, datacenter) rows.
    let datacenter: String
    let peers: [(address: String, datacenter: String)]
    /// Answer `system.peers_v2` with Invalid, like Cassandra before 4.0, so clients fall back to `system.peers`.
    let lacksPeersV2: Bool
    /// Never answer OPTIONS after the handshake (a peer that stopped responding).
    let ignoresHeartbeats: Bool
    var ready = false
    /// Statement ids the server currently knows (shared by every connection, like a node's cache).
    let known: NIOLockedValueBox<Set<[UInt8]>>
    let log: NIOLockedValueBox<[String]>
    var buffer = ByteBuffer()

    init(
        maximumVersion: UInt8, known: NIOLockedValueBox<Set<[UInt8]>>, log: NIOLockedValueBox<[String]>, datacenter: String = "dc1",
        peers: [(address: String, datacenter: String)] = [], lacksPeersV2: Bool = false, ignoresHeartbeats: Bool = false
    ) {
        self.maximumVersion = maximumVersion
        self.datacenter = datacenter
        self.peers = peers
        self.lacksPeersV2 = lacksPeersV2
        self.ignoresHeartbeats = ignoresHeartbeats
        self.known = known
        self.log = log
    }

    static let preparedID: [UInt8] = Array(repeating: 0xAB, count: 16)

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        let decoder = CQLFrameDecoder(acceptedVersions: 1...5)
        while let frame = try? decoder.decodeFrame(from: &buffer) {
            let version = frame.header.version
            var reply = ByteBuffer()
            defer { context.writeAndFlush(wrapOutboundOut(reply), promise: nil) }
            guard version <= maximumVersion else {
                log.withLockedValue { $0.append("rejected v\(version)") }
                let error = CQLServerError(.protocolError, "Invalid or unsupported protocol version (\(version)); supported versions are (3/v3)")
                CQLFrameEncoder.write(CQLResponse.error(error), stream: frame.header.stream, version: maximumVersion, into: &reply)
                continue
            }
            guard let request = try? CQLRequest.decode(opcode: frame.header.opcode, body: frame.body) else { return }
            let response: CQLResponse
            switch request {
            case .options:
                if ready && ignoresHeartbeats {
                    log.withLockedValue { $0.append("ignored heartbeat") }
                    continue
                }
                response = .supported(["CQL_VERSION": ["3.4.5"], "COMPRESSION": []])
            case .startup, .register:
                ready = true
                response = .ready
            case .query(let cql, _):
                log.withLockedValue { $0.append("query " + cql) }
                response = answer(cql)
            case .prepare:
                known.withLockedValue { _ = $0.insert(Self.preparedID) }
                log.withLockedValue { $0.append("prepare") }
                let column = CQLColumnSpec(keyspace: "ks", table: "t", name: "id", type: .int)
                response = .result(.prepared(CQLPrepared(id: Self.preparedID, bindColumns: [column], partitionKeyIndexes: [0], resultColumns: [])))
            case .execute(let id, _):
                if known.withLockedValue({ $0.contains(id) }) {
                    log.withLockedValue { $0.append("execute") }
                    response = .result(.void)
                } else {
                    log.withLockedValue { $0.append("unprepared") }
                    response = .error(CQLServerError(.unprepared(id: id), "Prepared query with ID \(id) not found"))
                }
            case .batch, .authResponse:
                response = .result(.void)
            }
            CQLFrameEncoder.write(response, stream: frame.header.stream, version: version, into: &reply)
        }
    }

    /// Answers the system tables a session reads at connect.
    func answer(_ cql: String) -> CQLResponse {
        func rows(_ columns: [(String, CQLDataType)], _ values: [[CQLValue]], table: String) -> CQLResponse {
            let specs = columns.map { CQLColumnSpec(keyspace: "system", table: table, name: $0.0, type: $0.1) }
            return .result(.rows(try! CQLRows(columns: specs, rows: values)))
        }
        if cql.contains("system.local") {
            return rows(
                [("data_center", .varchar), ("rack", .varchar), ("tokens", .set(.varchar)), ("release_version", .varchar)],
                [[.text(datacenter), .text("r1"), .set([.text("0")]), .text("3.11.0")]], table: "local")
        }
        if cql.contains("system.peers_v2"), lacksPeersV2 {
            return .error(CQLServerError(.invalid, "unconfigured table peers_v2"))
        }
        if cql.contains("system.peers") {
            let values: [[CQLValue]] = peers.enumerated().map { index, peer in
                [.inet(CQLInet(peer.address)!), .inet(CQLInet(peer.address)!), .text(peer.datacenter), .set([.text(String(1000 * (index + 1)))])]
            }
            return rows([("peer", .inet), ("rpc_address", .inet), ("data_center", .varchar), ("tokens", .set(.varchar))], values, table: "peers")
        }
        if cql.contains("system_schema.keyspaces") {
            return rows(
                [("keyspace_name", .varchar), ("replication", .map(.varchar, .varchar))],
                [[.text("ks"), .map([CQLMapEntry(key: .text("class"), value: .text("SimpleStrategy")),
                                     CQLMapEntry(key: .text("replication_factor"), value: .text("1"))])]], table: "keyspaces")
        }
        return .result(.void)
    }
}

@Suite(.timeLimit(.minutes(1))) struct CQLSessionScriptedServerTests {
    func withScriptedCluster<T>(maximumVersion: UInt8 = 4, _ body: (String, NIOLockedValueBox<Set<[UInt8]>>, NIOLockedValueBox<[String]>) async throws -> T) async throws -> T {
        let known = NIOLockedValueBox<Set<[UInt8]>>([])
        let log = NIOLockedValueBox<[String]>([])
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ScriptedClusterHandler(maximumVersion: maximumVersion, known: known, log: log))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { server.close(promise: nil) }
        return try await body("127.0.0.1:\(server.localAddress!.port!)", known, log)
    }

    @Test func executeRepreparesOnUnpreparedAndSucceeds() async throws {
        try await withScriptedCluster { contactPoint, known, log in
            let session = try await CQLSession.connect(CQLSessionConfiguration(contactPoints: [contactPoint]))
            let statement = try await session.prepare("INSERT INTO ks.t (id) VALUES (?)")
            try await session.execute(statement, values: [.int(1)])
            // The node forgets the statement (a restart): the next execute gets Unprepared, re-prepares, succeeds.
            known.withLockedValue { $0.removeAll() }
            try await session.execute(statement, values: [.int(2)])
            #expect(log.withLockedValue { $0 }.filter { !$0.hasPrefix("query") } == ["prepare", "execute", "unprepared", "prepare", "execute"])
            await session.close()
        }
    }

    @Test func stepsDownToTheServersProtocolVersion() async throws {
        try await withScriptedCluster(maximumVersion: 3) { contactPoint, _, log in
            let session = try await CQLSession.connect(CQLSessionConfiguration(contactPoints: [contactPoint]))
            #expect(session.hosts.first?.releaseVersion == "3.11.0")
            let statement = try await session.prepare("INSERT INTO ks.t (id) VALUES (?)")
            try await session.execute(statement, values: [.int(1)])
            #expect(log.withLockedValue { $0 }.contains("rejected v4"))
            await session.close()
        }
        try await withScriptedCluster(maximumVersion: 3) { contactPoint, _, _ in
            let address = try CQLHostAddress(parsing: contactPoint)
            let connection = try await CQLConnection.connect(to: address, configuration: CQLConnectionConfiguration())
            #expect(connection.protocolVersion == 3)
            await connection.close()
            var strict = CQLConnectionConfiguration()
            strict.minimumProtocolVersion = 4
            await #expect {
                _ = try await CQLConnection.connect(to: address, configuration: strict)
            } throws: { error in
                guard let error = error as? CQLClientError, case .unsupportedProtocolVersion = error.kind else { return false }
                return error.message.contains("does not support protocol v4")
            }
        }
    }

    /// Two scripted nodes on 127.0.0.1 and 127.0.0.2 (same port), the first listing the second as a peer.
    func withTwoNodes<T>(
        localDatacenter: String, peerDatacenter: String, lacksPeersV2: Bool,
        _ body: (String, NIOLockedValueBox<[String]>, NIOLockedValueBox<[String]>) async throws -> T
    ) async throws -> T {
        let firstLog = NIOLockedValueBox<[String]>([]), secondLog = NIOLockedValueBox<[String]>([])
        let known = NIOLockedValueBox<Set<[UInt8]>>([])
        let first = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ScriptedClusterHandler(
                        maximumVersion: 4, known: known, log: firstLog, datacenter: localDatacenter,
                        peers: [("127.0.0.2", peerDatacenter)], lacksPeersV2: lacksPeersV2))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { first.close(promise: nil) }
        let port = first.localAddress!.port!
        let second = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ScriptedClusterHandler(
                        maximumVersion: 4, known: known, log: secondLog, datacenter: peerDatacenter,
                        peers: [("127.0.0.1", localDatacenter)], lacksPeersV2: lacksPeersV2))
                }
            }
            .bind(host: "127.0.0.2", port: port).get()
        defer { second.close(promise: nil) }
        return try await body("127.0.0.1:\(port)", firstLog, secondLog)
    }

    @Test func fallsBackToSystemPeersAndDiscoversThePeer() async throws {
        try await withTwoNodes(localDatacenter: "dc1", peerDatacenter: "dc1", lacksPeersV2: true) { contactPoint, firstLog, _ in
            let session = try await CQLSession.connect(CQLSessionConfiguration(contactPoints: [contactPoint]))
            #expect(session.hosts.map(\.address.host) == ["127.0.0.1", "127.0.0.2"])
            #expect(session.hosts.map(\.tokens) == [[0], [1000]])
            let queries = firstLog.withLockedValue { $0 }.filter { $0.hasPrefix("query") }
            #expect(queries.contains { $0.contains("system.peers_v2") } && queries.contains { $0.hasSuffix("system.peers") })
            await session.close()
        }
    }

    @Test func datacenterAwarePlansStayInTheLocalDatacenter() async throws {
        try await withTwoNodes(localDatacenter: "dc1", peerDatacenter: "dc2", lacksPeersV2: false) { contactPoint, _, secondLog in
            // Local datacenter from the contact point (dc1): the dc2 node gets no pool and no statements.
            let session = try await CQLSession.connect(CQLSessionConfiguration(contactPoints: [contactPoint]))
            #expect(session.localDatacenter == "dc1")
            for _ in 0..<10 {
                let result = try await session.query("SELECT now() FROM system.local")
                #expect(result.host?.host == "127.0.0.1")
            }
            #expect(!secondLog.withLockedValue { $0 }.contains { $0.hasPrefix("query SELECT now()") })
            await session.close()

            // Told that dc2 is local, the session sends everything there.
            var configuration = CQLSessionConfiguration(contactPoints: [contactPoint])
            configuration.localDatacenter = "dc2"
            let remote = try await CQLSession.connect(configuration)
            for _ in 0..<10 {
                let result = try await remote.query("SELECT now() FROM system.local")
                #expect(result.host?.host == "127.0.0.2")
            }
            await remote.close()
        }
    }

    @Test func unansweredHeartbeatClosesTheConnection() async throws {
        let known = NIOLockedValueBox<Set<[UInt8]>>([])
        let log = NIOLockedValueBox<[String]>([])
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ScriptedClusterHandler(maximumVersion: 4, known: known, log: log, ignoresHeartbeats: true))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { server.close(promise: nil) }
        var configuration = CQLConnectionConfiguration()
        configuration.heartbeatInterval = .milliseconds(200)
        configuration.requestTimeout = .milliseconds(400)
        let connection = try await CQLConnection.connect(to: CQLHostAddress(host: "127.0.0.1", port: server.localAddress!.port!), configuration: configuration)
        // Idle: a heartbeat goes out after 200 ms, is not answered within 400 ms, and the connection is closed.
        try await connection.closeFuture.get()
        #expect(!connection.isActive)
        #expect(log.withLockedValue { $0 }.contains("ignored heartbeat"))
    }
}
