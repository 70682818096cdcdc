import CQLProtocol
import Logging
import NIOCore

/// What a connection handler shares with the rest of its node.
struct NodeRuntime: Sendable {
    var nodeIndex: Int
    var database: EmbeddedDatabase
    var events: EventBroadcaster
    var credentials: CQLServerCredentials?
    var logger: Logger
}

/// Decodes frames, feeds the connection state machine, runs requests and writes responses.
///
/// Responses of one read batch are collected in one buffer and flushed once in `channelReadComplete`.
/// Writes waiting for a batch-synced commit log are answered when their group is durable.
final class CQLServerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let runtime: NodeRuntime
    private var machine: ServerConnectionStateMachine
    private var session = CQLSessionState()
    private var cumulation: ByteBuffer?
    private var output: ByteBuffer?
    private var inReadCycle = false
    private var flushScheduled = false
    private let decoder = CQLFrameDecoder(acceptedVersions: ServerConnectionStateMachine.supportedVersions)
    private var logger: Logger

    init(runtime: NodeRuntime) {
        self.runtime = runtime
        self.machine = ServerConnectionStateMachine(credentials: runtime.credentials)
        self.logger = runtime.logger
    }

    func channelActive(context: ChannelHandlerContext) {
        logger[metadataKey: "remote"] = "\(context.remoteAddress.map { "\($0)" } ?? "?")"
        logger.debug("connection opened", metadata: ["node": "\(runtime.nodeIndex)"])
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        machine.closed()
        runtime.events.unregister(context.channel)
        logger.debug("connection closed", metadata: ["node": "\(runtime.nodeIndex)"])
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        inReadCycle = true
        if cumulation == nil {
            cumulation = bytes
        } else {
            cumulation!.writeBuffer(&bytes)
        }
        processFrames(context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        inReadCycle = false
        flush(context: context)
        if let cumulation, cumulation.readableBytes == 0 {
            self.cumulation = nil
        } else if var cumulation, cumulation.readerIndex > 64 * 1024 {
            cumulation.discardReadBytes()
            self.cumulation = cumulation
        }
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: Frames

    private func processFrames(context: ChannelHandlerContext) {
        while machine.state != .closed, var buffer = cumulation, buffer.readableBytes > 0 {
            if let (version, stream) = CQLFrameDecoder.peekVersionAndStream(buffer),
                !ServerConnectionStateMachine.supportedVersions.contains(version)
            {
                cumulation = nil
                perform(machine.unsupportedVersionReceived(version), stream: stream, version: ServerConnectionStateMachine.rejectionReplyVersion, context: context)
                return
            }
            let frame: CQLFrame
            do {
                guard let decoded = try decoder.decodeFrame(from: &buffer) else {
                    cumulation = buffer
                    return
                }
                frame = decoded
                cumulation = buffer
            } catch {
                let stream = CQLFrameDecoder.peekVersionAndStream(buffer)?.stream ?? 0
                cumulation = nil
                perform(machine.malformedFrameReceived("Invalid frame: \(error)"), stream: stream, version: ServerConnectionStateMachine.rejectionReplyVersion, context: context)
                return
            }
            let header = frame.header
            let request: CQLRequest
            do {
                guard !header.isResponse else { throw CQLProtocolError(.unknownOpcode, "response frame sent to the server") }
                guard !header.flags.contains(.compression) else {
                    throw CQLProtocolError(.compression, "compressed frame but no compression was negotiated")
                }
                request = try CQLRequest.decode(opcode: header.opcode, flags: header.flags, body: frame.body)
            } catch {
                cumulation = nil
                perform(machine.malformedFrameReceived("Invalid or unsupported message: \(error)"), stream: header.stream, version: header.version, context: context)
                return
            }
            perform(machine.requestReceived(request, version: header.version), stream: header.stream, version: header.version, context: context)
        }
    }

    private func perform(_ action: ServerConnectionStateMachine.Action, stream: Int16, version: UInt8, context: ChannelHandlerContext) {
        switch action {
        case .reply(let response):
            write(response, stream: stream, version: version, context: context)
        case .replyAndClose(let response):
            write(response, stream: stream, version: version, context: context)
            flush(context: context)
            context.close(promise: nil)
        case .register(let events):
            runtime.events.register(context.channel, events: events, version: version, nodeIndex: runtime.nodeIndex)
            write(.ready, stream: stream, version: version, context: context)
        case .execute(let request):
            execute(request, stream: stream, version: version, context: context)
        case .ignore:
            break
        }
    }

    // MARK: Requests

    private func execute(_ request: CQLRequest, stream: Int16, version: UInt8, context: ChannelHandlerContext) {
        let executionContext = ExecutionContext(nodeIndex: runtime.nodeIndex, nowMicros: QueryEngine.nowMicros())
        var session = self.session
        let executed: EmbeddedDatabase.Executed
        do {
            switch request {
            case .query(let text, let parameters):
                executed = try runtime.database.run { engine throws(CQLServerError) in
                    try engine.query(text, parameters: parameters, session: &session, context: executionContext)
                }
            case .execute(let id, let parameters):
                executed = try runtime.database.run { engine throws(CQLServerError) in
                    try engine.execute(id: id, parameters: parameters, session: &session, context: executionContext)
                }
            case .batch(let batch):
                executed = try runtime.database.run { engine throws(CQLServerError) in
                    try engine.batch(batch, session: session, context: executionContext)
                }
            case .prepare(let text):
                let prepared = try runtime.database.prepare(text, session: session)
                write(.result(.prepared(prepared)), stream: stream, version: version, context: context)
                return
            case .startup, .authResponse, .options, .register:
                return
            }
        } catch {
            write(.error(error), stream: stream, version: version, context: context)
            return
        }
        self.session = session
        if let change = executed.outcome.schemaChange {
            runtime.events.publish(.schemaChange(change))
        }
        let response = CQLResponse.result(executed.outcome.result)
        if let position = executed.commitLogPosition, let commitLog = runtime.database.commitLog, commitLog.acknowledgesAfterSync {
            let durable = commitLog.whenDurable(position, on: context.eventLoop)
            durable.assumeIsolated().whenComplete { result in
                switch result {
                case .success:
                    self.write(response, stream: stream, version: version, context: context)
                case .failure(let error):
                    self.write(.error(CQLServerError(.serverError, "commit log write failed: \(error)")), stream: stream, version: version, context: context)
                }
                self.scheduleFlush(context: context)
            }
            return
        }
        write(response, stream: stream, version: version, context: context)
    }

    // MARK: Output

    private func write(_ response: CQLResponse, stream: Int16, version: UInt8, context: ChannelHandlerContext) {
        if output == nil { output = context.channel.allocator.buffer(capacity: 4096) }
        CQLFrameEncoder.write(response, stream: stream, version: version, into: &output!)
    }

    private func flush(context: ChannelHandlerContext) {
        guard let pending = output, pending.readableBytes > 0 else { return }
        output = nil
        context.writeAndFlush(wrapOutboundOut(pending), promise: nil)
    }

    /// Flushes soon, once, for responses completed outside a read cycle.
    private func scheduleFlush(context: ChannelHandlerContext) {
        guard !inReadCycle, !flushScheduled else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute {
            self.flushScheduled = false
            self.flush(context: context)
        }
    }
}
