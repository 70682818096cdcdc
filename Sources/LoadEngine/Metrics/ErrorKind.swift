/// How a failed operation failed, as reported in metrics and results.
public enum ErrorKind: Int, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    /// No answer in time: a client timeout, or a server read/write timeout. The write may or may not have applied.
    case timeout = 0
    /// The server said not enough replicas were alive for the consistency level.
    case unavailable = 1
    /// The server or a coordinator was overloaded (or bootstrapping) and refused the request.
    case overloaded = 2
    /// Anything else: invalid request, connection failure, no host available, ...
    case other = 3

    public var description: String {
        switch self {
        case .timeout: "timeout"
        case .unavailable: "unavailable"
        case .overloaded: "overloaded"
        case .other: "other"
        }
    }
}

/// The classified result of one failed attempt, as the executor reports it.
public struct OperationFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public var kind: ErrorKind
    /// True when the server may have applied the operation (client timeout, write timeout, connection lost after send).
    public var outcomeUnknown: Bool
    /// True when trying again may succeed (timeouts, unavailable, overloaded, connection problems).
    public var isRetryable: Bool
    /// A short human description (never bind values).
    public var message: String

    public init(kind: ErrorKind, outcomeUnknown: Bool, isRetryable: Bool, message: String) {
        self.kind = kind
        self.outcomeUnknown = outcomeUnknown
        self.isRetryable = isRetryable
        self.message = message
    }

    public var description: String { "\(kind): \(message)" }
}
