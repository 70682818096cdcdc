import ArgumentParser
import CQLServer
import Foundation
import LoadEngine
import Logging
import NIOPosix
import ServiceLifecycle

/// `stampede server`: the embedded Cassandra-compatible CQL server.
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Run the embedded CQL server (a Cassandra-compatible target for demos, tests and calibration).",
        discussion: """
            With --nodes N the server reports an N-node cluster (each node lists the others in system.peers_v2 with \
            its own token). All nodes share one store: replication is not simulated. With a fixed --port and host \
            127.0.0.1 the nodes listen on 127.0.0.1, 127.0.0.2, ... (all on the same port); with --port 0 or \
            --port-per-node they use consecutive (or ephemeral) ports on --host. With --node-addresses A,B,C each node \
            listens on its own address (all on --port, like the nodes of a real cluster) and reports that address as \
            its rpc/broadcast address in system.local and system.peers; the addresses must be assigned to this machine \
            (or namespace), and --host is then only the admin endpoint's address. The nodes still run in one process \
            and share one store. SIGINT/SIGTERM shut down cleanly (writing a snapshot when --data-dir is set).
            """
    )

    @Option(help: "Address to listen on (the first node's, with --nodes).")
    var host = "127.0.0.1"
    @Option(help: "Native-protocol port (0 = ephemeral; each node's port is printed).")
    var port = 9042
    @Option(help: "Number of nodes in the simulated cluster (default: 1, or the number of --node-addresses).")
    var nodes: Int?
    @Flag(name: .customLong("port-per-node"), help: "Give each node its own port on --host instead of its own loopback address.")
    var portPerNode = false
    @Option(
        name: .customLong("node-addresses"),
        help: "Comma-separated IP addresses, one per node: each node listens on its own address on --port and advertises it.")
    var nodeAddresses: String?
    @Option(help: "memory (store writes) or sink (acknowledge writes without storing them).")
    var mode = EmbeddedCQLServerConfiguration.StorageMode.memory
    @Option(help: "user:password — require PasswordAuthenticator (SASL PLAIN) with these credentials.")
    var auth: String?
    @Option(name: .customLong("admin-port"), help: "Port of the admin HTTP endpoint (GET /nodes, POST /nodes/{i}/stop|start).")
    var adminPort: Int?
    @Option(name: .customLong("data-dir"), help: "Directory for the commit log and the shutdown snapshot (default: memory only).")
    var dataDirectory: String?
    @Option(name: .customLong("commitlog-sync"), help: "batch (acknowledge after fsync, group commit) or periodic.")
    var commitLogSync = "batch"
    @Option(name: .customLong("commitlog-period-ms"), help: "fsync period of --commitlog-sync periodic, in milliseconds.")
    var commitLogPeriodMilliseconds = 1000
    @Option(name: .customLong("cluster-name"), help: "Reported as cluster_name in system.local.")
    var clusterName = "Stampede Cluster"
    @Option(
        name: .customLong("event-loops"),
        help: "I/O threads serving the connections (default: the cores the process may use; see taskset).")
    var eventLoops: Int?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    func validate() throws {
        if let auth, CQLServerCredentials(auth) == nil { throw ValidationError("--auth must be user:password") }
        guard ["batch", "periodic"].contains(commitLogSync) else { throw ValidationError("--commitlog-sync must be batch or periodic") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
        if let eventLoops, eventLoops < 1 { throw ValidationError("--event-loops must be at least 1") }
        guard commitLogPeriodMilliseconds > 0 else { throw ValidationError("--commitlog-period-ms must be positive") }
        if let addresses = parsedNodeAddresses {
            if portPerNode { throw ValidationError("--port-per-node and --node-addresses exclude each other: choose ports or addresses") }
            if let nodes, nodes != addresses.count {
                throw ValidationError("--nodes \(nodes) but --node-addresses lists \(addresses.count) address(es); give one address per node")
            }
        }
    }

    /// `--node-addresses` split on commas (blanks trimmed); nil when the option is absent.
    private var parsedNodeAddresses: [String]? {
        nodeAddresses.map { list in list.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) } }
    }

    private var addressing: EmbeddedCQLServerConfiguration.Addressing {
        if let addresses = parsedNodeAddresses { return .addresses(addresses) }
        return portPerNode ? .distinctPorts : .automatic
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        CommandLogging.bootstrap(level: level)
        let logger = Logger(label: "stampede.server")
        let configuration = EmbeddedCQLServerConfiguration(
            host: host, port: port, nodes: nodes ?? parsedNodeAddresses?.count ?? 1, addressing: addressing, mode: mode,
            credentials: auth.flatMap(CQLServerCredentials.init), clusterName: clusterName, dataDirectory: dataDirectory,
            commitLogSync: commitLogSync == "periodic" ? .periodic(.milliseconds(commitLogPeriodMilliseconds)) : .batch,
            adminPort: adminPort)
        do {
            try configuration.validate()
        } catch {
            throw ValidationError(error.description)
        }
        // One loop per usable core: with more loops than cores (NIO's shared group counts the machine's cores, not
        // the process's affinity) the loops take turns on a core and each waits out the other's time slice.
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: eventLoops ?? ProcessProbe.cores)
        defer { loops.shutdownGracefully { _ in } }
        let server = EmbeddedCQLServer(configuration: configuration, logger: logger, group: loops) { cluster in
            var lines: [String] = []
            for (index, endpoint) in cluster.endpoints.enumerated() {
                lines.append("node \(index + 1): \(endpoint.host):\(endpoint.port)")
            }
            if let admin = cluster.adminEndpoint { lines.append("admin: http://\(admin.host):\(admin.port)/nodes") }
            lines.append("CQL server ready (\(configuration.mode.rawValue) mode)")
            // Unbuffered, so scripts reading a redirected stdout see it at once.
            FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

extension EmbeddedCQLServerConfiguration.StorageMode: ExpressibleByArgument {}
