import CQLProtocol
import NIOCore
import NIOSSL

/// Username and password for Cassandra's PasswordAuthenticator (SASL PLAIN).
public struct CQLCredentials: Sendable, Hashable {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    /// The SASL PLAIN initial response: `\0username\0password`.
    var plainToken: [UInt8] {
        [0] + Array(username.utf8) + [0] + Array(password.utf8)
    }
}

/// TLS settings for connections to the cluster.
public struct CQLTLSConfiguration: Sendable {
    /// PEM file of the certificate authorities to trust; the system's when `nil`.
    public var caFile: String?
    /// PEM files of a client certificate and its key, for mutual TLS.
    public var clientCertificateFile: String?
    public var clientKeyFile: String?
    /// Whether the server certificate's host name must match the host connected to.
    public var verifyHostname: Bool

    public init(caFile: String? = nil, clientCertificateFile: String? = nil, clientKeyFile: String? = nil, verifyHostname: Bool = true) {
        self.caFile = caFile
        self.clientCertificateFile = clientCertificateFile
        self.clientKeyFile = clientKeyFile
        self.verifyHostname = verifyHostname
    }

    func makeContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        do {
            if let caFile {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            }
            if let clientCertificateFile, let clientKeyFile {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(clientCertificateFile).map { .certificate($0) }
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: clientKeyFile, format: .pem))
            }
            configuration.certificateVerification = verifyHostname ? .fullVerification : .noHostnameVerification
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw CQLClientError(.tls, "TLS configuration failed: \(error)")
        }
    }
}

/// Settings of one connection. Validated once; defaults are documented on each property.
public struct CQLConnectionConfiguration: Sendable {
    /// Highest protocol version to try first (4). Lower versions are tried when the server asks.
    public var protocolVersion: UInt8 = 4
    /// Lowest protocol version this client accepts when negotiating down (3).
    public var minimumProtocolVersion: UInt8 = 3
    /// Maximum requests in flight on one connection (1024; the protocol allows 32768).
    public var maxInFlightRequests: Int = 1024
    /// How long to wait for TCP connect plus handshake (5 s).
    public var connectTimeout: Duration = .seconds(5)
    /// Default per-request timeout (12 s, like the DataStax drivers).
    public var requestTimeout: Duration = .seconds(12)
    /// Send an OPTIONS heartbeat after this long without reads (30 s); `nil` disables heartbeats.
    public var heartbeatInterval: Duration? = .seconds(30)
    /// The keyspace to `USE` right after the handshake.
    public var keyspace: String?
    public var credentials: CQLCredentials?
    public var tls: CQLTLSConfiguration?
    /// Compress frames with LZ4 when the server offers it (false).
    public var compression = false
    /// Events to REGISTER for (control connections only).
    public var eventTypes: [CQLEventType] = []

    public init() {}
}

extension Duration {
    var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        let nanos = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if nanos.overflow { return .max }
        return nanos.partialValue + attoseconds / 1_000_000_000
    }

    var timeAmount: TimeAmount { .nanoseconds(nanosecondsClamped) }
}
