import CQLClient
import CQLProtocol
import Foundation
import LoadEngine
import Logging
import NIOCore
import NIOPosix

/// What `stampede doctor` checks and against what.
public struct DoctorOptions: Sendable {
    /// `host` or `host:port` contact points.
    public var contactPoints: [String]
    /// The keyspace the run writes to, and the tables it needs.
    public var keyspace: String
    public var tables: [String]
    /// The consistency level the run will use.
    public var consistency: CQLConsistency
    /// Per-connection settings (credentials, TLS, timeouts). Connect timeout defaults to 3 s here.
    public var connection: CQLConnectionConfiguration
    /// The coordinator's `host:port` to probe, when there is one.
    public var coordinatorAddress: String?
    /// Measured clock offsets of connected workers (their clock minus the coordinator's).
    public var workerClockOffsets: [(name: String, offset: Duration)]
    /// Also compare this machine's clock with each node's (`SELECT toUnixTimestamp(now()) FROM system.local`).
    public var checkNodeClocks: Bool

    public init(contactPoints: [String], keyspace: String = ChatSchema.keyspace, tables: [String] = DoctorOptions.chatTables,
                consistency: CQLConsistency = .one, coordinatorAddress: String? = nil,
                workerClockOffsets: [(name: String, offset: Duration)] = [], checkNodeClocks: Bool = true) {
        self.contactPoints = contactPoints
        self.keyspace = keyspace
        self.tables = tables
        self.consistency = consistency
        var connection = CQLConnectionConfiguration()
        connection.connectTimeout = .seconds(3)
        connection.requestTimeout = .seconds(5)
        connection.heartbeatInterval = nil
        self.connection = connection
        self.coordinatorAddress = coordinatorAddress
        self.workerClockOffsets = workerClockOffsets
        self.checkNodeClocks = checkNodeClocks
    }

    /// The tables of the chat schema.
    public static let chatTables = ["users_by_id", "users_by_username", "conversations_by_user", "members_by_conversation", "messages_by_conversation"]
}

/// The pre-run checklist, automated: contact points, every node, versions, schema, replication against the
/// consistency level, the coordinator's port and clocks. Each check is OK, WARN or FAIL with a one-line fix.
public struct Doctor: Sendable {
    public let options: DoctorOptions
    let logger: Logger

    public init(options: DoctorOptions, logger: Logger = Logger(label: "stampede.doctor")) {
        self.options = options
        self.logger = logger
    }

