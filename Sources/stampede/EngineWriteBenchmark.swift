import CQLClient
import Foundation
import LoadEngine
import NIOPosix

/// `stampede bench writes --engine`: the load engine writing chat-write messages (closed model, no think time)
/// against an endpoint, in rounds that alternate metrics recording on and off, so the cost of recording is measured
/// in one run under the same conditions.
struct EngineWriteBenchmark {
    var contactPoint: String
    var count: Int
    var users: Int
    var connections: Int
    var rounds: Int
    var eventLoops: Int
    var tasksOnThreadPool: Bool

    struct Round {
        var metrics: Bool
        var writes: UInt64
        var wallSeconds: Double
        var cpuSeconds: Double
        var p50: UInt64
        var p99: UInt64
        var cpuMicrosPerWrite: Double { cpuSeconds * 1e6 / Double(max(1, writes)) }
    }

    func run() async throws {
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: max(1, eventLoops))
        var configuration = CQLSessionConfiguration(contactPoints: [contactPoint])
        configuration.connectionsPerHost = connections
        configuration.retryPolicy = CQLRetryPolicy(maxRetries: 0)
        configuration.eventLoopGroup = loops
        let session = try await CQLSession.connect(configuration)
        var results: [Round] = []
        do {
            for statement in ChatSchema.statements() { try await session.run(statement) }
            let executor = CQLSessionExecutor(session: session, eventLoopGroup: tasksOnThreadPool ? nil : loops)
            print("engine writes: \(count) chat-write INSERTs per round, \(users) users, \(connections) connection(s), "
                + "\(eventLoops) event loop(s), tasks on \(tasksOnThreadPool ? "the thread pool" : "the event loops"), to \(contactPoint)")
            // Warm-up (connections, allocator, branch predictors), not counted.
            _ = try await round(metrics: true, total: min(count, 50_000), executor: executor, tag: "warmup")
            for index in 0..<rounds {
                // Alternate which goes first so drift in the machine's load does not favour one side.
                let order = index % 2 == 0 ? [true, false] : [false, true]
                for metrics in order {
                    let result = try await round(metrics: metrics, total: count, executor: executor, tag: "\(index)")
                    results.append(result)
                    print(String(
                        format: "  round %d metrics %@: %8.0f writes/s, %.2f s wall, %.3f CPU-s -> %7.0f writes per CPU-second (%.2f µs/write)%@",
                        index + 1, metrics ? "on " : "off", Double(result.writes) / result.wallSeconds, result.wallSeconds,
                        result.cpuSeconds, Double(result.writes) / result.cpuSeconds, result.cpuMicrosPerWrite,
                        metrics ? ", p50 \(result.p50) µs p99 \(result.p99) µs" : ""))
                }
            }
        } catch {
            await session.close()
            try? await loops.shutdownGracefully()
            throw error
        }
        await session.close()
        try? await loops.shutdownGracefully()
        func median(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
        }
        let on = median(results.filter(\.metrics).map(\.cpuMicrosPerWrite))
        let off = median(results.filter { !$0.metrics }.map(\.cpuMicrosPerWrite))
        print(String(format: "  median with metrics: %.2f µs/write (%.0f writes per CPU-second); without: %.2f µs/write (%.0f per CPU-second)",
                     on, 1e6 / on, off, 1e6 / off))
        print(String(format: "  metrics recording costs %.2f µs/write = %.1f%% of the per-write cost", on - off, (on - off) / on * 100))
    }

    func round(metrics: Bool, total: Int, executor: CQLSessionExecutor, tag: String) async throws -> Round {
        var engine = EngineConfiguration(model: .closed(ClosedModel(users: users)))
        engine.recordsOperationMetrics = metrics
        let run = RunIdentity(id: "bench-\(tag)-\(metrics ? "on" : "off")", epochMillis: 1_700_000_000_000)
        let runner = LoadRunner(
            configuration: engine, workload: ChatWorkload(mix: .write, run: run), executor: executor,
            source: FixedRangeWorkSource(total: UInt64(total), chunkSize: 10_000))
        try await runner.prepare()
        let cpu = ProcessProbe.cpuSeconds()
        let start = MonotonicClock.nanoseconds()
        let outcome = try await runner.run()
        let wall = Double(MonotonicClock.nanoseconds() - start) / 1e9
        let cpuUsed = ProcessProbe.cpuSeconds() - cpu
        let combined = outcome.totals.combined
        if combined.failures > 0 { throw EngineBenchmarkError(message: "\(combined.failures) writes failed: \(outcome.totals)") }
        return Round(
            metrics: metrics, writes: UInt64(total), wallSeconds: wall, cpuSeconds: cpuUsed,
            p50: combined.latency.valueAtPercentile(50), p99: combined.latency.valueAtPercentile(99))
    }
}

struct EngineBenchmarkError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
