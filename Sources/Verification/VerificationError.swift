/// The one error type of the Verification module: a code, the host/statement/file involved, and a message a
/// user can act on.
public struct VerificationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, broadly.
    public struct Code: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A run description (flags or results file) is incomplete or malformed.
        public static let invalidRun = Code(rawValue: "invalid-run")
        /// A results file could not be read or parsed.
        public static let unreadableResults = Code(rawValue: "unreadable-results")
        /// Reading back from the database failed.
        public static let readFailed = Code(rawValue: "read-failed")
        /// Writing (seeding) to the database failed.
        public static let writeFailed = Code(rawValue: "write-failed")
        /// A configuration value is invalid.
        public static let invalidConfiguration = Code(rawValue: "invalid-configuration")
    }

    public var code: Code
    public var message: String
    /// The host, statement or file involved, if any.
    public var subject: String?

    public init(_ code: Code, _ message: String, subject: String? = nil) {
        self.code = code
        self.message = message
        self.subject = subject
    }

    public var description: String {
        if let subject { return "\(subject): \(message)" }
        return message
    }
}
