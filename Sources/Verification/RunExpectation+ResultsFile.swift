import Foundation
import LoadEngine

extension RunExpectation {
    /// Reads what a run believed from its results JSON (`stampede run` / `distributed_results.json`).
    ///
    /// The reader is tolerant of where fields live (top level, `run`, `configuration`, `options`) and of their
    /// spelling (snake or camel case). It needs the run id and its epoch (`run_id` + `run_epoch_millis`, or a
    /// `run: {id, epochMillis}` object) and the total (`target`, else `total_messages`); it also reads `workload`,
    /// `completed`/`stop_reason`, `total_messages` (acknowledged writes), `index_outcomes` (the run's unknown-outcome,
    /// failed and unexecuted indexes as ranges; older files: `unknown_indexes` and `failed_indexes` arrays), and the dataset options (`config`: `senders`, `conversations`,
    /// `members_per_conversation`, `vietnamese`, `seeded_rows`) — the fields of LoadEngine's `RunResults`.
    public static func load(resultsFile path: String) throws -> RunExpectation {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw VerificationError(.unreadableResults, "cannot read the results file: \(error.localizedDescription)", subject: path)
        }
        return try load(resultsJSON: data, source: path)
    }

    /// Reads what a run believed from results JSON bytes; `source` names them in errors.
    public static func load(resultsJSON data: Data, source: String = "results") throws -> RunExpectation {
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw VerificationError(.unreadableResults, "not valid JSON: \(error.localizedDescription)", subject: source)
        }
        let fields = JSONFields(root)
        guard let runID = fields.string("run_id", "runID", "runId", "run.id", "run_identity.id", "identity.id") else {
            throw VerificationError(.invalidRun, "no run id (expected \"run_id\" or \"run\": {\"id\": ...})", subject: source)
        }
        guard let epoch = fields.integer("run_epoch_millis", "epoch_millis", "epochMillis", "run.epochMillis",
                                         "run.epoch_millis", "run_identity.epochMillis", "identity.epochMillis") else {
            throw VerificationError(.invalidRun, "no run epoch (expected \"run_epoch_millis\" or \"run\": {\"epochMillis\": ...}); "
                                    + "without it message ids cannot be recomputed", subject: source)
        }
        // Top level only: distributed results name their model there (a single run's `config.model` is no concern).
        if let model = (root as? [String: Any])?["model"] as? String, model == "closed" || model == "open" {
            // Each worker of such a run writes its own index space (base worker << 40), which the results do not list.
            throw VerificationError(
                .invalidRun, "a distributed \(model)-model run cannot be verified yet: its workers write separate index "
                + "spaces that the results do not list; verify fixed-total distributed runs (--target), or single-process runs",
                subject: source)
        }
        let outcomes: IndexOutcomes?
        do {
            outcomes = try JSONDecoder().decode(OutcomeListsDocument.self, from: data).indexOutcomes
        } catch {
            throw VerificationError(.invalidRun, "\"index_outcomes\" is malformed: \(error)", subject: source)
        }
        // A run without a target (by duration or Ctrl-C) issued `0..<issued`; its acknowledged count is no total.
        guard let total = fields.integer("target", "total", "configuration.target").flatMap({ $0 > 0 ? UInt64($0) : nil }) ?? outcomes?.issued
                ?? fields.integer("total_messages", "totalMessages").map(UInt64.init(clamping:)) else {
            throw VerificationError(.invalidRun, "no total (expected \"target\" or \"total_messages\")", subject: source)
        }
        var mix = ChatWorkload.Mix.write
        if let name = fields.string("workload", "configuration.workload") {
            guard let parsed = ChatWorkload.Mix(rawValue: name) else {
                throw VerificationError(.invalidRun, "workload '\(name)' cannot be verified (only chat-write and chat-mixed)", subject: source)
            }
            mix = parsed
        }
        var options = ChatWorkload.Options()
        if let users = fields.integer("senders", "users_count", "dataset_users", "options.users") { options.users = Int(users) }
        if let count = fields.integer("conversations", "options.conversations") { options.conversations = Int(count) }
        if let count = fields.integer("members_per_conversation", "membersPerConversation", "options.members_per_conversation") {
            options.membersPerConversation = Int(count)
        }
        options.vietnamese = fields.bool("vietnamese", "options.vietnamese") ?? false
        options.useSeededRows = fields.bool("seeded_rows", "use_seeded_rows", "useSeededRows", "options.use_seeded_rows") ?? false
        if let limit = fields.integer("seeded_row_limit", "options.seeded_row_limit") { options.seededRowLimit = Int(limit) }
        let completed: Bool
        if let flag = fields.bool("completed", "complete") {
            completed = flag
        } else if let status = fields.string("stop_reason", "stopReason", "status", "outcome") {
            completed = ["completed", "complete", "finished", "ok", "passed"].contains(status.lowercased())
        } else {
            completed = true
        }
        let acknowledged = fields.integer("total_messages", "totalMessages").map { UInt64(max(0, $0)) }
        let run = RunIdentity(id: runID, epochMillis: epoch)
        if let outcomes {
            // The run listed its given-up and unexecuted indexes: the split is exact, unless a list overflowed.
            var expectation = RunExpectation(
                run: run, mix: mix, options: options, total: total, isCompletedFixedTotal: completed, outcomes: outcomes,
                acknowledgedCount: outcomes.isComplete ? nil : acknowledged)
            expectation.outcomeSource = outcomes.isComplete
                ? "the run's lists of unknown-outcome, failed and unexecuted indexes"
                : "the run's index lists, which overflowed their bound: the rest is attributed by count"
            return expectation
        }
        let unknown = fields.integers("unknown_indexes", "unknown_indices", "unknownOutcomeIndexes", "unknown_outcome_indexes")
        let failed = fields.integers("failed_indexes", "failed_indices", "failedIndexes")
        var expectation = RunExpectation(
            run: run, mix: mix, options: options, total: total,
            isCompletedFixedTotal: completed, unknownOutcome: unknown, failed: failed,
            acknowledgedCount: unknown.isEmpty && failed.isEmpty ? acknowledged : nil)
        expectation.outcomeSource = unknown.isEmpty && failed.isEmpty
            ? "counts only (the results list no indexes): missing messages are attributed to unacknowledged writes first, an upper bound"
            : "the run's lists of unknown-outcome and failed indexes"
        return expectation
    }
}

