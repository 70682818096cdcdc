import ArgumentParser
import CQLClient
import CQLProtocol
import Dispatch
import Foundation
import LoadEngine
import Logging
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `stampede run`: one process, headless — the load engine against a cluster.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a workload from this process (closed or open model, stages, presets, thresholds).",
        discussion: """
            Examples:
              stampede run --total 1000000 --users 200
              stampede run --workload chat-mixed --rate 5000 --duration 60s --threshold 'p99<50ms'
              stampede run --preset new-years-eve --time-scale 10
              stampede run --profile sensors.yaml --users 50 --stage 30s:200 --stage 1m:200 --stage 30s:0
              stampede run --local-workers 4 --total 1000000 --users 256     (coordinator + 4 worker processes)
            Exit status: 0 when every threshold passed, 99 when one failed, 1 when the run could not run.
            """
    )

    /// Where the cluster is.
    struct ClusterOptions: ParsableArguments {
        @Option(name: .customLong("contact-points"), help: "Comma-separated host[:port] list.")
        var contactPoints = "127.0.0.1:9042"
        @Option(help: "Keyspace the session uses (profiles with unqualified table names).")
        var keyspace: String?
        @Option(help: "User name, when the cluster requires authentication (password from STAMPEDE_CQL_PASSWORD).")
        var username: String?
        @Option(help: "Connections per host (default: one per event loop).")
        var connections: Int?
        @Option(name: .customLong("request-timeout"), help: "Per-request timeout, e.g. 12s.")
        var requestTimeout = "12s"

        func sessionConfiguration() throws -> CQLSessionConfiguration {
            var configuration = CQLSessionConfiguration(contactPoints: contactPoints.split(separator: ",").map(String.init), keyspace: keyspace)
            configuration.connectionsPerHost = connections.map { max(1, $0) }
            // The engine retries and counts every attempt itself.
            configuration.retryPolicy = CQLRetryPolicy(maxRetries: 0)
            configuration.connection.requestTimeout = try parseDuration(requestTimeout, "--request-timeout")
            if let username {
                configuration.connection.credentials = CQLCredentials(
                    username: username, password: ProcessInfo.processInfo.environment["STAMPEDE_CQL_PASSWORD"] ?? "")
            }
            return configuration
        }
    }

    /// What to run and how hard: shared by `stampede run` and the coordinator.
    struct LoadOptions: ParsableArguments {
        @Option(help: "chat-write or chat-mixed (ignored with --profile).")
        var workload = "chat-write"
        @Option(help: "A YAML workload profile.")
        var profile: String?
        @Option(help: "Consistency level of the chat statements.")
        var consistency = "ONE"
        @Option(name: [.customLong("total"), .customLong("target")], help: "Exact number of operations (e.g. 1000000: never one more).")
        var total: UInt64?
        @Option(help: "Stop after this long, e.g. 90s, 10m.")
        var duration: String?
        @Option(help: "Closed model: virtual users.")
        var users: Int?
        @Option(name: .customLong("spawn-rate"), help: "Closed model: users started per second.")
        var spawnRate: Double?
        @Option(name: .customLong("think-time"), help: "Closed model: none, '500ms', 'between 1s 3s' or 'pacing 2s'.")
        var thinkTime = "none"
        @Option(help: "Open model: operations per second (latency from each operation's intended start).")
        var rate: Double?
        @Option(name: .customLong("max-in-flight"), help: "Open model: bound on operations in flight.")
        var maxInFlight = 1000
        @Option(name: .customLong("max-lateness"), help: "Open model: drop an operation that cannot start within this of its time.")
        var maxLateness = "1s"
        @Option(name: .customLong("stage"), help: "DURATION:TARGET[:step|linear|exp], repeatable (users, or ops/s with --rate).")
        var stages: [String] = []
        @Option(help: "black-friday, new-years-eve or viral.")
        var preset: String?
        @Option(name: .customLong("time-scale"), help: "Replay a preset this many times faster.")
        var timeScale = 1.0
        @Option(name: .customLong("threshold"), help: "Pass/fail criterion, repeatable: 'p99<100ms', 'errors<0.1%'.")
        var thresholds: [String] = []
        @Flag(name: .customLong("abort-on-fail"), help: "Stop as soon as a threshold fails.")
        var abortOnFail = false
        @Option(help: "Attempts per operation (retryable failures are retried, unknown outcomes only when idempotent).")
        var attempts = 3
        @Option(name: .customLong("run-id"), help: "Run identity (with --epoch-millis: replays exactly the same messages).")
        var runID: String?
        @Option(name: .customLong("epoch-millis"), help: "The run's epoch in milliseconds (timeuuid base).")
        var epochMillis: Int64?
        @Option(name: .customLong("senders"), help: "Generated users messages come from.")
        var senders = 10_000
        @Option(help: "Generated conversations.")
        var conversations = 1_000
        @Option(name: .customLong("members-per-conversation"), help: "Members of each conversation.")
        var membersPerConversation = 8
        @Flag(help: "Vietnamese names and message text.")
        var vietnamese = false
        @Flag(name: .customLong("seeded-rows"), help: "Draw users and conversations from seeded rows (stampede seed) when present.")
        var seededRows = false

        func runIdentity() -> RunIdentity {
            let generated = RunIdentity.generate()
            return RunIdentity(id: runID ?? generated.id, epochMillis: epochMillis ?? generated.epochMillis)
        }

        /// The workload named by the flags.
        func makeWorkload(run: RunIdentity) throws -> any Workload {
            if let profile {
                do { return ProfileWorkload(profile: try WorkloadProfileParser.load(path: profile), run: run) } catch {
                    throw ValidationError(error.description)
                }
            }
            guard let mix = ChatWorkload.Mix(rawValue: workload) else {
                throw ValidationError("unknown workload '\(workload)'; expected chat-write or chat-mixed (or --profile FILE)")
            }
            guard let level = CQLConsistency(name: consistency) else { throw ValidationError("unknown consistency '\(consistency)'") }
            var options = ChatWorkload.Options()
            options.consistency = level
            options.users = senders
            options.conversations = conversations
            options.membersPerConversation = membersPerConversation
            options.vietnamese = vietnamese
            options.useSeededRows = seededRows
            return ChatWorkload(mix: mix, run: run, options: options)
        }

        /// The engine configuration and the exact total, from the flags (a preset first, flags override it).
        func engineConfiguration() throws -> (EngineConfiguration, total: UInt64?) {
            var total = self.total
            var duration = try duration.map { try parseDuration($0, "--duration") }
            let stages = try self.stages.map { text in
                do { return try Stage(parsing: text) } catch { throw ValidationError("\(error)") }
            }
            let think: ThinkTime
            do { think = try ThinkTime(parsing: thinkTime) } catch { throw ValidationError("\(error)") }
            var model: LoadModel
            if let preset {
                guard let scenario = ScenarioPreset(rawValue: preset) else {
                    throw ValidationError("unknown preset '\(preset)'; expected black-friday, new-years-eve or viral")
                }
                let settings: ScenarioPreset.Settings
                do { settings = try scenario.settings(timeScale: timeScale) } catch { throw ValidationError("\(error)") }
                var closed = settings.model
                if let users { closed.users = users }
                if let spawnRate { closed.spawnRate = spawnRate }
                if !stages.isEmpty { closed.stages = stages }
                closed.thinkTime = think
                model = .closed(closed)
                duration = duration ?? settings.duration
                total = total ?? settings.totalOperations
            } else if let rate {
                model = .open(OpenModel(
                    rate: rate, maxInFlight: maxInFlight, maxLateness: try parseDuration(maxLateness, "--max-lateness"), stages: stages))
            } else {
                model = .closed(ClosedModel(users: users ?? 100, spawnRate: spawnRate, thinkTime: think, stages: stages))
            }
            var configuration = EngineConfiguration(model: model, duration: duration)
            configuration.thresholds = try thresholds.map { text in
                do { return try Threshold(parsing: text) } catch { throw ValidationError("\(error)") }
            }
            configuration.abortOnThresholdFailure = abortOnFail
            configuration.maxAttempts = attempts
            do { configuration = try configuration.validated() } catch { throw ValidationError("\(error)") }
            return (configuration, total)
        }

        /// The flags as a flat map, for the results' `config`.
        func description(total: UInt64?, configuration: EngineConfiguration) -> [String: String] {
            var config: [String: String] = [
                "workload": profile ?? workload, "consistency": consistency, "attempts": String(attempts),
                "senders": String(senders), "conversations": String(conversations),
                "members_per_conversation": String(membersPerConversation), "vietnamese": String(vietnamese), "seeded_rows": String(seededRows),
            ]
            if let total { config["total"] = String(total) }
            if let duration = configuration.duration { config["duration_seconds"] = String(duration.seconds) }
            switch configuration.model {
            case .closed(let closed):
                config["model"] = "closed"
                config["users"] = String(closed.users)
                if let rate = closed.spawnRate { config["spawn_rate"] = String(rate) }
                config["think_time"] = thinkTime
            case .open(let open):
                config["model"] = "open"
                config["rate"] = String(open.rate)
                config["max_in_flight"] = String(open.maxInFlight)
            }
            if !stages.isEmpty { config["stages"] = stages.joined(separator: ",") }
            if let preset { config["preset"] = preset; config["time_scale"] = String(timeScale) }
            if !thresholds.isEmpty { config["thresholds"] = thresholds.joined(separator: " ") }
            return config
        }
    }

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var load: LoadOptions
    @Flag(name: .customLong("apply-schema"), help: "Apply the workload's schema before running.")
    var applySchema = false
    @Option(help: "Where to write the JSON results document.")
    var results = "results.json"
    @Flag(help: "No live progress output.")
    var quiet = false
    @Flag(name: .customLong("dry-run"), help: "Answer every statement at once without a database: measures the generator's own cost.")
    var dryRun = false
    @Flag(help: "After the run, read the messages back and check that every acknowledged one is there (chat workloads).")
    var verify = false
    @Option(name: .customLong("local-workers"), help: "Run distributed on this machine: a coordinator plus this many worker processes it spawns (results as stampede coordinator writes them).")
    var localWorkers = 0
    @Option(name: .customLong("event-loops"), help: "I/O threads, which also run the engine's tasks (default: the cores the process may use; see taskset).")
    var eventLoops: Int?
    @Flag(name: .customLong("tasks-on-thread-pool"), help: "Run the engine's tasks on Swift's thread pool rather than on the I/O threads (for comparison).")
    var tasksOnThreadPool = false

    func run() async throws {
        try OutputFile.checkWritable(results, what: "results")
        if localWorkers > 0 {
            try await runWithLocalWorkers()
            return
        }
        let (configuration, total) = try load.engineConfiguration()
        let identity = load.runIdentity()
        let workload = try load.makeWorkload(run: identity)
        let startedAt = Date()
        log("run \(identity.id) (epoch \(identity.epochMillis)): \(workload.name), \(describe(configuration, total: total))")
        let outcome: EngineOutcome
        var serverMetrics: ServerMetricsCapture?
        if dryRun {
            outcome = try await execute(configuration, total: total, workload: workload, executor: NullExecutor())
        } else {
            // The engine's tasks run on the session's event loops (one per usable core): a task and its connection
            // then share a thread, with no hop per request and per response.
            let loops = MultiThreadedEventLoopGroup(numberOfThreads: max(1, eventLoops ?? ProcessProbe.cores))
            defer { loops.shutdownGracefully { _ in } }
            var sessionConfiguration = try cluster.sessionConfiguration()
            sessionConfiguration.eventLoopGroup = loops
            let session = try await CQLSession.connect(sessionConfiguration)
            do {
                if applySchema {
                    for statement in workload.schema { try await session.run(statement) }
                }
                serverMetrics = await ServerMetricsCapture.begin(
                    session: try cluster.sessionConfiguration(), keyspace: cluster.keyspace ?? ChatSchema.keyspace,
                    logger: Logger(label: "stampede.server-metrics"))
                outcome = try await execute(configuration, total: total, workload: workload, executor: CQLSessionExecutor(session: session, eventLoopGroup: tasksOnThreadPool ? nil : loops))
            } catch {
                await session.close()
                throw error
            }
            await session.close()
        }

        let document = RunResults(
            run: identity, workload: workload.name, startedAt: startedAt, outcome: outcome, target: total,
            config: load.description(total: total, configuration: configuration))
        try OutputFile.write(try document.jsonData(), to: results, what: "results")
        print(ProgressFormatter().summaryTable(document))
        print("results written to \(results)")
        if let serverDelta = await serverMetrics?.finish(logger: Logger(label: "stampede.server-metrics")) {
            print(serverDelta.rendered())
            let path = ((results as NSString).deletingLastPathComponent as NSString).appendingPathComponent("server_metrics.json")
            if (try? ServerMetricsCapture.json(serverDelta).write(to: URL(fileURLWithPath: path))) != nil { print("server-side metrics written to \(path)") }
        }
        let code = RunExitCode.code(for: outcome)
        if verify, !dryRun {
            let passed = try await RunVerification.verify(resultsFile: results, session: try cluster.sessionConfiguration())
            if !passed, code == RunExitCode.success { throw ExitCode(1) }
        }
        if code != RunExitCode.success { throw ExitCode(code) }
    }

    func execute<Executor: StatementExecutor>(
        _ configuration: EngineConfiguration, total: UInt64?, workload: any Workload, executor: Executor
    ) async throws -> EngineOutcome {
        let source: any WorkSource = total.map { FixedRangeWorkSource(total: $0) } ?? UnboundedWorkSource()
        let runner = LoadRunner(configuration: configuration, workload: workload, executor: executor, source: source)
        try await runner.prepare()
        for note in runner.setupNotes { log(note) }
        let interrupts = InterruptHandler { runner.stop(.interrupted) }
        defer { interrupts.cancel() }
        let display = ProgressDisplay(
            formatter: ProgressFormatter(target: total, plannedSeconds: configuration.duration?.seconds ?? configuration.model.stagesDuration?.seconds),
            quiet: quiet)
        let outcome = try await runner.run { report in display.show(report) }
        display.finish()
        return outcome
    }

    func describe(_ configuration: EngineConfiguration, total: UInt64?) -> String {
        var parts: [String] = []
        switch configuration.model {
        case .closed(let closed):
            parts.append("\(closed.users) users" + (closed.spawnRate.map { " spawned at \($0)/s" } ?? ""))
        case .open(let open):
            parts.append("\(open.rate) ops/s (in-flight ≤ \(open.maxInFlight))")
        }
        if let stages = configuration.model.stagesDuration { parts.append("stages over \(stages.seconds) s") }
        if let total { parts.append("exactly \(total) operations") }
        if let duration = configuration.duration { parts.append("for at most \(duration.seconds) s") }
        return parts.joined(separator: ", ")
    }
}

