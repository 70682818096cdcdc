/// The one error type of the load engine: a code, the file/statement involved, and a message a user can act on.
public struct LoadEngineError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, broadly.
    public struct Code: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A workload profile could not be read or is malformed.
        public static let invalidProfile = Code(rawValue: "invalid-profile")
        /// A configuration value (flag, preset, stage, threshold) is invalid.
        public static let invalidConfiguration = Code(rawValue: "invalid-configuration")
        /// A threshold expression could not be parsed.
        public static let invalidThreshold = Code(rawValue: "invalid-threshold")
        /// Encoded metrics could not be decoded.
        public static let malformedHistogram = Code(rawValue: "malformed-histogram")
        /// The workload could not be prepared against the target (schema, prepare, loading rows).
        public static let workloadSetupFailed = Code(rawValue: "workload-setup-failed")
        /// A work source failed to provide work.
        public static let workSourceFailed = Code(rawValue: "work-source-failed")
    }

    public var code: Code
    public var message: String
    /// The file involved, if any (a profile path).
    public var file: String?
    /// The 1-based line in `file`, if known.
    public var line: Int?
    /// The 1-based column in `file`, if known.
    public var column: Int?

    public init(_ code: Code, _ message: String, file: String? = nil, line: Int? = nil, column: Int? = nil) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
        self.column = column
    }

    /// `file:line:column: message` when a location is known, otherwise the message.
    public var description: String {
        var location = ""
        if let file { location = file }
        if let line { location += (location.isEmpty ? "line " : ":") + String(line) }
        if let column, line != nil { location += ":" + String(column) }
        return location.isEmpty ? message : "\(location): \(message)"
    }
}
