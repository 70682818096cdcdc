import CQLProtocol

/// Decides whether a failed statement is tried again, and where.
///
/// Only idempotent statements are retried after a failure whose outcome is unknown (timeouts, lost
/// connections), because a retry might apply a non-idempotent write twice. Failures where the server
/// certainly did nothing (unavailable, overloaded, bootstrapping, connection refused) are retried for every
/// statement.
public struct CQLRetryPolicy: Sendable, Hashable {
    /// Tries after the first one (2).
    public var maxRetries: Int

    public init(maxRetries: Int = 2) {
        self.maxRetries = maxRetries
    }

    public enum Decision: Sendable, Equatable {
        /// Try the next host of the query plan.
        case retryNextHost
        /// Give up and return this error.
        case rethrow
    }

    /// - Parameters:
    ///   - attempt: retries already done (0 after the first try).
    public func decide(error: CQLClientError, isIdempotent: Bool, attempt: Int) -> Decision {
        guard attempt < maxRetries else { return .rethrow }
        switch error.kind {
        case .connectionFailed, .busy:
            return .retryNextHost
        case .timeout, .connectionClosed:
            return isIdempotent ? .retryNextHost : .rethrow
        case .server(let serverError):
            switch serverError.kind {
            case .unavailable, .overloaded, .isBootstrapping:
                return .retryNextHost
            case .writeTimeout, .readTimeout, .serverError:
                return isIdempotent ? .retryNextHost : .rethrow
            default:
                return .rethrow
            }
        case .protocolViolation, .authentication, .unsupportedProtocolVersion, .noHostAvailable, .invalidArgument, .shutdown, .tls:
            return .rethrow
        }
    }
}
