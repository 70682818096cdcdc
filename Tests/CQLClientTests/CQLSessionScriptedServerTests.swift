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
    /// Statement ids the server currently knows (shared by every connection, like a node's cache).
    let known: NIOLockedValueBox<Set<[UInt8]>>
    let log: NIOLockedValueBox<[String]>
    var buffer = ByteBuffer()

    init(maximumVersion: UInt8, known: NIOLockedValueBox<Set<[UInt8]>>, log: NIOLockedValueBox<[String]>) {
        self.maximumVersion = maximumVersion
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
                response = .supported(["CQL_VERSION": ["3.4.5"], "COMPRESSION": []])
            case .startup, .register:
                response = .ready
            case .query(let cql, _):
                response = Self.answer(cql)
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
    static func answer(_ cql: String) -> CQLResponse {
        func rows(_ columns: [(String, CQLDataType)], _ values: [[CQLValue]], table: String) -> CQLResponse {
            let specs = columns.map { CQLColumnSpec(keyspace: "system", table: table, name: $0.0, type: $0.1) }
            return .result(.rows(try! CQLRows(columns: specs, rows: values)))
        }
        if cql.contains("system.local") {
            return rows(
                [("data_center", .varchar), ("rack", .varchar), ("tokens", .set(.varchar)), ("release_version", .varchar)],
                [[.text("dc1"), .text("r1"), .set([.text("0")]), .text("3.11.0")]], table: "local")
        }
        if cql.contains("system.peers") {
            return rows([("peer", .inet), ("rpc_address", .inet), ("data_center", .varchar), ("tokens", .set(.varchar))], [], table: "peers")
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
            #expect(log.withLockedValue { $0 } == ["prepare", "execute", "unprepared", "prepare", "execute"])
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
}
