import CQLProtocol
import Foundation
import NIOCore
import NIOPosix
import Synchronization
@testable import LoadEngine

/// A target without a server: records what was written, can add latency, pause, or fail.
final class FakeExecutor: StatementExecutor {
    typealias Prepared = Int

    struct Failure: Error {}

    /// Monotonic nanoseconds window during which requests stall until the window ends.
    let pause: Mutex<Range<UInt64>?> = Mutex(nil)
    let latency: Duration?
    /// Fail the first attempt of indexes whose message id hashes to true.
    let failFirstAttempt: (@Sendable (UUID) -> Bool)?
    let state = Mutex<(writes: [UUID: Int], attempts: [UUID: Int], executions: Int)>(([:], [:], 0))

    /// Task executors on the loops of a group, to run the engine's tasks on them as ``CQLSessionExecutor`` does.
    let loopExecutors: [EventLoopTaskExecutor]

    /// Whether ``start(_:values:consistency:isIdempotent:completion:)`` starts statements on the calling event loop.
    let startsWithoutSuspending: Bool
    /// Operations started by ``start(_:values:consistency:isIdempotent:completion:)``.
    let directStarts = Mutex(0)
    /// Runs of the loop (tasks, timers) that started at least one operation with
    /// ``start(_:values:consistency:isIdempotent:completion:)``: one for each lane tick that sent anything.
    let directStartBatches = Mutex((count: 0, open: false))

    init(
        latency: Duration? = nil, failFirstAttempt: (@Sendable (UUID) -> Bool)? = nil, eventLoopGroup: (any EventLoopGroup)? = nil,
        startsWithoutSuspending: Bool = false
    ) {
        self.latency = latency
        self.failFirstAttempt = failFirstAttempt
        loopExecutors = eventLoopGroup.map(EventLoopTaskExecutor.executors(for:)) ?? []
        self.startsWithoutSuspending = startsWithoutSuspending
    }

    /// The same request as ``execute(_:values:consistency:isIdempotent:)``, answered by a task on the calling loop.
    func start(
        _ statement: Int, values: [CQLValue], consistency: CQLConsistency, isIdempotent: Bool,
        completion: @escaping @Sendable ((any Error)?) -> Void
    ) -> Bool {
        guard startsWithoutSuspending, let loop = MultiThreadedEventLoopGroup.currentEventLoop else { return false }
        directStarts.withLock { $0 += 1 }
        let opensBatch = directStartBatches.withLock { batches -> Bool in
            guard !batches.open else { return false }
            batches.open = true
            batches.count += 1
            return true
        }
        if opensBatch {
            // Runs once the loop has finished what it is running now: every start until then is in this batch.
            loop.execute { self.directStartBatches.withLock { $0.open = false } }
        }
        let now = requestStarted()
        var delay = latency.map { UInt64($0.seconds * 1e9) } ?? 0
        if let window = pause.withLock({ $0 }), window.contains(now) { delay = max(delay, window.upperBound - now) }
        loop.scheduleTask(in: .nanoseconds(Int64(delay))) {
            self.concurrency.withLock { $0.current -= 1 }
            do {
                try self.answer(values)
                completion(nil)
            } catch {
                completion(error)
            }
        }
        return true
    }

    /// Counts a request in flight (and samples the concurrency); returns when it started.
    private func requestStarted() -> UInt64 {
        let now = MonotonicClock.nanoseconds()
        concurrency.withLock { state in
            state.current += 1
            state.samples.append((now, state.current))
        }
        return now
    }

    /// Counts the attempt and the write of a message (values of the chat INSERT); fails first attempts on request.
    private func answer(_ values: [CQLValue]) throws {
        var id: UUID?
        if values.count == 6, case .uuid(let messageID) = values[1] { id = messageID }
        let attempt = state.withLock { state -> Int in
            state.executions += 1
            guard let id else { return 1 }
            state.attempts[id, default: 0] += 1
            return state.attempts[id] ?? 1
        }
        if let id, attempt == 1, let failFirstAttempt, failFirstAttempt(id) { throw Failure() }
        if let id { state.withLock { $0.writes[id, default: 0] += 1 } }
    }

    func taskExecutor(forTask task: Int) -> (any TaskExecutor)? {
        loopExecutors.isEmpty ? nil : loopExecutors[task % loopExecutors.count]
    }

    func prepare(_ cql: String) async throws -> Int { cql.count }
    func bindTypes(of statement: Int) -> [CQLDataType] { [] }

    /// Requests executing right now, and (time, count) at every request start.
    let concurrency = Mutex<(current: Int, samples: [(UInt64, Int)])>((0, []))

    func execute(_ statement: Int, values: [CQLValue], consistency: CQLConsistency, isIdempotent: Bool) async throws -> Int {
        let now = requestStarted()
        defer { concurrency.withLock { $0.current -= 1 } }
        if let window = pause.withLock({ $0 }), window.contains(now) {
            try await MonotonicClock.sleep(until: window.upperBound)
        }
        if let latency { try await Task.sleep(for: latency) }
        try answer(values)
        return 0
    }

    func executeUnloggedBatch(_ statement: Int, values: [[CQLValue]], consistency: CQLConsistency) async throws {
        for row in values { _ = try await execute(statement, values: row, consistency: consistency, isIdempotent: true) }
    }

    func run(_ cql: String) async throws {}
    func rows(_ cql: String) async throws -> [[CQLValue]] { [] }

    func classify(_ error: any Error) -> OperationFailure {
        if error is Failure { return OperationFailure(kind: .timeout, outcomeUnknown: true, isRetryable: true, message: "fake timeout") }
        return OperationFailure(kind: .other, outcomeUnknown: false, isRetryable: false, message: "\(error)")
    }

    var writes: [UUID: Int] { state.withLock { $0.writes } }
}
