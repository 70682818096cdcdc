import CQLClient
import CQLProtocol
import Foundation
import LoadEngine

/// Reads the message ids of one conversation partition back from the database.
///
/// A seam: the verifier runs against ``CQLMessageReader`` in production and an in-memory reader in tests.
public protocol MessageReader: Sendable {
    /// Calls `body` with every message id of `conversation`, optionally restricted to ids between `lower` and
    /// `upper` (inclusive, timeuuid order). Readers may ignore the bounds; the verifier filters again.
    func forEachMessageID(
        in conversation: UUID, from lower: UUID?, through upper: UUID?, _ body: (UUID) throws -> Void
    ) async throws
}

/// Reads `SELECT message_id FROM <keyspace>.messages_by_conversation WHERE conversation_id = ?`, page by page.
public struct CQLMessageReader: MessageReader {
    public let session: CQLSession
    public let keyspace: String
    public let table: String
    /// Consistency of the reads (ALL by default: a row that reached any replica counts).
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

    public func forEachMessageID(
        in conversation: UUID, from lower: UUID?, through upper: UUID?, _ body: (UUID) throws -> Void
    ) async throws {
        var cql = "SELECT message_id FROM \(keyspace).\(table) WHERE conversation_id = ?"
        var values: [CQLValue] = [.uuid(conversation)]
        if let lower {
            cql += " AND message_id >= ?"
            values.append(.uuid(lower))
        }
        if let upper {
            cql += " AND message_id <= ?"
            values.append(.uuid(upper))
        }
        do {
            let statement = try await session.prepare(cql)
            let options = CQLStatementOptions(consistency: consistency, pageSize: pageSize)
            for try await row in session.rows(statement, values: values, options: options) {
                guard let first = row.first, case .uuid(let id) = first else { continue }
                try body(id)
            }
        } catch let error as VerificationError {
            throw error
        } catch {
            throw VerificationError(.readFailed, "reading conversation \(conversation.uuidString.lowercased()) failed: \(error)",
                                    subject: "\(keyspace).\(table)")
        }
    }
}
