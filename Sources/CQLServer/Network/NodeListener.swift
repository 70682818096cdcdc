import CQLProtocol
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// The listening socket of one node and the connections it accepted. Can be stopped (dropping every
/// connection) and started again on the same port.
final class NodeListener: Sendable {
    private struct State {
        var server: (any Channel)?
        /// True from the start of a bind until a stop: a connection set up outside that span is closed at once.
        var accepting = false
        var connections: [ObjectIdentifier: any Channel] = [:]
        var boundPort: Int?
    }

    let index: Int
    let host: String
    private let requestedPort: Int
    private let runtime: NodeRuntime
    private let state = Mutex(State())

    init(index: Int, endpoint: CQLEndpoint, runtime: NodeRuntime) {
        self.index = index
        self.host = endpoint.host
        self.requestedPort = endpoint.port
        self.runtime = runtime
    }

    /// The port the node listens on (the first bound port is reused on restart).
    var port: Int { state.withLock { $0.boundPort ?? requestedPort } }

    var isRunning: Bool { state.withLock { $0.server != nil } }

    /// Binds the listener. Returns the bound port.
    func start(group: any EventLoopGroup) async throws -> Int {
        if let port = state.withLock({ $0.server != nil ? $0.boundPort : nil }) { return port }
        let runtime = self.runtime
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { [weak self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(CQLServerHandler(runtime: runtime))
                    self?.track(channel)
                }
            }
        let port = self.port
        state.withLock { $0.accepting = true }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: host, port: port).get()
        } catch {
            state.withLock { $0.accepting = false }
            throw EmbeddedCQLServerError("node \(index + 1) cannot listen on \(host):\(port): \(error)")
        }
        let bound = channel.localAddress?.port ?? port
        state.withLock {
            $0.server = channel
            $0.boundPort = bound
        }
        return bound
    }

    /// Keeps an accepted connection so that ``stop()`` can drop it. A connection accepted just before a stop but set up
    /// after it took its list is closed here instead: otherwise a stopped node would keep answering on it.
    private func track(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        let tracked = state.withLock { state in
            guard state.accepting else { return false }
            state.connections[id] = channel
            return true
        }
        guard tracked else {
            // After its initializer has returned, so the close does not cut into the channel's set-up.
            channel.eventLoop.execute { channel.close(promise: nil) }
            return
        }
        channel.closeFuture.whenComplete { [weak self] _ in
            _ = self?.state.withLock { $0.connections.removeValue(forKey: id) }
        }
    }

    /// Closes the listener and every connection it accepted.
    func stop() async {
        let (server, connections) = state.withLock { state -> ((any Channel)?, [any Channel]) in
            let server = state.server
            state.server = nil
            state.accepting = false
            return (server, Array(state.connections.values))
        }
        try? await server?.close()
        for connection in connections { try? await connection.close() }
    }
}
