import Atomics
import CQLProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The connections of a session to one host, kept at the configured size with reconnection and backoff.
final class CQLHostPool: Sendable {
    let address: CQLHostAddress
    private let size: Int
    private let makeConfiguration: @Sendable () -> CQLConnectionConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let baseDelay: Duration
    private let maxDelay: Duration
    private let onStateChange: @Sendable (CQLHostAddress, Bool) -> Void

    private struct State {
        var connections: [CQLConnection] = []
        var opening = 0
        var isUp = true
        var failures = 0
        var lastError: CQLClientError?
        var reconnectScheduled = false
        var isShutdown = false
        var nextPick = 0
    }

    private let state = NIOLockedValueBox(State())
    /// Mirror of `State.isUp`, read lock-free on every query plan.
    private let upFlag = ManagedAtomic(true)

    init(
        address: CQLHostAddress, size: Int, eventLoopGroup: any EventLoopGroup, logger: Logger,
        baseDelay: Duration, maxDelay: Duration,
        makeConfiguration: @escaping @Sendable () -> CQLConnectionConfiguration,
        onStateChange: @escaping @Sendable (CQLHostAddress, Bool) -> Void
    ) {
        self.address = address
        self.size = size
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.makeConfiguration = makeConfiguration
        self.onStateChange = onStateChange
    }

    /// Whether the host is believed to be reachable.
    var isUp: Bool { upFlag.load(ordering: .relaxed) }

    var lastError: CQLClientError? { state.withLockedValue { $0.lastError } }

    var openConnections: [CQLConnection] { state.withLockedValue { $0.connections } }

    /// Opens connections up to the pool size; returns once the first attempt of each has finished.
    /// Throws the first error when no connection could be opened.
    func fill() async throws {
        let wanted: Int = state.withLockedValue { state in
            let missing = max(0, size - state.connections.count - state.opening)
            state.opening += missing
            return missing
        }
        guard wanted > 0 else { return }
        let errors = await withTaskGroup(of: CQLClientError?.self) { group in
            for _ in 0..<wanted {
                group.addTask { await self.openOne() }
            }
            var errors: [CQLClientError] = []
            for await case let error? in group { errors.append(error) }
            return errors
        }
        if let first = errors.first, openConnections.isEmpty { throw first }
    }

    private func openOne() async -> CQLClientError? {
        do {
            let connection = try await CQLConnection.connect(
                to: address, configuration: makeConfiguration(), eventLoopGroup: eventLoopGroup, logger: logger)
            let (keep, cameUp) = state.withLockedValue { state -> (Bool, Bool) in
                state.opening -= 1
                guard !state.isShutdown else { return (false, false) }
                state.connections.append(connection)
                state.failures = 0
                state.lastError = nil
                let cameUp = !state.isUp
                state.isUp = true
                upFlag.store(true, ordering: .relaxed)
                return (true, cameUp)
            }
            guard keep else {
                await connection.close()
                return nil
            }
            if cameUp {
                logger.info("host is up", metadata: ["host": "\(address)"])
                onStateChange(address, true)
            }
            connection.closeFuture.whenComplete { [self] _ in connectionClosed(connection) }
            return nil
        } catch {
            let clientError = error as? CQLClientError ?? CQLClientError(.connectionFailed, "cannot connect to \(address): \(error)", host: address.description)
            let wentDown = state.withLockedValue { state -> Bool in
                state.opening -= 1
                state.failures += 1
                state.lastError = clientError
                let wentDown = state.isUp && state.connections.isEmpty
                if state.connections.isEmpty {
                    state.isUp = false
                    upFlag.store(false, ordering: .relaxed)
                }
                return wentDown
            }
            if wentDown {
                logger.warning("host is down", metadata: ["host": "\(address)", "error": "\(clientError)"])
                onStateChange(address, false)
            }
            scheduleReconnect()
            return clientError
        }
    }

    private func connectionClosed(_ connection: CQLConnection) {
        let wentDown = state.withLockedValue { state -> Bool in
            state.connections.removeAll { $0 === connection }
            // Losing the last connection means the host stopped answering: plans skip it until a reconnect succeeds.
            guard state.connections.isEmpty, state.isUp, !state.isShutdown else { return false }
            state.isUp = false
            upFlag.store(false, ordering: .relaxed)
            return true
        }
        if wentDown {
            logger.warning("host is down: every connection closed", metadata: ["host": "\(address)"])
            onStateChange(address, false)
        }
        logger.debug("connection closed", metadata: ["host": "\(address)"])
        scheduleReconnect(immediately: true)
    }

    /// Tries again after a delay that doubles with each consecutive failure, up to the maximum.
    private func scheduleReconnect(immediately: Bool = false) {
        let delay: Duration? = state.withLockedValue { state in
            guard !state.isShutdown, !state.reconnectScheduled, state.connections.count + state.opening < size else { return nil }
            state.reconnectScheduled = true
            if immediately && state.failures == 0 { return .zero }
            let exponent = min(state.failures, 16)
            let delay = baseDelay * (1 << max(0, exponent - 1))
            return delay > maxDelay ? maxDelay : delay
        }
        guard let delay else { return }
        Task {
            if delay > .zero { try? await Task.sleep(for: delay) }
            state.withLockedValue { $0.reconnectScheduled = false }
            try? await fill()
        }
    }

    /// Asks for a reconnection now (an UP event arrived).
    func reconnectNow() {
        state.withLockedValue { $0.failures = 0 }
        Task { try? await fill() }
    }

    /// Marks the host down because the cluster said so (a DOWN event).
    func markDown() {
        state.withLockedValue { state in
            state.isUp = state.connections.contains { $0.isActive }
            upFlag.store(state.isUp, ordering: .relaxed)
        }
    }

    /// The least busy open connection, or `nil` when none is open.
    func leastBusyConnection() -> CQLConnection? {
        state.withLockedValue { state in
            let connections = state.connections
            switch connections.count {
            case 0: return nil
            case 1: return connections[0]
            default:
                // Power of two choices: cheap and close to least-loaded.
                state.nextPick &+= 1
                let first = connections[state.nextPick % connections.count]
                let second = connections[(state.nextPick &+ 1) % connections.count]
                return first.inFlightRequests <= second.inFlightRequests ? first : second
            }
        }
    }

    func shutdown() async {
        let connections = state.withLockedValue { state in
            state.isShutdown = true
            defer { state.connections = [] }
            return state.connections
        }
        for connection in connections { await connection.close() }
    }
}
