import ArgumentParser
import CQLClient
import CQLProtocol
import Foundation
import Synchronization
import LoadEngine
import Verification

/// `stampede verify`: reads back what a run wrote and reconciles it with what the run believed.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that a run's messages are in the database: lost, unknown-outcome and phantom writes.",
        discussion: """
            Give a results file (--results) or the run's identity (--run-id, --epoch-millis, --total). Every message \
            is a pure function of the run and its index, so the database is read partition by partition and each \
            message id is mapped back to its index; memory stays at one bit per index. Exit code 0 only when no \
            acknowledged message is missing and, for a completed fixed-total run, found == expected.
            """
    )

    /// Where the cluster is; shared by `verify`, `doctor` and `seed`.
    struct ClusterOptions: ParsableArguments {
        @Option(name: .customLong("contact-points"), help: "Comma-separated host[:port] list.")
        var contactPoints = "127.0.0.1:9042"
        @Option(help: "Keyspace of the chat schema.")
        var keyspace = ChatSchema.keyspace
        @Option(help: "User name, when the cluster requires authentication (password from STAMPEDE_CQL_PASSWORD).")
        var username: String?

        func sessionConfiguration(keyspace useKeyspace: Bool = false) -> CQLSessionConfiguration {
            var configuration = CQLSessionConfiguration(
                contactPoints: contactPoints.split(separator: ",").map { String($0) }, keyspace: useKeyspace ? keyspace : nil)
            configuration.connectionsPerHost = 1
            if let username {
                let password = ProcessInfo.processInfo.environment["STAMPEDE_CQL_PASSWORD"] ?? ""
                configuration.connection.credentials = CQLCredentials(username: username, password: password)
            }
            return configuration
        }
    }

    @OptionGroup var cluster: ClusterOptions

    @Option(help: "A run's results JSON file (what the run believed).")
    var results: String?
    @Option(name: .customLong("run-id"), help: "The run id (instead of --results).")
    var runID: String?
    @Option(name: .customLong("epoch-millis"), help: "The run's epoch in milliseconds (part of its identity).")
    var epochMillis: Int64?
    @Option(help: "Indexes the run issued (0..<total).")
    var total: UInt64?
    @Option(help: "chat-write or chat-mixed.")
    var workload = "chat-write"
    @Option(help: "Generated users of the run's dataset.")
    var users = 10_000
    @Option(help: "Generated conversations of the run's dataset.")
    var conversations = 1_000
    @Option(name: .customLong("members-per-conversation"), help: "Members of each conversation.")
    var membersPerConversation = 8
    @Flag(help: "The run drew users and conversations from seeded rows.")
    var seeded = false
    @Flag(help: "The run used Vietnamese names and text.")
    var vietnamese = false
    @Flag(help: "The run did not complete: only acknowledged messages are checked, not found == expected.")
    var incomplete = false
    @Option(help: "Read consistency (ALL: a row on any replica counts).")
    var consistency = "ALL"
    @Option(help: "Partitions (or token ranges) read in parallel.")
    var concurrency = 16
    @Flag(name: .customLong("token-ranges"), help: "Read the whole table by token ranges in parallel (large runs; also finds the run's messages in unexpected partitions).")
    var tokenRanges = false
    @Flag(help: "Print the report as JSON.")
    var json = false
    @Option(name: .customLong("metrics-before"), help: "A server-metrics snapshot taken before the run (doctor --metrics-snapshot): print the deltas.")
    var metricsBefore: String?

    func expectation() throws -> RunExpectation {
        if let results {
            var expectation = try RunExpectation.load(resultsFile: results)
            if incomplete { expectation.isCompletedFixedTotal = false }
            return expectation
        }
        guard let runID, let epochMillis, let total else {
            throw ValidationError("give --results FILE, or --run-id, --epoch-millis and --total")
        }
        guard let mix = ChatWorkload.Mix(rawValue: workload) else {
            throw ValidationError("--workload must be chat-write or chat-mixed")
        }
        var options = ChatWorkload.Options()
        options.users = users
        options.conversations = conversations
        options.membersPerConversation = membersPerConversation
        options.useSeededRows = seeded
        options.vietnamese = vietnamese
        return RunExpectation(run: RunIdentity(id: runID, epochMillis: epochMillis), mix: mix, options: options,
                              total: total, isCompletedFixedTotal: !incomplete)
    }

    func run() async throws {
        let expectation = try expectation()
        guard let level = CQLConsistency(name: consistency) else { throw ValidationError("unknown consistency '\(consistency)'") }
        let session = try await CQLSession.connect(cluster.sessionConfiguration())
        let bar = ProgressBar(label: "verifying", enabled: !json && isatty(STDERR_FILENO) == 1)
        let report: VerificationReport
        do {
            report = try await Verifier.verify(
                session: session, expectation: expectation, keyspace: cluster.keyspace, consistency: level,
                options: VerifierOptions(concurrency: concurrency, useTokenRanges: tokenRanges),
                progress: { progress in bar.update(fraction: progress.fractionDone, detail: "\(progress.partitionsDone)/\(progress.partitionsTotal) partitions, \(progress.rowsRead) rows") })
            bar.finish()
        } catch {
            bar.finish()
            await session.close()
            throw error
        }
        var metricsDelta: ServerMetricsDelta?
        if let metricsBefore {
            let before: ServerMetricsSnapshot
            do {
                before = try JSONDecoder().decode(ServerMetricsSnapshot.self, from: Data(contentsOf: URL(fileURLWithPath: metricsBefore)))
            } catch {
                await session.close()
                throw ValidationError("cannot read the metrics snapshot \(metricsBefore): \(error.localizedDescription)")
            }
            let after = await ServerMetricsCollector(keyspace: cluster.keyspace, connection: cluster.sessionConfiguration().connection).snapshot(session: session)
            metricsDelta = ServerMetricsDelta(before: before, after: after)
        }
        await session.close()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.rendered())
            if let metricsDelta { print(metricsDelta.rendered()) }
        }
        if !report.passed { throw ExitCode.failure }
    }
}

/// A one-line progress bar on standard error, redrawn at most 10 times a second; silent when disabled.
final class ProgressBar: Sendable {
    let label: String
    let enabled: Bool
    private let lastDraw = Mutex<ContinuousClock.Instant?>(nil)

    init(label: String, enabled: Bool) {
        self.label = label
        self.enabled = enabled
    }

    func update(fraction: Double, detail: String) {
        guard enabled else { return }
        let now = ContinuousClock.now
        let draw = lastDraw.withLock { last -> Bool in
            if let last, now - last < .milliseconds(100), fraction < 1 { return false }
            last = now
            return true
        }
        guard draw else { return }
        let width = 30
        let filled = Int((min(1, max(0, fraction)) * Double(width)).rounded(.down))
        let line = "\r\(label) [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            + "] " + String(format: "%3d%%", Int(fraction * 100)) + " " + detail + "\u{1B}[K"
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
