import CQLClient
import CQLProtocol
import Foundation
import LoadEngine
import NIOConcurrencyHelpers

/// Settings of a verification.
public struct VerifierOptions: Sendable {
    /// Partitions read at the same time (16).
    public var concurrency = 16
    /// Indexes held in the found-bitmap at once (2^28 = 32 MiB); larger runs are verified in several passes,
    /// each reading only its message id range.
    public var windowSize: UInt64 = 1 << 28
    /// How many keys of each problem the report lists (10).
    public var sampleLimit = 10
    /// Read the table by token ranges in parallel instead of partition by partition (for large runs on a real
    /// cluster; falls back to partitions when the server does not support `token()` restrictions).
    public var useTokenRanges = false
    /// Token ranges the ring is split into (256).
    public var tokenRanges = 256

    public init(concurrency: Int = 16, windowSize: UInt64 = 1 << 28, sampleLimit: Int = 10, useTokenRanges: Bool = false, tokenRanges: Int = 256) {
        self.concurrency = concurrency
        self.windowSize = windowSize
        self.sampleLimit = sampleLimit
        self.useTokenRanges = useTokenRanges
        self.tokenRanges = tokenRanges
    }
}

/// How far a verification has got, for a progress bar.
public struct VerificationProgress: Sendable, Hashable {
    /// Partitions read so far, over every pass.
    public var partitionsDone: Int
    public var partitionsTotal: Int
    public var rowsRead: UInt64
    public var fractionDone: Double { partitionsTotal == 0 ? 1 : Double(partitionsDone) / Double(partitionsTotal) }
}

/// Reads back what a run wrote and reconciles it with what the run believed.
///
/// Memory is bounded: the verifier reads partition by partition (conversation by conversation), turns every message
/// id back into its index with the run's deterministic identity, and keeps one bit per index of the current window.
///
/// ```swift
/// let report = try await Verifier.verify(session: session, expectation: expectation)
/// print(report.rendered())
/// ```
public struct Verifier: Sendable {
    public let expectation: RunExpectation
    public let identity: RunMessageIdentity
    public let reader: any MessageReader
    /// When set, the table is read by token ranges in parallel instead of partition by partition.
    public let ringReader: (any RingMessageReader)?
    public let options: VerifierOptions

    public init(expectation: RunExpectation, identity: RunMessageIdentity, reader: any MessageReader,
                ringReader: (any RingMessageReader)? = nil, options: VerifierOptions = .init()) {
        self.expectation = expectation
        self.identity = identity
        self.reader = reader
        self.ringReader = ringReader
        self.options = options
    }

    /// Verifies a run against a live cluster: rebuilds the run's workload (loading seeded users and conversations
    /// when the run did), reads every conversation partition and reconciles.
    public static func verify(
        session: CQLSession, expectation: RunExpectation, keyspace: String = ChatSchema.keyspace,
        consistency: CQLConsistency = .all, options: VerifierOptions = .init(),
        progress: (@Sendable (VerificationProgress) -> Void)? = nil
    ) async throws -> VerificationReport {
        let identity = try await RunMessageIdentity.load(expectation: expectation, session: session)
        let reader = CQLMessageReader(session: session, keyspace: keyspace, consistency: consistency)
        var ringReader: CQLRingMessageReader?
        var note: String?
        if options.useTokenRanges {
            let candidate = CQLRingMessageReader(session: session, keyspace: keyspace, consistency: consistency)
            if let reason = await candidate.unsupportedReason() {
                note = "token-range scans not supported by this server (\(reason)); read partition by partition"
            } else {
                ringReader = candidate
            }
        }
        var report = try await Verifier(expectation: expectation, identity: identity, reader: reader, ringReader: ringReader, options: options)
            .run(progress: progress)
        if let note { report.notes.append(note) }
        return report
    }

    /// Scan results shared by the partition tasks of one window.
    struct WindowState {
        var bitmap: FoundIndexBitmap
        var phantoms: UInt64 = 0
        var phantomSamples: [VerificationReport.Sample] = []
        var otherRows: UInt64 = 0
        var rowsRead: UInt64 = 0
    }

