import CQLProtocol
import Testing

@testable import CQLServer

@Suite struct ServerConnectionStateMachineTests {
    @Test func handshakeWithoutAuthentication() {
        var machine = ServerConnectionStateMachine(credentials: nil)
        #expect(machine.requestReceived(.options, version: 4) == .reply(.supported(ServerConnectionStateMachine.supportedOptions)))
        #expect(machine.requestReceived(.startup(options: ["CQL_VERSION": "3.0.0"]), version: 4) == .reply(.ready))
        #expect(machine.state == .ready)
        #expect(machine.requestReceived(.options, version: 4) == .reply(.supported(ServerConnectionStateMachine.supportedOptions)))
        #expect(machine.requestReceived(.register(["SCHEMA_CHANGE", "STATUS_CHANGE"]), version: 4) == .register([.schemaChange, .statusChange]))
        #expect(machine.requestReceived(.prepare("SELECT 1"), version: 4) == .execute(.prepare("SELECT 1")))
    }

    @Test func supportedCarriesTheKeysDriversRequire() {
        let options = ServerConnectionStateMachine.supportedOptions
        #expect(options["CQL_VERSION"]?.first?.hasPrefix("3.4") == true)
        #expect(options["COMPRESSION"] == [])
    }

    @Test func queriesBeforeStartupAreRefused() {
        var machine = ServerConnectionStateMachine(credentials: nil)
        guard case .reply(.error(let error)) = machine.requestReceived(.query("SELECT 1", CQLQueryParameters()), version: 4) else {
            Issue.record("expected an error")
            return
        }
        #expect(error.kind == .protocolError)
        #expect(machine.state == .awaitingStartup)
    }

    @Test func passwordAuthentication() {
        let credentials = CQLServerCredentials(username: "ann", password: "pw")
        var machine = ServerConnectionStateMachine(credentials: credentials)
        #expect(machine.requestReceived(.startup(options: [:]), version: 4) == .reply(.authenticate(authenticator: ServerConnectionStateMachine.authenticatorClass)))
        let wrong = machine.requestReceived(.authResponse(token: [0] + Array("ann".utf8) + [0] + Array("nope".utf8)), version: 4)
        guard case .reply(.error(let error)) = wrong else { Issue.record("expected BadCredentials"); return }
        #expect(error.kind == .badCredentials)
        #expect(machine.state == .authenticating)
        #expect(machine.requestReceived(.authResponse(token: [0] + Array("ann".utf8) + [0] + Array("pw".utf8)), version: 4) == .reply(.authSuccess(token: nil)))
        #expect(machine.state == .ready)
    }

    @Test func unsupportedVersionIsRejectedWithCassandrasWording() {
        var machine = ServerConnectionStateMachine(credentials: nil)
        let action = machine.unsupportedVersionReceived(0x42)
        #expect(action == .replyAndClose(.error(CQLServerError(
            .protocolError, "Invalid or unsupported protocol version (66); supported versions are (3/v3, 4/v4, 5/v5, 6/v6-beta)"))))
        #expect(machine.state == .closed)
        #expect(machine.requestReceived(.options, version: 4) == .ignore)
    }

    @Test func changingVersionMidConnectionCloses() {
        var machine = ServerConnectionStateMachine(credentials: nil)
        _ = machine.requestReceived(.options, version: 4)
        guard case .replyAndClose(.error(let error)) = machine.requestReceived(.options, version: 3) else {
            Issue.record("expected a protocol error")
            return
        }
        #expect(error.kind == .protocolError)
    }
}
