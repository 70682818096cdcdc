import ArgumentParser
import Fleet
import Foundation
import LoadEngine
import Logging

/// `stampede worker`: connects to a coordinator and runs what it is given.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Join a distributed run: connect to a coordinator, take chunks of work, report statistics.",
        discussion: """
            Retries with backoff while the coordinator is not up (--connect-timeout), reconnects after a short network
            blip keeping its chunks, and stops writing and exits non-zero when the coordinator is gone for longer than
            --reconnect-window. Exit status: 0 done, 3 coordinator lost or unreachable, 4 refused (token, version, id in use), 1
            other errors.
            """
    )

    @Option(help: "The coordinator's host:port.")
    var coordinator = "127.0.0.1:5557"
    @Option(help: "Name of this worker (default: host-pid).")
    var id: String?
    @Option(help: "Shared token (default: the STAMPEDE_TOKEN environment variable).")
    var token: String?
    @Option(name: .customLong("contact-points"), help: "Cluster contact points for this worker's network (default: the coordinator's).")
    var contactPoints: String?
    @Option(help: "Relative capacity for user/rate shares (default: number of cores).")
    var capacity: Double = 0
    @Option(name: .customLong("connect-timeout"), help: "How long to wait for the coordinator to come up, e.g. 2m.")
    var connectTimeout = "120s"
    @Option(name: .customLong("reconnect-window"), help: "How long to try reconnecting mid-run before stopping, e.g. 5s.")
    var reconnectWindow = "5s"
    @Option(name: .customLong("simulate-rate"), help: "Do not touch a database: simulate writes at this many per second (benchmarks).")
    var simulateRate: Double?
    @Option(help: "With --simulate-rate: run this many simulated workers in this process (coordinator benchmarks).")
    var swarm = 1
    @Flag(name: .customLong("tasks-on-thread-pool"), help: "Run the engine's tasks on Swift's thread pool instead of the CQL event loops (for comparison).")
    var tasksOnThreadPool = false
    @Flag(name: .customLong("grpc-tls"), help: "Connect to the coordinator with TLS (system trust roots unless --grpc-tls-ca).")
    var grpcTLS = false
    @Option(name: .customLong("grpc-tls-ca"), help: "PEM CA the coordinator's certificate must chain to (implies --grpc-tls).")
    var grpcTLSCA: String?
    @Option(name: .customLong("grpc-tls-cert"), help: "PEM client certificate, for a coordinator that requires one.")
    var grpcTLSCertificate: String?
    @Option(name: .customLong("grpc-tls-key"), help: "PEM private key of --grpc-tls-cert.")
    var grpcTLSKey: String?
    @Flag(name: .customLong("grpc-tls-no-hostname-check"), help: "Accept a coordinator certificate that does not name its host.")
    var grpcTLSNoHostnameCheck = false
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "notice"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
        guard (grpcTLSCertificate == nil) == (grpcTLSKey == nil) else {
            throw ValidationError("--grpc-tls-cert and --grpc-tls-key go together")
        }
        guard swarm >= 1, swarm == 1 || simulateRate != nil else {
            throw ValidationError("--swarm needs --simulate-rate (it is for coordinator benchmarks)")
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .notice
        CommandLogging.bootstrap(level: level)
        let logger = Logger(label: "stampede.worker")
        let address: (host: String, port: Int)
        do { address = try WorkerConfiguration.parseAddress(coordinator) } catch { throw ValidationError(error.description) }
        func duration(_ text: String, _ what: String) throws -> Duration {
            do { return try DurationParser.parse(text, what: what) } catch { throw ValidationError(error.description) }
        }
        let configuration = WorkerConfiguration(
            coordinatorHost: address.host, coordinatorPort: address.port, workerID: id,
            token: token ?? ProcessInfo.processInfo.environment["STAMPEDE_TOKEN"] ?? "", version: Stampede.version,
            capacity: capacity, connectTimeout: try duration(connectTimeout, "--connect-timeout"),
            reconnectWindow: try duration(reconnectWindow, "--reconnect-window"),
            contactPointsOverride: contactPoints.map { $0.split(separator: ",").map(String.init) } ?? [],
            tls: grpcTLS || grpcTLSCA != nil || grpcTLSCertificate != nil
                ? FleetClientTLS(
                    caPath: grpcTLSCA, certificateChainPath: grpcTLSCertificate, privateKeyPath: grpcTLSKey,
                    verifyHostname: !grpcTLSNoHostnameCheck)
                : nil)
        let factory: any FleetRunFactory =
            simulateRate.map { SimulatedRunFactory(indexesPerSecond: $0) } ?? EngineRunFactory(tasksOnEventLoops: !tasksOnThreadPool, logger: logger)
        if swarm > 1 {
            try await runSwarm(configuration, factory: factory, logger: logger)
            return
        }
        let worker = FleetWorker(configuration: configuration, factory: factory, logger: logger)
        do {
            let summary = try await worker.run()
            let operations = summary.totals.combined.operations
            FileHandle.standardOutput.write(
                Data("worker \(summary.workerID): run \(summary.runID) done, \(operations) operations\n".utf8))
        } catch {
            FileHandle.standardError.write(Data("stampede worker \(configuration.workerID): \(error.description)\n".utf8))
            throw Self.exitCode(for: error)
        }
    }

    static func exitCode(for error: FleetError) -> ExitCode {
        switch error.code {
        case .coordinatorLost, .coordinatorUnreachable: ExitCode(3)
        case .badToken, .versionMismatch, .refused, .runFinished, .duplicateWorker: ExitCode(4)
        default: ExitCode(1)
        }
    }

    /// Many simulated workers in one process, named ID-1 ... ID-N.
    func runSwarm(_ base: WorkerConfiguration, factory: any FleetRunFactory, logger: Logger) async throws {
        let failures = try await withThrowingTaskGroup(of: FleetError?.self) { group in
            for index in 1...swarm {
                var configuration = base
                configuration.workerID = "\(base.workerID)-\(index)"
                let worker = FleetWorker(configuration: configuration, factory: factory, logger: logger)
                group.addTask {
                    do {
                        _ = try await worker.run()
                        return nil
                    } catch let error as FleetError {
                        return error
                    } catch {
                        return FleetError(.workload, "\(error)")
                    }
                }
            }
            var failures: [FleetError] = []
            for try await failure in group { if let failure { failures.append(failure) } }
            return failures
        }
        FileHandle.standardOutput.write(Data("swarm of \(swarm) workers done, \(failures.count) failed\n".utf8))
        if let first = failures.first {
            FileHandle.standardError.write(Data("stampede worker swarm: \(first.description)\n".utf8))
            throw Self.exitCode(for: first)
        }
    }
}
