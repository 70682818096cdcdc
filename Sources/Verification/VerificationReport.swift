import Foundation

/// The reconciliation of what a run believed it wrote with what the database holds.
public struct VerificationReport: Sendable, Hashable, Codable {
    /// One message named in the report: its index (when it belongs to the run), conversation and message id.
    public struct Sample: Sendable, Hashable, Codable, CustomStringConvertible {
        public var index: UInt64?
        public var conversationID: UUID
        public var messageID: UUID
        /// Why a phantom is unexpected.
        public var reason: String?

        public init(index: UInt64?, conversationID: UUID, messageID: UUID, reason: String? = nil) {
            self.index = index
            self.conversationID = conversationID
            self.messageID = messageID
            self.reason = reason
        }

        public var description: String {
            var text = index.map { "#\($0) " } ?? ""
            text += "conversation \(conversationID.uuidString.lowercased()) message \(messageID.uuidString.lowercased())"
            if let reason { text += " (\(reason))" }
            return text
        }
    }

    public var runID: String
    /// Indexes issued (`0..<total`).
    public var total: UInt64
    /// Messages the run should have written: the write indexes of `0..<total`.
    public var expected: UInt64
    public var isCompletedFixedTotal: Bool
    /// Acknowledged and found.
    public var acknowledgedFound: UInt64 = 0
    /// Acknowledged but not in the database: lost writes, the serious case.
    public var lost: UInt64 = 0
    /// Unknown outcome (timeout, connection lost), present.
    public var unknownFound: UInt64 = 0
    /// Unknown outcome, absent.
    public var unknownAbsent: UInt64 = 0
    /// Refused by the server yet present.
    public var failedFound: UInt64 = 0
    /// Refused by the server and absent (as expected).
    public var failedAbsent: UInt64 = 0
    /// Absent messages the run did not see acknowledged, when it reported only a count of acknowledged writes
    /// (the missing are attributed to the unacknowledged first; only the excess is `lost`).
    public var unacknowledgedAbsent: UInt64 = 0
    /// The run's own count of acknowledged writes, when it gave one.
    public var acknowledgedByRun: UInt64?
    /// Write indexes of `0..<total` the run never executed (it stopped first); not expected, not in `expected`.
    public var notExecuted: UInt64 = 0
    /// Where the unknown/failed split came from: the run's exact index lists, or counts only (an upper bound).
    public var outcomeSource: String?
    /// Messages of this run that should not exist: beyond the total, in the wrong conversation, not a write.
    public var phantoms: UInt64 = 0
    /// Rows of other runs (or other writers) met in the partitions scanned; informational.
    public var otherRows: UInt64 = 0
    /// How the table was read: `partitions` or `token-ranges`.
    public var strategy: String = "partitions"
    /// Remarks on how the verification ran.
    public var notes: [String] = []
    public var partitionsScanned: Int = 0
    public var rowsRead: UInt64 = 0
    public var elapsedSeconds: Double = 0

    public var lostSamples: [Sample] = []
    public var unknownFoundSamples: [Sample] = []
    public var unknownAbsentSamples: [Sample] = []
    public var unacknowledgedAbsentSamples: [Sample] = []
    public var failedFoundSamples: [Sample] = []
    public var phantomSamples: [Sample] = []

    public init(runID: String, total: UInt64, expected: UInt64 = 0, isCompletedFixedTotal: Bool) {
        self.runID = runID
        self.total = total
        self.expected = expected
        self.isCompletedFixedTotal = isCompletedFixedTotal
    }

    /// Distinct messages of this run found in the database.
    public var found: UInt64 { acknowledgedFound + unknownFound + failedFound + phantoms }

    /// Nothing acknowledged is missing and, for a completed fixed-total run, found == expected exactly.
    public var passed: Bool {
        lost == 0 && (!isCompletedFixedTotal || found == expected)
    }

    /// A human summary, one finding per line, with the first few keys of each problem.
    public func rendered() -> String {
        func n(_ value: UInt64) -> String { value.formatted(.number.grouping(.automatic)) }
        var lines: [String] = []
        lines.append("Verification of run \(runID): \(n(total)) indexes issued, \(n(expected)) messages expected")
        lines.append("  found                       \(n(found)) of \(n(expected))")
        lines.append("  acknowledged and found      \(n(acknowledgedFound))")
        lines.append("  acknowledged but MISSING    \(n(lost))\(lost > 0 ? "   <- lost writes" : "")")
        if unknownFound + unknownAbsent > 0 {
            lines.append("  unknown outcome, found      \(n(unknownFound))")
            lines.append("  unknown outcome, absent     \(n(unknownAbsent))")
        }
        if unacknowledgedAbsent > 0 {
            lines.append("  not acknowledged, absent    \(n(unacknowledgedAbsent))   " + (acknowledgedByRun.map { "(the run reported \(n($0)) acknowledged)" } ?? ""))
        }
        if notExecuted > 0 {
            lines.append("  not executed (run stopped)  \(n(notExecuted))   (not expected)")
        }
        if failedFound + failedAbsent > 0 {
            lines.append("  refused, absent             \(n(failedAbsent))")
            lines.append("  refused, yet found          \(n(failedFound))")
        }
        lines.append("  phantoms (unexpected)       \(n(phantoms))")
        if otherRows > 0 { lines.append("  rows of other runs          \(n(otherRows)) (ignored)") }
        lines.append(String(format: "  scanned %d partitions%@, %@ rows in %.2f s", partitionsScanned,
                            strategy == "token-ranges" ? " (by token ranges)" : "", n(rowsRead), elapsedSeconds))
        if let outcomeSource { lines.append("  outcomes from \(outcomeSource)") }
        for note in notes { lines.append("  note: \(note)") }
        func list(_ title: String, _ samples: [Sample], _ count: UInt64) {
            guard !samples.isEmpty else { return }
            lines.append("  first \(samples.count) of \(n(count)) \(title):")
            for sample in samples { lines.append("    \(sample)") }
        }
        list("lost", lostSamples, lost)
        list("unknown-outcome absent", unknownAbsentSamples, unknownAbsent)
        list("absent and not acknowledged (by count)", unacknowledgedAbsentSamples, unacknowledgedAbsent)
        list("unknown-outcome found", unknownFoundSamples, unknownFound)
        list("refused yet found", failedFoundSamples, failedFound)
        list("phantoms", phantomSamples, phantoms)
        if passed {
            lines.append("PASS: every acknowledged message is in the database" + (isCompletedFixedTotal ? " and found == expected" : ""))
        } else if lost > 0 {
            lines.append("FAIL: \(n(lost)) acknowledged messages are missing")
        } else {
            lines.append("FAIL: found \(n(found)), expected exactly \(n(expected))")
        }
        return lines.joined(separator: "\n")
    }
}
