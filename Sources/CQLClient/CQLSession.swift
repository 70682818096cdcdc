import Atomics
import CQLProtocol
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// A connection to a whole cluster: discovers its nodes, keeps a pool per node, routes each statement to a
/// replica of its partition, retries what is safe to retry, and pages through results.
///
/// ```swift
/// let session = try await CQLSession.connect(CQLSessionConfiguration(contactPoints: ["127.0.0.1"]))
/// let insert = try await session.prepare("INSERT INTO ks.t (id, v) VALUES (?, ?)")
/// try await session.execute(insert, values: [.uuid(UUID()), .text("hello")])
/// ```
public final class CQLSession: Sendable {
    let configuration: CQLSessionConfiguration
    let logger: Logger

    struct State {
        var hosts: [CQLHostAddress: CQLHostInfo] = [:]
        var pools: [CQLHostAddress: CQLHostPool] = [:]
        var ring = CQLTokenRing(ownership: [])
        var ringIDs: [Int: CQLHostAddress] = [:]
        /// Derived from `pools`, `hosts` and `ringIDs` by `indexPools()`.
        var localPools: [CQLHostPool] = []
        var remotePools: [CQLHostPool] = []
        var poolsByRingID: [Int: CQLHostPool] = [:]
        var replications: [String: CQLReplication] = [:]
        /// Each keyspace's replicas per ring range, built on first use from `ring` and `replications` (emptied when
        /// they change).
        var replicaTables: [String: CQLTokenRing.ReplicaTable] = [:]
        var keyspace: String?
        var localDatacenter: String?
        var control: CQLConnection?
        var isClosed = false
    }

    let state: NIOLockedValueBox<State>
    let preparedCache = NIOLockedValueBox<[String: CQLPreparedStatement]>([:])
    private let roundRobin = ManagedAtomic<Int>(0)
    private let lastTimestamp = ManagedAtomic<Int64>(0)
    let controlTask = NIOLockedValueBox<Task<Void, Never>?>(nil)

    private init(configuration: CQLSessionConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        var initial = State()
        initial.keyspace = configuration.keyspace
        initial.localDatacenter = configuration.localDatacenter
        self.state = NIOLockedValueBox(initial)
    }

    /// Connects to the cluster through the first contact point that answers, discovers the other nodes and
    /// opens the pools.
    ///
    /// Throws `CQLClientError` naming every contact point that failed, or "keyspace X does not exist".
    public static func connect(_ configuration: CQLSessionConfiguration, logger: Logger = Logger(label: "stampede.cql")) async throws -> CQLSession {
        let contactPoints = try configuration.validated()
        let session = CQLSession(configuration: configuration, logger: logger)
        try await session.openControlConnection(candidates: contactPoints)
        try await session.refreshTopology()
        if let keyspace = configuration.keyspace, session.state.withLockedValue({ $0.replications[keyspace] }) == nil {
            await session.close()
            throw CQLClientError(.invalidArgument, "keyspace \(keyspace) does not exist")
        }
        try await session.openPools()
        return session
    }

    /// The current keyspace (set by configuration or `USE`).
    public var keyspace: String? { state.withLockedValue { $0.keyspace } }

    /// What the session knows about the cluster's nodes.
    public var hosts: [CQLHostInfo] {
        state.withLockedValue { state in
            state.hosts.values.map { host in
                var host = host
                host.isUp = state.pools[host.address]?.isUp ?? host.isUp
                return host
            }.sorted { $0.address.description < $1.address.description }
        }
    }

    /// The datacenter whose hosts are used first.
    public var localDatacenter: String? { state.withLockedValue { $0.localDatacenter } }

    /// Replication of every keyspace, from system_schema.keyspaces.
    public var replications: [String: CQLReplication] { state.withLockedValue { $0.replications } }

    /// Closes every connection. Statements in flight fail with `connectionClosed`.
    public func close() async {
        let (pools, control) = state.withLockedValue { state -> ([CQLHostPool], CQLConnection?) in
            state.isClosed = true
            return (Array(state.pools.values), state.control)
        }
        controlTask.withLockedValue { $0?.cancel() }
        for pool in pools { await pool.shutdown() }
        await control?.close()
    }

    var isClosed: Bool { state.withLockedValue { $0.isClosed } }

    // MARK: Pools

    func connectionConfiguration() -> CQLConnectionConfiguration {
        var connection = configuration.connection
        connection.keyspace = state.withLockedValue { $0.keyspace }
        return connection
    }

    func makePool(for address: CQLHostAddress) -> CQLHostPool {
        CQLHostPool(
            address: address, size: configuration.effectiveConnectionsPerHost, eventLoopGroup: configuration.eventLoopGroup,
            logger: logger, baseDelay: configuration.reconnectBaseDelay, maxDelay: configuration.reconnectMaxDelay,
            makeConfiguration: { [weak self] in self?.connectionConfiguration() ?? CQLConnectionConfiguration() },
            onStateChange: { [logger] address, isUp in logger.debug("host state", metadata: ["host": "\(address)", "up": "\(isUp)"]) })
    }

