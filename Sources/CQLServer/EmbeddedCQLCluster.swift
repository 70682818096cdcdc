import CQLProtocol
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// A running embedded CQL cluster: one shared store served by `nodes` listeners, each reporting the others
/// as peers with its own token. Replication is not simulated — every node reads and writes the same data.
///
/// ```swift
/// let cluster = try await EmbeddedCQLCluster.start(EmbeddedCQLServerConfiguration(port: 0, nodes: 3))
/// let endpoints = cluster.endpoints   // host and bound port of each node
/// try await cluster.stopNode(1)       // drops node 2's connections; peers get STATUS_CHANGE DOWN
/// try await cluster.restartNode(1)    // listens again on the same port
/// try await cluster.shutdown()
/// ```
public final class EmbeddedCQLCluster: Sendable {
    public let configuration: EmbeddedCQLServerConfiguration
    private let database: EmbeddedDatabase
    private let events: EventBroadcaster
    private let listeners: [NodeListener]
    private let group: any EventLoopGroup
    private let logger: Logger
    private let dataDirectory: DataDirectory?
    private let summaryTask = Mutex<RepeatedTask?>(nil)
    private let adminChannel = Mutex<(any Channel)?>(nil)
    private let lastWriteCount = Atomic<UInt64>(0)
    private let isShutDown = Atomic<Bool>(false)

    private init(
        configuration: EmbeddedCQLServerConfiguration, database: EmbeddedDatabase, events: EventBroadcaster, listeners: [NodeListener],
        group: any EventLoopGroup, logger: Logger, dataDirectory: DataDirectory?
    ) {
        self.configuration = configuration
        self.database = database
        self.events = events
        self.listeners = listeners
        self.group = group
        self.logger = logger
        self.dataDirectory = dataDirectory
    }