    /// Runs the verification.
    public func run(progress: (@Sendable (VerificationProgress) -> Void)? = nil) async throws -> VerificationReport {
        let clock = ContinuousClock()
        let start = clock.now
        let total = expectation.total
        let windowSize = max(64, options.windowSize)
        let windowCount = total == 0 ? 1 : Int((total + windowSize - 1) / windowSize)
        let conversations = identity.conversations
        var report = VerificationReport(runID: expectation.run.id, total: total, isCompletedFixedTotal: expectation.isCompletedFixedTotal)
        report.outcomeSource = expectation.outcomeSource
        let done = NIOLockedValueBox((partitions: 0, rows: UInt64(0)))
        // Token-range scans read the whole table (every partition, even ones outside the dataset) in parallel ranges.
        let ranges: [TokenRange]? = ringReader == nil ? nil : TokenRange.split(count: max(1, options.tokenRanges))
        let unitCount = ranges?.count ?? conversations.count
        let partitionsTotal = unitCount * windowCount
        report.strategy = ranges == nil ? "partitions" : "token-ranges"

        for window in 0..<windowCount {
            let lower = UInt64(window) * windowSize
            let upper = window == windowCount - 1 ? total : lower + windowSize
            let isLast = window == windowCount - 1
            // Bounds of the read: open-ended at both ends of the run, so phantoms beyond it are seen.
            let readLower = window == 0 ? nil : identity.messageID(of: lower)
            let readUpper = isLast ? nil : identity.messageID(of: upper - 1)
            let state = NIOLockedValueBox(WindowState(bitmap: FoundIndexBitmap(lower: lower, upper: upper)))

            let scanWindow = WindowScanner.Window(lower: lower, upper: upper, isLast: isLast)
            try await withThrowingTaskGroup(of: Void.self) { group in
                var next = 0
                func addTask() {
                    let unit = next
                    next += 1
                    group.addTask {
                        let rows: UInt64
                        if let ringReader, let ranges {
                            rows = try await scan(tokenRange: ranges[unit], reader: ringReader, window: scanWindow, state: state)
                        } else {
                            rows = try await scan(conversation: unit, window: scanWindow, readLower: readLower, readUpper: readUpper, state: state)
                        }
                        let snapshot = done.withLockedValue { done in
                            done.partitions += 1
                            done.rows += rows
                            return done
                        }
                        progress?(VerificationProgress(partitionsDone: snapshot.partitions, partitionsTotal: partitionsTotal, rowsRead: snapshot.rows))
                    }
                }
                while next < min(unitCount, max(1, options.concurrency)) { addTask() }
                while try await group.next() != nil {
                    if next < unitCount { addTask() }
                }
            }
            let scanned = state.withLockedValue { $0 }
            classify(window: scanned, into: &report)
        }
        attributeByCount(&report)
        report.partitionsScanned = ranges == nil ? partitionsTotal : conversations.count
        report.elapsedSeconds = Self.seconds(clock.now - start)
        return report
    }

    /// Reads one partition of one window, setting found bits and counting phantoms; returns the rows read.
    private func scan(
        conversation: Int, window: WindowScanner.Window, readLower: UUID?, readUpper: UUID?,
        state: NIOLockedValueBox<WindowState>
    ) async throws -> UInt64 {
        var scanner = WindowScanner(verifier: self, window: window, state: state)
        let conversationID = identity.conversations[conversation]
        try await reader.forEachMessageID(in: conversationID, from: readLower, through: readUpper) { id in
            scanner.accept(conversation: conversation, conversationID: conversationID, messageID: id)
        }
        return scanner.finish()
    }

    /// Reads one token range of the whole table for one window; returns the rows read.
    private func scan(
        tokenRange: TokenRange, reader: any RingMessageReader, window: WindowScanner.Window, state: NIOLockedValueBox<WindowState>
    ) async throws -> UInt64 {
        var scanner = WindowScanner(verifier: self, window: window, state: state)
        try await reader.forEachMessage(in: tokenRange) { conversationID, id in
            scanner.accept(conversation: identity.conversationIndex(ofConversation: conversationID), conversationID: conversationID, messageID: id)
        }
        return scanner.finish()
    }

