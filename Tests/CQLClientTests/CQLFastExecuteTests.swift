import CQLProtocol
import CQLServer
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Testing

@testable import CQLClient

/// `CQLSession.execute` encodes EXECUTE frames in one pass (`CQLPreparedStatement.encodeExecute`) and the connection
/// sends them pre-encoded: the same bytes, routing keys and errors as the general path (`bind` + `CQLFrameEncoder`).
@Suite struct CQLFastExecuteTests {
    static let chatColumns: [CQLColumnSpec] = [
        ("conversation_id", CQLDataType.uuid), ("message_id", .timeuuid), ("sender_id", .uuid), ("sender_name", .varchar),
        ("content", .varchar), ("attachments", .list(.varchar)),
    ].map { CQLColumnSpec(keyspace: "chat", table: "messages", name: $0.0, type: $0.1) }

    static func statement(_ columns: [CQLColumnSpec], keys: [Int]) -> CQLPreparedStatement {
        CQLPreparedStatement(
            query: "INSERT ...", keyspace: "chat",
            prepared: CQLPrepared(id: [0xAB, 0xCD, 1, 2, 3], bindColumns: columns, partitionKeyIndexes: keys, resultColumns: []))
    }

    /// The general path's frame and routing key.
    static func general(_ statement: CQLPreparedStatement, _ values: [CQLValue], parameters: CQLQueryParameters) throws -> ([UInt8], [UInt8]?) {
        let (bound, key) = try statement.bind(values)
        var parameters = parameters
        parameters.values = bound
        var buffer = ByteBuffer()
        CQLFrameEncoder.write(.execute(id: statement.id, parameters), stream: 0, into: &buffer)
        return (Array(buffer.readableBytesView), key.map { Array($0.readableBytesView) })
    }

    static let conversation = UUID(uuidString: "123e4567-e89b-42d3-a456-426614174000")!
    static let timeUUID = UUID(uuidString: "f4b8e1a0-8b9a-11ee-b9d1-0242ac120002")!

    @Test func framesAndRoutingKeysMatchTheGeneralPath() throws {
        let rows: [[CQLValue]] = [
            [.uuid(Self.conversation), .uuid(Self.timeUUID), .uuid(Self.conversation), .text("An"), .text("chào 👋"), .list([])],
            [.uuid(Self.conversation), .uuid(Self.timeUUID), .null, .unset, .text(""), .list([.text("a"), .text("b")])],
            [.null, .uuid(Self.timeUUID), .uuid(Self.conversation), .text("x"), .text("y"), .unset],
            [.unset, .uuid(Self.timeUUID), .uuid(Self.conversation), .text("x"), .text("y"), .null],
        ]
        let parameters = [
            CQLQueryParameters(consistency: .one),
            CQLQueryParameters(consistency: .localQuorum, skipMetadata: true, pageSize: 5000, serialConsistency: .localSerial, defaultTimestamp: 17),
            CQLQueryParameters(consistency: .all, pageSize: 2, pagingState: ByteBuffer(bytes: [9, 9])),
        ]
        // Single-component keys in first and later positions, composite keys, no key.
        for keys in [[0], [2], [4], [2, 0], [0, 3, 4], []] {
            let statement = Self.statement(Self.chatColumns, keys: keys)
            for row in rows {
                for parameter in parameters {
                    let (frame, key) = try statement.encodeExecute(row, parameters: parameter)
                    let (expectedFrame, expectedKey) = try Self.general(statement, row, parameters: parameter)
                    #expect(Array(frame.frame.readableBytesView) == expectedFrame)
                    #expect(key.map { Array($0.readableBytesView) } == expectedKey, "keys \(keys), row \(row)")
                    #expect(frame.opcode == .execute)
                }
            }
        }
    }

    @Test func typedEncodingMatchesTheValuesEncoding() throws {
        let statement = Self.statement(Self.chatColumns, keys: [0])
        let parameters = CQLQueryParameters(consistency: .quorum, defaultTimestamp: 1_700_000_000_000_000)
        let (typed, typedKey) = try statement.encodeExecute(parameters: parameters) { row in
            try row.write(Self.conversation)
            try row.write(Self.timeUUID)
            try row.write(Self.conversation)
            try row.write("Lê Thị Bình")
            try row.write("hẹn gặp lại")
            try row.write(texts: ["https://cdn/1.jpg", "https://cdn/2.pdf"])
        }
        let values: [CQLValue] = [
            .uuid(Self.conversation), .uuid(Self.timeUUID), .uuid(Self.conversation), .text("Lê Thị Bình"), .text("hẹn gặp lại"),
            .list([.text("https://cdn/1.jpg"), .text("https://cdn/2.pdf")]),
        ]
        let (expectedFrame, expectedKey) = try Self.general(statement, values, parameters: parameters)
        #expect(Array(typed.frame.readableBytesView) == expectedFrame)
        #expect(typedKey.map { Array($0.readableBytesView) } == expectedKey)
        #expect(expectedKey == Self.conversation.cqlBytes)
    }

