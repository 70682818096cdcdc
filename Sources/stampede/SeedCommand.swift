import ArgumentParser
import CQLClient
import Foundation
import Verification

/// `stampede seed`: users and conversations for the write workload to draw from.
struct SeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed",
        abstract: "Write users and direct/group conversations with members, so chat runs can draw from real rows.",
        discussion: "The rows are a pure function of --seed: seeding twice with the same sizes rewrites the same rows."
    )

    @OptionGroup var cluster: VerifyCommand.ClusterOptions

    @Option(help: "Users to create.")
    var users = 10_000
    @Option(help: "Conversations to create.")
    var conversations = 1_000
    @Option(name: .customLong("direct-share"), help: "Share of direct (two-person) conversations, 0 to 1.")
    var directShare = 0.6
    @Option(name: .customLong("group-members"), help: "Members of a group conversation, MIN-MAX.")
    var groupMembers = "3-12"
    @Flag(help: "Vietnamese names and text.")
    var vietnamese = false
    @Option(help: "Writes in flight.")
    var concurrency = 64
    @Option(help: "Seed of the generated data.")
    var seed: UInt64 = 0x5EED_C4A7

    func run() async throws {
        var options = ChatSeedOptions()
        options.users = users
        options.conversations = conversations
        options.directShare = directShare
        let bounds = groupMembers.split(separator: "-").compactMap { Int($0) }
        guard bounds.count == 2, bounds[0] <= bounds[1] else { throw ValidationError("--group-members takes MIN-MAX, e.g. 3-12") }
        options.groupMembers = bounds[0]...bounds[1]
        options.vietnamese = vietnamese
        options.concurrency = concurrency
        options.seed = seed
        let seeder = try ChatSeeder(options: options, keyspace: cluster.keyspace)
        var configuration = cluster.sessionConfiguration()
        configuration.connectionsPerHost = 2
        let session = try await CQLSession.connect(configuration)
        let bar = ProgressBar(label: "seeding", enabled: isatty(STDERR_FILENO) == 1)
        do {
            let summary = try await seeder.seed(session: session) { progress in
                bar.update(fraction: progress.fractionDone, detail: "\(progress.rowsWritten)/\(progress.rowsTotal) rows")
            }
            bar.finish()
            await session.close()
            print("seeded \(summary.users) users, \(summary.directConversations) direct and \(summary.groupConversations) group conversations "
                  + "(\(summary.memberships) memberships), \(summary.rowsWritten) rows in "
                  + String(format: "%.1f s (%.0f rows/s)", summary.elapsedSeconds, Double(summary.rowsWritten) / max(summary.elapsedSeconds, 0.001)))
            print("chat workloads with seeded rows enabled now draw senders and conversations from these rows")
        } catch {
            bar.finish()
            await session.close()
            throw error
        }
    }
}
