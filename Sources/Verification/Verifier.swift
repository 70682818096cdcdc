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

    public init(concurrency: Int = 16, windowSize: UInt64 = 1 << 28, sampleLimit: Int = 10) {
        self.concurrency = concurrency
        self.windowSize = windowSize
        self.sampleLimit = sampleLimit
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
    public let options: VerifierOptions

    public init(expectation: RunExpectation, identity: RunMessageIdentity, reader: any MessageReader, options: VerifierOptions = .init()) {
        self.expectation = expectation
        self.identity = identity
        self.reader = reader
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
        return try await Verifier(expectation: expectation, identity: identity, reader: reader, options: options).run(progress: progress)
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
        let done = NIOLockedValueBox((partitions: 0, rows: UInt64(0)))
        let partitionsTotal = conversations.count * windowCount

        for window in 0..<windowCount {
            let lower = UInt64(window) * windowSize
            let upper = window == windowCount - 1 ? total : lower + windowSize
            let isLast = window == windowCount - 1
            // Bounds of the read: open-ended at both ends of the run, so phantoms beyond it are seen.
            let readLower = window == 0 ? nil : identity.messageID(of: lower)
            let readUpper = isLast ? nil : identity.messageID(of: upper - 1)
            let state = NIOLockedValueBox(WindowState(bitmap: FoundIndexBitmap(lower: lower, upper: upper)))

            try await withThrowingTaskGroup(of: Void.self) { group in
                var next = 0
                func addTask() {
                    let conversation = next
                    next += 1
                    group.addTask {
                        let rows = try await scan(conversation: conversation, lower: lower, upper: upper, isLast: isLast,
                                                  readLower: readLower, readUpper: readUpper, state: state)
                        let snapshot = done.withLockedValue { done in
                            done.partitions += 1
                            done.rows += rows
                            return done
                        }
                        progress?(VerificationProgress(partitionsDone: snapshot.partitions, partitionsTotal: partitionsTotal, rowsRead: snapshot.rows))
                    }
                }
                while next < min(conversations.count, max(1, options.concurrency)) { addTask() }
                while try await group.next() != nil {
                    if next < conversations.count { addTask() }
                }
            }
            let scanned = state.withLockedValue { $0 }
            classify(window: scanned, into: &report)
        }
        attributeByCount(&report)
        report.partitionsScanned = partitionsTotal
        report.elapsedSeconds = Self.seconds(clock.now - start)
        return report
    }

    /// Reads one partition of one window, setting found bits and counting phantoms; returns the rows read.
    private func scan(
        conversation: Int, lower: UInt64, upper: UInt64, isLast: Bool, readLower: UUID?, readUpper: UUID?,
        state: NIOLockedValueBox<WindowState>
    ) async throws -> UInt64 {
        let conversationID = identity.conversations[conversation]
        let total = expectation.total
        let sampleLimit = options.sampleLimit
        var batch: [UInt64] = []
        batch.reserveCapacity(4096)
        var local = (rows: UInt64(0), other: UInt64(0), phantoms: UInt64(0))
        var phantomSamples: [VerificationReport.Sample] = []
        func flush() {
            let indexes = batch
            batch.removeAll(keepingCapacity: true)
            let duplicates = state.withLockedValue { state -> [UInt64] in
                var duplicates: [UInt64] = []
                for index in indexes where !state.bitmap.insert(index) { duplicates.append(index) }
                return duplicates
            }
            for index in duplicates { phantom(index, identity.messageID(of: index), "read twice") }
        }
        func phantom(_ index: UInt64?, _ id: UUID, _ reason: String) {
            local.phantoms += 1
            if phantomSamples.count < sampleLimit {
                phantomSamples.append(.init(index: index, conversationID: conversationID, messageID: id, reason: reason))
            }
        }
        try await reader.forEachMessageID(in: conversationID, from: readLower, through: readUpper) { id in
            local.rows += 1
            guard let index = identity.index(of: id) else {
                local.other += 1
                return
            }
            if index >= total {
                if isLast { phantom(index, id, "beyond the run's \(total) indexes") }
                return
            }
            guard index >= lower, index < upper else { return }  // another window's
            if identity.conversationIndex(of: index) != conversation {
                phantom(index, id, "in the wrong conversation")
            } else if !identity.writesEveryIndex, !identity.isWrite(index) {
                phantom(index, id, "index is not a write of \(expectation.mix.rawValue)")
            } else {
                batch.append(index)
                if batch.count == 4096 { flush() }
            }
        }
        flush()
        state.withLockedValue { state in
            state.rowsRead += local.rows
            state.otherRows += local.other
            state.phantoms += local.phantoms
            for sample in phantomSamples where state.phantomSamples.count < sampleLimit { state.phantomSamples.append(sample) }
        }
        return local.rows
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
            report.expected += 1
            let found = bitmap.contains(index)
            switch (cursor.outcome(of: index), found) {
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