    /// Validates the configuration, loads the data directory (if any) and starts every node.
    public static func start(
        _ configuration: EmbeddedCQLServerConfiguration, logger: Logger = Logger(label: "stampede.server"),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> EmbeddedCQLCluster {
        try configuration.validate()
        let endpoints = configuration.nodeEndpoints
        let topology = ClusterTopology.evenlySpaced(
            clusterName: configuration.clusterName, addresses: endpoints.map(\.host), ports: endpoints.map(\.port))
        var engine = try QueryEngine(topology: topology, storesWrites: configuration.mode == .memory)
        var commitLog: CommitLog?
        var dataDirectory: DataDirectory?
        if let path = configuration.dataDirectory, configuration.mode == .memory {
            let directory = DataDirectory(path: path)
            let report = try directory.load(into: &engine, logger: logger)
            logger.info(
                "loaded data directory",
                metadata: ["path": "\(path)", "snapshot_records": "\(report.snapshotRecords)", "commitlog_records": "\(report.logRecords)"])
            commitLog = try CommitLog(path: directory.commitLogPath, validLength: report.validLogLength, sync: configuration.commitLogSync)
            dataDirectory = directory
        }
        let database = EmbeddedDatabase(engine: engine, commitLog: commitLog)
        let events = EventBroadcaster()
        var listeners: [NodeListener] = []
        for (index, endpoint) in endpoints.enumerated() {
            var nodeLogger = logger
            nodeLogger[metadataKey: "node"] = "\(endpoint.host):\(endpoint.port)"
            let runtime = NodeRuntime(nodeIndex: index, database: database, events: events, credentials: configuration.credentials, logger: nodeLogger)
            listeners.append(NodeListener(index: index, endpoint: endpoint, runtime: runtime))
        }
        let cluster = EmbeddedCQLCluster(
            configuration: configuration, database: database, events: events, listeners: listeners, group: group, logger: logger,
            dataDirectory: dataDirectory)
        do {
            for listener in listeners {
                let port = try await listener.start(group: group)
                database.withEngine { $0.topology.nodes[listener.index].port = port }
            }
            if let adminPort = configuration.adminPort {
                let channel = try await AdminHTTPHandler.bind(host: configuration.host, port: adminPort, cluster: cluster, group: group)
                cluster.adminChannel.withLock { $0 = channel }
            }
        } catch {
            try? await cluster.shutdown()
            throw error
        }
        cluster.startSummary()
        logger.info(
            "CQL server listening",
            metadata: [
                "endpoints": "\(cluster.endpoints.map(\.description).joined(separator: ", "))", "mode": "\(configuration.mode.rawValue)",
                "auth": "\(configuration.credentials != nil)", "data_dir": "\(configuration.dataDirectory ?? "none")",
            ])
        return cluster
    }

    /// Host and port of every node, in node order.
    public var endpoints: [CQLEndpoint] {
        listeners.map { CQLEndpoint(host: $0.host, port: $0.port) }
    }

    /// Where the admin HTTP endpoint listens, when enabled.
    public var adminEndpoint: CQLEndpoint? {
        adminChannel.withLock { channel in
            channel.flatMap { channel in channel.localAddress?.port.map { CQLEndpoint(host: configuration.host, port: $0) } }
        }
    }

    /// Whether node `index`'s listener is accepting connections.
    public func isNodeRunning(_ index: Int) -> Bool {
        index >= 0 && index < listeners.count && listeners[index].isRunning
    }

    /// Stops node `index`'s listener and drops its connections. Other nodes' event subscribers get DOWN.
    public func stopNode(_ index: Int) async throws {
        let listener = try listener(index)
        await listener.stop()
        database.withEngine { $0.topology.nodes[index].isUp = false }
        if let address = CQLInet(listener.host) {
            events.publish(.statusChange(.down, address: address, port: Int32(listener.port)), excludingNode: index)
        }
        logger.info("node stopped", metadata: ["node": "\(listener.host):\(listener.port)"])
    }

    /// Starts node `index`'s listener again on the same port. Other nodes' event subscribers get UP.
    public func restartNode(_ index: Int) async throws {
        let listener = try listener(index)
        _ = try await listener.start(group: group)
        database.withEngine { $0.topology.nodes[index].isUp = true }
        if let address = CQLInet(listener.host) {
            events.publish(.statusChange(.up, address: address, port: Int32(listener.port)), excludingNode: index)
        }
        logger.info("node started", metadata: ["node": "\(listener.host):\(listener.port)"])
    }

    private func listener(_ index: Int) throws -> NodeListener {
        guard index >= 0, index < listeners.count else {
            throw EmbeddedCQLServerError("no node \(index); the cluster has \(listeners.count) node(s), numbered from 0")
        }
        return listeners[index]
    }

    /// Stops every listener and, with a data directory, writes a snapshot and empties the commit log.
    public func shutdown() async throws {
        guard !isShutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        summaryTask.withLock { $0?.cancel() }
        let admin = adminChannel.withLock { channel in
            defer { channel = nil }
            return channel
        }
        try? await admin?.close()
        for listener in listeners { await listener.stop() }
        if let commitLog = database.commitLog {
            commitLog.close()
            if let dataDirectory {
                try database.withEngine { engine in try dataDirectory.writeSnapshot(of: engine) }
                try commitLog.truncate()
                logger.info("wrote snapshot", metadata: ["path": "\(dataDirectory.snapshotPath)"])
            }
        }
        logger.info("CQL server stopped")
    }

    /// Logs the write rate every `summaryInterval`.
    private func startSummary() {
        let interval = configuration.summaryInterval
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        guard seconds > 0 else { return }
        let nanos = Int64(seconds * 1e9)
        let task = group.next().scheduleRepeatedTask(initialDelay: .nanoseconds(nanos), delay: .nanoseconds(nanos)) { [weak self] _ in
            guard let self else { return }
            let total = self.database.writes.load(ordering: .relaxed)
            let previous = self.lastWriteCount.exchange(total, ordering: .relaxed)
            let rate = Double(total &- previous) / seconds
            self.logger.info("writes", metadata: ["per_second": "\(Int(rate))", "total": "\(total)"])
        }
        summaryTask.withLock { $0 = task }
    }
}
