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

    /// Process CPU time split into user and system seconds.
    static func processCPU() -> (user: Double, system: Double) {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return (Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1_000_000,
                Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1_000_000)
    }

    /// Read-type and write-type syscalls of this process so far (Linux `/proc/self/io`), when available.
    static func processIO() -> (readCalls: Int, writeCalls: Int)? {
        guard let text = try? String(contentsOfFile: "/proc/self/io", encoding: .utf8) else { return nil }
        var fields: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":")
            if parts.count == 2 { fields[String(parts[0])] = Int(parts[1].trimmingCharacters(in: .whitespaces)) }
        }
        guard let reads = fields["syscr"], let writes = fields["syscw"] else { return nil }
        return (reads, writes)
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
        static let configuration = CommandConfiguration(
            abstract: "Encode the chat INSERT EXECUTE frame (general path and fast path) and decode a Void RESULT, in a loop.")

        @Option(help: "Iterations of each loop in each round.")
        var iterations = 1_000_000

        @Option(help: "Rounds: every loop runs once per round, interleaved, and the best round is reported.")
        var rounds = 3

        func run() throws {
            let generator = CQLTimeUUIDGenerator()
            let prepared = CQLPrepared(id: Array(repeating: 7, count: 16), bindColumns: BenchCommand.chatColumns, partitionKeyIndexes: [0], resultColumns: [])
            let values = BenchCommand.chatValues(42, generator: generator)
            var output = ByteBuffer()
            output.reserveCapacity(64 * 1024)
            let types = prepared.bindColumns.map(\.type)
            var scratch = ByteBuffer()
            scratch.reserveCapacity(1024)
            let preEncoded = try CQLBoundValues.typed(values, types: types)
            let encoder = CQLExecuteEncoder(id: prepared.id, types: types)
            let noValues = CQLExecuteEncoder(id: prepared.id, types: [])
            // The same message as plain Swift values, for the typed writer.
            guard case .uuid(let conversation) = values[0], case .uuid(let messageID) = values[1], case .uuid(let sender) = values[2],
                case .text(let senderName) = values[3], case .text(let content) = values[4], case .list(let attachmentValues) = values[5]
            else { throw ValidationError("unexpected chat values") }
            let attachments = attachmentValues.compactMap { value -> String? in if case .text(let text) = value { text } else { nil } }
            let allocator = ByteBufferAllocator()

            var loops: [(name: String, body: (Int) throws -> Void)] = []
            // General path (the reference): values into a scratch buffer, then CQLQueryParameters and CQLRequest,
            // which CQLFrameEncoder copies into the output buffer.
            loops.append(("general.total", { index in
                scratch.clear()
                for (column, value) in values.enumerated() { try value.write(as: types[column], into: &scratch) }
                let parameters = CQLQueryParameters(consistency: .one, values: .encoded(count: values.count, bytes: scratch), defaultTimestamp: Int64(index))
                if output.writerIndex > 60 * 1024 { output.clear() }
                CQLFrameEncoder.write(.execute(id: prepared.id, parameters), stream: Int16(truncatingIfNeeded: index & 0x7FFF), into: &output)
            }))
            loops.append(("general.values", { _ in
                scratch.clear()
                for (column, value) in values.enumerated() { try value.write(as: types[column], into: &scratch) }
            }))
            loops.append(("general.frame", { index in
                let parameters = CQLQueryParameters(consistency: .one, values: preEncoded, defaultTimestamp: Int64(index))
                if output.writerIndex > 60 * 1024 { output.clear() }
                CQLFrameEncoder.write(.execute(id: prepared.id, parameters), stream: Int16(truncatingIfNeeded: index & 0x7FFF), into: &output)
            }))
            // Fast path: CQLExecuteEncoder writes header, parameters and values in place into the output buffer.
            loops.append(("fast.total", { index in
                if output.writerIndex > 60 * 1024 { output.clear() }
                try encoder.writeFrame(
                    values, stream: Int16(truncatingIfNeeded: index & 0x7FFF), parameters: CQLQueryParameters(consistency: .one, defaultTimestamp: Int64(index)),
                    into: &output)
            }))
            loops.append(("fast.frame", { index in
                if output.writerIndex > 60 * 1024 { output.clear() }
                try noValues.writeFrame(
                    [], stream: Int16(truncatingIfNeeded: index & 0x7FFF), parameters: CQLQueryParameters(consistency: .one, defaultTimestamp: Int64(index)),
                    into: &output)
            }))
            loops.append(("fast.typed", { index in
                if output.writerIndex > 60 * 1024 { output.clear() }
                try encoder.writeFrame(
                    stream: Int16(truncatingIfNeeded: index & 0x7FFF), parameters: CQLQueryParameters(consistency: .one, defaultTimestamp: Int64(index)),
                    into: &output
                ) { writer in
                    try writer.write(conversation)
                    try writer.write(messageID)
                    try writer.write(sender)
                    try writer.write(senderName)
                    try writer.write(content)
                    try writer.write(texts: attachments)
                }
            }))
            // What CQLSession.execute does per write: a fresh buffer of the estimated size, the frame written into it.
            loops.append(("fast.session", { index in
                var frame = allocator.buffer(capacity: encoder.estimatedFrameSize(values))
                try encoder.writeFrame(
                    values, stream: 0, parameters: CQLQueryParameters(consistency: .one, defaultTimestamp: Int64(index)), into: &frame)
            }))
            // Decoding a Void RESULT frame.
            var voidFrame = ByteBuffer()
            CQLFrameEncoder.write(CQLResponse.result(.void), stream: 5, into: &voidFrame)
            let decoder = CQLFrameDecoder()
            loops.append(("decode.void", { _ in
                var input = voidFrame
                guard let frame = try decoder.decodeFrame(from: &input) else { throw CQLProtocolError(.truncated, "frame") }
                let response = try CQLResponse.decode(opcode: frame.header.opcode, flags: frame.header.flags, body: frame.body)
                guard case .result(.void) = response else { throw CQLProtocolError(.malformed, "not void") }
            }))

            // Both paths must put the same bytes on the wire before their speed means anything.
            var general = ByteBuffer()
            CQLFrameEncoder.write(.execute(id: prepared.id, CQLQueryParameters(consistency: .one, values: preEncoded, defaultTimestamp: 7)), stream: 3, into: &general)
            var fast = ByteBuffer()
            try encoder.writeFrame(values, stream: 3, parameters: CQLQueryParameters(consistency: .one, defaultTimestamp: 7), into: &fast)
            guard general == fast else { throw ValidationError("the fast path's frame differs from the general path's") }

            var best = [String: Double]()
            for _ in 0..<max(1, rounds) {
                for loop in loops {
                    let measured = try measure(iterations, loop.body).nanosecondsPerOperation
                    best[loop.name] = min(best[loop.name] ?? .infinity, measured)
                }
            }
            func line(_ label: String, _ name: String) -> String {
                String(format: "  %@ %7.1f ns/op", label.padding(toLength: 58, withPad: " ", startingAt: 0), best[name]!)
            }
            print("codec benchmark, \(iterations) iterations per loop, best of \(max(1, rounds)) interleaved rounds (process CPU time)")
            print("  EXECUTE frame size: \(general.readableBytes) bytes (6 bound values); both paths write identical bytes")
            print(line("general path: encode chat INSERT EXECUTE frame", "general.total"))
            print(line("  of which serializing the 6 values", "general.values"))
            print(line("  of which the frame around them", "general.frame"))
            print(line("fast path (CQLExecuteEncoder, [CQLValue]): whole frame", "fast.total"))
            print(line("  of which the frame without values", "fast.frame"))
            print(String(format: "  %@ %7.1f ns/op", "  so the 6 values".padding(toLength: 58, withPad: " ", startingAt: 0),
                         best["fast.total"]! - best["fast.frame"]!))
            print(line("fast path, typed values (CQLValueWriter, no CQLValue)", "fast.typed"))
            print(line("fast path into a fresh buffer (what CQLSession.execute does)", "fast.session"))
            print(String(format: "  speed-up of the whole frame: %.1fx (general / fast)", best["general.total"]! / best["fast.total"]!))
            print(line("decode Void RESULT frame", "decode.void"))
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

        @Option(help: "Encoding path: fast (CQLSession.execute with [CQLValue]), typed (CQLValueWriter) or general (bind + CQLRequest).")
        var path: EncodingPath = .fast

        enum EncodingPath: String, ExpressibleByArgument, CaseIterable {
            case fast, typed, general
        }

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
            let statisticsStart = session.writeStatistics()
            let ioStart = BenchCommand.processIO()
            let usageStart = BenchCommand.processCPU()
            let cpuStart = BenchCommand.processCPUSeconds()
            let clock = ContinuousClock()
            let path = self.path
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
                                switch path {
                                case .fast:
                                    try await session.execute(insert, values: BenchCommand.chatValues(index, generator: generator))
                                case .typed:
                                    let conversation = UUID(cqlBytes: (0..<16).map { UInt8(truncatingIfNeeded: index % 1000 &+ $0) })
                                    try await session.execute(insert) { row in
                                        try row.write(conversation)
                                        try row.write(generator.next())
                                        try row.write(conversation)
                                        try row.write("user\(index % 5000)")
                                        try row.write("Hello from the benchmark, message number \(index). See you soon!")
                                        if index % 5 == 0 { try row.write(texts: ["https://cdn.example.com/a/\(index).png"]) } else { try row.write(texts: []) }
                                    }
                                case .general:
                                    let (bound, key) = try insert.bind(BenchCommand.chatValues(index, generator: generator))
                                    try await session.execute(insert, bound: bound, routingKey: key)
                                }
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
            let usage = BenchCommand.processCPU()
            let io = BenchCommand.processIO()
            let statistics = session.writeStatistics()
            let histogram = histograms.withLockedValue { $0 }
            await session.close()
            print("pipelined writes: \(count) chat INSERTs, \(concurrency) in flight, \(connections) connection(s), \(path.rawValue) encoding, to \(contactPoint)")
            print(String(format: "  %.0f writes/s over %.2f s wall; client CPU %.2f s -> %.0f writes per client CPU-second",
                         Double(count) / wallSeconds, wallSeconds, cpu, Double(count) / max(cpu, 1e-9)))
            print("  latency p50 \(histogram.valueAtPercentile(50)) µs, p99 \(histogram.valueAtPercentile(99)) µs, max \(histogram.maxMicros) µs; failures \(failures.withLockedValue { $0 })")
            let perWrite = { (value: Double) in value * 1e6 / Double(count) }
            print(String(format: "  client CPU per write: %.2f µs user + %.2f µs system (kernel: syscalls and the loopback TCP path)",
                         perWrite(usage.user - usageStart.user), perWrite(usage.system - usageStart.system)))
            let requests = statistics.requests - statisticsStart.requests
            let flushes = statistics.flushes - statisticsStart.flushes
            print(String(format: "  write coalescing: %d request frames in %d flushes -> %.1f requests per socket write (%.0f bytes per flush)",
                         requests, flushes, Double(requests) / Double(max(flushes, 1)), Double(statistics.bytes - statisticsStart.bytes) / Double(max(flushes, 1))))
            if let io, let ioStart {
                let writeCalls = io.writeCalls - ioStart.writeCalls
                let readCalls = io.readCalls - ioStart.readCalls
                print(String(format: "  process syscalls (/proc/self/io): %d write-type (%.1f writes per call), %d read-type (%.1f responses per call)",
                             writeCalls, Double(count) / Double(max(writeCalls, 1)), readCalls, Double(count) / Double(max(readCalls, 1))))
                print("    write-type calls include eventfd wake-ups of the event loops, not only socket writes")
            }
        }
    }
}
