import CQLProtocol
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import CQLClient

/// A scripted server: answers the handshake properly, then does what `afterReady` says with each request.
final class ScriptedServerHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Behaviour: Sendable {
        /// Never answer requests after the handshake.
        case silent
        /// Answer with these raw bytes.
        case raw([UInt8])
        /// Answer a Void result on the request's stream after `delayMilliseconds`.
        case voidAfter(delayMilliseconds: Int64)
    }

    let behaviour: Behaviour
    /// Offer LZ4 and, once a client asks for it in STARTUP, compress every response after READY.
    let offersLZ4: Bool
    var compressing = false
    /// Requests that arrived compressed (for assertions).
    let compressedRequests = NIOLockedValueBox(0)
    /// Every request frame after the handshake, header as sent and body decompressed (for assertions).
    let receivedFrames = NIOLockedValueBox<[CQLFrame]>([])
    var buffer = ByteBuffer()
    let decoder = CQLFrameDecoder()

    init(behaviour: Behaviour, offersLZ4: Bool = false) {
        self.behaviour = behaviour
        self.offersLZ4 = offersLZ4
    }

    func write(_ response: CQLResponse, stream: Int16, into buffer: inout ByteBuffer) {
        guard compressing else {
            CQLFrameEncoder.write(response, stream: stream, into: &buffer)
            return
        }
        var body = ByteBuffer()
        response.writeBody(into: &body)
        var compressed = CQLLZ4.compress(body)
        CQLFrameHeader(version: 4, isResponse: true, flags: .compression, stream: stream, opcode: response.opcode,
                       bodyLength: Int32(compressed.readableBytes)).write(into: &buffer)
        buffer.writeBuffer(&compressed)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        while let frame = try? decoder.decodeFrame(from: &buffer) {
            var reply = ByteBuffer()
            var plainBody = frame.body
            if frame.header.flags.contains(.compression) {
                guard let body = try? CQLLZ4.decompress(frame.body) else { context.close(promise: nil); return }
                plainBody = body
                compressedRequests.withLockedValue { $0 += 1 }
            }
            if frame.header.opcode != .options, frame.header.opcode != .startup {
                receivedFrames.withLockedValue { $0.append(CQLFrame(header: frame.header, body: plainBody)) }
            }
            switch frame.header.opcode {
            case .options:
                let compression = offersLZ4 ? ["lz4"] : []
                CQLFrameEncoder.write(CQLResponse.supported(["CQL_VERSION": ["3.4.5"], "COMPRESSION": compression]), stream: frame.header.stream, into: &reply)
            case .startup:
                CQLFrameEncoder.write(CQLResponse.ready, stream: frame.header.stream, into: &reply)
                if case .startup(let options)? = try? CQLRequest.decode(opcode: .startup, body: frame.body), options["COMPRESSION"] == "lz4" {
                    compressing = true
                }
            default:
                switch behaviour {
                case .silent:
                    continue
                case .raw(let bytes):
                    reply.writeBytes(bytes)
                case .voidAfter(let delay):
                    let stream = frame.header.stream
                    let channel = context.channel
                    var late = ByteBuffer()
                    write(.result(.void), stream: stream, into: &late)
                    context.eventLoop.scheduleTask(in: .milliseconds(delay)) {
                        channel.writeAndFlush(late, promise: nil)
                    }
                    continue
                }
            }
            context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
        }
    }
}

