import LoadEngine

/// What the dashboard needs from whatever runs the load (the coordinator, through an adapter, or a simulation).
///
/// The dashboard asks for ``snapshot()`` about once a second (one shared call for all open pages), for each API
/// call and for `/metrics` scrapes, so it should be cheap: hand over the merged metrics the coordinator already
/// keeps (copies of `MetricsSnapshot` share their storage). Control methods throw an error whose description is
/// shown to the user (e.g. "a run is already in progress").
///
/// A coordinator adapter looks like this (the dashboard module does not depend on Fleet; the adapter lives beside
/// the coordinator):
/// ```swift
/// struct CoordinatorDashboardSource: DashboardDataSource {
///     let coordinator: Coordinator
///     func snapshot() async -> RunSnapshot {
///         await coordinator.withState { state in
///             var series = state.seriesCache  // a SecondSeriesCache kept with the aggregator
///             series.update(perSecond: state.aggregator.perSecond, currentSecond: state.currentSecond)
///             return RunSnapshot(
///                 runID: state.runID, state: .running, workload: state.workloadName, elapsed: state.elapsed,
///                 target: state.target, completed: state.ledger.acknowledgedCount, users: state.users,
///                 total: state.aggregator.total, recent: state.aggregator.perSecond[state.currentSecond - 1] ?? .init(),
///                 series: series.samples, failures: state.failureMessages, workers: state.workerRows)
///         }
///     }
///     func start(_ request: RunStartRequest) async throws -> String { try await coordinator.start(request) }
///     func stop() async throws { try await coordinator.stop() }
///     func adjust(_ adjustment: LoadAdjustment) async throws { try await coordinator.adjust(adjustment) }
/// }
/// ```
public protocol DashboardDataSource: Sendable {
    /// The current (or last) run as it is now.
    func snapshot() async -> RunSnapshot

    /// Starts a run from the dashboard's form; returns the new run's id.
    func start(_ request: RunStartRequest) async throws -> String

    /// Stops the current run (workers finish what they hold and report).
    func stop() async throws

    /// Changes users (closed model) or arrival rate (open model) of the current run.
    func adjust(_ adjustment: LoadAdjustment) async throws

    /// One whole-run latency histogram per second, for the HDR histogram log. Default: none (the log then holds
    /// the whole run as one interval).
    func secondHistograms() async -> [SecondHistogram]

    /// Version, driver settings and cluster topology, stored in the run bundle. Default: the Stampede version only.
    func bundleContext() async -> RunBundleContext

    /// The distributed layer's own `distributed_results.json` bytes for the run, if it has them. Default: none (the
    /// dashboard then writes results with the seed's fields from the snapshot).
    func resultsJSON() async -> [UInt8]?
}

extension DashboardDataSource {
    public func secondHistograms() async -> [SecondHistogram] { [] }
    public func bundleContext() async -> RunBundleContext { RunBundleContext() }
    public func resultsJSON() async -> [UInt8]? { nil }
}

/// The dashboard's start form, as submitted (JSON or form-encoded).
///
/// Only the shape is checked here (``validated()``); the data source parses workloads, durations and stages with the
/// load engine's parsers and throws a readable error for anything it cannot run.
public struct RunStartRequest: Sendable, Hashable, Codable {
    /// `chat-write`, `chat-mixed`, or `profile` (then ``profile`` names the file).
    public var workload: String
    /// A workload profile file, when ``workload`` is `profile`.
    public var profile: String?
    /// A fixed total of operations.
    public var target: UInt64?
    /// A duration such as `10m` or `90s`.
    public var duration: String?
    /// `closed` (users) or `open` (arrival rate).
    public var model: String?
    /// Users (closed model).
    public var users: Int?
    /// Users started per second (closed model).
    public var spawnRate: Double?
    /// Think time: `none`, `500ms`, `between 1s 3s`, `pacing 2s`.
    public var thinkTime: String?
    /// Operations per second (open model).
    public var rate: Double?
    /// Stages such as `1m:500,1m:1500,3m:1000`.
    public var stages: String?
    /// One of the seed scenarios: `black-friday`, `new-years-eve`, `viral`.
    public var scenario: String?
    /// A time scale for the scenario (2 replays it twice as fast).
    public var timeScale: Double?
    /// Consistency level, e.g. `LOCAL_QUORUM`.
    public var consistency: String?
    /// Contact points, comma separated `host[:port]`.
    public var contactPoints: String?

