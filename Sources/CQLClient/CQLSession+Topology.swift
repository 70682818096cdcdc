import CQLProtocol
import Logging
import NIOCore

extension CQLSession {
    /// Opens the control connection to the first candidate that answers, registering for events.
    func openControlConnection(candidates: [CQLHostAddress]) async throws {
        var errors: [(host: String, error: CQLClientError)] = []
        var configuration = configuration.connection
        configuration.keyspace = nil
        if self.configuration.watchTopology { configuration.eventTypes = CQLEventType.allCases }
        for candidate in candidates {
            do {
                let connection = try await CQLConnection.connect(
                    to: candidate, configuration: configuration, eventLoopGroup: self.configuration.eventLoopGroup,
                    logger: logger, onEvent: { [weak self] event in self?.handle(event) })
                state.withLockedValue { $0.control = connection }
                connection.closeFuture.whenComplete { [weak self] _ in self?.controlConnectionClosed() }
                return
            } catch {
                errors.append((candidate.description, error as? CQLClientError ?? CQLClientError(.connectionFailed, "\(error)")))
            }
        }
        throw Self.allFailed(errors)
    }

    /// Runs a statement on the control connection.
    func controlQuery(_ cql: String) async throws -> CQLQueryResult {
        guard let control = state.withLockedValue({ $0.control }) else {
            throw CQLClientError(.connectionClosed, "no control connection")
        }
        let response = try await control.send(.query(cql, CQLQueryParameters(consistency: .one)))
        return try Self.result(from: response, host: control.address, columns: nil)
    }

    /// Re-reads system.local, system.peers_v2 (or system.peers) and system_schema.keyspaces.
    public func refreshTopology() async throws {
        guard let control = state.withLockedValue({ $0.control }) else { return }
        let local = try await controlQuery(CQLSystemTables.localQuery)
        var hosts = CQLSystemTables.hosts(from: local, connectedAddress: control.address, defaultPort: control.address.port)
        let peers: CQLQueryResult
        do {
            peers = try await controlQuery(CQLSystemTables.peersV2Query)
        } catch let error as CQLClientError where error.serverError != nil {
            peers = try await controlQuery(CQLSystemTables.peersQuery)
        }
        hosts += CQLSystemTables.hosts(from: peers, connectedAddress: nil, defaultPort: control.address.port)
        let replications = CQLSystemTables.replications(from: try await controlQuery(CQLSystemTables.keyspacesQuery))
        let newPools: [CQLHostPool] = state.withLockedValue { state in
            if state.localDatacenter == nil { state.localDatacenter = hosts.first?.datacenter }
            state.hosts = Dictionary(hosts.map { ($0.address, $0) }, uniquingKeysWith: { first, _ in first })
            state.replications = replications
            var ownership: [(member: CQLTokenRing.Member, tokens: [Int64])] = []
            var ids: [Int: CQLHostAddress] = [:]
            for (index, host) in hosts.enumerated() {
                ownership.append((CQLTokenRing.Member(id: index, datacenter: host.datacenter), host.tokens))
                ids[index] = host.address
            }
            state.ring = CQLTokenRing(ownership: ownership)
            state.replicaTables = [:]
            state.ringIDs = ids
            // Pools for new local hosts once the session is running; removed hosts lose theirs.
            var created: [CQLHostPool] = []
            if !state.pools.isEmpty {
                for host in hosts where state.pools[host.address] == nil && host.datacenter == state.localDatacenter {
                    let pool = makePool(for: host.address)
                    state.pools[host.address] = pool
                    created.append(pool)
                }
            }
            state.indexPools()
            return created
        }
        for pool in newPools { Task { try? await pool.fill() } }
    }

    func handle(_ event: CQLEvent) {
        logger.debug("event", metadata: ["event": "\(event)"])
        switch event {
        case .statusChange(let change, let address, let port):
            let pool = state.withLockedValue { state in
                state.pools.first { $0.key.host == address.description && ($0.key.port == Int(port) || port == 0) }?.value
                    ?? state.pools.first { $0.key.host == address.description }?.value
            }
            switch change {
            case .up: pool?.reconnectNow()
            case .down: pool?.markDown()
            }
        case .topologyChange, .schemaChange:
            Task { try? await refreshTopology() }
        }
    }

    /// Replaces a lost control connection, trying every known host with backoff until one answers.
    func controlConnectionClosed() {
        guard !isClosed else { return }
        logger.debug("control connection closed; reconnecting")
        let task = Task { [weak self] in
            var delay = self?.configuration.reconnectBaseDelay ?? .seconds(1)
            while let self, !self.isClosed, !Task.isCancelled {
                let candidates = self.state.withLockedValue { state in
                    state.hosts.keys.sorted { (state.pools[$0]?.isUp == true ? 0 : 1, $0.description) < (state.pools[$1]?.isUp == true ? 0 : 1, $1.description) }
                }
                do {
                    try await self.openControlConnection(candidates: candidates)
                    try? await self.refreshTopology()
                    return
                } catch {
                    try? await Task.sleep(for: delay)
                    delay = min(delay * 2, self.configuration.reconnectMaxDelay)
                }
            }
        }
        controlTask.withLockedValue { $0 = task }
    }
}