    /// Runs every check. Never throws: what cannot be reached is a FAIL in the report.
    public func run() async -> DoctorReport {
        var report = DoctorReport()
        let schemaFix = "run `stampede schema apply` (creates \(options.keyspace) and its tables)"

        // 1. Contact points.
        var addresses: [CQLHostAddress] = []
        for point in options.contactPoints.flatMap({ $0.split(separator: ",") }).map(String.init) {
            do {
                addresses.append(try CQLHostAddress(parsing: point))
            } catch {
                report.checks.append(DoctorCheck("contact point \(point)", .fail, "\(error)", fix: "use host or host:port, e.g. 127.0.0.1:9042"))
            }
        }
        var reachable = 0
        for address in addresses {
            let started = ContinuousClock.now
            do {
                let node = try await NodeConnection.open(address, configuration: options.connection, logger: logger)
                let elapsed = ContinuousClock.now - started
                report.checks.append(DoctorCheck("contact point \(address)", .ok,
                                                 "answered in \(ClockSkewAssessment.milliseconds(elapsed)) ms, protocol v\(node.protocolVersion)"))
                reachable += 1
                await node.close()
            } catch {
                report.checks.append(DoctorCheck("contact point \(address)", .fail, "cannot connect: \(Self.describe(error))",
                                                 fix: "check the address and port, that the node runs and that the native transport port is open"))
            }
        }
        guard reachable > 0 else {
            report.checks.append(DoctorCheck("cluster", .fail, "no contact point answered; nothing else can be checked",
                                             fix: "start the cluster (e.g. `stampede server`) or pass --contact-points"))
            await appendCoordinatorCheck(to: &report)
            appendWorkerClockChecks(to: &report)
            return report
        }

        // 2. The cluster's nodes, each asked directly.
        var sessionConfiguration = CQLSessionConfiguration(contactPoints: addresses.map(\.description))
        sessionConfiguration.connection = options.connection
        sessionConfiguration.connectionsPerHost = 1
        sessionConfiguration.watchTopology = false
        let session: CQLSession
        do {
            session = try await CQLSession.connect(sessionConfiguration, logger: logger)
        } catch {
            report.checks.append(DoctorCheck("cluster", .fail, "cannot open a session: \(Self.describe(error))",
                                             fix: "check credentials/TLS and that the nodes answer system.local"))
            await appendCoordinatorCheck(to: &report)
            appendWorkerClockChecks(to: &report)
            return report
        }
        let hosts = session.hosts
        let replications = session.replications
        let datacenter = session.localDatacenter ?? hosts.first?.datacenter ?? "datacenter1"
        await session.close()

        var upByDatacenter: [String: Int] = [:]
        var countByDatacenter: [String: Int] = [:]
        var releaseVersions: [String: [String]] = [:]
        var protocolVersions = Set<UInt8>()
        var nodeClocks: [(name: String, offset: Duration)] = []
        for host in hosts {
            countByDatacenter[host.datacenter, default: 0] += 1
            let name = "node \(host.address) (\(host.datacenter)/\(host.rack))"
            do {
                let node = try await NodeConnection.open(host.address, configuration: options.connection, logger: logger)
                defer { Task { await node.close() } }
                let rows = try await node.rows("SELECT release_version, cql_version FROM system.local WHERE key = 'local'")
                let version = rows.first?["release_version"]?.text ?? host.releaseVersion ?? "unknown"
                let cql = rows.first?["cql_version"]?.text.map { ", CQL \($0)" } ?? ""
                upByDatacenter[host.datacenter, default: 0] += 1
                releaseVersions[version, default: []].append(host.address.description)
                protocolVersions.insert(node.protocolVersion)
                report.checks.append(DoctorCheck(name, .ok, "up, Cassandra \(version)\(cql), protocol v\(node.protocolVersion)"))
                if options.checkNodeClocks, let offset = await Self.clockOffset(of: node) {
                    nodeClocks.append((host.address.description, offset))
                }
            } catch {
                report.checks.append(DoctorCheck(name, .fail, "not answering: \(Self.describe(error))",
                                                 fix: "start the node, or remove it from the cluster (nodetool removenode) if it is gone for good"))
            }
        }

        // 3. Versions.
        if releaseVersions.count > 1 {
            let detail = releaseVersions.map { "\($0.key) on \($0.value.joined(separator: ", "))" }.sorted().joined(separator: "; ")
            report.checks.append(DoctorCheck("versions", .warn, "mixed Cassandra versions: \(detail)", fix: "finish the upgrade before measuring"))
        } else if let version = releaseVersions.keys.first {
            let protocols = protocolVersions.sorted().map { "v\($0)" }.joined(separator: ", ")
            report.checks.append(DoctorCheck("versions", .ok, "Cassandra \(version) on every node answering, protocol \(protocols)"))
        }

        // 4. Schema.
        let keyspaceCheck = "keyspace \(options.keyspace)"
        if let replication = replications[options.keyspace] {
            report.checks.append(DoctorCheck(keyspaceCheck, .ok, "present (\(Self.describe(replication)))"))
            let missing = await missingTables(addresses: addresses)
            switch missing {
            case .success(let missing) where missing.isEmpty:
                report.checks.append(DoctorCheck("tables", .ok, "all \(options.tables.count) present: \(options.tables.joined(separator: ", "))"))
            case .success(let missing):
                report.checks.append(DoctorCheck("tables", .fail, "missing: \(missing.joined(separator: ", "))", fix: schemaFix))
            case .failure(let error):
                report.checks.append(DoctorCheck("tables", .warn, "cannot read system_schema.tables: \(Self.describe(error))",
                                                 fix: "check that the user may read system_schema"))
            }
            // 5. Replication vs nodes vs consistency.
            let assessment = ReplicationAssessment(
                keyspace: options.keyspace, datacenter: datacenter, replicationFactor: replication.replicationFactor(in: datacenter),
                nodesInDatacenter: countByDatacenter[datacenter] ?? 0, nodesUp: upByDatacenter[datacenter] ?? 0,
                consistency: options.consistency)
            report.checks.append(assessment.check)
        } else {
            report.checks.append(DoctorCheck(keyspaceCheck, .fail, "does not exist", fix: schemaFix))
            report.checks.append(DoctorCheck("replication of \(options.keyspace)", .skip, "no keyspace to check"))
        }

        // 6. Coordinator port and clocks.
        await appendCoordinatorCheck(to: &report)
        if options.checkNodeClocks, nodeClocks.isEmpty, !upByDatacenter.isEmpty {
            report.checks.append(DoctorCheck("node clocks", .skip, "the nodes do not report their time (toUnixTimestamp(now()) unsupported)"))
        }
        report.checks += ClockSkewAssessment(offsets: nodeClocks).checks(kind: "node")
        appendWorkerClockChecks(to: &report)
        return report
    }

