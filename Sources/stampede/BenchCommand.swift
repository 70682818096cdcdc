import ArgumentParser
import CQLClient
import CQLProtocol
import Foundation
import LoadEngine
import NIOConcurrencyHelpers
import NIOCore

/// `stampede bench`: micro- and end-to-end benchmarks of the driver. Figures go to BENCHMARKS.md.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the driver: frame codec cost and pipelined writes against a CQL endpoint.",
        subcommands: [Codec.self, Writes.self]
    )

    /// Process CPU time (user + system) in seconds.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1_000_000
    }

    /// A chat message's bind values for index `index` (fixed shapes, varying content).
    static func chatValues(_ index: Int, generator: CQLTimeUUIDGenerator) -> [CQLValue] {
        let conversation = UUID(cqlBytes: (0..<16).map { UInt8(truncatingIfNeeded: index % 1000 &+ $0) })
        return [
            .uuid(conversation), .uuid(generator.next()), .uuid(conversation), .text("user\(index % 5000)"),
            .text("Hello from the benchmark, message number \(index). See you soon!"),
            index % 5 == 0 ? .list([.text("https://cdn.example.com/a/\(index).png")]) : .list([]),
        ]
    }

    static let chatColumns: [CQLColumnSpec] = [
        ("conversation_id", CQLDataType.uuid), ("message_id", .timeuuid), ("sender_id", .uuid), ("sender_name", .varchar),
        ("content", .varchar), ("attachments", .list(.varchar)),
    ].map { CQLColumnSpec(keyspace: "realtime_chat_app", table: "messages_by_conversation", name: $0.0, type: $0.1) }

    struct Codec: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Encode the chat INSERT EXECUTE frame and decode a Void RESULT, in a loop.")

        @Option(help: "Iterations of each loop.")
        var iterations = 1_000_000

        func run() throws {
            let generator = CQLTimeUUIDGenerator()
            let prepared = CQLPrepared(id: Array(repeating: 7, count: 16), bindColumns: BenchCommand.chatColumns, partitionKeyIndexes: [0], resultColumns: [])
            let values = BenchCommand.chatValues(42, generator: generator)
            var output = ByteBuffer()
            output.reserveCapacity(64 * 1024)

            // 1. Value serialization + frame encoding, reusing one output buffer (what the connection does).
            let types = prepared.bindColumns.map(\.type)
            var scratch = ByteBuffer()
            scratch.reserveCapacity(1024)
            let encode = try measure(iterations) { index in
                scratch.clear()
                for (column, value) in values.enumerated() { try value.write(as: types[column], into: &scratch) }
                let parameters = CQLQueryParameters(consistency: .one, values: .encoded(count: values.count, bytes: scratch), defaultTimestamp: Int64(index))
                if output.writerIndex > 60 * 1024 { output.clear() }
                CQLFrameEncoder.write(.execute(id: prepared.id, parameters), stream: Int16(truncatingIfNeeded: index & 0x7FFF), into: &output)
            }
            // 1a. Where that goes: the six values alone, then the frame around already-serialized values.
            let valuesOnly = try measure(iterations) { _ in
                scratch.clear()
                for (column, value) in values.enumerated() { try value.write(as: types[column], into: &scratch) }
            }
            let preEncoded = CQLBoundValues.encoded(count: values.count, bytes: scratch)
            let frameOnly = try measure(iterations) { index in
                let parameters = CQLQueryParameters(consistency: .one, values: preEncoded, defaultTimestamp: Int64(index))
                if output.writerIndex > 60 * 1024 { output.clear() }
                CQLFrameEncoder.write(.execute(id: prepared.id, parameters), stream: Int16(truncatingIfNeeded: index & 0x7FFF), into: &output)
            }
            // 2. Decoding a Void RESULT frame.
            var voidFrame = ByteBuffer()
            CQLFrameEncoder.write(CQLResponse.result(.void), stream: 5, into: &voidFrame)
            let decoder = CQLFrameDecoder()
            let decode = try measure(iterations) { _ in
                var input = voidFrame
                guard let frame = try decoder.decodeFrame(from: &input) else { throw CQLProtocolError(.truncated, "frame") }
                let response = try CQLResponse.decode(opcode: frame.header.opcode, flags: frame.header.flags, body: frame.body)
                guard case .result(.void) = response else { throw CQLProtocolError(.malformed, "not void") }
            }
            print("codec benchmark, \(iterations) iterations each")
            print(String(format: "  encode chat INSERT EXECUTE frame (6 values): %7.1f ns/op  (%.0f per CPU-second)", encode.nanosecondsPerOperation, 1e9 / encode.nanosecondsPerOperation))
            print(String(format: "    of which serializing the 6 values:          %7.1f ns/op", valuesOnly.nanosecondsPerOperation))
            print(String(format: "    of which the frame around them:             %7.1f ns/op", frameOnly.nanosecondsPerOperation))
            print(String(format: "  decode Void RESULT frame:                    %7.1f ns/op  (%.0f per CPU-second)", decode.nanosecondsPerOperation, 1e9 / decode.nanosecondsPerOperation))
            print("  EXECUTE frame size: \(frameSize(prepared: prepared, values: values)) bytes")
        }

        func frameSize(prepared: CQLPrepared, values: [CQLValue]) -> Int {
            var buffer = ByteBuffer()
            let bound = try? CQLBoundValues.typed(values, types: prepared.bindColumns.map(\.type))
            CQLFrameEncoder.write(.execute(id: prepared.id, CQLQueryParameters(values: bound ?? .none, defaultTimestamp: 0)), stream: 0, into: &buffer)
            return buffer.readableBytes
        }

        struct Measurement {
            var nanosecondsPerOperation: Double
        }

        func measure(_ iterations: Int, _ body: (Int) throws -> Void) throws -> Measurement {
            for index in 0..<min(iterations, 10_000) { try body(index) }  // warm-up
            let start = BenchCommand.processCPUSeconds()
            for index in 0..<iterations { try body(index) }
            let seconds = BenchCommand.processCPUSeconds() - start
            return Measurement(nanosecondsPerOperation: seconds * 1e9 / Double(iterations))
        }
    }

    struct Writes: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pipelined prepared chat INSERTs through CQLSession against an endpoint.")

        @Option(name: .customLong("contact-point"), help: "host:port of the CQL endpoint.")
        var contactPoint = "127.0.0.1:9042"

        @Option(help: "Writes to send.")
        var count = 200_000

        @Option(help: "Writes in flight at once.")
        var concurrency = 256

        @Option(help: "Connections per host.")
        var connections = 2

        @Flag(help: "Write through the load engine (chat-write, closed model) in rounds with metrics recording on and off.")
        var engine = false

        @Option(help: "With --engine: virtual users.")
        var users = 256

        @Option(help: "With --engine: pairs of rounds (metrics on, metrics off).")
        var rounds = 3

        @Option(name: .customLong("event-loops"), help: "With --engine: I/O threads, which also run the engine's tasks (default: usable cores).")
        var eventLoops: Int?

        @Flag(name: .customLong("tasks-on-thread-pool"), help: "With --engine: run the engine's tasks on Swift's thread pool (for comparison).")
        var tasksOnThreadPool = false

        func run() async throws {
            if engine {
                try await EngineWriteBenchmark(
                    contactPoint: contactPoint, count: count, users: users, connections: connections, rounds: rounds,
                    eventLoops: eventLoops ?? ProcessProbe.cores, tasksOnThreadPool: tasksOnThreadPool
                ).run()
                return
            }
            var configuration = CQLSessionConfiguration(contactPoints: [contactPoint])
            configuration.connectionsPerHost = connections
            configuration.retryPolicy = CQLRetryPolicy(maxRetries: 0)
            let session = try await CQLSession.connect(configuration)
            for statement in ChatSchema.statements() { try await session.run(statement) }
            let insert = try await session.prepare(ChatSchema.insertMessage)
            let generator = CQLTimeUUIDGenerator()
            let next = NIOLockedValueBox(0)
            let histograms = NIOLockedValueBox(LatencyHistogram())
            let failures = NIOLockedValueBox(0)
            let cpuStart = BenchCommand.processCPUSeconds()
            let clock = ContinuousClock()
            let started = clock.now
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<concurrency {
                    group.addTask {
                        var local = LatencyHistogram()
                        var localFailures = 0
                        while true {
                            let index = next.withLockedValue { value -> Int? in
                                guard value < count else { return nil }
                                defer { value += 1 }
                                return value
                            }
                            guard let index else { break }
                            let begin = clock.now
                            do {
                                try await session.execute(insert, values: BenchCommand.chatValues(index, generator: generator))
                            } catch {
                                localFailures += 1
                            }
                            let elapsed = clock.now - begin
                            local.record(micros: UInt64(max(1, elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000)))
                        }
                        histograms.withLockedValue { $0.merge(local) }
                        failures.withLockedValue { $0 += localFailures }
                    }
                }
            }
            let wall = clock.now - started
            let wallSeconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
            let cpu = BenchCommand.processCPUSeconds() - cpuStart
            let histogram = histograms.withLockedValue { $0 }
            await session.close()
            print("pipelined writes: \(count) chat INSERTs, \(concurrency) in flight, \(connections) connection(s), to \(contactPoint)")
            print(String(format: "  %.0f writes/s over %.2f s wall; client CPU %.2f s -> %.0f writes per client CPU-second",
                         Double(count) / wallSeconds, wallSeconds, cpu, Double(count) / max(cpu, 1e-9)))
            print("  latency p50 \(histogram.valueAtPercentile(50)) µs, p99 \(histogram.valueAtPercentile(99)) µs, max \(histogram.maxMicros) µs; failures \(failures.withLockedValue { $0 })")
        }
    }
}
