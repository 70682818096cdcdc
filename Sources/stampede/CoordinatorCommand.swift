import ArgumentParser
import Dispatch
import CQLClient
import Fleet
import Foundation
import LoadEngine
import Logging

/// `stampede coordinator`: hands out work to `stampede worker` processes over gRPC, merges their statistics exactly
/// and writes `distributed_results.json`.
struct CoordinatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Coordinate a distributed run: workers connect, take chunks of the target, and report to one result.",
        discussion: """
            Examples:
              stampede coordinator --expect-workers 4 --target 1000000
              stampede coordinator --bind 0.0.0.0:5557 --token "$STAMPEDE_TOKEN" --expect-workers 8 --target 1000000
              stampede coordinator --local-workers 4 --target 200000        (spawns 4 worker processes here)
              stampede coordinator --resume run-20250101-120000-3fa2        (continue a run whose coordinator died)
            The run starts when --expect-workers workers are connected. A worker silent for --liveness-timeout is lost and
            its unfinished chunks go to the others; the total stays exact. Thresholds are judged by the coordinator on
            the statistics of all workers merged. Exit status: 0 when the run completed and every threshold passed, 99
            when a threshold failed, 1 otherwise.
            """
    )

    @Option(help: "Address:port to listen on. A non-loopback address requires --token (or STAMPEDE_TOKEN).")
    var bind = "127.0.0.1:5557"
    @Option(help: "Shared token workers must present (default: the STAMPEDE_TOKEN environment variable).")
    var token: String?
    @Option(name: .customLong("expect-workers"), help: "Start when this many workers are connected.")
    var expectWorkers = 1
    @Option(name: .customLong("local-workers"), help: "Also spawn this many worker processes on this machine.")
    var localWorkers = 0
    @Option(name: [.customLong("target"), .customLong("total")], help: "Exact number of messages (fixed-total run).")
    var target: UInt64?
    @Option(name: .customLong("chunk-size"), help: "Messages per leased chunk.")
    var chunkSize: UInt64 = 1_000
    @Option(help: "Operations in flight per worker (fixed total), or the open model's in-flight bound.")
    var concurrency = 64
    @Option(help: "chat-write or chat-mixed (ignored with --profile).")
    var workload = "chat-write"
    @Option(help: "A YAML workload profile: read and checked here once, then handed to every worker.")
    var profile: String?
    @Flag(name: .customLong("seeded-rows"), help: "Chat workloads: workers draw senders and conversations from seeded rows (stampede seed).")
    var seededRows = false
    @Option(name: .customLong("threshold"), help: "Pass/fail criterion on the whole run's merged statistics, repeatable: 'p99<100ms', 'errors<0.1%'.")
    var thresholds: [String] = []
    @Flag(name: .customLong("abort-on-fail"), help: "Stop every worker as soon as a threshold fails.")
    var abortOnFail = false
    @Flag(name: .customLong("keep-workers"), help: "Interactive, like Locust's web UI: workers stay connected between runs and new runs start from the dashboard's form (the flags' run first, if they give one). Ctrl-C stops a run; Ctrl-C while idle quits.")
    var keepWorkers = false
    @Option(name: .customLong("contact-points"), help: "Comma-separated host[:port] list, handed to every worker.")
    var contactPoints = "127.0.0.1:9042"
    @Option(help: "Keyspace the workers' sessions use (default: the chat keyspace; none with --profile).")
    var keyspace: String?
    @Option(help: "Consistency level of the statements.")
    var consistency = "ONE"
    @Option(help: "User name for the cluster (password from STAMPEDE_CQL_PASSWORD).")
    var username: String?
    @Flag(help: "Workers connect to the cluster with TLS.")
    var tls = false
    @Option(help: "Closed model: virtual users divided among workers by capacity.")
    var users: Int?
    @Option(name: .customLong("spawn-rate"), help: "Closed model: users started per second (whole run).")
    var spawnRate: Double?
    @Option(name: .customLong("think-time"), help: "Closed model: none, '500ms', 'between 1s 3s' or 'pacing 2s'.")
    var thinkTime = ""
    @Option(help: "Open model: operations per second for the whole run, divided among workers.")
    var rate: Double?
    @Option(help: "Stop after this long, e.g. 90s, 10m.")
    var duration: String?
    @Option(name: .customLong("stage"), help: "DURATION:TARGET[:step|linear|exp], repeatable: whole-run users, or ops/s with --rate.")
    var stages: [String] = []
    @Option(name: .customLong("run-id"), help: "Name of the run (default: generated).")
    var runID: String?
    @Option(help: "Continue the journaled run RUN_ID (same target, same message identities).")
    var resume: String?
    @Option(name: .customLong("journal-dir"), help: "Directory of run journals.")
    var journalDirectory = "stampede-data/runs"
    @Option(help: "Where to write the results document.")
    var results = "distributed_results.json"
    @Option(name: .customLong("liveness-timeout"), help: "A worker silent this long is lost, e.g. 5s.")
    var livenessTimeout = "5s"
    @Flag(name: .customLong("no-schema"), help: "Do not create the chat schema before starting.")
    var noSchema = false
    @Option(name: .customLong("grpc-tls-cert"), help: "PEM certificate chain: serve the worker port over TLS.")
    var grpcTLSCertificate: String?
    @Option(name: .customLong("grpc-tls-key"), help: "PEM private key of --grpc-tls-cert.")
    var grpcTLSKey: String?
    @Option(name: .customLong("grpc-tls-client-ca"), help: "PEM CA: require worker certificates signed by it (mutual TLS).")
    var grpcTLSClientCA: String?
    @Option(name: .customLong("web-host"), help: "Address of the dashboard (loopback unless told otherwise).")
    var webHost = "127.0.0.1"
    @Option(name: .customLong("web-port"), help: "Port of the live dashboard; 0 turns it off.")
    var webPort = 8089
    @Option(name: .customLong("web-auth"), help: "user:password for HTTP basic authentication on the dashboard.")
    var webAuth: String?
    @Option(name: .customLong("report-dir"), help: "Directory for the HTML/CSV/JSON/HDR reports of the run.")
    var reportDirectory = "reports"
    @Option(name: .customLong("web-linger"), help: "Keep the dashboard up this long after the run, e.g. 10s, so open pages show the end and reports can be downloaded.")
    var webLinger = "5s"
    @Flag(help: "After the run, read the messages back and check that every acknowledged one is there (chat workloads).")
    var verify = false
    @Flag(help: "Before the run, check the cluster as `stampede doctor` does (nodes, versions, schema, replication vs consistency; a FAIL stops here), and report the workers' clock skew once they are connected.")
    var doctor = false
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "notice"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
        guard localWorkers >= 0 else { throw ValidationError("--local-workers must not be negative") }
        guard (grpcTLSCertificate == nil) == (grpcTLSKey == nil) else {
            throw ValidationError("--grpc-tls-cert and --grpc-tls-key go together")
        }
        guard grpcTLSClientCA == nil || grpcTLSCertificate != nil else {
            throw ValidationError("--grpc-tls-client-ca needs --grpc-tls-cert and --grpc-tls-key")
        }
        for threshold in thresholds {
            do { _ = try Threshold(parsing: threshold) } catch { throw ValidationError(error.description) }
        }
        guard !abortOnFail || !thresholds.isEmpty else { throw ValidationError("--abort-on-fail needs at least one --threshold") }
    }

    /// The run as the flags describe it; `profileText` is the YAML of `--profile`, read and validated once.
    func runConfiguration(profileText: String? = nil) throws -> FleetRunConfiguration {
        let identity = RunIdentity.generate()
        let model: FleetRunConfiguration.Model = rate != nil ? .open : users != nil ? .closed : .fixedTotal
        return FleetRunConfiguration(
            runID: resume ?? runID ?? identity.id, runEpochMillis: 0, workload: profile ?? workload, profileYAML: profileText ?? "",
            contactPoints: contactPoints.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) },
            keyspace: keyspace ?? (profile == nil ? ChatSchema.keyspace : ""), consistency: consistency, username: username ?? "",
            password: ProcessInfo.processInfo.environment["STAMPEDE_CQL_PASSWORD"] ?? "", tls: tls, model: model,
            target: target ?? 0, chunkSize: chunkSize, duration: try duration.map { try DurationParser.parse($0, what: "--duration") },
            users: users ?? 0, spawnRate: spawnRate ?? 0, rate: rate ?? 0, thinkTime: thinkTime,
            stages: try stages.map { try Stage(parsing: $0) }, concurrency: concurrency, seededRows: seededRows,
            thresholds: thresholds, abortOnThresholdFailure: abortOnFail)
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .notice
        CommandLogging.bootstrap(level: level)
        let logger = Logger(label: "stampede.coordinator")
        let address: (host: String, port: Int)
        do { address = try WorkerConfiguration.parseAddress(bind) } catch { throw ValidationError(error.description) }
        let token = self.token ?? ProcessInfo.processInfo.environment["STAMPEDE_TOKEN"]
        try OutputFile.checkWritable(results, what: "results")
        let profile = try self.profile.map { try DistributedRun.readProfile($0) }
        var configuration = CoordinatorConfiguration(
            host: address.host, port: address.port, token: token, expectWorkers: max(expectWorkers, localWorkers),
            livenessTimeout: try DurationParser.parse(livenessTimeout, what: "--liveness-timeout"),
            journalDirectory: journalDirectory, resultsPath: results, version: Stampede.version,
            run: try runConfiguration(profileText: profile?.text), resume: resume != nil,
            tls: grpcTLSCertificate.flatMap { certificate in
                grpcTLSKey.map { FleetServerTLS(certificateChainPath: certificate, privateKeyPath: $0, clientCAPath: grpcTLSClientCA) }
            })
        configuration.keepWorkers = keepWorkers
        // --keep-workers without a run in the flags: idle until the dashboard's form starts one.
        configuration.waitForFirstRun = keepWorkers && target == nil && users == nil && rate == nil && resume == nil
        var schema: [String]?
        if !noSchema, resume == nil {
            if let profile {
                schema = profile.profile.schema
            } else if workload.hasPrefix("chat-") {
                schema = ChatSchema.statements()
            }
        }
        let distributed = DistributedRun(
            configuration: configuration, localWorkers: localWorkers, logLevel: logLevel,
            web: DistributedRun.Web(
                host: webHost, port: webPort, basicAuth: webAuth, reportDirectory: reportDirectory,
                linger: try DurationParser.parse(webLinger, what: "--web-linger")),
            schema: schema, doctor: doctor)
        if keepWorkers {
            _ = try await distributed.runKeepingWorkers(logger: logger)
            return
        }
        let results = try await distributed.run(logger: logger)
        if verify {
            let run = configuration.run
            var session = CQLSessionConfiguration(contactPoints: run.contactPoints)
            if !run.username.isEmpty { session.connection.credentials = CQLCredentials(username: run.username, password: run.password) }
            if !(try await RunVerification.verify(resultsFile: self.results, session: session)) { throw ExitCode(1) }
        }
        let code = DistributedRun.exitCode(for: results)
        if code != 0 { throw ExitCode(code) }
    }
}
