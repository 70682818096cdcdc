import CQLClient
import CQLProtocol
import Logging
import NIOCore

/// One connection pinned to one node, for node-local reads (system.local, virtual tables) and liveness checks.
struct NodeConnection: Sendable {
    let connection: CQLConnection

    /// A row by column name.
    typealias Row = [String: CQLValue]

    static func open(_ address: CQLHostAddress, configuration: CQLConnectionConfiguration, logger: Logger) async throws -> NodeConnection {
        var configuration = configuration
        configuration.keyspace = nil
        configuration.eventTypes = []
        return NodeConnection(connection: try await CQLConnection.connect(to: address, configuration: configuration, logger: logger))
    }

    var address: CQLHostAddress { connection.address }
    var protocolVersion: UInt8 { connection.protocolVersion }

    /// Runs `cql` on this node only (consistency ONE), following pages; rows keyed by column name.
    func rows(_ cql: String, values: [CQLValue] = [], timeout: Duration = .seconds(10)) async throws -> [Row] {
        var result: [Row] = []
        var pagingState: ByteBuffer?
        repeat {
            let parameters = CQLQueryParameters(
                consistency: .one, values: try CQLBoundValues.natural(values), pageSize: 5000, pagingState: pagingState)
            let response = try await connection.send(.query(cql, parameters), timeout: timeout)
            switch response {
            case .result(.rows(let rows)):
                let columns = rows.metadata.columns ?? []
                for values in try rows.decodeRows(columns: columns) {
                    var row: Row = [:]
                    for (column, value) in zip(columns, values) { row[column.name] = value }
                    result.append(row)
                }
                pagingState = rows.metadata.pagingState
            case .result:
                pagingState = nil
            case .error(let error):
                throw CQLClientError(.server(error), "\(address): \(error)", host: address.description)
            default:
                throw CQLClientError(.protocolViolation, "\(address) answered with \(response.opcode)", host: address.description)
            }
        } while pagingState != nil
        return result
    }

    func close() async { await connection.close() }
}

extension CQLValue {
    /// The value as text, when it is text-like.
    var text: String? {
        switch self {
        case .text(let value): value
        case .inet(let value): value.description
        case .uuid(let value): value.uuidString.lowercased()
        default: nil
        }
    }

    /// The value as a number, when it is numeric.
    var number: Double? {
        switch self {
        case .tinyint(let value): Double(value)
        case .smallint(let value): Double(value)
        case .int(let value): Double(value)
        case .bigint(let value): Double(value)
        case .float(let value): Double(value)
        case .double(let value): value
        case .timestamp(let value): Double(value)
        case .varint(let value): Double(value.description)
        case .decimal(let value): Double(value.description)
        default: nil
        }
    }
}
