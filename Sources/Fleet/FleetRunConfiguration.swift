import LoadEngine

/// What a distributed run does: set once on the coordinator, validated at start-up and handed to every worker.
public struct FleetRunConfiguration: Sendable, Hashable, Codable {
    /// The load model of the whole run.
    public enum Model: String, Sendable, Hashable, Codable {
        /// Write exactly `target` messages, cut into leased chunks.
        case fixedTotal = "fixed-total"
        /// Closed model: `users` virtual users divided among workers.
        case closed
        /// Open model: `rate` operations per second divided among workers.
        case open
    }

    public var runID: String
    /// With `runID`, the run identity (base time of the run's timeuuids, ms since the Unix epoch); 0 = set at start.
    public var runEpochMillis: Int64
    public var workload: String
    /// YAML of a custom profile (empty for built-in workloads).
    public var profileYAML: String
    public var contactPoints: [String]
    public var keyspace: String
    public var consistency: String
    public var username: String
    /// Never journaled or logged; supplied again on `--resume`.
    public var password: String
    public var tls: Bool
    public var model: Model
    /// Fixed-total runs: exact number of messages.
    public var target: UInt64
    public var chunkSize: UInt64
    /// Duration limit (nil = none).
    public var duration: Duration?
    public var users: Int
    public var spawnRate: Double
    public var rate: Double
    public var thinkTime: String
    /// Stages of the whole run's users (closed) or rate (open); every worker runs them scaled by its share, all from
    /// the same start barrier, so the sum follows the stages.
    public var stages: [Stage]
    /// Operations in flight per worker (fixed-total) or the open model's in-flight bound.
    public var concurrency: Int
    /// Extra load engine options passed through unchanged; chat workloads read `senders`, `conversations`,
    /// `members_per_conversation` and `vietnamese` from it (the dataset of `stampede run`).
    public var options: [String: String]
    /// Chat workloads: draw senders and conversations from seeded rows (`stampede seed`) when present.
    public var seededRows: Bool
    /// Pass/fail criteria of the whole run (`p99<100ms`, `errors<0.1%`), evaluated by the coordinator on the merged
    /// statistics of every worker. Kept as written; parsed with `LoadEngine.Threshold`.
    public var thresholds: [String]
    /// Stop every worker as soon as a threshold fails (evaluated on the merged statistics as they arrive).
    public var abortOnThresholdFailure: Bool

    public init(
        runID: String, runEpochMillis: Int64 = 0, workload: String = "chat-write", profileYAML: String = "", contactPoints: [String] = ["127.0.0.1:9042"],
        keyspace: String = "realtime_chat_app", consistency: String = "ONE", username: String = "", password: String = "",
        tls: Bool = false, model: Model = .fixedTotal, target: UInt64 = 0, chunkSize: UInt64 = 1000, duration: Duration? = nil,
        users: Int = 0, spawnRate: Double = 0, rate: Double = 0, thinkTime: String = "", stages: [Stage] = [],
        concurrency: Int = 64,
        options: [String: String] = [:], seededRows: Bool = false, thresholds: [String] = [], abortOnThresholdFailure: Bool = false
    ) {
        self.runID = runID
        self.runEpochMillis = runEpochMillis
        self.workload = workload
        self.profileYAML = profileYAML
        self.contactPoints = contactPoints
        self.keyspace = keyspace
        self.consistency = consistency
        self.username = username
        self.password = password
        self.tls = tls
        self.model = model
        self.target = target
        self.chunkSize = chunkSize
        self.duration = duration
        self.users = users
        self.spawnRate = spawnRate
        self.rate = rate
        self.thinkTime = thinkTime
        self.stages = stages
        self.concurrency = concurrency
        self.options = options
        self.seededRows = seededRows
        self.thresholds = thresholds
        self.abortOnThresholdFailure = abortOnThresholdFailure
    }

