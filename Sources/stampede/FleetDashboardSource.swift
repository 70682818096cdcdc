import Dashboard
import Fleet
import Foundation
import LoadEngine
import Logging
import NIOConcurrencyHelpers

/// Feeds the dashboard from a running coordinator: snapshots from the coordinator's live view, start, stop and load
/// changes from the dashboard's controls. "Start" starts a waiting run early with the workers that are connected; on an
/// interactive coordinator (`--keep-workers`) it starts the next run on the connected workers from the form once the
/// previous one has ended. The live view (series, worker rates, results) starts afresh with every run id.
final class FleetDashboardSource: DashboardDataSource {
    let coordinator: FleetCoordinator
    private let version: String
    private struct State {
        /// The run the rest of this state belongs to.
        var runID = ""
        var series = SecondSeriesCache()
        /// Per worker: (operations, instant) at the previous snapshot, for its current rate.
        var lastWorkerSample: [String: (operations: UInt64, at: ContinuousClock.Instant)] = [:]
        var workerRates: [String: Double] = [:]
        var results: [UInt8]?
        /// The run's start and length, kept once it has ended (the live view only knows them while it runs).
        var startedAt: Date?
        var elapsed: Duration = .zero
        /// Users (closed) or target rate (open) in force, by the second it was first seen, for the RPS chart's load line.
        var loads: [Int: Double] = [:]
        /// The Cassandra side of the run, once captured after it.
        var serverMetrics: ServerSideMetrics?
    }
    private let state = NIOLockedValueBox(State())

    init(coordinator: FleetCoordinator, version: String) {
        self.coordinator = coordinator
        self.version = version
    }

    /// Adds the server-side metrics section to the reports written from now on.
    func setServerMetrics(_ metrics: ServerSideMetrics?) {
        state.withLockedValue { $0.serverMetrics = metrics }
    }

    /// Keeps the final `distributed_results.json` so reports carry it verbatim.
    func finish(results: DistributedResults) {
        let bytes = try? JSONEncoder().encode(results)
        state.withLockedValue { state in
            if state.runID != results.runID {
                state = State()
                state.runID = results.runID
            }
            state.results = bytes.map { Array($0) }
            state.elapsed = .milliseconds(Int64(results.totalTime * 1000))
        }
    }

    func snapshot() async -> RunSnapshot {
        let view = await coordinator.liveView()
        let control = await coordinator.runControlStatus()
        let now = ContinuousClock.now
        let currentSecond = Int(view.elapsed.components.seconds)
        let (series, rates, startedAt, elapsed) = state.withLockedValue { state -> ([SecondSample], [String: Double], Date?, Duration) in
            if state.runID != view.progress.runID {
                // A new run: nothing of the previous one carries over.
                state = State()
                state.runID = view.progress.runID
            }
            if view.startedAt != nil {
                state.startedAt = view.startedAt
                state.elapsed = max(state.elapsed, view.elapsed)
            }
            if view.startedAt != nil, let load = Self.load(view.configuration, control) { state.loads[currentSecond] = load }
            let loads = state.loads
            state.series.update(
                perSecond: view.perSecond, currentSecond: view.startedAt != nil ? currentSecond : Int(state.elapsed.components.seconds) + 1,
                load: { second in loads[second] ?? loads.filter { $0.key <= second }.max { $0.key < $1.key }?.value })
            for worker in view.workers {
                let operations = worker.metrics.combined.operations
                if let previous = state.lastWorkerSample[worker.id] {
                    let seconds = Double((now - previous.at).components.attoseconds) / 1e18 + Double((now - previous.at).components.seconds)
                    if seconds >= 0.5 {
                        state.workerRates[worker.id] = Double(operations - min(operations, previous.operations)) / seconds
                        state.lastWorkerSample[worker.id] = (operations, now)
                    }
                } else {
                    state.lastWorkerSample[worker.id] = (operations, now)
                }
            }
            return (state.series.samples, state.workerRates, state.startedAt, state.elapsed)
        }
        let runState: RunState
        switch view.progress.phase {
        case .waitingForWorkers: runState = .starting
        case .running: runState = .running
        case .stopping: runState = .stopping
        case .finished: runState = control.runsStarted == 0 ? .idle : .finished
        }
        let latestComplete = view.perSecond.keys.max().map { $0 - 1 } ?? -1
        let workers = view.workers.map { worker in
            WorkerStatus(
                id: worker.id, host: worker.host, state: worker.state.rawValue, currentRPS: worker.state == .running ? rates[worker.id] ?? 0 : 0,
                total: worker.metrics.combined.successes, failures: worker.metrics.combined.failures, cpu: worker.health["cpu_utilization"],
                secondsSinceHeartbeat: worker.secondsSinceHeartbeat, joinedMidRun: false, wasLost: worker.wasLost)
        }
        let run = view.configuration
        let failures = Self.failureRecords(view.total)
        if runState == .idle {
            // An interactive coordinator before its first run: only the workers waiting for one (the configured run
            // is a template for the form, not a run).
            return RunSnapshot(runID: "", state: .idle, workers: workers, message: "workers connected: \(workers.count); start a run")
        }
        return RunSnapshot(
            runID: run.runID, state: runState, workload: run.workload, loadDescription: Self.describe(run, users: control.users, rate: control.rate),
            startedAt: startedAt, elapsed: elapsed, target: run.target > 0 ? run.target : nil, plannedDuration: run.duration,
            completed: view.progress.completed, users: run.model == .closed ? control.users : nil, rate: run.model == .open ? control.rate : nil,
            total: view.total, recent: view.perSecond[latestComplete] ?? MetricsSnapshot(), series: series, failures: failures,
            workers: workers,
            configuration: ["contact_points": run.contactPoints.joined(separator: ","), "consistency": run.consistency,
                            "chunk_size": String(run.chunkSize), "concurrency": String(run.concurrency)],
            message: view.progress.lostWorkers.isEmpty ? nil : "lost workers: \(view.progress.lostWorkers.joined(separator: ", "))")
    }

