/// A `host:port` pair; the port defaults to 9042.
public struct CQLHostAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int = 9042) {
        self.host = host
        self.port = port
    }

    /// Parses `host`, `host:port`, `[v6]:port` or a bare IPv6 address.
    public init(parsing text: String, defaultPort: Int = 9042) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw CQLClientError(.invalidArgument, "empty contact point") }
        if trimmed.hasPrefix("[") {
            guard let close = trimmed.firstIndex(of: "]") else {
                throw CQLClientError(.invalidArgument, "contact point \(text): missing ']'")
            }
            host = String(trimmed[trimmed.index(after: trimmed.startIndex)..<close])
            let rest = trimmed[trimmed.index(after: close)...]
            if rest.isEmpty {
                port = defaultPort
            } else if rest.hasPrefix(":"), let parsed = Int(rest.dropFirst()), (1...65535).contains(parsed) {
                port = parsed
            } else {
                throw CQLClientError(.invalidArgument, "contact point \(text): bad port")
            }
            return
        }
        let colons = trimmed.filter { $0 == ":" }.count
        if colons == 1 {
            let parts = trimmed.split(separator: ":")
            guard parts.count == 2, let parsed = Int(parts[1]), (1...65535).contains(parsed) else {
                throw CQLClientError(.invalidArgument, "contact point \(text): port must be a number from 1 to 65535")
            }
            host = String(parts[0])
            port = parsed
        } else {
            host = trimmed
            port = defaultPort
        }
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

import Foundation
