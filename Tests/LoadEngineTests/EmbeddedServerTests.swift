import CQLClient
import CQLProtocol
import CQLServer
import Foundation
import Testing
@testable import LoadEngine

/// The engine with the real client against the embedded server, on loopback.
@Suite(.serialized) struct EmbeddedServerTests {
    func withServer(_ body: (CQLSession) async throws -> Void) async throws {
        let cluster = try await EmbeddedCQLCluster.start(EmbeddedCQLServerConfiguration(host: "127.0.0.1", port: 0, summaryInterval: .seconds(3600)))
        let endpoint = try #require(cluster.endpoints.first)
        var configuration = CQLSessionConfiguration(contactPoints: ["\(endpoint.host):\(endpoint.port)"])
        configuration.retryPolicy = CQLRetryPolicy(maxRetries: 0)
        configuration.connectionsPerHost = 1
        let session = try await CQLSession.connect(configuration)
        do {
            for statement in ChatSchema.statements() { try await session.run(statement) }
            try await body(session)
        } catch {
            await session.close()
            try await cluster.shutdown()
            throw error
        }
        await session.close()
        try await cluster.shutdown()
    }

    @Test func writesExactlyTheTargetNumberOfDistinctMessages() async throws {
        try await withServer { session in
            let run = RunIdentity(id: "run-embedded", epochMillis: 1_700_000_000_000)
            var options = ChatWorkload.Options()
            options.conversations = 20
            let workload = ChatWorkload(mix: .write, run: run, options: options)
            // The second pass rewrites the same rows, with the engine's tasks on the session's event loops.
            for group in [nil, CQLSessionConfiguration(contactPoints: []).eventLoopGroup] {
                let runner = LoadRunner(
                    configuration: EngineConfiguration(model: .closed(ClosedModel(users: 32))), workload: workload,
                    executor: CQLSessionExecutor(session: session, eventLoopGroup: group),
                    source: FixedRangeWorkSource(total: 3000, chunkSize: 500))
                let outcome = try await runner.run()
                #expect(outcome.totals.combined.successes == 3000)
                #expect(outcome.totals.combined.errors == 0)
            }
            var stored = Set<UUID>()
            for conversation in workload.factory.dataset.conversations {
                let rows = try await session.query(
                    "SELECT message_id FROM realtime_chat_app.messages_by_conversation WHERE conversation_id = ?",
                    values: [.uuid(conversation)], options: CQLStatementOptions(pageSize: 10_000)).rows
                for row in rows { if case .uuid(let id) = row.first { stored.insert(id) } }
            }
            #expect(stored.count == 3000)
            #expect(stored.contains(workload.factory.messageID(of: 2999)))
        }
    }