    /// The failures table: failed attempts by operation, kind and message as the workers reported them; attempts of a
    /// kind whose messages were not reported (older workers) are listed under that kind alone.
    static func failureRecords(_ total: MetricsSnapshot) -> [FailureRecord] {
        var records: [FailureRecord] = []
        for name in total.operations.keys.sorted() {
            guard let metrics = total.operations[name] else { continue }
            var described = [UInt64](repeating: 0, count: ErrorKind.allCases.count)
            for (key, count) in metrics.errorMessages.sorted() {
                records.append(FailureRecord(operation: name, kind: key.kind, message: key.message, count: count))
                described[key.kind.rawValue] += count
            }
            for kind in ErrorKind.allCases where metrics.errors(kind) > described[kind.rawValue] {
                records.append(
                    FailureRecord(
                        operation: name, kind: kind, message: "(no message reported)", count: metrics.errors(kind) - described[kind.rawValue]))
            }
        }
        return records.sorted { $0.count != $1.count ? $0.count > $1.count : ($0.operation, $0.message) < ($1.operation, $1.message) }
    }

    /// The users or rate in force now, for the chart; nil for fixed totals and staged runs (their load follows a plan).
    static func load(_ run: FleetRunConfiguration, _ control: RunControlStatus) -> Double? {
        guard run.stages.isEmpty else { return nil }
        switch run.model {
        case .fixedTotal: return nil
        case .closed: return Double(control.users)
        case .open: return control.rate
        }
    }

    /// The load in a few words, with the users or rate as they are now (after any change from the dashboard).
    static func describe(_ run: FleetRunConfiguration, users: Int, rate: Double) -> String {
        switch run.model {
        case .fixedTotal: "fixed total of \(run.target), \(run.concurrency) in flight per worker"
        case .closed: "\(users) users"
        case .open: "\(Int(rate)) ops/s"
        }
    }

    func start(_ request: RunStartRequest) async throws -> String {
        let progress = await coordinator.progress()
        let control = await coordinator.runControlStatus()
        if progress.phase == .waitingForWorkers {
            await coordinator.start()
            return progress.runID
        }
        guard control.keepsWorkers else {
            throw DashboardError(.actionRefused, "run \(progress.runID) is already \(progress.phase.rawValue); this coordinator serves one run — start it with --keep-workers to run again on the same workers")
        }
        guard progress.phase == .finished else {
            throw DashboardError(.actionRefused, "run \(progress.runID) is still \(progress.phase.rawValue); stop it before starting another")
        }
        let template = await coordinator.liveView().configuration
        let workers = progress.workers.count
        let run = try Self.runConfiguration(for: request, template: template, workers: workers)
        if let profile = try Self.profile(of: run) {
            // A profile brings its own schema; create it wherever the run writes (idempotent statements).
            do {
                try await DistributedRun.apply(profile.schema, run: run, logger: Logger(label: "stampede.dashboard"))
            } catch {
                throw DashboardError(
                    .actionRefused, "cannot apply the schema of profile \(run.workload) on \(run.contactPoints.joined(separator: ",")): \(error)")
            }
        } else if run.contactPoints != template.contactPoints || !template.profileYAML.isEmpty {
            // The coordinator created the chat schema on its own contact points at start-up; these may be another cluster.
            do {
                try await DistributedRun.apply(ChatSchema.statements(), run: run, logger: Logger(label: "stampede.dashboard"))
            } catch {
                throw DashboardError(
                    .actionRefused, "cannot create the chat schema on \(run.contactPoints.joined(separator: ",")): \(error)")
            }
        }
        do {
            return try await coordinator.startNextRun(run)
        } catch {
            throw Self.dashboardError(error)
        }
    }