    /// The tables of `options.tables` missing from the keyspace, asked of the first node that answers.
    private func missingTables(addresses: [CQLHostAddress]) async -> Result<[String], any Error> {
        var lastError: any Error = VerificationError(.readFailed, "no node answered")
        for address in addresses {
            do {
                let node = try await NodeConnection.open(address, configuration: options.connection, logger: logger)
                defer { Task { await node.close() } }
                let rows = try await node.rows("SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?", values: [.text(options.keyspace)])
                let present = Set(rows.compactMap { $0["table_name"]?.text })
                return .success(options.tables.filter { !present.contains($0) })
            } catch {
                lastError = error
            }
        }
        return .failure(lastError)
    }

    private func appendCoordinatorCheck(to report: inout DoctorReport) async {
        guard let coordinator = options.coordinatorAddress else { return }
        let name = "coordinator port \(coordinator)"
        do {
            let address = try CQLHostAddress(parsing: coordinator, defaultPort: 5557)
            try await Self.probe(host: address.host, port: address.port, timeout: .seconds(3))
            report.checks.append(DoctorCheck(name, .ok, "reachable"))
        } catch {
            report.checks.append(DoctorCheck(name, .fail, "not reachable: \(Self.describe(error))",
                                             fix: "start `stampede coordinator`, bind it to a reachable address (--bind 0.0.0.0:5557) and open the port"))
        }
    }

    private func appendWorkerClockChecks(to report: inout DoctorReport) {
        report.checks += ClockSkewAssessment(offsets: options.workerClockOffsets).checks(kind: "worker")
    }

    /// Opens and closes a TCP connection.
    static func probe(host: String, port: Int, timeout: Duration) async throws {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000))
            .connect(host: host, port: port).get()
        try? await channel.close()
    }

    /// The node's clock minus ours, from `toUnixTimestamp(now())` and the round trip's midpoint; nil when unsupported.
    static func clockOffset(of node: NodeConnection) async -> Duration? {
        let before = Date()
        guard let rows = try? await node.rows("SELECT toUnixTimestamp(now()) AS now_ms FROM system.local WHERE key = 'local'"),
              let value = rows.first?.values.first, let millis = value.number else { return nil }
        let after = Date()
        let midpoint = (before.timeIntervalSince1970 + after.timeIntervalSince1970) / 2 * 1000
        return .milliseconds(Int64(millis - midpoint))
    }

    static func describe(_ replication: CQLReplication) -> String {
        switch replication {
        case .simple(let factor): "SimpleStrategy, RF \(factor)"
        case .networkTopology(let factors): "NetworkTopologyStrategy, " + factors.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
        case .other(let name): name
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? CQLClientError { return error.message }
        return "\(error)"
    }
}