    @Test func openModelHoldsItsRateOverTenSecondsAgainstTheServer() async throws {
        try await withServer { session in
            let run = RunIdentity(id: "run-rate", epochMillis: 1_700_000_000_000)
            // A modest rate (500/s for 10 s): the point is the schedule's accuracy, not the server's speed, and the
            // tests share 2 cores with other suites.
            let rate = 500.0
            let seconds = 10.0
            let configuration = EngineConfiguration(model: .open(OpenModel(rate: rate, maxInFlight: 256)), duration: .seconds(seconds))
            let runner = LoadRunner(
                configuration: configuration, workload: ChatWorkload(mix: .mixed, run: run),
                executor: CQLSessionExecutor(session: session), source: UnboundedWorkSource())
            let outcome = try await runner.run()
            let expected = rate * seconds
            let issued = Double(outcome.totals.combined.operations + outcome.totals.dropped)
            // The measured rate over the 10 s is within 2 % of the target, unless the engine itself reported that it
            // could not keep up (on a loaded 2-core machine); then the shortfall is diagnosed, not hidden.
            #expect(abs(issued - expected) <= expected * 0.02 || outcome.health.isLimitingResults,
                    "issued \(issued) of \(expected) without a self-diagnosis: \(outcome.health.reasons)")
            // Per-second intervals cover the 10 s (the last one may be partial).
            #expect(outcome.intervals.count >= 10)
            #expect(outcome.totals.combined.failures == 0)
            #expect(outcome.totals.operations.count == 3)
        }
    }

    /// Writes `users` users and `conversations` conversations (3 members each) the way `stampede seed` lays them out.
    func seed(_ session: CQLSession, users: Int, conversations: Int) async throws -> (users: [UUID: String], conversations: Set<UUID>) {
        var seededUsers: [UUID: String] = [:]
        var seededConversations = Set<UUID>()
        for index in 0..<users {
            let id = UUID.deterministic(seed: 0x5EED, stream: 1, index: UInt64(index))
            let name = "Seeded User \(index)"
            seededUsers[id] = name
            try await session.run(
                "INSERT INTO realtime_chat_app.users_by_id (user_id, username, display_name) VALUES (?, ?, ?)",
                values: [.uuid(id), .text("seeded\(index)"), .text(name)])
        }
        let userIDs = seededUsers.keys.sorted { $0.uuidString < $1.uuidString }
        for index in 0..<conversations {
            let id = UUID.deterministic(seed: 0x5EED, stream: 2, index: UInt64(index))
            seededConversations.insert(id)
            for member in 0..<3 {
                let user = userIDs[(index * 3 + member) % userIDs.count]
                try await session.run(
                    "INSERT INTO realtime_chat_app.members_by_conversation (conversation_id, user_id, role) VALUES (?, ?, ?)",
                    values: [.uuid(id), .uuid(user), .text("member")])
            }
        }
        return (seededUsers, seededConversations)
    }

    /// Every stored message of these conversations: (conversation, sender id, sender name).
    func messages(_ session: CQLSession, in conversations: Set<UUID>) async throws -> [(UUID, UUID, String)] {
        var found: [(UUID, UUID, String)] = []
        for conversation in conversations {
            let rows = try await session.query(
                "SELECT conversation_id, sender_id, sender_name FROM realtime_chat_app.messages_by_conversation WHERE conversation_id = ?",
                values: [.uuid(conversation)], options: CQLStatementOptions(pageSize: 10_000)).rows
            for row in rows {
                guard row.count == 3, case .uuid(let id) = row[0], case .uuid(let sender) = row[1], case .text(let name) = row[2] else {
                    Issue.record("unexpected row \(row)")
                    continue
                }
                found.append((id, sender, name))
            }
        }
        return found
    }

    @Test func seededRowsSupplySendersAndConversations() async throws {
        try await withServer { session in
            let seeded = try await seed(session, users: 40, conversations: 12)
            var options = ChatWorkload.Options()
            options.useSeededRows = true
            let run = RunIdentity(id: "run-seeded", epochMillis: 1_700_000_000_000)
            // chat-write, then chat-mixed: every message either writes lands in a seeded conversation, from a
            // seeded sender under the seeded display name.
            var written: UInt64 = 0
            for mix in [ChatWorkload.Mix.write, .mixed] {
                let runner = LoadRunner(
                    configuration: EngineConfiguration(model: .closed(ClosedModel(users: 16))),
                    workload: ChatWorkload(mix: mix, run: run, options: options),
                    executor: CQLSessionExecutor(session: session), source: FixedRangeWorkSource(total: 600, chunkSize: 100))
                let outcome = try await runner.run()
                #expect(outcome.totals.combined.failures == 0)
                written += outcome.totals.operations[ChatWorkload.sendMessage]?.successes ?? 0
                #expect(outcome.setupNotes.count == 1)
                #expect(outcome.setupNotes.first?.contains("40 seeded users and 12 seeded conversations") == true,
                        "\(outcome.setupNotes)")
            }
            #expect(written > 600)  // 600 from chat-write, about 180 from chat-mixed
            let stored = try await messages(session, in: seeded.conversations)
            // chat-mixed re-writes chat-write's indexes it picks as sends (same index, same row), so count distinct ids.
            #expect(stored.count >= 600)
            #expect(stored.count <= Int(written))
            for (_, sender, name) in stored {
                #expect(seeded.users[sender] == name, "sender \(sender) (\(name)) is not a seeded user")
            }
            // More than one seeded conversation and sender is used.
            #expect(Set(stored.map(\.0)).count > 1)
            #expect(Set(stored.map(\.1)).count > 1)
            // Nothing was written outside the seeded conversations: the generator's conversations are empty.
            let generated = ChatWorkload(mix: .write, run: run).factory.dataset.conversations.prefix(50)
            #expect(try await messages(session, in: Set(generated)).isEmpty)
        }
    }

    @Test func withoutSeededRowsFallsBackToTheGeneratorWithANote() async throws {
        try await withServer { session in
            var options = ChatWorkload.Options()
            options.useSeededRows = true
            options.conversations = 20
            let run = RunIdentity(id: "run-unseeded", epochMillis: 1_700_000_000_000)
            let workload = ChatWorkload(mix: .write, run: run, options: options)
            let runner = LoadRunner(
                configuration: EngineConfiguration(model: .closed(ClosedModel(users: 8))), workload: workload,
                executor: CQLSessionExecutor(session: session), source: FixedRangeWorkSource(total: 200))
            let outcome = try await runner.run()
            #expect(outcome.totals.combined.successes == 200)
            #expect(outcome.setupNotes.count == 1)
            let note = try #require(outcome.setupNotes.first)
            #expect(note.contains("none found") && note.contains("deterministic generator") && note.contains("stampede seed"), "\(note)")
            #expect(runner.setupNotes == outcome.setupNotes)
            // The messages are the generator's: same conversations and senders as a run without --seeded-rows.
            let stored = try await messages(session, in: Set(workload.factory.dataset.conversations))
            #expect(stored.count == 200)
            let generatedUsers = Dictionary(uniqueKeysWithValues: workload.factory.dataset.users.map { ($0.id, $0.name) })
            #expect(stored.allSatisfy { generatedUsers[$0.1] == $0.2 })
            #expect(stored.contains { $0.1 == workload.factory.message(at: 7).senderID })
        }
    }
}
