import GRPCCore
import Logging

/// The coordinator's gRPC service: one `Connect` stream per worker. Registration first, then every message goes to
/// the coordinator's state actor; what it sends back flows through the worker's outbox.
struct FleetService: Stampede_Fleet_V1_Fleet.SimpleServiceProtocol {
    let state: CoordinatorState
    let logger: Logger

    func connect(
        request: RPCAsyncSequence<WorkerMessage, any Error>,
        response: RPCWriter<CoordinatorMessage>,
        context: ServerContext
    ) async throws {
        let state = self.state
        let logger = self.logger
        let peer = context.remotePeer
        let (outboxes, outboxReady) = AsyncStream<AsyncStream<CoordinatorMessage>>.makeStream()
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Reader: registration, then every message to the state actor.
            group.addTask {
                defer { outboxReady.finish() }
                var messages = request.makeAsyncIterator()
                guard let first = try await messages.next() else { return }
                guard case .register(let register) = first.kind else {
                    throw RPCError(code: .failedPrecondition, message: "the first message on a fleet stream must be Register")
                }
                let worker = register.workerID.isEmpty ? peer : register.workerID
                switch await state.register(register, peer: peer) {
                case .refused(let refusal):
                    try await response.write(.with(.refusal(refusal)))
                    return
                case .accepted(let session, let outbox):
                    outboxReady.yield(outbox)
                    outboxReady.finish()
                    do {
                        while let message = try await messages.next() {
                            try await state.handle(message, worker: worker, session: session)
                        }
                        await state.streamEnded(worker: worker, session: session)
                    } catch let error as FleetError {
                        await state.streamEnded(worker: worker, session: session)
                        logger.warning("closing a worker stream", metadata: ["worker": "\(worker)", "error": "\(error)"])
                        throw RPCError(code: .invalidArgument, message: error.description)
                    } catch {
                        await state.streamEnded(worker: worker, session: session)
                        throw error
                    }
                }
            }
            // Writer: the worker's outbox, until the coordinator finishes it (run over, replaced, lost).
            group.addTask {
                for await outbox in outboxes {
                    for await message in outbox {
                        try await response.write(message)
                    }
                }
            }
            defer { group.cancelAll() }
            _ = try await group.next()
        }
    }
}
