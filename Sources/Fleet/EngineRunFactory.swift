import CQLClient
import CQLProtocol
import LoadEngine
import Logging
import NIOCore
import NIOPosix

/// Makes real engine runs on a worker: connects a CQL session to the run's contact points and runs the built-in chat
/// workload with `LoadEngine.LoadRunner`, pulling work from the fleet's work source.
public struct EngineRunFactory: FleetRunFactory {
    let logger: Logger
    /// TLS settings of this worker's CQL connections when the run asks for TLS (files are local to the worker).
    public var tls: CQLTLSConfiguration
    /// Whether the engine's tasks run on the session's event loops (the default) or on Swift's thread pool.
    public var tasksOnEventLoops: Bool

    public init(
        tls: CQLTLSConfiguration = CQLTLSConfiguration(), tasksOnEventLoops: Bool = true,
        logger: Logger = Logger(label: "stampede.worker.engine")
    ) {
        self.tls = tls
        self.tasksOnEventLoops = tasksOnEventLoops
        self.logger = logger
    }

    /// The consistency level named `name` (ONE, QUORUM, LOCAL_QUORUM, ...).
    public static func consistency(named name: String) throws(FleetError) -> CQLConsistency {
        let wanted = name.uppercased().replacingOccurrences(of: "-", with: "_")
        guard let level = CQLConsistency.allCases.first(where: { $0.description == wanted }) else {
            throw FleetError(.invalidConfiguration, "unknown consistency level '\(name)'")
        }
        return level
    }

    /// The engine configuration for an assignment.
    public static func engineConfiguration(for assignment: WorkerAssignment) throws -> EngineConfiguration {
        let run = assignment.configuration
        let model: LoadModel
        switch run.model {
        case .fixedTotal:
            model = .closed(ClosedModel(users: run.concurrency))
        case .closed:
            let think = run.thinkTime.isEmpty ? ThinkTime.none : try ThinkTime(parsing: run.thinkTime)
            model = .closed(
                ClosedModel(users: run.users, spawnRate: run.spawnRate > 0 ? run.spawnRate : nil, thinkTime: think, stages: run.stages))
        case .open:
            model = .open(OpenModel(rate: run.rate, maxInFlight: run.concurrency, stages: run.stages))
        }
        var engine = EngineConfiguration(model: model, duration: run.duration)
        engine.share = assignment.share
        return engine
    }

    /// The workload of a run: its custom profile when it carries one, else the built-in chat workload (with the
    /// dataset options and seeded rows the coordinator handed out).
    public static func workload(for run: FleetRunConfiguration) throws -> any Workload {
        let identity = RunIdentity(id: run.runID, epochMillis: run.runEpochMillis)
        if let profile = try run.profile() {
            return ProfileWorkload(profile: profile, run: identity)
        }
        guard let mix = ChatWorkload.Mix(rawValue: run.workload) else {
            throw FleetError(.workload, "workload '\(run.workload)' is not built in (chat-write, chat-mixed) and no profile was sent")
        }
        var options = ChatWorkload.Options()
        options.consistency = try Self.consistency(named: run.consistency)
        options.useSeededRows = run.seededRows
        func integer(_ key: String) throws -> Int? {
            guard let text = run.options[key] else { return nil }
            guard let value = Int(text), value > 0 else {
                throw FleetError(.invalidConfiguration, "option \(key)=\(text) must be a positive integer")
            }
            return value
        }
        if let users = try integer("senders") { options.users = users }
        if let conversations = try integer("conversations") { options.conversations = conversations }
        if let members = try integer("members_per_conversation") { options.membersPerConversation = members }
        if let vietnamese = run.options["vietnamese"] { options.vietnamese = vietnamese == "true" }
        return ChatWorkload(mix: mix, run: identity, options: options)
    }

    public func makeRun(for assignment: WorkerAssignment, source: any WorkSource) async throws -> any FleetRun {
        let run = assignment.configuration
        let workload = try Self.workload(for: run)
        var session = CQLSessionConfiguration(contactPoints: run.contactPoints, keyspace: run.keyspace.isEmpty ? nil : run.keyspace)
        session.retryPolicy = CQLRetryPolicy(maxRetries: 0)
        if !run.username.isEmpty {
            session.connection.credentials = CQLCredentials(username: run.username, password: run.password)
        }
        if run.tls { session.connection.tls = tls }
        // The engine's tasks run on the session's own event loops (one per usable core): a task and its connection
        // share a thread, with no hop per request and per response. The gRPC link keeps its own loops, so heartbeats
        // do not queue behind the load.
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: max(1, ProcessProbe.cores))
        session.eventLoopGroup = loops
        let connected: CQLSession
        let runner: LoadRunner<CQLSessionExecutor>
        do {
            connected = try await CQLSession.connect(session, logger: logger)
            do {
                runner = LoadRunner(
                    configuration: try Self.engineConfiguration(for: assignment), workload: workload,
                    executor: CQLSessionExecutor(session: connected, eventLoopGroup: tasksOnEventLoops ? loops : nil), source: source)
            } catch {
                await connected.close()
                throw error
            }
        } catch {
            try? await loops.shutdownGracefully()
            throw error
        }
        return SessionRun(runner: runner, session: connected, loops: loops)
    }
}

/// An engine run that closes its CQL session when it ends.
struct SessionRun: FleetRun {
    let runner: LoadRunner<CQLSessionExecutor>
    let session: CQLSession
    /// The event loops of the session and the engine's tasks, shut down after the session closes.
    let loops: MultiThreadedEventLoopGroup

    func run(startingAt start: UInt64?, onInterval: @escaping @Sendable (IntervalReport) async -> Void) async throws
        -> MetricsSnapshot
    {
        do {
            let totals = try await runner.run(startingAt: start, onInterval: onInterval) as MetricsSnapshot
            await close()
            return totals
        } catch {
            await close()
            throw error
        }
    }

    private func close() async {
        await session.close()
        try? await loops.shutdownGracefully()
    }

    func stop() { runner.stop(.interrupted) }
    func setShare(_ share: Double) { runner.setShare(share) }
    func revokeChunks(_ ids: Set<UInt64>) { runner.revokeChunks(ids) }
}
