import Foundation
import NIOConcurrencyHelpers

/// Classifies the rows read for one window of indexes: sets found bits in batches, counts phantoms and rows of
/// other runs. One per reading task; `finish()` merges its counts into the window's shared state.
struct WindowScanner {
    /// The indexes `lower..<upper` a pass covers; the last pass also owns everything at or beyond the total.
    struct Window: Sendable {
        var lower: UInt64
        var upper: UInt64
        var isLast: Bool
    }

    let identity: RunMessageIdentity
    let total: UInt64
    let mix: String
    let sampleLimit: Int
    let window: Window
    let state: NIOLockedValueBox<Verifier.WindowState>
    var batch: [UInt64] = []
    var rows: UInt64 = 0
    var other: UInt64 = 0
    var phantoms: UInt64 = 0
    var phantomSamples: [VerificationReport.Sample] = []

    init(verifier: Verifier, window: Window, state: NIOLockedValueBox<Verifier.WindowState>) {
        identity = verifier.identity
        total = verifier.expectation.total
        mix = verifier.expectation.mix.rawValue
        sampleLimit = verifier.options.sampleLimit
        self.window = window
        self.state = state
        batch.reserveCapacity(4096)
    }

    /// One row: `conversation` is the dataset index of its partition, nil when the partition is not in the dataset.
    mutating func accept(conversation: Int?, conversationID: UUID, messageID id: UUID) {
        rows += 1
        guard let index = identity.index(of: id) else {
            other += 1
            return
        }
        if index >= total {
            if window.isLast { phantom(index, conversationID, id, "beyond the run's \(total) indexes") }
            return
        }
        guard index >= window.lower, index < window.upper else { return }  // another pass's
        guard let conversation else {
            phantom(index, conversationID, id, "in a conversation outside the run's dataset")
            return
        }
        if identity.conversationIndex(of: index) != conversation {
            phantom(index, conversationID, id, "in the wrong conversation")
        } else if !identity.writesEveryIndex, !identity.isWrite(index) {
            phantom(index, conversationID, id, "index is not a write of \(mix)")
        } else {
            batch.append(index)
            if batch.count == 4096 { flush() }
        }
    }

    private mutating func phantom(_ index: UInt64?, _ conversationID: UUID, _ id: UUID, _ reason: String) {
        phantoms += 1
        if phantomSamples.count < sampleLimit {
            phantomSamples.append(.init(index: index, conversationID: conversationID, messageID: id, reason: reason))
        }
    }

    private mutating func flush() {
        let indexes = batch
        batch.removeAll(keepingCapacity: true)
        let duplicates = state.withLockedValue { state -> [UInt64] in
            var duplicates: [UInt64] = []
            for index in indexes where !state.bitmap.insert(index) { duplicates.append(index) }
            return duplicates
        }
        for index in duplicates {
            phantom(index, identity.conversations[identity.conversationIndex(of: index)], identity.messageID(of: index), "read twice")
        }
    }

    /// Merges this task's counts into the window; returns the rows it read.
    mutating func finish() -> UInt64 {
        flush()
        let (rows, other, phantoms, samples, limit) = (rows, other, phantoms, phantomSamples, sampleLimit)
        state.withLockedValue { state in
            state.rowsRead += rows
            state.otherRows += other
            state.phantoms += phantoms
            for sample in samples where state.phantomSamples.count < limit { state.phantomSamples.append(sample) }
        }
        return rows
    }
}