@Suite(.timeLimit(.minutes(1))) struct CQLConnectionRobustnessTests {
    func withScriptedServer<T>(
        _ behaviour: ScriptedServerHandler.Behaviour, offersLZ4: Bool = false, onHandler: @escaping @Sendable (ScriptedServerHandler) -> Void = { _ in },
        _ body: (CQLHostAddress) async throws -> T
    ) async throws -> T {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = ScriptedServerHandler(behaviour: behaviour, offersLZ4: offersLZ4)
                    onHandler(handler)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { server.close(promise: nil) }
        return try await body(CQLHostAddress(host: "127.0.0.1", port: server.localAddress!.port!))
    }

    @Test func malformedFrameFailsTheRequestsAndClosesOnlyThatConnection() async throws {
        // A response header announcing an unknown opcode 0x7F.
        try await withScriptedServer(.raw([0x84, 0, 0, 0, 0x7F, 0, 0, 0, 0])) { address in
            let connection = try await CQLConnection.connect(to: address, configuration: CQLConnectionConfiguration())
            await #expect {
                _ = try await connection.send(.query("SELECT 1", CQLQueryParameters()))
            } throws: { error in
                guard let error = error as? CQLClientError, case .protocolViolation = error.kind else { return false }
                return error.message.contains("malformed frame")
            }
            try await connection.closeFuture.get()
            #expect(!connection.isActive)
        }
    }

    @Test func truncatedResultBodyIsAProtocolErrorNotACrash() async throws {
        // RESULT (0x08) of kind Rows with a body cut short after the kind.
        try await withScriptedServer(.raw([0x84, 0, 0, 0, 0x08, 0, 0, 0, 4, 0, 0, 0, 2])) { address in
            let connection = try await CQLConnection.connect(to: address, configuration: CQLConnectionConfiguration())
            await #expect(throws: CQLClientError.self) {
                _ = try await connection.send(.query("SELECT 1", CQLQueryParameters()))
            }
        }
    }

    /// Only the per-request timer can end this request (the server never answers and the connection stays open), so
    /// the `.timeout` kind proves it fired; the time limit catches a hang without timing the machine.
    @Test(.timeLimit(.minutes(1))) func silentServerTimesOutWithinTheRequestTimeout() async throws {
        try await withScriptedServer(.silent) { address in
            let connection = try await CQLConnection.connect(to: address, configuration: CQLConnectionConfiguration())
            await #expect {
                _ = try await connection.send(.query("SELECT 1", CQLQueryParameters()), timeout: .milliseconds(300))
            } throws: { error in
                guard let error = error as? CQLClientError, case .timeout = error.kind else { return false }
                return error.isOutcomeUnknown
            }
            #expect(connection.isActive, "the timeout ended the request, not a closed connection")
            #expect(connection.inFlightRequests == 0)
        }
    }

    @Test func manyPipelinedRequestsShareStreamIdsBeyondTheCap() async throws {
        // 40 requests over a connection capped at 8 in flight: the rest queue and all complete.
        try await withScriptedServer(.voidAfter(delayMilliseconds: 5)) { address in
            var configuration = CQLConnectionConfiguration()
            configuration.maxInFlightRequests = 8
            let connection = try await CQLConnection.connect(to: address, configuration: configuration)
            try await withThrowingTaskGroup(of: CQLResponse.self) { group in
                for _ in 0..<40 {
                    group.addTask { try await connection.send(.query("INSERT", CQLQueryParameters())) }
                }
                var completed = 0
                for try await response in group {
                    #expect(response == .result(.void))
                    completed += 1
                }
                #expect(completed == 40)
            }
        }
    }

    @Test func lz4CompressionIsNegotiatedAndUsedBothWays() async throws {
        let handlers = NIOLockedValueBox<[ScriptedServerHandler]>([])
        try await withScriptedServer(.voidAfter(delayMilliseconds: 1), offersLZ4: true, onHandler: { handler in handlers.withLockedValue { $0.append(handler) } }) { address in
            var configuration = CQLConnectionConfiguration()
            configuration.compression = true
            let connection = try await CQLConnection.connect(to: address, configuration: configuration)
            for _ in 0..<5 {
                #expect(try await connection.send(.query("INSERT INTO t (a) VALUES ('\(String(repeating: "x", count: 300))')", CQLQueryParameters())) == .result(.void))
            }
            #expect(handlers.withLockedValue { $0.first?.compressedRequests.withLockedValue { $0 } } == 5)
            await connection.close()
        }
    }

    @Test func compressionIsNotUsedWhenTheServerDoesNotOfferIt() async throws {
        let handlers = NIOLockedValueBox<[ScriptedServerHandler]>([])
        try await withScriptedServer(.voidAfter(delayMilliseconds: 1), onHandler: { handler in handlers.withLockedValue { $0.append(handler) } }) { address in
            var configuration = CQLConnectionConfiguration()
            configuration.compression = true
            let connection = try await CQLConnection.connect(to: address, configuration: configuration)
            #expect(try await connection.send(.query("INSERT", CQLQueryParameters())) == .result(.void))
            #expect(handlers.withLockedValue { $0.first?.compressedRequests.withLockedValue { $0 } } == 0)
            await connection.close()
        }
    }

    @Test func closingFailsEverythingInFlight() async throws {
        try await withScriptedServer(.silent) { address in
            let connection = try await CQLConnection.connect(to: address, configuration: CQLConnectionConfiguration())
            let pending: EventLoopFuture<CQLResponse> = connection.send(.query("SELECT 1", CQLQueryParameters()), timeout: .seconds(30))
            await connection.close()
            await #expect(throws: CQLClientError.self) { _ = try await pending.get() }
        }
    }
}
