import CQLProtocol
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Testing

@testable import CQLClient

/// TLS against a scripted server with a certificate from a throwaway CA made with the `openssl` tool.
@Suite(.timeLimit(.minutes(1))) struct CQLTLSTests {
    struct Certificates {
        var directory: URL
        var caFile: String { directory.appendingPathComponent("ca.pem").path }
        var certificateFile: String { directory.appendingPathComponent("server.pem").path }
        var keyFile: String { directory.appendingPathComponent("server.key").path }
        var otherCAFile: String { directory.appendingPathComponent("other-ca.pem").path }

        /// Deletes the throwaway CA and keys.
        func remove() { try? FileManager.default.removeItem(at: directory) }
    }

    static func makeCertificates() throws -> Certificates? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else { return nil }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stampede-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let script = """
            set -e
            cd '\(directory.path)'
            openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=stampede-test-ca 2>/dev/null
            openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key -out other-ca.pem -days 2 -subj /CN=other-ca 2>/dev/null
            openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost 2>/dev/null
            printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext 2>/dev/null
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        try process.run()
        process.waitUntilExit()
        let certificates = Certificates(directory: directory)
        guard process.terminationStatus == 0 else {
            certificates.remove()
            return nil
        }
        return certificates
    }

    func withTLSServer<T>(_ certificates: Certificates, _ body: (CQLHostAddress) async throws -> T) async throws -> T {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificates.certificateFile).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: certificates.keyFile, format: .pem)))
        configuration.minimumTLSVersion = .tlsv12
        let context = try NIOSSLContext(configuration: configuration)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.addHandler(ScriptedServerHandler(behaviour: .voidAfter(delayMilliseconds: 1)))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { server.close(promise: nil) }
        return try await body(CQLHostAddress(host: "localhost", port: server.localAddress!.port!))
    }

    @Test func connectsWhenTheServerCertificateIsSignedByTheGivenCA() async throws {
        guard let certificates = try Self.makeCertificates() else {
            Issue.record("openssl could not make test certificates")
            return
        }
        defer { certificates.remove() }
        try await withTLSServer(certificates) { address in
            var configuration = CQLConnectionConfiguration()
            configuration.tls = CQLTLSConfiguration(caFile: certificates.caFile, verifyHostname: true)
            let connection = try await CQLConnection.connect(to: address, configuration: configuration)
            #expect(try await connection.send(.query("INSERT", CQLQueryParameters())) == .result(.void))
            await connection.close()
        }
    }

    @Test func refusesAServerCertificateFromAnotherCA() async throws {
        guard let certificates = try Self.makeCertificates() else {
            Issue.record("openssl could not make test certificates")
            return
        }
        defer { certificates.remove() }
        try await withTLSServer(certificates) { address in
            var configuration = CQLConnectionConfiguration()
            configuration.tls = CQLTLSConfiguration(caFile: certificates.otherCAFile, verifyHostname: false)
            configuration.connectTimeout = .seconds(3)
            await #expect(throws: CQLClientError.self) {
                _ = try await CQLConnection.connect(to: address, configuration: configuration)
            }
        }
    }

    @Test func missingCAFileIsAClearConfigurationError() async throws {
        var configuration = CQLConnectionConfiguration()
        configuration.tls = CQLTLSConfiguration(caFile: "/nonexistent/ca.pem")
        await #expect {
            _ = try await CQLConnection.connect(to: CQLHostAddress(host: "127.0.0.1", port: 9), configuration: configuration)
        } throws: { error in
            guard let error = error as? CQLClientError, case .tls = error.kind else { return false }
            return error.message.hasPrefix("TLS configuration failed")
        }
    }
}
