/// Failed attempts counted by error kind and message, bounded so a flood of distinct messages (each naming another
/// host or stream) cannot grow without limit: at most ``limit`` distinct (kind, message) pairs, each message cut to
/// ``maxMessageLength`` characters; anything beyond is counted under (kind, ``overflowMessage``). Merges exactly while
/// under the bound. Pure value.
public struct ErrorMessageCounts: Sendable, Equatable {
    /// One (kind, message) pair.
    public struct Key: Sendable, Hashable {
        public var kind: ErrorKind
        public var message: String

        public init(kind: ErrorKind, message: String) {
            self.kind = kind
            self.message = message
        }
    }

    /// Distinct messages kept (per operation, per interval on a worker, per run on the coordinator).
    public static let limit = 20
    /// Longer messages are cut to this many characters.
    public static let maxMessageLength = 200
    /// The message under which counts beyond the bound are kept.
    public static let overflowMessage = "(other messages)"

    public private(set) var counts: [Key: UInt64] = [:]

    public init() {}

    public var isEmpty: Bool { counts.isEmpty }

    /// Adds `count` failed attempts of `kind` with `message` (cut to the maximum length).
    public mutating func add(kind: ErrorKind, message: String, count: UInt64 = 1) {
        guard count > 0 else { return }
        let text = message.count > Self.maxMessageLength ? String(message.prefix(Self.maxMessageLength)) : message
        var key = Key(kind: kind, message: text)
        if counts[key] == nil, counts.count >= Self.limit {
            key.message = Self.overflowMessage
        }
        counts[key, default: 0] &+= count
    }

    /// Adds every count of `other`.
    public mutating func merge(_ other: ErrorMessageCounts) {
        // Sorted, so the pairs kept when the bound is reached do not depend on dictionary order.
        for (key, count) in other.sorted() { add(kind: key.kind, message: key.message, count: count) }
    }

    /// The pairs, most frequent first (ties by kind, then message).
    public func sorted() -> [(key: Key, count: UInt64)] {
        counts.map { (key: $0.key, count: $0.value) }.sorted { a, b in
            if a.count != b.count { return a.count > b.count }
            if a.key.kind != b.key.kind { return a.key.kind.rawValue < b.key.kind.rawValue }
            return a.key.message < b.key.message
        }
    }
}
