import CQLProtocol

/// The life of one connection, from TCP connect through the handshake to close.
///
/// Pure: events go in, actions come out. The channel handler performs the actions.
struct CQLConnectionStateMachine {
    enum State {
        case initialized
        case awaitingSupported
        case awaitingReady
        case awaitingAuthSuccess
        case awaitingKeyspace
        case awaitingRegistration
        case ready
        case closed
    }

    enum Action: Equatable {
        case send(CQLRequest)
        case handshakeSucceeded
        case handshakeFailed(HandshakeFailure)
        case none
    }

    enum HandshakeFailure: Equatable {
        /// The server asked for a lower protocol version.
        case unsupportedVersion(String)
        case authenticationRequired(authenticator: String)
        case badCredentials(String)
        case server(CQLServerError)
        case unexpected(String)
    }

    private(set) var state: State = .initialized
    let configuration: CQLConnectionConfiguration
    /// What the server said it supports (from SUPPORTED).
    private(set) var supported: [String: [String]] = [:]
    /// Whether frames after STARTUP are LZ4-compressed.
    private(set) var usesCompression = false

    init(configuration: CQLConnectionConfiguration) {
        self.configuration = configuration
    }

    mutating func channelActive() -> Action {
        guard case .initialized = state else { return .none }
        state = .awaitingSupported
        return .send(.options)
    }

    mutating func handshakeResponse(_ response: CQLResponse) -> Action {
        switch (state, response) {
        case (.awaitingSupported, .supported(let options)):
            supported = options
            var startup = ["CQL_VERSION": options["CQL_VERSION"]?.first ?? "3.0.0", "DRIVER_NAME": "Stampede", "DRIVER_VERSION": "0.1.0"]
            if configuration.compression, options["COMPRESSION"]?.contains(CQLLZ4.name) == true {
                startup["COMPRESSION"] = CQLLZ4.name
                usesCompression = true
            }
            state = .awaitingReady
            return .send(.startup(options: startup))
        case (.awaitingReady, .ready):
            return afterReady()
        case (.awaitingReady, .authenticate(let authenticator)):
            guard let credentials = configuration.credentials else {
                state = .closed
                return .handshakeFailed(.authenticationRequired(authenticator: authenticator))
            }
            state = .awaitingAuthSuccess
            return .send(.authResponse(token: credentials.plainToken))
        case (.awaitingAuthSuccess, .authSuccess):
            return afterReady()
        case (.awaitingAuthSuccess, .authChallenge):
            state = .closed
            return .handshakeFailed(.unexpected("the server sent an AUTH_CHALLENGE; only SASL PLAIN is supported"))
        case (.awaitingAuthSuccess, .error(let error)):
            state = .closed
            if case .badCredentials = error.kind { return .handshakeFailed(.badCredentials(error.message)) }
            return .handshakeFailed(.server(error))
        case (.awaitingKeyspace, .result(.setKeyspace)):
            return afterKeyspace()
        case (.awaitingRegistration, .ready):
            state = .ready
            return .handshakeSucceeded
        case (_, .error(let error)):
            state = .closed
            if case .protocolError = error.kind, error.message.lowercased().contains("unsupported protocol version")
                || error.message.contains("USE_BETA flag is unset")
            {
                return .handshakeFailed(.unsupportedVersion(error.message))
            }
            return .handshakeFailed(.server(error))
        default:
            state = .closed
            return .handshakeFailed(.unexpected("unexpected \(response.opcode) during the handshake"))
        }
    }

    private mutating func afterReady() -> Action {
        if let keyspace = configuration.keyspace {
            state = .awaitingKeyspace
            return .send(.query("USE \(CQLIdentifier.quoted(keyspace))", CQLQueryParameters()))
        }
        return afterKeyspace()
    }

    private mutating func afterKeyspace() -> Action {
        if !configuration.eventTypes.isEmpty {
            state = .awaitingRegistration
            return .send(.register(configuration.eventTypes.map(\.rawValue)))
        }
        state = .ready
        return .handshakeSucceeded
    }

    mutating func closed() {
        state = .closed
    }

    var isReady: Bool {
        if case .ready = state { return true }
        return false
    }
}

/// Quoting of CQL identifiers.
public enum CQLIdentifier {
    /// Returns the identifier as written in CQL: unquoted when it is lower-case alphanumeric, else double-quoted.
    public static func quoted(_ name: String) -> String {
        let isPlain = name.first.map { $0.isLetter && $0.isLowercase } == true
            && name.allSatisfy { ($0.isLetter && $0.isLowercase) || $0.isNumber || $0 == "_" } && name.allSatisfy(\.isASCII)
        if isPlain { return name }
        return "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

import Foundation