    /// Checks the configuration once at start-up.
    public func validate() throws(FleetError) {
        guard !runID.isEmpty, runID.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw FleetError(.invalidConfiguration, "run id '\(runID)' must be non-empty letters, digits, '-' or '_'")
        }
        guard !contactPoints.isEmpty else { throw FleetError(.invalidConfiguration, "at least one contact point is needed") }
        for stage in stages where stage.duration <= .zero || !(stage.target >= 0 && stage.target.isFinite) {
            throw FleetError(.invalidConfiguration, "stage \(stage.duration):\(stage.target) needs a positive duration and a non-negative target")
        }
        guard concurrency > 0 else { throw FleetError(.invalidConfiguration, "concurrency must be at least 1") }
        switch model {
        case .fixedTotal:
            guard target > 0 else { throw FleetError(.invalidConfiguration, "a fixed-total run needs --target > 0") }
            guard chunkSize > 0 else { throw FleetError(.invalidConfiguration, "chunk size must be at least 1") }
        case .closed:
            guard users > 0 else { throw FleetError(.invalidConfiguration, "a closed-model run needs --users > 0") }
        case .open:
            guard rate > 0, rate.isFinite else { throw FleetError(.invalidConfiguration, "an open-model run needs --rate > 0") }
        }
        if model != .fixedTotal, duration == nil, stages.isEmpty {
            throw FleetError(.invalidConfiguration, "a rate or user run needs a --duration or --stage list")
        }
        _ = try parsedThresholds()
        if abortOnThresholdFailure, thresholds.isEmpty {
            throw FleetError(.invalidConfiguration, "--abort-on-fail needs at least one --threshold")
        }
        if !profileYAML.isEmpty { _ = try profile() }
    }

    /// The thresholds, parsed.
    public func parsedThresholds() throws(FleetError) -> [Threshold] {
        var parsed: [Threshold] = []
        for text in thresholds {
            do { parsed.append(try Threshold(parsing: text)) } catch {
                throw FleetError(.invalidConfiguration, error.description)
            }
        }
        return parsed
    }

    /// The custom workload profile carried in `profileYAML` (nil for built-in workloads). Errors name the profile
    /// (`workload` holds the file it was read from) and the line.
    public func profile() throws(FleetError) -> WorkloadProfile? {
        guard !profileYAML.isEmpty else { return nil }
        do {
            return try WorkloadProfileParser.parse(profileYAML, file: workload)
        } catch {
            throw FleetError(.workload, "invalid workload profile: \(error.description)")
        }
    }

    enum CodingKeys: String, CodingKey {
        case runID, runEpochMillis, workload, profileYAML, contactPoints, keyspace, consistency, username, password, tls
        case model, target, chunkSize, duration, users, spawnRate, rate, thinkTime, stages, concurrency, options
        case seededRows = "seeded_rows", thresholds, abortOnThresholdFailure = "abort_on_fail"
    }

    /// Decodes journals and results documents; fields added later (seeded rows, thresholds) default when absent.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        runID = try c.decode(String.self, forKey: .runID)
        runEpochMillis = try c.decode(Int64.self, forKey: .runEpochMillis)
        workload = try c.decode(String.self, forKey: .workload)
        profileYAML = try c.decode(String.self, forKey: .profileYAML)
        contactPoints = try c.decode([String].self, forKey: .contactPoints)
        keyspace = try c.decode(String.self, forKey: .keyspace)
        consistency = try c.decode(String.self, forKey: .consistency)
        username = try c.decode(String.self, forKey: .username)
        password = try c.decode(String.self, forKey: .password)
        tls = try c.decode(Bool.self, forKey: .tls)
        model = try c.decode(Model.self, forKey: .model)
        target = try c.decode(UInt64.self, forKey: .target)
        chunkSize = try c.decode(UInt64.self, forKey: .chunkSize)
        duration = try c.decodeIfPresent(Duration.self, forKey: .duration)
        users = try c.decode(Int.self, forKey: .users)
        spawnRate = try c.decode(Double.self, forKey: .spawnRate)
        rate = try c.decode(Double.self, forKey: .rate)
        thinkTime = try c.decode(String.self, forKey: .thinkTime)
        stages = try c.decode([Stage].self, forKey: .stages)
        concurrency = try c.decode(Int.self, forKey: .concurrency)
        options = try c.decode([String: String].self, forKey: .options)
        seededRows = try c.decodeIfPresent(Bool.self, forKey: .seededRows) ?? false
        thresholds = try c.decodeIfPresent([String].self, forKey: .thresholds) ?? []
        abortOnThresholdFailure = try c.decodeIfPresent(Bool.self, forKey: .abortOnThresholdFailure) ?? false
    }

    /// The run as seen by a worker joining `elapsed` after its start: the duration that remains, and for staged runs
    /// the stages that remain, starting from the level the plan has reached — so its share of the load follows the
    /// whole run's plan from where the run is, not from the beginning.
    public func joining(after elapsed: Duration) -> FleetRunConfiguration {
        guard elapsed > .zero else { return self }
        var copy = self
        if let duration { copy.duration = Swift.max(duration - elapsed, .milliseconds(1)) }
        guard !stages.isEmpty, model != .fixedTotal else { return copy }
        let plan = StagePlan(initial: model == .closed ? Double(users) : rate, stages: stages)
        let level = plan.target(at: elapsed.seconds)
        var remaining: [Stage] = []
        var end = Duration.zero
        for stage in stages {
            end += stage.duration
            guard end > elapsed else { continue }
            if remaining.isEmpty {
                remaining.append(Stage(duration: end - elapsed, target: stage.target, shape: stage.shape))
            } else {
                remaining.append(stage)
            }
        }
        copy.stages = remaining
        switch model {
        case .closed: copy.users = Int(level.rounded())
        case .open: copy.rate = level
        case .fixedTotal: break
        }
        return copy
    }

    /// The copy written to the journal: everything but the password.
    public var journaled: FleetRunConfiguration {
        var copy = self
        copy.password = ""
        return copy
    }
}

