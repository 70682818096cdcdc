import CQLProtocol
import CQLServer
import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import CQLClient

/// The client against the embedded server on loopback (ephemeral ports, bounded).
@Suite(.timeLimit(.minutes(2))) struct CQLSessionIntegrationTests {
    static let schema = [
        "CREATE KEYSPACE IF NOT EXISTS chat WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
        """
        CREATE TABLE IF NOT EXISTS chat.messages (conversation_id uuid, message_id timeuuid, sender text, body text,
        attachments list<text>, PRIMARY KEY ((conversation_id), message_id)) WITH CLUSTERING ORDER BY (message_id DESC)
        """,
    ]

    func withCluster<T>(nodes: Int = 1, credentials: CQLServerCredentials? = nil, _ body: (EmbeddedCQLCluster, [String]) async throws -> T) async throws -> T {
        let cluster = try await EmbeddedCQLCluster.start(EmbeddedCQLServerConfiguration(port: 0, nodes: nodes, credentials: credentials))
        do {
            let result = try await body(cluster, cluster.endpoints.map { "\($0.host):\($0.port)" })
            try await cluster.shutdown()
            return result
        } catch {
            try? await cluster.shutdown()
            throw error
        }
    }

    @Test func requestsOfOneTickGoOutInWritesOfAtMost32() async throws {
        try await withCluster { cluster, _ in
            let endpoint = cluster.endpoints[0]
            let connection = try await CQLConnection.connect(
                to: CQLHostAddress(host: endpoint.host, port: endpoint.port), configuration: CQLConnectionConfiguration())
            #expect(CQLChannelHandler.maxRequestsPerFlush == 32)
            let before = connection.writeStatistics
            // 100 requests written in one event-loop tick: 32 + 32 + 32 go out as they fill up, the last 4 at the
            // end of the tick, instead of all 100 in one write the server could not start on before the last one.
            let responses = try await connection.channel.eventLoop.submit {
                (0..<100).map { _ in connection.send(.options) }
            }.get()
            for response in responses {
                guard case .supported = try await response.get() else {
                    Issue.record("OPTIONS not answered with SUPPORTED")
                    return
                }
            }
            let after = connection.writeStatistics
            #expect(after.requests - before.requests == 100)
            #expect(after.flushes - before.flushes == 4)
            await connection.close()
        }
    }

    @Test func startedExecutesReportTheirResponseThroughTheCallback() async throws {
        try await withCluster { _, contactPoints in
            let session = try await CQLSession.connect(CQLSessionConfiguration(contactPoints: contactPoints))
            for statement in Self.schema { try await session.run(statement) }
            let insert = try await session.prepare("INSERT INTO chat.messages (conversation_id, message_id, sender, body, attachments) VALUES (?, ?, ?, ?, ?)")
            let conversation = UUID()
            let id = CQLTimeUUIDGenerator().next()
            let values: [CQLValue] = [.uuid(conversation), .uuid(id), .text("ana"), .text("started"), .null]
            let response = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<CQLResponse, any Error>) in
                let started = session.startExecute(insert, values: values) { result in continuation.resume(with: result) }
                if !started { continuation.resume(throwing: CQLClientError(.connectionClosed, "not started")) }
            }
            guard case .result(.void) = response else {
                Issue.record("INSERT answered with \(response)")
                return
            }
            let rows = try await session.query("SELECT body FROM chat.messages WHERE conversation_id = ?", values: [.uuid(conversation)])
            #expect(rows.rows.count == 1)
            // Values that do not encode for the statement's columns: not started, and the callback is never called.
            let wrong = session.startExecute(insert, values: [.text("not a uuid")]) { _ in Issue.record("callback of a request never sent") }
            #expect(!wrong)
            await session.close()
            #expect(!session.startExecute(insert, values: values) { _ in Issue.record("callback after close") })
        }
    }

    @Test func preparedInsertsReadBackInClusteringOrderAndPage() async throws {
        try await withCluster { _, contactPoints in
            let session = try await CQLSession.connect(CQLSessionConfiguration(contactPoints: contactPoints))
            for statement in Self.schema { try await session.run(statement) }
            let insert = try await session.prepare("INSERT INTO chat.messages (conversation_id, message_id, sender, body, attachments) VALUES (?, ?, ?, ?, ?)")
            #expect(insert.partitionKeyIndexes == [0])
            #expect(insert.bindColumns.map(\.type) == [.uuid, .timeuuid, .varchar, .varchar, .list(.varchar)])
            let conversation = UUID()
            let generator = CQLTimeUUIDGenerator()
            var ids: [UUID] = []
            for index in 0..<25 {
                let id = generator.next()
                ids.append(id)
                try await session.execute(insert, values: [.uuid(conversation), .uuid(id), .text("u\(index)"), .text("message \(index)"),
                                                           index.isMultiple(of: 5) ? .list([.text("https://x/\(index)")]) : .null])
            }
            let select = try await session.prepare("SELECT message_id, body, attachments FROM chat.messages WHERE conversation_id = ?")
            var seen: [UUID] = []
            for try await row in session.rows(select, values: [.uuid(conversation)], options: CQLStatementOptions(pageSize: 7)) {
                seen.append(try row.decode(UUID.self, at: 0))
            }
            #expect(seen == ids.reversed(), "DESC clustering order across 4 pages")
            let first = try await session.execute(select, values: [.uuid(conversation)], options: CQLStatementOptions(pageSize: 7))
            #expect(first.rows.count == 7)
            #expect(first.pagingState != nil)
            #expect(try first.rows[0].decode(String.self, at: 1) == "message 24")
            let count = try await session.query("SELECT COUNT(*) FROM chat.messages WHERE conversation_id = ?", values: [.uuid(conversation)])
            #expect(try count.rows.first?.decode(Int64.self, at: 0) == 25)
            let attachments = try await session.query("SELECT attachments FROM chat.messages WHERE conversation_id = ? AND message_id = ?",
                                                      values: [.uuid(conversation), .uuid(ids[20])])
            #expect(try attachments.rows.first?.decode([String].self, at: 0) == ["https://x/20"])
            await session.close()
        }
    }

    @Test func opensOneConnectionPerEventLoopUnlessToldOtherwise() async throws {
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: 3)
        let counts: [Int] = try await withCluster { _, contactPoints in
            var counts: [Int] = []
            for connectionsPerHost in [nil, 1, 2] as [Int?] {
                var configuration = CQLSessionConfiguration(contactPoints: contactPoints)
                configuration.eventLoopGroup = loops
                configuration.connectionsPerHost = connectionsPerHost
                let session = try await CQLSession.connect(configuration)
                counts.append(session.state.withLockedValue { $0.pools.values.map(\.openConnections.count).reduce(0, +) })
                await session.close()
            }
            var invalid = CQLSessionConfiguration(contactPoints: contactPoints)
            invalid.connectionsPerHost = 0
            await #expect(throws: CQLClientError.self) { try await CQLSession.connect(invalid) }
            return counts
        }
        try await loops.shutdownGracefully()
        // Unset: one per loop of the session's group; set: as many as asked.
        #expect(counts == [3, 1, 2])
    }

    @Test func useKeyspaceSwitchesEveryConnection() async throws {
        try await withCluster { _, contactPoints in
            var configuration = CQLSessionConfiguration(contactPoints: contactPoints)
            configuration.connectionsPerHost = 3
            let session = try await CQLSession.connect(configuration)
            for statement in Self.schema { try await session.run(statement) }
            try await session.run("USE chat")
            #expect(session.keyspace == "chat")
            // Unqualified table names work whichever pooled connection takes the statement.
            for _ in 0..<9 {
                _ = try await session.query("SELECT * FROM messages LIMIT 1")
            }
            await session.close()
        }
    }

    @Test func serverErrorsAreTypedAndNameTheProblem() async throws {
        try await withCluster { _, contactPoints in
            let session = try await CQLSession.connect(CQLSessionConfiguration(contactPoints: contactPoints))
            await #expect {
                try await session.run("SELEKT nonsense")
            } throws: { error in
                guard let error = error as? CQLClientError, case .syntaxError = error.serverError?.kind else { return false }
                return true
            }
            await #expect {
                try await session.run("SELECT * FROM nowhere.nothing")
            } throws: { error in
                guard let error = error as? CQLClientError, case .invalid = error.serverError?.kind else { return false }
                return true
            }
            await session.close()
        }
    }

    @Test func missingKeyspaceIsReportedByName() async throws {
        try await withCluster { _, contactPoints in
            await #expect {
                _ = try await CQLSession.connect(CQLSessionConfiguration(contactPoints: contactPoints, keyspace: "realtime_chat_app"))
            } throws: { error in
                (error as? CQLClientError)?.message == "keyspace realtime_chat_app does not exist"
            }
        }
    }

    @Test func unreachableContactPointsAreNamedInTheError() async throws {
        let closedPort = try await Self.unusedPort()
        await #expect {
            _ = try await CQLSession.connect(CQLSessionConfiguration(contactPoints: ["127.0.0.1:\(closedPort)"]))
        } throws: { error in
            let message = (error as? CQLClientError)?.message ?? ""
            return message.contains("cannot connect to 127.0.0.1:\(closedPort): connection refused")
        }
        await #expect {
            _ = try await CQLSession.connect(CQLSessionConfiguration(contactPoints: ["127.0.0.1:\(closedPort)", "127.0.0.1:\(closedPort)"]))
        } throws: { error in
            (error as? CQLClientError)?.message.hasPrefix("all 2 hosts failed: cannot connect to 127.0.0.1:\(closedPort)") == true
        }
    }

    @Test func passwordAuthentication() async throws {
        try await withCluster(credentials: CQLServerCredentials(username: "cassandra", password: "secret")) { _, contactPoints in
            var good = CQLSessionConfiguration(contactPoints: contactPoints)
            good.connection.credentials = CQLCredentials(username: "cassandra", password: "secret")
            let session = try await CQLSession.connect(good)
            _ = try await session.query("SELECT release_version FROM system.local")
            await session.close()

            var bad = good
            bad.connection.credentials = CQLCredentials(username: "cassandra", password: "wrong")
            await #expect {
                _ = try await CQLSession.connect(bad)
            } throws: { error in
                guard let error = error as? CQLClientError, case .noHostAvailable = error.kind,
                      case .authentication = error.hostErrors.first?.error.kind else { return false }
                return error.message.contains("rejected the credentials")
            }
            await #expect {
                _ = try await CQLSession.connect(CQLSessionConfiguration(contactPoints: contactPoints))
            } throws: { error in
                (error as? CQLClientError)?.message.contains("requires authentication") == true
            }
        }
    }

    @Test func discoversAThreeNodeClusterAndFailsOverWhenANodeStops() async throws {
        try await withCluster(nodes: 3) { cluster, contactPoints in
            var configuration = CQLSessionConfiguration(contactPoints: [contactPoints[0]])
            configuration.reconnectBaseDelay = .milliseconds(200)
            configuration.reconnectMaxDelay = .milliseconds(400)
            configuration.connection.requestTimeout = .seconds(3)
            let session = try await CQLSession.connect(configuration)
            #expect(Set(session.hosts.map(\.address.description)) == Set(contactPoints))
            #expect(session.hosts.allSatisfy { $0.tokens.count == 1 })
            for statement in Self.schema { try await session.run(statement) }
            let insert = try await session.prepare("INSERT INTO chat.messages (conversation_id, message_id, body) VALUES (?, ?, ?)")
            let generator = CQLTimeUUIDGenerator()
            // Distinct partitions land on all three nodes. (Until a node's pool has a connection, its partitions go
            // to another node: keep writing until each has answered.)
            var answeredBy = Set<String>()
            var warmUpWrites = 0
            for _ in 0..<300 where answeredBy.count < 3 {
                warmUpWrites += 1
                let result = try await session.execute(insert, values: [.uuid(UUID()), .uuid(generator.next()), .text("x")])
                if let host = result.host { answeredBy.insert(host.description) }
            }
            #expect(answeredBy.count == 3)
            // The session learns the new keyspace's replication from the schema-change event, asynchronously; until
            // then its plans are round robin (on a loaded machine that can outlast the warm-up writes).
            var knowsReplication = false
            for _ in 0..<100 where !knowsReplication {
                knowsReplication = session.state.withLockedValue { $0.replications["chat"] } != nil
                if !knowsReplication { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(knowsReplication, "the session learned the keyspace's replication")
            // Token-aware routing: each write's query plan starts with its partition's replica (replication factor 1:
            // the node owning the first token at or after the partition key's). The plan, not the answering host, is
            // checked: a write whose replica has no open connection at that moment (a loaded machine) rightly goes on
            // to the next host of the plan. So is a plan made while the replica's pool is down (on a loaded machine a
            // request timeout can take a pool down and bring it back): such keys are not checked.
            let owners = session.hosts.flatMap { host in host.tokens.map { ($0, host.address.description) } }.sorted { $0.0 < $1.0 }
            func isUp(_ address: String) -> Bool { session.hosts.first { $0.address.description == address }?.isUp == true }
            var checked = 0
            for _ in 0..<60 {
                let conversation = UUID()
                let key = withUnsafeBytes(of: conversation.uuid) { Array($0) }
                let token = Murmur3Partitioner.token(of: key)
                let owner = (owners.first { $0.0 >= token } ?? owners[0]).1
                let upBefore = isUp(owner)
                let plan = session.queryPlan(keyspace: insert.routingKeyspace, routingKey: ByteBuffer(bytes: key))
                // The open model's shortcut picks the same host without building the plan.
                let preferred = session.preferredHost(keyspace: insert.routingKeyspace, routingKey: ByteBuffer(bytes: key))
                if upBefore, isUp(owner) {
                    checked += 1
                    #expect(plan.first?.address.description == owner, "partition token \(token)")
                    #expect(preferred?.address.description == owner, "partition token \(token)")
                }
                _ = try await session.execute(insert, values: [.uuid(conversation), .uuid(generator.next()), .text("x")])
            }
            #expect(checked > 0, "no key was checked: a replica's pool was down throughout")

            try await cluster.stopNode(1)
            let idempotent = CQLStatementOptions(isIdempotent: true)
            for _ in 0..<60 {
                let result = try await session.execute(insert, values: [.uuid(UUID()), .uuid(generator.next()), .text("y")], options: idempotent)
                #expect(result.host?.description != contactPoints[1])
            }
            var markedDown = false
            for _ in 0..<50 where !markedDown {
                markedDown = session.hosts.first { $0.address.description == contactPoints[1] }?.isUp == false
                if !markedDown { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(markedDown, "the stopped node is marked down")
            for _ in 0..<30 {
                let key = withUnsafeBytes(of: UUID().uuid) { Array($0) }
                let preferred = session.preferredHost(keyspace: insert.routingKeyspace, routingKey: ByteBuffer(bytes: key))
                #expect(preferred != nil && preferred?.address.description != contactPoints[1], "a host that is down is not preferred")
            }

            try await cluster.restartNode(1)
            var cameBack = false
            for _ in 0..<50 where !cameBack {
                try await Task.sleep(for: .milliseconds(100))
                cameBack = session.hosts.first { $0.address.description == contactPoints[1] }?.isUp == true
            }
            #expect(cameBack, "the pool reconnects to the restarted node")
            let count = try await session.query("SELECT COUNT(*) FROM chat.messages")
            #expect(try count.rows.first?.decode(Int64.self, at: 0) == Int64(warmUpWrites + 120))
            await session.close()
        }
    }

    static func unusedPort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 1
        try await channel.close()
        return port
    }
}
