/// The outcome of one preflight check.
public struct DoctorCheck: Sendable, Hashable, Codable {
    /// OK, WARN, FAIL, or SKIP (could not be checked, e.g. nothing was given to check).
    public enum Status: String, Sendable, Hashable, Codable, Comparable {
        case ok = "OK"
        case skip = "SKIP"
        case warn = "WARN"
        case fail = "FAIL"

        var rank: Int {
            switch self {
            case .ok: 0
            case .skip: 1
            case .warn: 2
            case .fail: 3
            }
        }

        public static func < (lhs: Status, rhs: Status) -> Bool { lhs.rank < rhs.rank }
    }

    /// What was checked, e.g. `contact point 127.0.0.1:9042`.
    public var name: String
    public var status: Status
    /// What was found, in one line.
    public var detail: String
    /// What to do about it, in one line (for WARN and FAIL).
    public var fix: String?

    public init(_ name: String, _ status: Status, _ detail: String, fix: String? = nil) {
        self.name = name
        self.status = status
        self.detail = detail
        self.fix = fix
    }
}

/// Every check of a `stampede doctor` run.
public struct DoctorReport: Sendable, Hashable, Codable {
    public var checks: [DoctorCheck]

    public init(checks: [DoctorCheck] = []) { self.checks = checks }

    /// The worst status of any check.
    public var worst: DoctorCheck.Status { checks.map(\.status).max() ?? .ok }
    /// Whether any check failed (the command then exits non-zero).
    public var hasFailures: Bool { worst == .fail }

    /// The checks whose name starts with `prefix`.
    public func checks(named prefix: String) -> [DoctorCheck] { checks.filter { $0.name.hasPrefix(prefix) } }

    /// One line per check, with its fix on the next line when it has one, then a summary.
    public func rendered() -> String {
        let width = min(44, checks.map(\.name.count).max() ?? 0)
        var lines: [String] = []
        for check in checks {
            let name = check.name.padding(toLength: max(width, check.name.count), withPad: " ", startingAt: 0)
            lines.append("[\(check.status.rawValue.padding(toLength: 4, withPad: " ", startingAt: 0))] \(name)  \(check.detail)")
            if let fix = check.fix, check.status != .ok { lines.append("       fix: \(fix)") }
        }
        let counts = [DoctorCheck.Status.ok, .warn, .fail, .skip].map { status in
            "\(checks.filter { $0.status == status }.count) \(status.rawValue)"
        }
        lines.append("doctor: " + counts.joined(separator: ", ") + (hasFailures ? " - not ready for a run" : " - ready"))
        return lines.joined(separator: "\n")
    }
}
