import CQLProtocol
import NIOCore

/// An error from the client: what failed, where, and why, in words a user can act on.
///
/// `description` is safe to show (it never contains bound values or credentials).
public struct CQLClientError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// The TCP connection could not be established (refused, unreachable, DNS).
        case connectionFailed
        /// The connection closed or broke while requests were in flight.
        case connectionClosed
        /// The server sent bytes that do not follow the protocol.
        case protocolViolation
        /// The request got no answer in time. The statement may or may not have been applied.
        case timeout
        /// The server answered with an ERROR.
        case server(CQLServerError)
        /// Authentication is required, or the credentials were rejected.
        case authentication
        /// The server speaks no protocol version this client supports.
        case unsupportedProtocolVersion
        /// Every host the statement was tried on failed.
        case noHostAvailable
        /// Too many requests in flight on the connection or pool.
        case busy
        /// Wrong use of the API (bad contact point, wrong number of values, ...).
        case invalidArgument
        /// The session or connection was shut down.
        case shutdown
        /// A TLS handshake or certificate error.
        case tls
    }

    public var kind: Kind
    public var message: String
    /// The host the error concerns, as `host:port`, when there is one.
    public var host: String?
    /// Per-host errors when several hosts were tried.
    public var hostErrors: [(host: String, error: CQLClientError)]

    public init(_ kind: Kind, _ message: String, host: String? = nil, hostErrors: [(host: String, error: CQLClientError)] = []) {
        self.kind = kind
        self.message = message
        self.host = host
        self.hostErrors = hostErrors
    }

    public var description: String { message }

    /// The server error, when the server answered with one.
    public var serverError: CQLServerError? {
        if case .server(let error) = kind { return error }
        return nil
    }

    /// Whether the outcome of a write is unknown: it may or may not have been applied (client timeout,
    /// server write timeout, connection lost with the request in flight).
    public var isOutcomeUnknown: Bool {
        switch kind {
        case .timeout, .connectionClosed: return true
        case .server(let error):
            switch error.kind {
            case .writeTimeout, .casWriteUnknown: return true
            default: return false
            }
        default: return false
        }
    }

    static func server(_ error: CQLServerError, host: String) -> CQLClientError {
        CQLClientError(.server(error), "\(host): \(error)", host: host)
    }
}