    public init(
        workload: String, profile: String? = nil, target: UInt64? = nil, duration: String? = nil, model: String? = nil,
        users: Int? = nil, spawnRate: Double? = nil, thinkTime: String? = nil, rate: Double? = nil,
        stages: String? = nil, scenario: String? = nil, timeScale: Double? = nil, consistency: String? = nil,
        contactPoints: String? = nil
    ) {
        self.workload = workload
        self.profile = profile
        self.target = target
        self.duration = duration
        self.model = model
        self.users = users
        self.spawnRate = spawnRate
        self.thinkTime = thinkTime
        self.rate = rate
        self.stages = stages
        self.scenario = scenario
        self.timeScale = timeScale
        self.consistency = consistency
        self.contactPoints = contactPoints
    }

    /// The request with blank strings removed, or an error naming the first field that cannot be right.
    public func validated() throws(DashboardError) -> RunStartRequest {
        var copy = self
        func blankToNil(_ value: String?) -> String? {
            guard let trimmed = value?.trimmingCharacters(in: .whitespaces), !trimmed.isEmpty else { return nil }
            return trimmed
        }
        copy.workload = workload.trimmingCharacters(in: .whitespaces)
        copy.profile = blankToNil(profile)
        copy.duration = blankToNil(duration)
        copy.model = blankToNil(model)?.lowercased()
        copy.thinkTime = blankToNil(thinkTime)
        copy.stages = blankToNil(stages)
        copy.scenario = blankToNil(scenario)
        copy.consistency = blankToNil(consistency)
        copy.contactPoints = blankToNil(contactPoints)
        guard !copy.workload.isEmpty else { throw DashboardError(.invalidRequest, "choose a workload") }
        if copy.workload == "profile", copy.profile == nil {
            throw DashboardError(.invalidRequest, "the profile workload needs a profile file")
        }
        if let model = copy.model, model != "closed", model != "open" {
            throw DashboardError(.invalidRequest, "load model must be 'closed' (users) or 'open' (arrival rate), not '\(model)'")
        }
        if let scenario = copy.scenario, ScenarioPreset(rawValue: scenario) == nil {
            let names = ScenarioPreset.allCases.map(\.rawValue).joined(separator: ", ")
            throw DashboardError(.invalidRequest, "unknown scenario '\(scenario)' (choose one of \(names))")
        }
        if let users = copy.users, users <= 0 { throw DashboardError(.invalidRequest, "users must be at least 1") }
        if let rate = copy.rate, !(rate > 0 && rate.isFinite) {
            throw DashboardError(.invalidRequest, "the arrival rate must be a positive number")
        }
        if let spawnRate = copy.spawnRate, !(spawnRate > 0 && spawnRate.isFinite) {
            throw DashboardError(.invalidRequest, "the spawn rate must be a positive number")
        }
        if let timeScale = copy.timeScale, !(timeScale > 0 && timeScale.isFinite) {
            throw DashboardError(.invalidRequest, "the time scale must be a positive number")
        }
        if copy.target == 0 { throw DashboardError(.invalidRequest, "the target must be at least 1") }
        if copy.model == "open", copy.rate == nil, copy.scenario == nil {
            throw DashboardError(.invalidRequest, "the open model needs an arrival rate")
        }
        if copy.model != "open", copy.users == nil, copy.scenario == nil {
            throw DashboardError(.invalidRequest, "the closed model needs a number of users")
        }
        if copy.target == nil, copy.duration == nil, copy.scenario == nil, copy.stages == nil {
            throw DashboardError(.invalidRequest, "give a target total, a duration, stages or a scenario")
        }
        return copy
    }
}

/// A change to the running load, from the dashboard's edit control.
public struct LoadAdjustment: Sendable, Hashable, Codable {
    /// New number of users (closed model).
    public var users: Int?
    /// New arrival rate in operations per second (open model).
    public var rate: Double?
    /// New spawn rate for reaching the new user count.
    public var spawnRate: Double?

    public init(users: Int? = nil, rate: Double? = nil, spawnRate: Double? = nil) {
        self.users = users
        self.rate = rate
        self.spawnRate = spawnRate
    }

    /// The adjustment, or an error when it changes nothing or holds an impossible value.
    public func validated() throws(DashboardError) -> LoadAdjustment {
        guard users != nil || rate != nil else { throw DashboardError(.invalidRequest, "give new users or a new rate") }
        if let users, users < 0 { throw DashboardError(.invalidRequest, "users cannot be negative") }
        if let rate, !(rate >= 0 && rate.isFinite) { throw DashboardError(.invalidRequest, "the rate must be zero or more") }
        if let spawnRate, !(spawnRate > 0 && spawnRate.isFinite) {
            throw DashboardError(.invalidRequest, "the spawn rate must be a positive number")
        }
        return self
    }
}
