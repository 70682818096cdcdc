import Atomics
import CQLProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// One connection to one Cassandra node, multiplexing up to `maxInFlightRequests` requests.
///
/// `send` may be called from any thread; the work happens on the connection's event loop.
public final class CQLConnection: Sendable {
    public let address: CQLHostAddress
    /// The protocol version agreed with the server.
    public let protocolVersion: UInt8
    let channel: Channel
    /// Used only on `channel.eventLoop` (see `send`).
    private let handler: CQLChannelHandler
    private let inFlightCounter: ManagedAtomic<Int>
    let defaultTimeout: Duration

    private init(address: CQLHostAddress, protocolVersion: UInt8, channel: Channel, handler: CQLChannelHandler,
                 inFlightCounter: ManagedAtomic<Int>, defaultTimeout: Duration) {
        self.address = address
        self.protocolVersion = protocolVersion
        self.channel = channel
        self.handler = handler
        self.inFlightCounter = inFlightCounter
        self.defaultTimeout = defaultTimeout
    }

    /// How this connection's requests went out so far (frames, flushes, bytes).
    public var writeStatistics: CQLWriteStatistics { handler.writeCounters.snapshot }

    /// Requests currently waiting for a response.
    public var inFlightRequests: Int { inFlightCounter.load(ordering: .relaxed) }

    public var isActive: Bool { channel.isActive }

    /// Completes when the connection has closed, for whatever reason.
    public var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    /// Connects and completes the handshake, stepping down from `configuration.protocolVersion`
    /// to `minimumProtocolVersion` when the server asks for a lower version.
    public static func connect(
        to address: CQLHostAddress, configuration: CQLConnectionConfiguration,
        eventLoopGroup: EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger = Logger(label: "stampede.cql"),
        onEvent: @escaping @Sendable (CQLEvent) -> Void = { _ in }
    ) async throws -> CQLConnection {
        var version = configuration.protocolVersion
        while true {
            do {
                return try await connect(to: address, version: version, configuration: configuration,
                                         eventLoopGroup: eventLoopGroup, logger: logger, onEvent: onEvent)
            } catch let error as CQLClientError {
                guard case .unsupportedProtocolVersion = error.kind, version > configuration.minimumProtocolVersion else { throw error }
                logger.debug("stepping down protocol version", metadata: ["host": "\(address)", "from": "\(version)"])
                version -= 1
            }
        }
    }

