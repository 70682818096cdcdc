/// The one error type of the dashboard: a code, the file involved, and a message a user can act on.
public struct DashboardError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, broadly.
    public struct Code: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A request from the page (start form, edit) is malformed or impossible.
        public static let invalidRequest = Code(rawValue: "invalid-request")
        /// A configuration value (`--web-auth`, `--web-host`, report directory) is invalid.
        public static let invalidConfiguration = Code(rawValue: "invalid-configuration")
        /// A report or bundle could not be written or read.
        public static let reportFailed = Code(rawValue: "report-failed")
        /// The data source refused a control action (e.g. a run is already in progress).
        public static let actionRefused = Code(rawValue: "action-refused")
    }

    public var code: Code
    public var message: String
    /// The file involved, if any.
    public var file: String?

    public init(_ code: Code, _ message: String, file: String? = nil) {
        self.code = code
        self.message = message
        self.file = file
    }

    public var description: String { file.map { "\($0): \(message)" } ?? message }
}