    /// Walks the window's indexes in order and tallies each write index by what the run believed and what was found.
    func classify(window: WindowState, into report: inout VerificationReport) {
        let bitmap = window.bitmap
        var cursor = RunExpectation.OutcomeCursor(expectation, from: bitmap.lower)
        let limit = options.sampleLimit
        func sample(_ index: UInt64) -> VerificationReport.Sample {
            .init(index: index, conversationID: identity.conversations[identity.conversationIndex(of: index)],
                  messageID: identity.messageID(of: index))
        }
        let everyIndex = identity.writesEveryIndex
        var index = bitmap.lower
        while index < bitmap.upper {
            defer { index += 1 }
            if !everyIndex, !identity.isWrite(index) { continue }
            let found = bitmap.contains(index)
            let outcome = cursor.outcome(of: index)
            if outcome == .notExecuted {
                // Never attempted: not expected; found means something else wrote the run's message.
                report.notExecuted += 1
                if found {
                    report.phantoms += 1
                    if report.phantomSamples.count < limit {
                        var unexpected = sample(index)
                        unexpected.reason = "the run never executed this index"
                        report.phantomSamples.append(unexpected)
                    }
                }
                continue
            }
            report.expected += 1
            switch (outcome, found) {
            case (.acknowledged, true):
                report.acknowledgedFound += 1
            case (.acknowledged, false):
                report.lost += 1
                if report.lostSamples.count < limit { report.lostSamples.append(sample(index)) }
            case (.unknown, true):
                report.unknownFound += 1
                if report.unknownFoundSamples.count < limit { report.unknownFoundSamples.append(sample(index)) }
            case (.unknown, false):
                report.unknownAbsent += 1
                if report.unknownAbsentSamples.count < limit { report.unknownAbsentSamples.append(sample(index)) }
            case (.failed, true):
                report.failedFound += 1
                if report.failedFoundSamples.count < limit { report.failedFoundSamples.append(sample(index)) }
            case (.failed, false):
                report.failedAbsent += 1
            case (.notExecuted, _):
                break
            }
        }
        report.phantoms += window.phantoms
        for phantom in window.phantomSamples where report.phantomSamples.count < limit { report.phantomSamples.append(phantom) }
        report.otherRows += window.otherRows
        report.rowsRead += window.rowsRead
    }

    /// When the run gave only a count of acknowledged writes, the missing messages are first attributed to the writes
    /// it did not see acknowledged; only the excess is lost.
    func attributeByCount(_ report: inout VerificationReport) {
        guard let acknowledged = expectation.acknowledgedCount else { return }
        report.acknowledgedByRun = acknowledged
        let unacknowledged = report.expected > acknowledged ? report.expected - acknowledged : 0
        let attributed = min(report.lost, unacknowledged)
        guard attributed > 0 else { return }
        report.unacknowledgedAbsent = attributed
        report.lost -= attributed
        if report.lost == 0 {
            report.unacknowledgedAbsentSamples = report.lostSamples
            report.lostSamples = []
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

extension RunMessageIdentity {
    /// The identity of a run's messages as the run saw them: its workload rebuilt, with seeded users and
    /// conversations loaded from `session` when the run used them.
    public static func load(expectation: RunExpectation, session: CQLSession?) async throws -> RunMessageIdentity {
        let workload = ChatWorkload(mix: expectation.mix, run: expectation.run, options: expectation.options)
        guard expectation.options.useSeededRows, let session else { return RunMessageIdentity(workload: workload) }
        let context = WorkloadSetupContext(bindTypes: []) { cql in
            var rows: [[CQLValue]] = []
            for try await row in session.rows(cql) { rows.append(row) }
            return rows
        }
        let ready: any Workload
        do {
            ready = try await workload.setUp(context)
        } catch {
            throw VerificationError(.readFailed, "loading the seeded users and conversations failed: \(error)")
        }
        guard let chat = ready as? ChatWorkload else {
            throw VerificationError(.invalidRun, "workload \(workload.name) did not set up as a chat workload")
        }
        return RunMessageIdentity(workload: chat)
    }
}