    /// Opens pools to the local datacenter's hosts (all hosts when no datacenter is known).
    private func openPools() async throws {
        let pools: [CQLHostPool] = state.withLockedValue { state in
            var created: [CQLHostPool] = []
            for host in state.hosts.values where state.localDatacenter == nil || host.datacenter == state.localDatacenter {
                if state.pools[host.address] == nil {
                    let pool = makePool(for: host.address)
                    state.pools[host.address] = pool
                    created.append(pool)
                }
            }
            state.indexPools()
            return created
        }
        var errors: [(host: String, error: CQLClientError)] = []
        await withTaskGroup(of: (String, CQLClientError?).self) { group in
            for pool in pools {
                group.addTask {
                    do {
                        try await pool.fill()
                        return (pool.address.description, nil)
                    } catch {
                        return (pool.address.description, error as? CQLClientError ?? CQLClientError(.connectionFailed, "\(error)"))
                    }
                }
            }
            for await case (let host, let error?) in group { errors.append((host, error)) }
        }
        if !pools.isEmpty, errors.count == pools.count {
            await close()
            throw Self.allFailed(errors)
        }
    }

    static func allFailed(_ errors: [(host: String, error: CQLClientError)]) -> CQLClientError {
        let details = errors.map { "\($0.error.message)" }.joined(separator: "; ")
        let noun = errors.count == 1 ? "host" : "hosts"
        return CQLClientError(.noHostAvailable, "all \(errors.count) \(noun) failed: \(details)", hostErrors: errors)
    }

    // MARK: Timestamps

    /// Microseconds since the epoch, strictly increasing within this session.
    func nextTimestamp() -> Int64 {
        let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
        while true {
            let last = lastTimestamp.load(ordering: .relaxed)
            let next = max(now, last + 1)
            if lastTimestamp.compareExchange(expected: last, desired: next, ordering: .relaxed).exchanged { return next }
        }
    }

    // MARK: Query plans

    /// The hosts to try for a statement, best first: replicas of its partition in the local datacenter,
    /// then the other local hosts round-robin, then hosts of other datacenters that have pools.
    func queryPlan(keyspace: String?, routingKey: ByteBuffer?) -> [CQLHostPool] {
        let start = roundRobin.loadThenWrappingIncrement(ordering: .relaxed)
        return state.withLockedValue { state in
            var plan: [CQLHostPool] = []
            plan.reserveCapacity(state.localPools.count + state.remotePools.count)
            state.walkPlan(keyspace: keyspace, routingKey: routingKey, start: start, tokenAware: configuration.tokenAwareRouting) { pool in
                if !plan.contains(where: { $0 === pool }) { plan.append(pool) }
                return true
            }
            // Everything looks down: try them anyway, a host may have come back.
            return plan.isEmpty ? state.localPools + state.remotePools : plan
        }
    }

    /// The first host of ``queryPlan(keyspace:routingKey:)``, found without building the plan (the open model's
    /// path, once per operation).
    func preferredHost(keyspace: String?, routingKey: ByteBuffer?) -> CQLHostPool? {
        let start = roundRobin.loadThenWrappingIncrement(ordering: .relaxed)
        return state.withLockedValue { state in
            var first: CQLHostPool?
            state.walkPlan(keyspace: keyspace, routingKey: routingKey, start: start, tokenAware: configuration.tokenAwareRouting) { pool in
                first = pool
                return false
            }
            return first ?? state.localPools.first ?? state.remotePools.first  // (all down: as the plan does)
        }
    }
}

extension CQLSession.State {
    /// Offers the hosts that are up to `visit` in query-plan order (a host may come twice: as a replica, then as a
    /// local host) until it returns false; `start` turns the round-robin.
    mutating func walkPlan(
        keyspace: String?, routingKey: ByteBuffer?, start: Int, tokenAware: Bool, _ visit: (CQLHostPool) -> Bool
    ) {
        if tokenAware, let routingKey, let keyspace, let table = replicaTable(for: keyspace) {
            let token = Murmur3Partitioner.token(of: routingKey.readableBytesView)
            let replicas = table.replicas(of: token)
            let offset = replicas.isEmpty ? 0 : start % replicas.count
            for position in replicas.indices {
                let member = replicas[(position + offset) % replicas.count]
                if let pool = poolsByRingID[member.id], pool.isUp, localDatacenter == nil || member.datacenter == localDatacenter {
                    guard visit(pool) else { return }
                }
            }
        }
        let local = localPools
        if !local.isEmpty {
            let offset = start % local.count
            for position in local.indices {
                let pool = local[(position + offset) % local.count]
                if pool.isUp { guard visit(pool) else { return } }
            }
        }
        for pool in remotePools where pool.isUp {
            guard visit(pool) else { return }
        }
    }

    /// The keyspace's replica table, built from the ring on first use; `nil` without a ring or a known replication.
    mutating func replicaTable(for keyspace: String) -> CQLTokenRing.ReplicaTable? {
        if let table = replicaTables[keyspace] { return table }
        guard !ring.isEmpty, let replication = replications[keyspace] else { return nil }
        let table = ring.replicaTable(replication: replication)
        replicaTables[keyspace] = table
        return table
    }

    /// Recomputes the pool lists used by query plans after pools or hosts change.
    mutating func indexPools() {
        var local: [CQLHostPool] = []
        var remote: [CQLHostPool] = []
        for (address, pool) in pools {
            if localDatacenter == nil || hosts[address]?.datacenter == localDatacenter {
                local.append(pool)
            } else {
                remote.append(pool)
            }
        }
        localPools = local.sorted { $0.address.description < $1.address.description }
        remotePools = remote.sorted { $0.address.description < $1.address.description }
        var byRingID: [Int: CQLHostPool] = [:]
        for (id, address) in ringIDs { if let pool = pools[address] { byRingID[id] = pool } }
        poolsByRingID = byRingID
    }
}