    @Test func badValuesAreInvalidArgumentsNamingTheColumn() throws {
        let statement = Self.statement(Self.chatColumns, keys: [0])
        let good: [CQLValue] = [.uuid(Self.conversation), .uuid(Self.timeUUID), .uuid(Self.conversation), .text("a"), .text("b"), .list([])]
        func message(_ body: () throws -> Void) -> String? {
            do {
                try body()
                return nil
            } catch let error as CQLClientError {
                guard case .invalidArgument = error.kind else { return "wrong kind \(error.kind)" }
                return error.message
            } catch {
                return "not a CQLClientError: \(error)"
            }
        }
        var wrongType = good
        wrongType[3] = .int(1)
        var version4AsTimeUUID = good
        version4AsTimeUUID[1] = .uuid(Self.conversation)
        for values in [wrongType, version4AsTimeUUID, Array(good.prefix(5)), good + [.null]] {
            let fast = message { _ = try statement.encodeExecute(values, parameters: CQLQueryParameters()) }
            let general = message { _ = try statement.bind(values) }
            #expect(fast != nil && fast == general)
        }
        #expect(message { _ = try statement.encodeExecute(wrongType, parameters: CQLQueryParameters()) }?.contains("value 3 (sender_name)") == true)
        let typedWrong = message {
            _ = try statement.encodeExecute(parameters: CQLQueryParameters()) { row in
                try row.write(Self.conversation)
                try row.write(Int32(4))
            }
        }
        #expect(typedWrong?.contains("value 1 (message_id)") == true)
        let typedShort = message { _ = try statement.encodeExecute(parameters: CQLQueryParameters()) { try $0.writeNull() } }
        #expect(typedShort?.contains("statement takes 6 values, given 1") == true)
    }

    @Test func encodedRequestsAreChecked() throws {
        var frame = ByteBuffer()
        CQLFrameEncoder.write(.execute(id: [1], CQLQueryParameters()), stream: 5, into: &frame)
        let request = try CQLEncodedRequest(frame: frame)
        #expect(request.opcode == .execute)
        #expect(request.flags == [])
        var short = frame
        short.moveWriterIndex(to: frame.writerIndex - 1)
        var response = ByteBuffer()
        CQLFrameEncoder.write(CQLResponse.ready, stream: 1, into: &response)
        var event = frame
        event.setInteger(CQLOpcode.event.rawValue, at: 4)
        for bad in [ByteBuffer(bytes: [4, 0, 0]), short, response, event, frame.getSlice(at: 0, length: 9)!] {
            #expect(throws: CQLClientError.self) { try CQLEncodedRequest(frame: bad) }
        }
    }
}