    private static func connect(
        to address: CQLHostAddress, version: UInt8, configuration: CQLConnectionConfiguration,
        eventLoopGroup: EventLoopGroup, logger: Logger, onEvent: @escaping @Sendable (CQLEvent) -> Void
    ) async throws -> CQLConnection {
        let sslContext = try configuration.tls.map { try $0.makeContext() }
        let counter = ManagedAtomic(0)
        let eventLoop = eventLoopGroup.next()
        let handshakePromise = eventLoop.makePromise(of: Void.self)
        // Kept from the initializer: looking the handler up in the pipeline later fails once the channel has closed
        // (e.g. an idle heartbeat timing out right after the handshake), and the caller should get the connection and
        // see it closed rather than a pipeline error.
        let installedHandler = NIOLockedValueBox<CQLChannelHandler?>(nil)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.connectTimeout.timeAmount)
            .channelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(ChannelOptions.socketOption(.so_keepalive), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let sslContext {
                        let handler = try NIOSSLClientHandler(
                            context: sslContext, serverHostname: configuration.tls?.verifyHostname == true && !address.host.isIPAddress ? address.host : nil)
                        try sync.addHandler(handler)
                    }
                    if let interval = configuration.heartbeatInterval {
                        try sync.addHandler(IdleStateHandler(readTimeout: interval.timeAmount))
                    }
                    try sync.addHandler(ByteToMessageHandler(CQLFrameByteDecoder()))
                    let handler = CQLChannelHandler(
                        address: address, configuration: configuration, protocolVersion: version,
                        handshakePromise: handshakePromise, logger: logger, onEvent: onEvent,
                        onInFlightChange: { counter.store($0, ordering: .relaxed) })
                    try sync.addHandler(handler)
                    installedHandler.withLockedValue { $0 = handler }
                }
            }
        let channel: Channel
        do {
            channel = try await bootstrap.connect(host: address.host, port: address.port).get()
        } catch {
            handshakePromise.fail(error)
            throw CQLClientError(.connectionFailed, "cannot connect to \(address): \(Self.describe(error))", host: address.description)
        }
        let timeout = eventLoop.scheduleTask(in: configuration.connectTimeout.timeAmount) {
            handshakePromise.fail(CQLClientError(.timeout, "\(address) did not complete the handshake within \(configuration.connectTimeout)", host: address.description))
        }
        do {
            try await handshakePromise.futureResult.get()
            timeout.cancel()
        } catch {
            timeout.cancel()
            try? await channel.close()
            throw error
        }
        guard let handler = installedHandler.withLockedValue({ $0 }) else {
            try? await channel.close()
            throw CQLClientError(.connectionFailed, "connection to \(address) has no CQL handler", host: address.description)
        }
        logger.debug("connected", metadata: ["host": "\(address)", "protocol": "v\(version)"])
        return CQLConnection(address: address, protocolVersion: version, channel: channel, handler: handler,
                             inFlightCounter: counter, defaultTimeout: configuration.requestTimeout)
    }

    static func describe(_ error: Error) -> String {
        let text = "\(error)"
        if text.contains("Connection refused") || text.contains("connection refused") || text.contains("ECONNREFUSED") { return "connection refused" }
        if let connectError = error as? NIOConnectionError {
            if let first = connectError.connectionErrors.first { return describe(first.error) }
            if connectError.dnsAAAAError != nil || connectError.dnsAError != nil { return "cannot resolve host name \(connectError.host)" }
        }
        if error is ChannelError, case .connectTimeout = error as! ChannelError { return "connect timed out" }
        return text
    }

    /// Sends one request and returns the server's response, which may be `.error`.
    /// Throws `CQLClientError` for timeouts and connection failures.
    public func send(_ request: CQLRequest, timeout: Duration? = nil) -> EventLoopFuture<CQLResponse> {
        send(.request(request), timeout: timeout)
    }

    /// Sends a frame encoded by the caller (see ``CQLEncodedRequest``) and returns the server's response.
    /// It goes out with the other requests of the same event-loop tick, in one write.
    public func send(_ request: CQLEncodedRequest, timeout: Duration? = nil) -> EventLoopFuture<CQLResponse> {
        send(.encoded(request), timeout: timeout)
    }

    /// Sends a frame encoded by the caller and waits for the response.
    public func send(_ request: CQLEncodedRequest, timeout: Duration? = nil) async throws -> CQLResponse {
        try await send(.encoded(request), timeout: timeout).get()
    }

    /// Sends a frame encoded by the caller; `onResponse` is called once, on the connection's event loop, with the
    /// server's response (which may be `.error`) or with the `CQLClientError` of a timeout or a failed connection.
    /// The cheapest way to send: no future is made.
    public func send(
        _ request: CQLEncodedRequest, timeout: Duration? = nil,
        onResponse: @escaping @Sendable (Result<CQLResponse, CQLClientError>) -> Void
    ) {
        enqueue(CQLOutboundRequest(message: .encoded(request), receiver: .callback(onResponse), timeout: timeout ?? defaultTimeout))
    }

    func send(_ message: CQLOutboundMessage, timeout: Duration?) -> EventLoopFuture<CQLResponse> {
        let promise = channel.eventLoop.makePromise(of: CQLResponse.self)
        enqueue(CQLOutboundRequest(message: message, receiver: .promise(promise), timeout: timeout ?? defaultTimeout))
        return promise.futureResult
    }

    /// Hands `outbound` to the handler on the channel's event loop.
    private func enqueue(_ outbound: CQLOutboundRequest) {
        if channel.eventLoop.inEventLoop {
            handler.enqueue(outbound)
        } else {
            let handler = self.handler
            channel.eventLoop.execute { handler.enqueue(outbound) }
        }
    }

    /// Sends one request and waits for the response.
    public func send(_ request: CQLRequest, timeout: Duration? = nil) async throws -> CQLResponse {
        try await send(request, timeout: timeout).get()
    }

    /// Closes the connection; requests in flight fail with `connectionClosed`.
    public func close() async {
        try? await channel.close()
    }
}

extension String {
    var isIPAddress: Bool { CQLInet(self) != nil }
}
