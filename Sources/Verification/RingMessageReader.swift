import CQLClient
import CQLProtocol
import Foundation
import LoadEngine

/// A range of Murmur3 tokens, `(start, end]`.
public struct TokenRange: Sendable, Hashable {
    public var start: Int64
    public var end: Int64

    public init(start: Int64, end: Int64) {
        self.start = start
        self.end = end
    }

    /// The whole ring cut into `count` contiguous ranges of (nearly) equal width.
    public static func split(count: Int) -> [TokenRange] {
        let count = max(1, count)
        let width = UInt64.max / UInt64(count)
        var ranges: [TokenRange] = []
        var start = Int64.min
        for position in 0..<count {
            let end = position == count - 1 ? Int64.max : Int64(bitPattern: UInt64(bitPattern: start) &+ width)
            ranges.append(TokenRange(start: start, end: end))
            start = end
        }
        return ranges
    }
}

/// Reads every message of the table within a token range (partition key and message id).
public protocol RingMessageReader: Sendable {
    func forEachMessage(in range: TokenRange, _ body: (_ conversation: UUID, _ message: UUID) throws -> Void) async throws
}

/// `SELECT conversation_id, message_id FROM ... WHERE token(conversation_id) > ? AND token(conversation_id) <= ?`.
public struct CQLRingMessageReader: RingMessageReader {
    public let session: CQLSession
    public let keyspace: String
    public let table: String
    public let consistency: CQLConsistency
    public let pageSize: Int32

    public init(session: CQLSession, keyspace: String = ChatSchema.keyspace, table: String = "messages_by_conversation",
                consistency: CQLConsistency = .all, pageSize: Int32 = 5000) {
        self.session = session
        self.keyspace = keyspace
        self.table = table
        self.consistency = consistency
        self.pageSize = pageSize
    }

    var cql: String {
        "SELECT conversation_id, message_id FROM \(keyspace).\(table) WHERE token(conversation_id) > ? AND token(conversation_id) <= ?"
    }

    /// Why the server cannot run token-range scans, or nil when it can.
    public func unsupportedReason() async -> String? {
        do {
            let statement = try await session.prepare(cql)
            _ = try await session.execute(statement, values: [.bigint(0), .bigint(0)], options: CQLStatementOptions(consistency: .one))
            return nil
        } catch let error as CQLClientError {
            return error.serverError.map { "\($0)" } ?? error.message
        } catch {
            return "\(error)"
        }
    }

    public func forEachMessage(in range: TokenRange, _ body: (UUID, UUID) throws -> Void) async throws {
        do {
            let statement = try await session.prepare(cql)
            let options = CQLStatementOptions(consistency: consistency, pageSize: pageSize)
            for try await row in session.rows(statement, values: [.bigint(range.start), .bigint(range.end)], options: options) {
                guard row.count >= 2, case .uuid(let conversation) = row[0], case .uuid(let message) = row[1] else { continue }
                try body(conversation, message)
            }
        } catch let error as VerificationError {
            throw error
        } catch {
            throw VerificationError(.readFailed, "reading token range (\(range.start), \(range.end)] failed: \(error)", subject: "\(keyspace).\(table)")
        }
    }
}
