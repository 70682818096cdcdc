/// How the dashboard is served. A value validated once at start-up (``validated()``).
public struct DashboardConfiguration: Sendable {
    /// The address to bind (default `127.0.0.1`: loopback only).
    public var host: String
    /// The port (default 8089, Locust's; 0 picks a free one).
    public var port: Int
    /// HTTP basic credentials (`--web-auth user:password`); `nil` for none.
    public var basicAuth: BasicCredentials?
    /// A shared token accepted as `Authorization: Bearer`, `X-Stampede-Token` or `?token=`; `nil` for none.
    public var token: String?
    /// Where reports of finished runs are written (`--report-dir`); `nil` to keep them in memory only.
    public var reportDirectory: String?
    /// The file prefix of the Locust-style CSVs (`<prefix>_stats.csv`, ...).
    public var reportPrefix: String
    /// How often the live stream pushes an update (default 1 s).
    public var pushInterval: Duration
    /// The Stampede version shown on the page and stored in bundles.
    public var stampedeVersion: String

    /// Defaults: loopback, port 8089, no authentication, updates every second.
    public init(
        host: String = "127.0.0.1", port: Int = 8089, basicAuth: BasicCredentials? = nil, token: String? = nil,
        reportDirectory: String? = nil, reportPrefix: String = "stampede", pushInterval: Duration = .seconds(1),
        stampedeVersion: String = "unknown"
    ) {
        self.host = host
        self.port = port
        self.basicAuth = basicAuth
        self.token = token
        self.reportDirectory = reportDirectory
        self.reportPrefix = reportPrefix
        self.pushInterval = pushInterval
        self.stampedeVersion = stampedeVersion
    }

    /// True when the dashboard asks for credentials.
    public var requiresAuthentication: Bool { basicAuth != nil || token != nil }

    /// True when ``host`` is a loopback address.
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// The configuration, or an error naming the bad setting.
    public func validated() throws(DashboardError) -> DashboardConfiguration {
        guard (0...65535).contains(port) else {
            throw DashboardError(.invalidConfiguration, "--web-port must be between 0 and 65535 (got \(port))")
        }
        guard !host.isEmpty else { throw DashboardError(.invalidConfiguration, "--web-host must not be empty") }
        guard pushInterval > .zero, pushInterval <= .seconds(1) else {
            throw DashboardError(.invalidConfiguration, "the live push interval must be more than 0 and at most 1 s")
        }
        if let token, token.isEmpty { throw DashboardError(.invalidConfiguration, "the web token must not be empty") }
        guard !reportPrefix.isEmpty, !reportPrefix.contains("/") else {
            throw DashboardError(.invalidConfiguration, "the report prefix must be a plain file name prefix (got '\(reportPrefix)')")
        }
        return self
    }
}

/// A user name and password for HTTP basic authentication.
public struct BasicCredentials: Sendable, Hashable {
    public var user: String
    public var password: String

    public init(user: String, password: String) {
        self.user = user
        self.password = password
    }

    /// Parses `user:password` (the password may contain `:`).
    public init(parsing text: String) throws(DashboardError) {
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else {
            throw DashboardError(.invalidConfiguration, "--web-auth must look like user:password")
        }
        let password = String(text[text.index(after: colon)...])
        guard !password.isEmpty else { throw DashboardError(.invalidConfiguration, "--web-auth needs a non-empty password") }
        self.init(user: String(text[..<colon]), password: password)
    }
}