/// The `index_outcomes` object of a results document (LoadEngine's `RunResults`, Fleet's `DistributedResults`).
private struct OutcomeListsDocument: Decodable {
    var indexOutcomes: IndexOutcomes?

    enum CodingKeys: String, CodingKey { case indexOutcomes = "index_outcomes" }
}

/// Looks up fields of a decoded JSON document by dotted paths, trying each alias in turn.
struct JSONFields {
    let root: Any

    init(_ root: Any) { self.root = root }

    /// The value at `path`, looked up from the root and, for single names, also under common containers.
    func value(_ path: String) -> Any? {
        let parts = path.split(separator: ".").map(String.init)
        let containers: [[String]] = parts.count == 1 ? [[], ["run"], ["configuration"], ["config"], ["options"], ["configuration", "options"]] : [[]]
        for container in containers {
            var current: Any? = root
            for key in container + parts {
                current = (current as? [String: Any])?[key]
            }
            if let current, !(current is NSNull) { return current }
        }
        return nil
    }

    func string(_ aliases: String...) -> String? {
        for alias in aliases { if let text = value(alias) as? String, !text.isEmpty { return text } }
        return nil
    }

    func integer(_ aliases: String...) -> Int64? {
        for alias in aliases {
            switch value(alias) {
            case let number as NSNumber: return number.int64Value
            case let text as String: if let parsed = Int64(text) { return parsed }
            default: continue
            }
        }
        return nil
    }

    func bool(_ aliases: String...) -> Bool? {
        for alias in aliases {
            switch value(alias) {
            case let number as NSNumber: return number.boolValue
            case let text as String: if let parsed = Bool(text.lowercased()) { return parsed }
            default: continue
            }
        }
        return nil
    }

    func integers(_ aliases: String...) -> [UInt64] {
        for alias in aliases {
            if let array = value(alias) as? [Any] {
                return array.compactMap { ($0 as? NSNumber).map { UInt64(truncatingIfNeeded: $0.int64Value) } }
            }
        }
        return []
    }
}

extension RunExpectation {
    /// What a run believed, from the results document it just produced (for `stampede run --verify` and the demo).
    public static func from(results: RunResults) throws -> RunExpectation {
        let data: Data
        do {
            data = try results.jsonData()
        } catch {
            throw VerificationError(.unreadableResults, "cannot encode the run's results: \(error)")
        }
        return try load(resultsJSON: data, source: "run \(results.runID)")
    }
}
