/// The one error type of the Fleet module: a code, the peer or file involved, and a message a user can act on.
public struct FleetError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, in a form code can switch on.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case versionMismatch, badToken, tokenRequired, duplicateWorker, runFinished, protocolViolation
            case coordinatorUnreachable, coordinatorLost, refused, invalidConfiguration, journal, histogram, workload
            case actionRefused
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// Worker and coordinator run different stampede or protocol versions.
        public static let versionMismatch = Code(.versionMismatch)
        /// The worker's token does not match the coordinator's.
        public static let badToken = Code(.badToken)
        /// The coordinator listens on a non-loopback address and no token was configured.
        public static let tokenRequired = Code(.tokenRequired)
        /// A worker id is already in use by a live worker.
        public static let duplicateWorker = Code(.duplicateWorker)
        /// The run has already finished.
        public static let runFinished = Code(.runFinished)
        /// A peer sent a message that is not valid at this point of the conversation.
        public static let protocolViolation = Code(.protocolViolation)
        /// The coordinator could not be reached within the retry budget.
        public static let coordinatorUnreachable = Code(.coordinatorUnreachable)
        /// The coordinator went away in the middle of the run.
        public static let coordinatorLost = Code(.coordinatorLost)
        /// The coordinator refused the worker for another reason.
        public static let refused = Code(.refused)
        /// A configuration value is invalid.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// The run journal could not be written or read.
        public static let journal = Code(.journal)
        /// A histogram snapshot is malformed or uses another layout.
        public static let histogram = Code(.histogram)
        /// The load engine failed on the worker.
        public static let workload = Code(.workload)
        /// A run-control request (change the load, start another run) does not fit the coordinator's state now.
        public static let actionRefused = Code(.actionRefused)

        public var description: String { value.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// A message a user can act on.
    public var message: String
    /// The worker, address or file involved, if any.
    public var subject: String?

    /// Creates an error.
    public init(_ code: Code, _ message: String, subject: String? = nil) {
        self.code = code
        self.message = message
        self.subject = subject
    }

    public var description: String {
        if let subject { return "\(message) (\(subject))" }
        return message
    }
}
