import CQLProtocol
import Foundation

/// The server side of one client connection, as a pure state machine:
/// awaiting STARTUP → (authenticating) → ready → closed.
///
/// OPTIONS is answered in every open state (drivers heartbeat with it). Each event returns the action the
/// channel handler must perform; the machine holds no channel, so every transition is unit-testable.
public struct ServerConnectionStateMachine: Sendable {
    public enum State: Sendable, Hashable {
        case awaitingStartup
        case authenticating
        case ready
        case closed
    }

    /// What the channel handler must do.
    public enum Action: Sendable, Hashable {
        /// Send this response on the request's stream.
        case reply(CQLResponse)
        /// Send this response, then close the connection.
        case replyAndClose(CQLResponse)
        /// Run the request against the database and reply with its result.
        case execute(CQLRequest)
        /// Subscribe the connection to these events and reply READY.
        case register([CQLEventType])
        /// Drop the frame: the connection is closing.
        case ignore
    }

    /// The protocol versions this server speaks.
    public static let supportedVersions: ClosedRange<UInt8> = 3...4
    /// The version used in replies to a version this server does not speak.
    public static let rejectionReplyVersion: UInt8 = 4

    /// Cassandra's wording; drivers look for "unsupported protocol version" to step down.
    public static func unsupportedVersionMessage(_ version: UInt8) -> String {
        "Invalid or unsupported protocol version (\(version)); supported versions are (3/v3, 4/v4, 5/v5, 6/v6-beta)"
    }

    public static let authenticatorClass = "org.apache.cassandra.auth.PasswordAuthenticator"

    /// SUPPORTED options: CQL_VERSION and COMPRESSION are required by the DataStax drivers.
    public static let supportedOptions: [String: [String]] = [
        "CQL_VERSION": [ClusterTopology.cqlVersion],
        "COMPRESSION": [],
        "PROTOCOL_VERSIONS": ["3/v3", "4/v4"],
    ]

    public private(set) var state: State = .awaitingStartup
    /// The version of the first frame; every later frame must use it.
    public private(set) var version: UInt8?
    private let credentials: CQLServerCredentials?

    public init(credentials: CQLServerCredentials?) {
        self.credentials = credentials
    }

    /// A frame with a version this server does not speak arrived; the reply uses `rejectionReplyVersion`.
    public mutating func unsupportedVersionReceived(_ version: UInt8) -> Action {
        state = .closed
        return .replyAndClose(.error(CQLServerError(.protocolError, Self.unsupportedVersionMessage(version))))
    }

    /// Bytes that do not form a valid frame or message arrived.
    public mutating func malformedFrameReceived(_ message: String) -> Action {
        state = .closed
        return .replyAndClose(.error(CQLServerError(.protocolError, message)))
    }

    /// A decoded request arrived with the given header version.
    public mutating func requestReceived(_ request: CQLRequest, version: UInt8) -> Action {
        if state == .closed { return .ignore }
        if let established = self.version, established != version {
            state = .closed
            return .replyAndClose(.error(CQLServerError(
                .protocolError, "Invalid message version. Got v\(version) but previous messages on this connection had version v\(established)")))
        }
        self.version = version
        if case .options = request { return .reply(.supported(Self.supportedOptions)) }
        switch state {
        case .awaitingStartup:
            guard case .startup(let options) = request else {
                return .reply(.error(CQLServerError(.protocolError, "Unexpected message \(request.opcode), expecting STARTUP or OPTIONS")))
            }
            if let compression = options["COMPRESSION"], !compression.isEmpty {
                return .replyAndClose(.error(CQLServerError(.protocolError, "Unknown compression algorithm: \(compression)")))
            }
            if credentials != nil {
                state = .authenticating
                return .reply(.authenticate(authenticator: Self.authenticatorClass))
            }
            state = .ready
            return .reply(.ready)
        case .authenticating:
            guard case .authResponse(let token) = request, let credentials else {
                return .reply(.error(CQLServerError(.protocolError, "Unexpected message \(request.opcode), expecting AUTH_RESPONSE")))
            }
            guard let token, let offered = CQLServerCredentials(saslPlainToken: token) else {
                return .reply(.error(CQLServerError(.protocolError, "Malformed SASL PLAIN response")))
            }
            guard offered == credentials else {
                return .reply(.error(CQLServerError(.badCredentials, "Provided username \(offered.username) and/or password are incorrect")))
            }
            state = .ready
            return .reply(.authSuccess(token: nil))
        case .ready:
            switch request {
            case .query, .prepare, .execute, .batch:
                return .execute(request)
            case .register(let names):
                var events: [CQLEventType] = []
                for name in names {
                    guard let event = CQLEventType(rawValue: name) else {
                        return .reply(.error(CQLServerError(.protocolError, "Invalid value '\(name)' for Type")))
                    }
                    events.append(event)
                }
                return .register(events)
            case .startup:
                return .reply(.error(CQLServerError(.protocolError, "Unexpected message STARTUP, the connection is already started")))
            case .authResponse:
                return .reply(.error(CQLServerError(.protocolError, "Unexpected message AUTH_RESPONSE, the connection is already authenticated")))
            case .options:
                return .reply(.supported(Self.supportedOptions))
            }
        case .closed:
            return .ignore
        }
    }

    /// The connection was closed.
    public mutating func closed() {
        state = .closed
    }
}

/// A user name and password for PasswordAuthenticator.
public struct CQLServerCredentials: Sendable, Hashable {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    /// Parses `user:pass` (the `--auth` option).
    public init?(_ text: String) {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        username = String(text[..<colon])
        password = String(text[text.index(after: colon)...])
        if username.isEmpty { return nil }
    }

    /// Parses a SASL PLAIN token: `[authzid] NUL authcid NUL passwd`.
    public init?(saslPlainToken token: [UInt8]) {
        let parts = token.split(separator: 0, omittingEmptySubsequences: false)
        guard parts.count == 3, let user = String(bytes: parts[1], encoding: .utf8), let password = String(bytes: parts[2], encoding: .utf8)
        else { return nil }
        self.username = user
        self.password = password
    }
}
