import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import LoadEngine
import Logging
import Synchronization

/// TLS of a worker's connection to the coordinator. PEM files.
public struct FleetClientTLS: Sendable, Hashable {
    /// CA the coordinator's certificate must chain to (nil: the system's trust roots).
    public var caPath: String?
    /// This worker's certificate and key, for a coordinator that requires client certificates.
    public var certificateChainPath: String?
    public var privateKeyPath: String?
    /// Check that the certificate names the coordinator's host (default true).
    public var verifyHostname: Bool

    public init(caPath: String? = nil, certificateChainPath: String? = nil, privateKeyPath: String? = nil, verifyHostname: Bool = true) {
        self.caPath = caPath
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
        self.verifyHostname = verifyHostname
    }
}

/// How a worker connects; validated once at start-up.
public struct WorkerConfiguration: Sendable {
    public var coordinatorHost: String
    public var coordinatorPort: Int
    /// Stable name of the worker (default `host-pid`); a restarted worker with the same id rejoins the run.
    public var workerID: String
    public var token: String
    public var version: String
    public var cores: Int
    /// Relative capacity for user/rate shares (0 = cores).
    public var capacity: Double
    /// How long to keep trying before the coordinator first answers (default 120 s).
    public var connectTimeout: Duration
    /// After losing the coordinator mid-run: how long to keep trying before stopping the load and exiting
    /// (default 5 s; the load keeps running on held chunks meanwhile).
    public var reconnectWindow: Duration
    /// Contact points to use instead of the coordinator's (a worker in another network).
    public var contactPointsOverride: [String]
    /// TLS to the coordinator (nil: plaintext).
    public var tls: FleetClientTLS?

    public init(
        coordinatorHost: String, coordinatorPort: Int = 5557, workerID: String? = nil, token: String = "", version: String,
        cores: Int = ProcessInfo.processInfo.activeProcessorCount, capacity: Double = 0,
        connectTimeout: Duration = .seconds(120), reconnectWindow: Duration = .seconds(5), contactPointsOverride: [String] = [],
        tls: FleetClientTLS? = nil
    ) {
        self.tls = tls
        self.coordinatorHost = coordinatorHost
        self.coordinatorPort = coordinatorPort
        self.workerID = workerID ?? "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
        self.token = token
        self.version = version
        self.cores = cores
        self.capacity = capacity
        self.connectTimeout = connectTimeout
        self.reconnectWindow = reconnectWindow
        self.contactPointsOverride = contactPointsOverride
    }

