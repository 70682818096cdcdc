/// An error raised while encoding or decoding native-protocol bytes.
///
/// Decoding never traps: every malformed, truncated or out-of-range input becomes one of these.
public struct CQLProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, in broad strokes.
    public enum Code: Sendable, Hashable {
        /// The bytes end before the structure they announce.
        case truncated
        /// A length, count or enum value is outside what the protocol allows.
        case malformed
        /// A protocol version this implementation does not speak.
        case unsupportedVersion
        /// An opcode that is unknown or not valid in this direction.
        case unknownOpcode
        /// A Swift value that cannot be represented as the requested CQL type.
        case typeMismatch
        /// A frame larger than the configured maximum.
        case frameTooLarge
        /// Compressed payload that could not be inflated, or a compression algorithm that is not available.
        case compression
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    static func truncated(_ what: String) -> CQLProtocolError {
        CQLProtocolError(.truncated, "truncated \(what)")
    }

    static func malformed(_ what: String) -> CQLProtocolError {
        CQLProtocolError(.malformed, "malformed \(what)")
    }
}