    /// The next run from the dashboard's start form: the form's workload, load model, target, duration, stages or
    /// scenario, consistency and contact points; everything else (keyspace, credentials, TLS, chunk size, in-flight
    /// bound) as the coordinator was started. A fixed total with users runs that many operations in flight in all.
    static func runConfiguration(for request: RunStartRequest, template: FleetRunConfiguration, workers: Int) throws(DashboardError)
        -> FleetRunConfiguration
    {
        var run = template
        run.runID = RunIdentity.generate().id
        run.runEpochMillis = 0
        switch request.workload {
        case "chat-write", "chat-mixed":
            run.workload = request.workload
            run.profileYAML = ""
            if run.keyspace.isEmpty { run.keyspace = ChatSchema.keyspace }
        case "profile":
            // Like Locust's locustfile: the path is read on the coordinator's machine, checked once, and its text
            // travels to the workers in the run configuration.
            guard let path = request.profile else {
                throw DashboardError(.invalidRequest, "the profile workload needs a profile file")
            }
            do {
                run.profileYAML = try DistributedRun.readProfile(path).text
            } catch {
                throw DashboardError(.invalidRequest, "\(error)")
            }
            run.workload = path
            if run.keyspace == ChatSchema.keyspace { run.keyspace = "" }
        default:
            throw DashboardError(
                .invalidRequest,
                "workload '\(request.workload)' cannot be started from the dashboard of a coordinator (chat-write, chat-mixed or profile)")
        }
        if let contactPoints = request.contactPoints {
            run.contactPoints = contactPoints.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        if let consistency = request.consistency {
            do { _ = try EngineRunFactory.consistency(named: consistency) } catch { throw DashboardError(.invalidRequest, error.message) }
            run.consistency = consistency.uppercased()
        }
        do {
            run.duration = try request.duration.map { try DurationParser.parse($0, what: "duration") }
            run.stages = try (request.stages ?? "").split(separator: ",").map { try Stage(parsing: $0.trimmingCharacters(in: .whitespaces)) }
        } catch {
            throw DashboardError(.invalidRequest, "\(error)")
        }
        run.thinkTime = request.thinkTime ?? ""
        run.spawnRate = request.spawnRate ?? 0
        run.users = request.users ?? 0
        run.rate = request.rate ?? 0
        run.target = request.target ?? 0
        if let scenario = request.scenario.flatMap(ScenarioPreset.init(rawValue:)) {
            let settings: ScenarioPreset.Settings
            do { settings = try scenario.settings(timeScale: request.timeScale ?? 1) } catch { throw DashboardError(.invalidRequest, error.message) }
            run.users = settings.model.users
            run.spawnRate = settings.model.spawnRate ?? 0
            run.stages = settings.model.stages
            run.duration = run.duration ?? settings.duration
        }
        if request.target != nil {
            run.model = .fixedTotal
            if let users = request.users { run.concurrency = max(1, (users + max(workers, 1) - 1) / max(workers, 1)) }
            run.users = 0
            run.rate = 0
            run.stages = []
        } else if request.model == "open" {
            run.model = .open
            run.users = 0
        } else {
            run.model = .closed
            run.rate = 0
        }
        return run
    }

    /// The workload profile a run carries, nil for the built-in chat workloads.
    static func profile(of run: FleetRunConfiguration) throws(DashboardError) -> WorkloadProfile? {
        do { return try run.profile() } catch { throw DashboardError(.invalidRequest, error.message) }
    }

    /// A coordinator's refusal as the dashboard shows it: bad values are the form's fault (400), the rest a conflict.
    static func dashboardError(_ error: any Error) -> DashboardError {
        guard let error = error as? FleetError else { return DashboardError(.actionRefused, "\(error)") }
        return DashboardError(error.code == .invalidConfiguration ? .invalidRequest : .actionRefused, error.message)
    }

    func stop() async throws {
        await coordinator.stop(reason: "stopped from the dashboard")
    }

    func adjust(_ adjustment: LoadAdjustment) async throws {
        do {
            try await coordinator.adjustLoad(users: adjustment.users, rate: adjustment.rate)
        } catch {
            throw Self.dashboardError(error)
        }
    }

    func secondHistograms() async -> [SecondHistogram] {
        let view = await coordinator.liveView()
        return view.perSecond.keys.sorted().map { SecondHistogram(second: $0, histogram: view.perSecond[$0]!.combined.latency) }
    }

    func bundleContext() async -> RunBundleContext {
        let run = await coordinator.liveView().configuration
        return RunBundleContext(
            stampedeVersion: version,
            driverSettings: ["contact_points": run.contactPoints.joined(separator: ","), "consistency": run.consistency,
                             "concurrency_per_worker": String(run.concurrency), "keyspace": run.keyspace],
            serverMetrics: state.withLockedValue { $0.serverMetrics })
    }

    func resultsJSON() async -> [UInt8]? {
        state.withLockedValue { $0.results }
    }
}