    /// Parses `HOST:PORT` (or `HOST`, port 5557).
    public static func parseAddress(_ text: String) throws(FleetError) -> (host: String, port: Int) {
        if let colon = text.lastIndex(of: ":"), !text.hasSuffix("]") {
            let host = String(text[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            guard let port = Int(text[text.index(after: colon)...]), (1...65_535).contains(port), !host.isEmpty else {
                throw FleetError(.invalidConfiguration, "'\(text)' is not HOST:PORT")
            }
            return (host, port)
        }
        guard !text.isEmpty else { throw FleetError(.invalidConfiguration, "the coordinator address is empty") }
        return (text, 5557)
    }
}

/// What a worker did, once the coordinator has its completion.
public struct WorkerSummary: Sendable {
    public var workerID: String
    public var runID: String
    public var totals: MetricsSnapshot
    public var duration: Duration
    public var stopReason: String
    public var reconnects: Int
}

/// A worker: connects to the coordinator (retrying with backoff while it is not up), registers, runs what it is
/// given with the load engine, streams interval stats, and reconnects after a short blip without losing its place.
/// If the coordinator is gone for longer than the reconnect window, it stops writing and throws `.coordinatorLost`.
public final class FleetWorker: Sendable {
    public let configuration: WorkerConfiguration
    let factory: any FleetRunFactory
    let logger: Logger
    let instance = UUID().uuidString
    let link = WorkerLink()

    struct RunState {
        var task: Task<Void, Never>?
        var run: (any FleetRun)?
        var runID = ""
        var outcome: Result<MetricsSnapshot, any Error>?
        var startedAt: ContinuousClock.Instant?
        var finished = false
    }
    let runState = Mutex(RunState())
    /// The last run this worker finished, when its coordinator keeps workers between runs (`Finished.stay_connected`).
    let previousRun = Mutex<RunState?>(nil)

    public init(configuration: WorkerConfiguration, factory: any FleetRunFactory, logger: Logger = Logger(label: "stampede.worker")) {
        self.configuration = configuration
        self.factory = factory
        self.logger = logger
    }

    enum ConnectionEnd {
        case finished
        case lost(String)
    }

    /// Runs until the coordinator says the run is over for this worker.
    public func run() async throws(FleetError) -> WorkerSummary {
        let transport: HTTP2ClientTransport.Posix
        do {
            transport = try HTTP2ClientTransport.Posix(
                target: .ipv4(host: configuration.coordinatorHost, port: configuration.coordinatorPort),
                transportSecurity: Self.transportSecurity(configuration.tls),
                config: .defaults { config in
                    config.backoff = .init(initial: .milliseconds(100), max: .seconds(1), multiplier: 1.6, jitter: 0.2)
                    config.connection.maxIdleTime = nil
                })
        } catch {
            throw FleetError(.invalidConfiguration, "cannot reach the coordinator: \(error)")
        }
        let client = GRPCClient(transport: transport)
        let connections = Task { try await client.runConnections() }
        defer {
            client.beginGracefulShutdown()
            connections.cancel()
        }
        let fleet = Stampede_Fleet_V1_Fleet.Client(wrapping: client)
        let everWelcomed = ConnectionFlags()
        var downSince = ContinuousClock.now
        var reconnects = 0
        var backoff = Duration.milliseconds(100)
        while true {
            let welcomedNow = ConnectionFlags()
            do {
                let end = try await connectOnce(fleet, onWelcome: {
                    welcomedNow.state.withLock { $0.welcomed = true }
                    everWelcomed.state.withLock { $0.welcomed = true }
                })
                switch end {
                case .finished:
                    return try summary(reconnects: reconnects)
                case .lost(let reason):
                    logger.warning("lost the coordinator", metadata: ["reason": "\(reason)"])
                }
            } catch let error as FleetError {
                stopLoad()
                throw error
            } catch {
                logger.debug("connection attempt failed", metadata: ["error": "\(error)"])
            }
            await link.disconnect()
            let now = ContinuousClock.now
            if welcomedNow.state.withLock({ $0.welcomed }) {
                // The connection had been up: a new outage starts now.
                downSince = now
                reconnects += 1
                backoff = .milliseconds(100)
            }
            let connectedOnce = everWelcomed.state.withLock { $0.welcomed }
            let window = connectedOnce ? configuration.reconnectWindow : configuration.connectTimeout
            if now - downSince > window || Task.isCancelled {
                stopLoad()
                if connectedOnce {
                    throw FleetError(
                        .coordinatorLost,
                        "the coordinator at \(configuration.coordinatorHost):\(configuration.coordinatorPort) went away and did not come back within \(window); stopped writing",
                        subject: configuration.workerID)
                }
                throw FleetError(
                    .coordinatorUnreachable,
                    "no coordinator answered at \(configuration.coordinatorHost):\(configuration.coordinatorPort) within \(window)",
                    subject: configuration.workerID)
            }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(1))
        }
    }

    static func transportSecurity(_ tls: FleetClientTLS?) -> HTTP2ClientTransport.Posix.TransportSecurity {
        guard let tls else { return .plaintext }
        let configure: (inout HTTP2ClientTransport.Posix.TransportSecurity.TLS) -> Void = { config in
            if let ca = tls.caPath { config.trustRoots = .certificates([.file(path: ca, format: .pem)]) }
            if !tls.verifyHostname { config.serverCertificateVerification = .noHostnameVerification }
        }
        if let chain = tls.certificateChainPath, let key = tls.privateKeyPath {
            return .mTLS(
                certificateChain: [.file(path: chain, format: .pem)], privateKey: .file(path: key, format: .pem), configure: configure)
        }
        return .tls(configure: configure)
    }

    private func summary(reconnects: Int) throws(FleetError) -> WorkerSummary {
        var state = runState.withLock { $0 }
        if state.runID.isEmpty, let previous = previousRun.withLock({ $0 }) { state = previous }
        var totals = MetricsSnapshot()
        if case .success(let value)? = state.outcome { totals = value }
        let duration = state.startedAt.map { ContinuousClock.now - $0 } ?? .zero
        return WorkerSummary(
            workerID: configuration.workerID, runID: state.runID, totals: totals, duration: duration, stopReason: "",
            reconnects: reconnects)
    }

    private func stopLoad() {
        let (run, task) = runState.withLock { ($0.run, $0.task) }
        run?.stop()
        task?.cancel()
    }

    /// One connection: register, then handle messages until the run ends for this worker or the connection drops.
    private func connectOnce(
        _ fleet: Stampede_Fleet_V1_Fleet.Client<HTTP2ClientTransport.Posix>,
        onWelcome: @escaping @Sendable () -> Void
    ) async throws -> ConnectionEnd {
        let outgoing = await link.connect()
        var register = Stampede_Fleet_V1_Register()
        register.workerID = configuration.workerID
        register.version = configuration.version
        register.protocolVersion = FleetVersion.protocolVersion
        register.cores = UInt32(clamping: configuration.cores)
        register.host = ProcessInfo.processInfo.hostName
        register.token = configuration.token
        register.workerTimeUnixNanos = wallClockNanos()
        register.runID = runState.withLock { $0.runID }
        register.heldChunkIds = await link.heldChunkIDs
        register.capacity = configuration.capacity
        register.instance = instance
        let link = self.link
        let flags = ConnectionFlags()
        let firstMessage = WorkerMessage.with(.register(register))
        return try await fleet.connect(
            requestProducer: { writer in
                try await writer.write(firstMessage)
                for await message in outgoing {
                    try await writer.write(message)
                }
            },
            onResponse: { response in
                try await withThrowingTaskGroup(of: ConnectionEnd.self) { group in
                    // Heartbeats and the coordinator's liveness, independent of the load path.
                    group.addTask {
                        while !Task.isCancelled {
                            try await Task.sleep(for: flags.state.withLock { $0.heartbeatInterval })
                            guard flags.state.withLock({ $0.welcomed }) else { continue }
                            var beat = Stampede_Fleet_V1_Heartbeat()
                            beat.workerTimeUnixNanos = wallClockNanos()
                            beat.lastStatsSequence = await link.stats.lastSequence
                            await link.send(.heartbeat(beat))
                            let silent = ContinuousClock.now - (await link.lastHeard)
                            let timeout = flags.state.withLock { $0.livenessTimeout }
                            if silent > timeout {
                                return .lost("no message from the coordinator for \(silent)")
                            }
                        }
                        return .lost("cancelled")
                    }
                    group.addTask {
                        for try await message in response.messages {
                            await link.heard()
                            switch message.kind {
                            case .welcome(let welcome):
                                flags.state.withLock {
                                    $0.heartbeatInterval = .nanoseconds(max(welcome.heartbeatIntervalNanos, 100_000_000))
                                    $0.livenessTimeout = .nanoseconds(max(welcome.livenessTimeoutNanos, 1_000_000_000))
                                    $0.welcomed = true
                                }
                                onWelcome()
                                if welcome.rejoined {
                                    self.logger.warning("rejoined after being declared lost; stale chunks dropped")
                                }
                                await link.welcomed(welcome)
                            case .refusal(let refusal):
                                throw FleetError(
                                    refusal.reason == .versionMismatch ? .versionMismatch
                                        : refusal.reason == .badToken ? .badToken
                                        : refusal.reason == .duplicateWorkerID ? .duplicateWorker : .refused,
                                    "the coordinator refused this worker: \(refusal.message)", subject: self.configuration.workerID)
                            case .clockProbe(let probe):
                                var echo = Stampede_Fleet_V1_ClockEcho()
                                echo.probeID = probe.probeID
                                echo.coordinatorTimeUnixNanos = probe.coordinatorTimeUnixNanos
                                echo.workerTimeUnixNanos = wallClockNanos()
                                await link.send(.clockEcho(echo))
                            case .assignment(let assignment):
                                try await self.start(assignment)
                            case .chunkLease(let lease):
                                await link.leaseArrived(lease)
                            case .chunkAck(let ack):
                                await link.chunkAcked(ack)
                            case .chunkRevoke(let revoke):
                                await link.revoked(revoke.chunkIds)
                            case .shareUpdate(let share):
                                await link.share(share.hasPlanScale ? share.planScale : share.fraction)
                            case .statsAck(let ack):
                                await link.statsAcked(ack.sequences)
                            case .stop(let stop):
                                self.logger.info("stop requested by the coordinator", metadata: ["reason": "\(stop.message)"])
                                await link.stop(reason: stop.message)
                                self.finishIfNotStarted()
                            case .heartbeat:
                                break
                            case .finished(let finished):
                                if finished.stayConnected {
                                    // An interactive coordinator keeps this worker: idle until the next assignment.
                                    self.logger.info("run finished; staying connected for the next run", metadata: ["message": "\(finished.message)"])
                                    await self.resetForNextRun()
                                    continue
                                }
                                self.runState.withLock { $0.finished = true }
                                return .finished
                            case nil:
                                break
                            }
                        }
                        return .lost("the coordinator closed the stream")
                    }
                    defer { group.cancelAll() }
                    return try await group.next() ?? .lost("no result")
                }
            })
    }

    /// Starts the load for an assignment (once per worker process; later copies after a reconnect are ignored).
    private func start(_ wire: Stampede_Fleet_V1_Assignment) async throws {
        let alreadyStarted = runState.withLock { state -> Bool in
            if state.task != nil || state.finished { return true }
            state.runID = wire.config.runID
            return false
        }
        if alreadyStarted { return }
        var configuration = try FleetRunConfiguration(wire: wire.config)
        if !self.configuration.contactPointsOverride.isEmpty {
            configuration.contactPoints = self.configuration.contactPointsOverride
        }
        let delayNanos = wire.startAtWorkerUnixNanos - wallClockNanos()
        let now = MonotonicClock.nanoseconds()
        let start = delayNanos > 0 ? now + UInt64(delayNanos) : now
        let assignment = WorkerAssignment(
            configuration: configuration, workerID: self.configuration.workerID, startMonotonicNanos: start,
            indexBase: wire.indexBase,
            share: configuration.model == .fixedTotal ? 1 : wire.share.hasPlanScale ? wire.share.planScale : wire.share.fraction)
        let source: any WorkSource =
            configuration.model == .fixedTotal
            ? LeasedWorkSource(link: link)
            : UnboundedWorkSource(start: wire.indexBase, chunkSize: 4_096)
        let link = self.link
        let factory = self.factory
        let logger = self.logger
        let task = Task {
            let began = ContinuousClock.now
            var errorText = ""
            do {
                let run = try await factory.makeRun(for: assignment, source: source)
                self.runState.withLock {
                    $0.run = run
                    $0.startedAt = .now
                }
                await link.setHandlers(
                    revoke: { run.revokeChunks($0) }, stop: { run.stop() }, share: { run.setShare($0) })
                let totals = try await run.run(startingAt: start, onInterval: { report in
                    await link.report(report)
                })
                self.runState.withLock { $0.outcome = .success(totals) }
            } catch {
                errorText = "\(error)"
                logger.error("the load engine failed", metadata: ["error": "\(error)"])
                self.runState.withLock { $0.outcome = .failure(error) }
            }
            let elapsed = ContinuousClock.now - began
            await link.complete(durationNanos: elapsed.nanoseconds, error: errorText)
        }
        runState.withLock { $0.task = task }
    }

    /// The coordinator has this worker's part of a run and keeps it for the next one.
    private func resetForNextRun() async {
        let finished = runState.withLock { state -> RunState in
            let finished = state
            state = RunState()
            return finished
        }
        finished.task?.cancel()
        if !finished.runID.isEmpty { previousRun.withLock { $0 = finished } }
        await link.resetForNextRun()
    }

    /// A stop arrived before any assignment: report an empty completion at once.
    private func finishIfNotStarted() {
        let started = runState.withLock { $0.task != nil }
        guard !started else { return }
        let link = self.link
        let task = Task { await link.complete(durationNanos: 0, error: "") }
        runState.withLock { $0.task = task }
    }
}

/// Per-connection settings learned from `Welcome`, shared with the heartbeat task.
final class ConnectionFlags: Sendable {
    struct State {
        var welcomed = false
        var heartbeatInterval = Duration.seconds(1)
        var livenessTimeout = Duration.seconds(5)
    }
    let state = Mutex(State())
}
