import ArgumentParser
import CQLClient
import Fleet
import Foundation
import LoadEngine
import Logging

/// `stampede run --local-workers N`: the same run, distributed on this machine — a coordinator on a loopback port
/// plus N worker processes it spawns. Results, summary and exit status are those of `stampede coordinator`.
extension RunCommand {
    /// The distributed form of the flags; `profileText` is the YAML of `--profile`, read and validated once.
    func fleetRunConfiguration(profileText: String?) throws -> FleetRunConfiguration {
        guard load.preset == nil else {
            throw ValidationError("--preset runs in one process; with --local-workers give --users/--rate and --stage instead")
        }
        // The same checks as a single-process run (durations, stages, thresholds, think time).
        let (engine, total) = try load.engineConfiguration()
        let identity = load.runIdentity()
        let stages = try load.stages.map { text in
            do { return try Stage(parsing: text) } catch { throw ValidationError("\(error)") }
        }
        let model: FleetRunConfiguration.Model
        var concurrency: Int
        if total != nil {
            guard load.rate == nil, stages.isEmpty else {
                throw ValidationError("with --local-workers, --total runs as many writes in flight as --users; drop --rate/--stage")
            }
            model = .fixedTotal
            // --users is the whole run's concurrency; each worker takes its part.
            let users = load.users ?? 100
            concurrency = max(1, (users + localWorkers - 1) / localWorkers)
        } else if load.rate != nil {
            model = .open
            concurrency = load.maxInFlight
        } else {
            model = .closed
            concurrency = 64
        }
        var options = [
            "senders": String(load.senders), "conversations": String(load.conversations),
            "members_per_conversation": String(load.membersPerConversation), "vietnamese": String(load.vietnamese),
        ]
        if profileText != nil { options = [:] }
        let run = FleetRunConfiguration(
            runID: identity.id, runEpochMillis: identity.epochMillis, workload: load.profile ?? load.workload,
            profileYAML: profileText ?? "",
            contactPoints: cluster.contactPoints.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) },
            keyspace: cluster.keyspace ?? (load.profile == nil ? ChatSchema.keyspace : ""), consistency: load.consistency,
            username: cluster.username ?? "", password: ProcessInfo.processInfo.environment["STAMPEDE_CQL_PASSWORD"] ?? "",
            model: model, target: total ?? 0, chunkSize: 1_000, duration: engine.duration, users: load.users ?? 100,
            spawnRate: load.spawnRate ?? 0, rate: load.rate ?? 0,
            thinkTime: load.thinkTime == "none" ? "" : load.thinkTime, stages: stages, concurrency: concurrency,
            options: options, seededRows: load.seededRows, thresholds: load.thresholds,
            abortOnThresholdFailure: load.abortOnFail)
        do { try run.validate() } catch { throw ValidationError(error.description) }
        return run
    }

    /// Runs through a coordinator on 127.0.0.1 with `localWorkers` spawned worker processes.
    func runWithLocalWorkers() async throws {
        guard !dryRun else { throw ValidationError("--dry-run measures one process; drop --local-workers") }
        CommandLogging.bootstrap(level: .warning)
        let logger = Logger(label: "stampede.run")
        let profile = try load.profile.map { try DistributedRun.readProfile($0) }
        let run = try fleetRunConfiguration(profileText: profile?.text)
        let configuration = CoordinatorConfiguration(
            host: "127.0.0.1", port: 0, expectWorkers: localWorkers, resultsPath: results, version: Stampede.version, run: run)
        var schema: [String]?
        if applySchema { schema = profile?.profile.schema ?? ChatSchema.statements() }
        log("run \(run.runID) (epoch \(run.runEpochMillis)): \(run.workload), \(run.model.rawValue), \(localWorkers) local worker processes")
        let distributed = DistributedRun(
            configuration: configuration, localWorkers: localWorkers, logLevel: "warning", web: nil, schema: schema,
            showProgress: !quiet)
        let outcome = try await distributed.run(logger: logger)
        var code = DistributedRun.exitCode(for: outcome)
        if verify {
            let passed = try await RunVerification.verify(resultsFile: results, session: try cluster.sessionConfiguration())
            if !passed, code == RunExitCode.success { code = RunExitCode.runFailed }
        }
        if code != RunExitCode.success { throw ExitCode(code) }
    }
}
