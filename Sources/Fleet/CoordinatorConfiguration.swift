import Foundation

/// TLS of the coordinator's gRPC port: its certificate, and optionally the CA that client (worker) certificates must
/// chain to (mutual TLS). PEM files.
public struct FleetServerTLS: Sendable, Hashable {
    public var certificateChainPath: String
    public var privateKeyPath: String
    /// When set, workers must present a certificate signed by this CA.
    public var clientCAPath: String?

    public init(certificateChainPath: String, privateKeyPath: String, clientCAPath: String? = nil) {
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
        self.clientCAPath = clientCAPath
    }
}

/// How a coordinator listens and runs; validated once at start-up. Defaults are documented on each property.
public struct CoordinatorConfiguration: Sendable {
    /// Address to listen on (default `127.0.0.1`). Any non-loopback address requires a token.
    public var host: String
    /// Port to listen on (default 5557; 0 picks a free port, see `FleetCoordinator.listeningPort()`).
    public var port: Int
    /// Shared secret workers must present; required when `host` is not a loopback address.
    public var token: String?
    /// The run starts when this many workers are registered (or on `FleetCoordinator.start()`).
    public var expectWorkers: Int
    /// A worker silent for longer is declared lost and its work given back (default 5 s).
    public var livenessTimeout: Duration
    /// How often both sides send heartbeats (default 1 s).
    public var heartbeatInterval: Duration
    /// How far ahead of "now" the start barrier is set, so every worker has its assignment in time (default 1 s).
    public var startLead: Duration
    /// Chunks a worker may hold at once (default 2: one running, one prefetched).
    public var leaseDepth: Int
    /// Directory of run journals (default `stampede-data/runs`).
    public var journalDirectory: String?
    /// Where to write `distributed_results.json` (nil: do not write).
    public var resultsPath: String?
    /// The stampede version; workers must match it.
    public var version: String
    /// The run.
    public var run: FleetRunConfiguration
    /// Continue the journaled run `run.runID` instead of starting a new one.
    public var resume: Bool
    /// TLS for the gRPC port (nil: plaintext).
    public var tls: FleetServerTLS?
    /// An interactive coordinator (`--keep-workers`, the dashboard's "new run"): after a run ends, workers stay
    /// connected and idle, new ones may join, and `FleetCoordinator.startNextRun(_:)` starts another run on them; serve
    /// it with `FleetCoordinator.serveRuns(onRunFinished:)` until shutdown. Default false: one run, then workers exit.
    public var keepWorkers = false
    /// With `keepWorkers`: no run starts until `startNextRun(_:)` gives one; `run` then only supplies defaults
    /// (contact points, keyspace, credentials, concurrency) and is not validated. Default false.
    public var waitForFirstRun = false

    public init(
        host: String = "127.0.0.1", port: Int = 5557, token: String? = nil, expectWorkers: Int = 1,
        livenessTimeout: Duration = .seconds(5), heartbeatInterval: Duration = .seconds(1), startLead: Duration = .seconds(1),
        leaseDepth: Int = 2, journalDirectory: String? = "stampede-data/runs", resultsPath: String? = "distributed_results.json",
        version: String, run: FleetRunConfiguration, resume: Bool = false, tls: FleetServerTLS? = nil
    ) {
        self.tls = tls
        self.host = host
        self.port = port
        self.token = token
        self.expectWorkers = expectWorkers
        self.livenessTimeout = livenessTimeout
        self.heartbeatInterval = heartbeatInterval
        self.startLead = startLead
        self.leaseDepth = leaseDepth
        self.journalDirectory = journalDirectory
        self.resultsPath = resultsPath
        self.version = version
        self.run = run
        self.resume = resume
    }

    /// True for `localhost`, `127.x.x.x` and `::1`.
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// Checks the configuration once at start-up.
    public func validate() throws(FleetError) {
        guard (0...65_535).contains(port) else { throw FleetError(.invalidConfiguration, "port \(port) is out of range") }
        if !Self.isLoopback(host), (token ?? "").isEmpty {
            throw FleetError(
                .tokenRequired,
                "listening on \(host) (not loopback) requires a shared token: pass --token or set STAMPEDE_TOKEN")
        }
        if let tls {
            for path in [tls.certificateChainPath, tls.privateKeyPath] + (tls.clientCAPath.map { [$0] } ?? [])
            where !FileManager.default.isReadableFile(atPath: path) {
                throw FleetError(.invalidConfiguration, "cannot read the TLS file", subject: path)
            }
        }
        guard expectWorkers >= 1 else { throw FleetError(.invalidConfiguration, "--expect-workers must be at least 1") }
        guard leaseDepth >= 1 else { throw FleetError(.invalidConfiguration, "lease depth must be at least 1") }
        guard livenessTimeout > .zero, heartbeatInterval > .zero, heartbeatInterval < livenessTimeout else {
            throw FleetError(.invalidConfiguration, "the heartbeat interval must be positive and shorter than the liveness timeout")
        }
        guard !waitForFirstRun || keepWorkers else {
            throw FleetError(.invalidConfiguration, "waiting for a first run needs an interactive coordinator (--keep-workers)")
        }
        // A resumed run takes its run configuration from the journal; a template for runs to come is not run as is.
        if !resume, !waitForFirstRun { try run.validate() }
    }
}