extension CQLConnectionRobustnessTests {
    @Test func preEncodedFramesGoOutUnchangedOnTheirOwnStreams() async throws {
        let handlers = NIOLockedValueBox<[ScriptedServerHandler]>([])
        try await withScriptedServer(.voidAfter(delayMilliseconds: 1), onHandler: { handler in handlers.withLockedValue { $0.append(handler) } }) { address in
            let connection = try await CQLConnection.connect(to: address, configuration: CQLConnectionConfiguration())
            let statement = CQLFastExecuteTests.statement(CQLFastExecuteTests.chatColumns, keys: [0])
            var frames: [CQLEncodedRequest] = []
            for index in 0..<40 {
                let (frame, _) = try statement.encodeExecute(
                    [.uuid(UUID()), .uuid(CQLFastExecuteTests.timeUUID), .null, .text("user \(index)"), .text("message \(index)"), .unset],
                    parameters: CQLQueryParameters(consistency: .localOne, defaultTimestamp: Int64(index)))
                frames.append(frame)
            }
            // Sent together from one task: they travel in the same event-loop ticks, concurrently on distinct streams.
            let responses = frames.map { connection.send($0, timeout: .seconds(10)) }
            for response in responses { #expect(try await response.get() == .result(.void)) }
            // The same frame object again (a retry re-sends it unchanged).
            #expect(try await connection.send(frames[0]) == .result(.void))
            let received = handlers.withLockedValue { $0.first?.receivedFrames.withLockedValue { $0 } } ?? []
            #expect(received.count == 41)
            let sent = frames.map { Array($0.frame.readableBytesView) }
            var streams = Set<Int16>()
            for frame in received.prefix(40) {
                streams.insert(frame.header.stream)
                var bytes = ByteBuffer()
                frame.header.write(into: &bytes)
                var body = frame.body
                bytes.writeBuffer(&body)
                // Everything but the stream id is the caller's frame, unchanged.
                var normalized = Array(bytes.readableBytesView)
                normalized[2] = 0
                normalized[3] = 0
                #expect(sent.contains(normalized))
                #expect(frame.header.version == 4)
            }
            // Stream ids come from the connection (ids are reused once answered, so not necessarily 40 distinct).
            #expect(streams.allSatisfy { $0 >= 0 } && streams.count > 1)
            #expect(sent.allSatisfy { $0[2] == 0 && $0[3] == 0 }, "the caller's frames keep their own stream bytes")
            await connection.close()
        }
    }

    @Test func preEncodedFramesAreCompressedWhenTheConnectionCompresses() async throws {
        let handlers = NIOLockedValueBox<[ScriptedServerHandler]>([])
        try await withScriptedServer(.voidAfter(delayMilliseconds: 1), offersLZ4: true, onHandler: { handler in handlers.withLockedValue { $0.append(handler) } }) { address in
            var configuration = CQLConnectionConfiguration()
            configuration.compression = true
            let connection = try await CQLConnection.connect(to: address, configuration: configuration)
            let statement = CQLFastExecuteTests.statement(CQLFastExecuteTests.chatColumns, keys: [0])
            let values: [CQLValue] = [.uuid(CQLFastExecuteTests.conversation), .uuid(CQLFastExecuteTests.timeUUID), .null,
                                      .text(String(repeating: "ab", count: 300)), .text("é"), .list([.text("x")])]
            let (frame, _) = try statement.encodeExecute(values, parameters: CQLQueryParameters(consistency: .one))
            for _ in 0..<3 { #expect(try await connection.send(frame) == .result(.void)) }
            let handler = handlers.withLockedValue { $0.first }
            #expect(handler?.compressedRequests.withLockedValue { $0 } == 3)
            let received = handler?.receivedFrames.withLockedValue { $0 } ?? []
            #expect(received.count == 3)
            for request in received {
                #expect(request.header.flags.contains(.compression))
                #expect(Array(request.body.readableBytesView) == Array(frame.frame.readableBytesView.dropFirst(CQLFrameHeader.size)))
            }
            await connection.close()
        }
    }
}

extension CQLSessionIntegrationTests {
    @Test func typedExecuteWritesRowsThatReadBack() async throws {
        try await withCluster { _, contactPoints in
            let session = try await CQLSession.connect(CQLSessionConfiguration(contactPoints: contactPoints))
            for statement in Self.schema { try await session.run(statement) }
            let insert = try await session.prepare("INSERT INTO chat.messages (conversation_id, message_id, sender, body, attachments) VALUES (?, ?, ?, ?, ?)")
            let conversation = UUID()
            let generator = CQLTimeUUIDGenerator()
            var ids: [UUID] = []
            for index in 0..<12 {
                let id = generator.next()
                ids.append(id)
                try await session.execute(insert) { row in
                    try row.write(conversation)
                    try row.write(id)
                    try row.write("Trần \(index)")
                    try row.write("tin nhắn \(index) 🦬")
                    if index.isMultiple(of: 3) { try row.write(texts: ["https://x/\(index)", "https://y/\(index)"]) } else { try row.writeUnset() }
                }
            }
            // A wrong value is refused before anything is sent.
            await #expect(throws: CQLClientError.self) {
                try await session.execute(insert) { row in try row.write("not a uuid") }
            }
            let rows = try await session.query(
                "SELECT message_id, sender, body, attachments FROM chat.messages WHERE conversation_id = ?", values: [.uuid(conversation)])
            #expect(rows.rows.count == 12)
            #expect(try rows.rows.map { try $0.decode(UUID.self, at: 0) } == ids.reversed())
            let last = try #require(rows.rows.first)
            #expect(try last.decode(String.self, at: 1) == "Trần 11")
            #expect(try last.decode(String.self, at: 2) == "tin nhắn 11 🦬")
            let withAttachments = try #require(rows.rows.last)
            #expect(try withAttachments.decode([String].self, at: 3) == ["https://x/0", "https://y/0"])
            await session.close()
        }
    }
}