func parseDuration(_ text: String, _ flag: String) throws -> Duration {
    do { return try DurationParser.parse(text, what: flag) } catch { throw ValidationError("\(error)") }
}

func log(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Live progress: a rewritten terminal line when stderr is a terminal, one log line per 10 s otherwise.
final class ProgressDisplay: Sendable {
    let formatter: ProgressFormatter
    let quiet: Bool
    let isTerminal: Bool
    struct State {
        var totals = MetricsSnapshot()
        var wroteLine = false
    }
    let state = Mutex(State())

    init(formatter: ProgressFormatter, quiet: Bool) {
        self.formatter = formatter
        self.quiet = quiet
        isTerminal = isatty(STDERR_FILENO) != 0
    }

    func show(_ report: IntervalReport) {
        // Quiet, nothing is shown: the load generator's core is spared the totals and the line every second.
        guard !quiet else { return }
        let line = state.withLock { state -> String? in
            state.totals.accumulate(later: report.metrics)
            if isTerminal { state.wroteLine = true }
            let write = isTerminal || ProgressFormatter.logsLine(afterInterval: report.second)
            // The line (percentiles over the histograms) is only worked out when it is written.
            return write ? formatter.liveLine(latest: report, totals: state.totals, elapsedSeconds: Double(report.second + 1)) : nil
        }
        guard let line else { return }
        if isTerminal {
            FileHandle.standardError.write(Data(("\r\u{1B}[2K" + line).utf8))
        } else {
            log("[\(report.second + 1)s] " + line)
        }
    }

    func finish() {
        if !quiet, isTerminal, state.withLock({ $0.wroteLine }) { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// Turns the first Ctrl-C (SIGINT) or SIGTERM into a clean stop; a second one exits at once.
final class InterruptHandler {
    let sources: [any DispatchSourceSignal]

    init(onInterrupt: @escaping @Sendable () -> Void) {
        let count = Mutex(0)
        sources = [SIGINT, SIGTERM].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                let seen = count.withLock { value -> Int in
                    value += 1
                    return value
                }
                if seen == 1 {
                    log("\nstopping: finishing in-flight operations (press Ctrl-C again to quit now)")
                    onInterrupt()
                } else {
                    exit(130)
                }
            }
            source.resume()
            return source
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
    }
}
