import CQLProtocol
import Testing

@testable import CQLClient

@Suite struct CQLConnectionStateMachineTests {
    @Test func plainHandshakeSendsOptionsThenStartupWithServersCQLVersion() {
        var machine = CQLConnectionStateMachine(configuration: CQLConnectionConfiguration())
        #expect(machine.channelActive() == .send(.options))
        let action = machine.handshakeResponse(.supported(["CQL_VERSION": ["3.4.7"], "COMPRESSION": []]))
        guard case .send(.startup(let options)) = action else {
            Issue.record("expected STARTUP, got \(action)")
            return
        }
        #expect(options["CQL_VERSION"] == "3.4.7")
        #expect(options["COMPRESSION"] == nil)
        #expect(machine.handshakeResponse(.ready) == .handshakeSucceeded)
        #expect(machine.isReady)
    }

    @Test func keyspaceAndEventRegistrationFollowReady() {
        var configuration = CQLConnectionConfiguration()
        configuration.keyspace = "Chat"
        configuration.eventTypes = [.statusChange]
        var machine = CQLConnectionStateMachine(configuration: configuration)
        _ = machine.channelActive()
        _ = machine.handshakeResponse(.supported(["CQL_VERSION": ["3.0.0"]]))
        #expect(machine.handshakeResponse(.ready) == .send(.query("USE \"Chat\"", CQLQueryParameters())))
        #expect(machine.handshakeResponse(.result(.setKeyspace("Chat"))) == .send(.register(["STATUS_CHANGE"])))
        #expect(machine.handshakeResponse(.ready) == .handshakeSucceeded)
    }

    @Test func authenticationUsesSASLPlainAndReportsBadCredentials() {
        var configuration = CQLConnectionConfiguration()
        configuration.credentials = CQLCredentials(username: "u", password: "p")
        var machine = CQLConnectionStateMachine(configuration: configuration)
        _ = machine.channelActive()
        _ = machine.handshakeResponse(.supported([:]))
        let authenticator = "org.apache.cassandra.auth.PasswordAuthenticator"
        #expect(machine.handshakeResponse(.authenticate(authenticator: authenticator)) == .send(.authResponse(token: [0, 117, 0, 112])))
        let rejected = machine.handshakeResponse(.error(CQLServerError(.badCredentials, "Provided username u and/or password are incorrect")))
        #expect(rejected == .handshakeFailed(.badCredentials("Provided username u and/or password are incorrect")))
    }

    @Test func missingCredentialsFailWithTheAuthenticatorName() {
        var machine = CQLConnectionStateMachine(configuration: CQLConnectionConfiguration())
        _ = machine.channelActive()
        _ = machine.handshakeResponse(.supported([:]))
        #expect(machine.handshakeResponse(.authenticate(authenticator: "X")) == .handshakeFailed(.authenticationRequired(authenticator: "X")))
    }

    @Test func unsupportedVersionErrorAsksToStepDown() {
        var machine = CQLConnectionStateMachine(configuration: CQLConnectionConfiguration())
        _ = machine.channelActive()
        let message = "Invalid or unsupported protocol version (4); supported versions are (3/v3)"
        #expect(machine.handshakeResponse(.error(CQLServerError(.protocolError, message))) == .handshakeFailed(.unsupportedVersion(message)))
    }

    @Test func unexpectedMessageFailsTheHandshake() {
        var machine = CQLConnectionStateMachine(configuration: CQLConnectionConfiguration())
        _ = machine.channelActive()
        guard case .handshakeFailed(.unexpected) = machine.handshakeResponse(.ready) else {
            Issue.record("READY before SUPPORTED must fail")
            return
        }
        #expect(!machine.isReady)
    }
}
