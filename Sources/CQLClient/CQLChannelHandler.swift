import CQLProtocol
import Logging
import NIOCore

/// Who is told of a request's response (or failure), on the connection's event loop.
enum CQLResponseReceiver {
    /// A promise (the general path: `CQLConnection.send` returns its future).
    case promise(EventLoopPromise<CQLResponse>)
    /// A callback (`CQLSession.startExecute`): no future to allocate and complete per request.
    case callback(@Sendable (Result<CQLResponse, CQLClientError>) -> Void)

    func succeed(_ response: CQLResponse) {
        switch self {
        case .promise(let promise): promise.succeed(response)
        case .callback(let callback): callback(.success(response))
        }
    }

    func fail(_ error: CQLClientError) {
        switch self {
        case .promise(let promise): promise.fail(error)
        case .callback(let callback): callback(.failure(error))
        }
    }
}

/// One request handed to the channel handler, with whom its response goes to.
struct CQLOutboundRequest {
    var message: CQLOutboundMessage
    var receiver: CQLResponseReceiver
    var timeout: Duration
}

/// Drives one connection: runs the handshake through `CQLConnectionStateMachine`, multiplexes requests
/// over stream ids, coalesces writes (one flush per event-loop tick), expires timed-out requests, sends
/// heartbeats, and fails everything in flight when the connection ends.
///
/// All state is confined to the channel's event loop.
// @unchecked Sendable: every method runs on the channel's event loop (NIO calls handlers there, and `CQLConnection`
// hops to the loop before calling `enqueue`); closures that capture it are scheduled on that same loop.
final class CQLChannelHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = CQLFrame
    typealias OutboundOut = ByteBuffer

    private var stateMachine: CQLConnectionStateMachine
    private var streams: CQLStreamTable<CQLResponseReceiver>
    private let address: CQLHostAddress
    private let logger: Logger
    private(set) var protocolVersion: UInt8
    private var context: ChannelHandlerContext?
    private var pendingWrites: ByteBuffer
    private var flushScheduled = false
    private var expiryTask: RepeatedTask?
    private var closedError: CQLClientError?
    /// Requests waiting because every stream id is taken.
    private var backlog: CircularBuffer<CQLOutboundRequest> = []
    private let maxBacklog: Int
    /// Requests written together go out in one socket write per event-loop tick, or sooner once this many are
    /// waiting, so that the server starts on the first ones while the rest are encoded. With one write per tick, a
    /// single connection made the client and the server take turns (each waiting for the other's whole batch),
    /// which capped its throughput well below what either could do.
    static let maxRequestsPerFlush = 32
    /// How long a heartbeat may go unanswered before the connection is declared dead (the request timeout).
    private let heartbeatTimeout: Duration
    let handshakePromise: EventLoopPromise<Void>
    private let onEvent: @Sendable (CQLEvent) -> Void
    private let onInFlightChange: (Int) -> Void
    let writeCounters = CQLWriteCounters()
    /// Frames added to `pendingWrites` since the last flush.
    private var pendingRequests = 0

    init(
        address: CQLHostAddress, configuration: CQLConnectionConfiguration, protocolVersion: UInt8,
        handshakePromise: EventLoopPromise<Void>, logger: Logger,
        onEvent: @escaping @Sendable (CQLEvent) -> Void, onInFlightChange: @escaping (Int) -> Void
    ) {
        self.address = address
        self.stateMachine = CQLConnectionStateMachine(configuration: configuration)
        self.streams = CQLStreamTable(capacity: configuration.maxInFlightRequests)
        self.protocolVersion = protocolVersion
        self.handshakePromise = handshakePromise
        self.logger = logger
        self.onEvent = onEvent
        self.onInFlightChange = onInFlightChange
        self.pendingWrites = ByteBuffer()
        self.maxBacklog = max(configuration.maxInFlightRequests * 8, 1024)
        self.heartbeatTimeout = configuration.requestTimeout
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        pendingWrites = context.channel.allocator.buffer(capacity: 16 * 1024)
        if context.channel.isActive { start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    private func start(context: ChannelHandlerContext) {
        guard case .initialized = stateMachine.state else { return }
        perform(stateMachine.channelActive(), context: context)
        // Strong captures here and below, no weak ones: a weak reference gives an object a side table, and every
        // later retain of it (the pipeline retains its handler for each read) takes that slower path. The task
        // is cancelled when the connection closes or the handler is removed, which ends the cycle.
        expiryTask = context.eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) { _ in
            self.expireTimedOutRequests()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopExpiryTask()
    }

    /// Ends the repeated expiry check (and the reference it holds to this handler).
    private func stopExpiryTask() {
        expiryTask?.cancel()
        expiryTask = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(with: closedError ?? CQLClientError(.connectionClosed, "connection to \(address) closed", host: address.description))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        let clientError: CQLClientError
        if let protocolError = error as? CQLProtocolError {
            clientError = CQLClientError(.protocolViolation, "\(address) sent a malformed frame: \(protocolError)", host: address.description)
        } else if let clientErrorValue = error as? CQLClientError {
            clientError = clientErrorValue
        } else {
            clientError = CQLClientError(.connectionClosed, "connection to \(address) failed: \(error)", host: address.description)
        }
        logger.debug("connection error", metadata: ["host": "\(address)", "error": "\(clientError)"])
        fail(with: clientError)
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent, stateMachine.isReady {
            // Heartbeat: an OPTIONS the server must answer; a dead peer then times out the connection.
            let promise = context.eventLoop.makePromise(of: CQLResponse.self)
            // Every request's promise completes (answer, timeout or close), so this capture does not outlive it.
            promise.futureResult.whenFailure { error in
                guard let clientError = error as? CQLClientError, case .timeout = clientError.kind else { return }
                self.logger.debug("heartbeat timed out", metadata: ["host": "\(self.address)"])
                self.closedError = CQLClientError(.connectionClosed, "connection to \(self.address) stopped answering heartbeats", host: self.address.description)
                self.context?.close(promise: nil)
            }
            enqueue(CQLOutboundRequest(message: .request(.options), receiver: .promise(promise), timeout: heartbeatTimeout))
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: Requests

    /// Sends a request, or queues it while every stream id is busy. Must run on the event loop.
    func enqueue(_ outbound: CQLOutboundRequest) {
        if let closedError {
            outbound.receiver.fail(closedError)
            return
        }
        guard stateMachine.isReady else {
            outbound.receiver.fail(CQLClientError(.connectionClosed, "connection to \(address) is not ready", host: address.description))
            return
        }
        let deadline = NIODeadline.now() + outbound.timeout.timeAmount
        guard let stream = streams.allocate(outbound.receiver, deadline: deadline) else {
            guard backlog.count < maxBacklog else {
                outbound.receiver.fail(CQLClientError(.busy, "too many requests waiting on \(address)", host: address.description))
                return
            }
            backlog.append(outbound)
            return
        }
        write(outbound.message, stream: stream)
        onInFlightChange(streams.inFlightCount)
    }

    private func write(_ message: CQLOutboundMessage, stream: Int16) {
        switch message {
        case .request(let request):
            write(request, stream: stream)
        case .encoded(let encoded):
            if stateMachine.usesCompression {
                var compressed = CQLLZ4.compress(encoded.body)
                CQLFrameHeader(version: protocolVersion, isResponse: false, flags: encoded.flags.union(.compression), stream: stream,
                               opcode: encoded.opcode, bodyLength: Int32(compressed.readableBytes)).write(into: &pendingWrites)
                pendingWrites.writeBuffer(&compressed)
            } else {
                // Copied as it is, then this connection's version and stream id set in the copy.
                let start = pendingWrites.writerIndex
                pendingWrites.writeImmutableBuffer(encoded.frame)
                pendingWrites.setInteger(protocolVersion & 0x7F, at: start)
                pendingWrites.setInteger(stream, at: start + 2)
            }
            scheduleFlush()
        }
    }

    private func write(_ request: CQLRequest, stream: Int16) {
        if stateMachine.usesCompression, request.opcode != .startup, request.opcode != .options {
            var body = ByteBuffer()
            request.writeBody(into: &body)
            var compressed = CQLLZ4.compress(body)
            CQLFrameHeader(version: protocolVersion, isResponse: false, flags: .compression, stream: stream, opcode: request.opcode,
                           bodyLength: Int32(compressed.readableBytes)).write(into: &pendingWrites)
            pendingWrites.writeBuffer(&compressed)
        } else {
            CQLFrameEncoder.write(request, stream: stream, version: protocolVersion, into: &pendingWrites)
        }
        scheduleFlush()
    }

    private func scheduleFlush() {
        pendingRequests += 1
        if pendingRequests >= Self.maxRequestsPerFlush {
            // Enough for the server to start on: out now (a flush already scheduled finds less, or nothing).
            flushPendingWrites()
            return
        }
        guard !flushScheduled, let context else { return }
        flushScheduled = true
        context.eventLoop.execute {
            self.flushScheduled = false
            self.flushPendingWrites()
        }
    }

    private func flushPendingWrites() {
        guard let context, pendingWrites.readableBytes > 0 else { return }
        let bytes = pendingWrites
        pendingWrites = context.channel.allocator.buffer(capacity: max(16 * 1024, bytes.readableBytes))
        writeCounters.requests.wrappingIncrement(by: pendingRequests, ordering: .relaxed)
        writeCounters.flushes.wrappingIncrement(ordering: .relaxed)
        writeCounters.bytes.wrappingIncrement(by: bytes.readableBytes, ordering: .relaxed)
        pendingRequests = 0
        context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
    }

    // MARK: Responses

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard frame.header.isResponse else {
            errorCaught(context: context, error: CQLProtocolError(.malformed, "received a request frame (\(frame.header.opcode)) from a server"))
            return
        }
        let response: CQLResponse
        do {
            var flags = frame.header.flags
            var body = frame.body
            if flags.contains(.compression) {
                body = try CQLLZ4.decompress(body)
                flags.remove(.compression)
            }
            response = try CQLResponse.decode(opcode: frame.header.opcode, flags: flags, body: body)
        } catch {
            errorCaught(context: context, error: error)
            return
        }
        if frame.header.stream == -1 {
            if case .event(let event) = response { onEvent(event) }
            return
        }
        if !stateMachine.isReady {
            handshake(response, context: context)
            return
        }
        switch streams.complete(stream: frame.header.stream) {
        case .pending(let receiver):
            drainBacklog()
            onInFlightChange(streams.inFlightCount)
            receiver.succeed(response)
        case .orphaned:
            drainBacklog()
        case .unknownStream:
            errorCaught(context: context, error: CQLProtocolError(.malformed, "response on stream \(frame.header.stream), which has no request"))
        }
    }

    private func drainBacklog() {
        while let next = backlog.first, streams.inFlightCount < streams.capacity - streams.orphanedCount {
            backlog.removeFirst()
            enqueue(next)
        }
    }

    private func handshake(_ response: CQLResponse, context: ChannelHandlerContext) {
        perform(stateMachine.handshakeResponse(response), context: context)
    }

    private func perform(_ action: CQLConnectionStateMachine.Action, context: ChannelHandlerContext) {
        switch action {
        case .send(let request):
            // Handshake requests use stream 0, as the real drivers do.
            write(request, stream: 0)
        case .handshakeSucceeded:
            handshakePromise.succeed(())
        case .handshakeFailed(let failure):
            let error = Self.error(for: failure, address: address, version: protocolVersion)
            closedError = error
            handshakePromise.fail(error)
            context.close(promise: nil)
        case .none:
            break
        }
    }

    static func error(for failure: CQLConnectionStateMachine.HandshakeFailure, address: CQLHostAddress, version: UInt8) -> CQLClientError {
        let host = address.description
        switch failure {
        case .unsupportedVersion(let message):
            return CQLClientError(.unsupportedProtocolVersion, "\(host) does not support protocol v\(version): \(message)", host: host)
        case .authenticationRequired(let authenticator):
            return CQLClientError(
                .authentication, "\(host) requires authentication (\(authenticator)); give a username and password", host: host)
        case .badCredentials(let message):
            return CQLClientError(.authentication, "\(host) rejected the credentials: \(message)", host: host)
        case .server(let error):
            if case .invalid = error.kind, error.message.lowercased().contains("keyspace") {
                return CQLClientError(.server(error), "\(host): \(error.message)", host: host)
            }
            return CQLClientError.server(error, host: host)
        case .unexpected(let message):
            return CQLClientError(.protocolViolation, "\(host): \(message)", host: host)
        }
    }

    // MARK: Timeouts and failure

    private func expireTimedOutRequests() {
        let expired = streams.expire(now: .now())
        guard !expired.isEmpty else { return }
        onInFlightChange(streams.inFlightCount)
        for receiver in expired {
            receiver.fail(CQLClientError(.timeout, "request to \(address) timed out; it may or may not have been applied", host: address.description))
        }
        if streams.orphanedCount > streams.capacity / 2 {
            closedError = CQLClientError(.connectionClosed, "\(address) left too many requests unanswered; reconnecting", host: address.description)
            context?.close(promise: nil)
        }
    }

    private func fail(with error: CQLClientError) {
        if closedError == nil { closedError = error }
        stateMachine.closed()
        stopExpiryTask()
        handshakePromise.fail(error)
        onInFlightChange(0)
        for receiver in streams.removeAll() { receiver.fail(error) }
        while let waiting = backlog.popFirst() { waiting.receiver.fail(error) }
    }
}