extension FleetRunConfiguration {
    /// The wire form handed to workers.
    var wire: Stampede_Fleet_V1_RunConfig {
        var config = Stampede_Fleet_V1_RunConfig()
        config.runID = runID
        config.runEpochMillis = runEpochMillis
        config.workload = workload
        config.profileYaml = profileYAML
        config.contactPoints = contactPoints
        config.keyspace = keyspace
        config.consistency = consistency
        config.username = username
        config.password = password
        config.tls = tls
        config.target = target
        config.chunkSize = chunkSize
        config.durationNanos = duration?.nanoseconds ?? 0
        config.concurrency = UInt32(clamping: concurrency)
        config.options = options
        config.seededRows = seededRows
        var model = Stampede_Fleet_V1_LoadModel()
        switch self.model {
        case .fixedTotal: model.kind = .fixedTotal
        case .closed: model.kind = .closed
        case .open: model.kind = .open
        }
        model.totalUsers = Double(users)
        model.totalRate = rate
        model.spawnRate = spawnRate
        model.thinkTime = thinkTime
        model.stages = stages.map { stage in
            var wire = Stampede_Fleet_V1_Stage()
            wire.durationNanos = stage.duration.nanoseconds
            wire.target = stage.target
            wire.shape = stage.shape.rawValue
            return wire
        }
        model.maxInFlight = UInt32(clamping: concurrency)
        config.model = model
        return config
    }

    /// From the wire form (on a worker).
    init(wire config: Stampede_Fleet_V1_RunConfig) throws(FleetError) {
        let model: Model
        switch config.model.kind {
        case .fixedTotal: model = .fixedTotal
        case .closed: model = .closed
        case .open: model = .open
        case .unspecified, .UNRECOGNIZED:
            throw FleetError(.protocolViolation, "the coordinator sent an assignment without a known load model")
        }
        self.init(
            runID: config.runID, runEpochMillis: config.runEpochMillis, workload: config.workload, profileYAML: config.profileYaml,
            contactPoints: config.contactPoints, keyspace: config.keyspace, consistency: config.consistency,
            username: config.username, password: config.password, tls: config.tls, model: model, target: config.target,
            chunkSize: config.chunkSize, duration: config.durationNanos > 0 ? .nanoseconds(config.durationNanos) : nil,
            users: Int(config.model.totalUsers), spawnRate: config.model.spawnRate, rate: config.model.totalRate,
            thinkTime: config.model.thinkTime,
            stages: config.model.stages.map { stage in
                Stage(duration: .nanoseconds(stage.durationNanos), target: stage.target, shape: StageShape(rawValue: stage.shape) ?? .linear)
            },
            concurrency: Int(config.concurrency), options: config.options, seededRows: config.seededRows)
    }
}
