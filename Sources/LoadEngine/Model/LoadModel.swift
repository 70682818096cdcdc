/// Time between a virtual user's operations (closed model), Locust-style.
public enum ThinkTime: Sendable, Hashable {
    /// No pause: the next operation starts when the previous one ends.
    case none
    /// The same pause after every operation.
    case constant(Duration)
    /// A pause drawn uniformly from [low, high] after every operation.
    case between(Duration, Duration)
    /// Start an operation every `interval` at most (Locust's `constant_pacing`): the pause is what remains of it.
    case pacing(Duration)

    /// Parses `none`, `500ms` / `constant 1s`, `between 1s 3s` (or `1s..3s`), `pacing 2s`.
    public init(parsing text: String) throws(LoadEngineError) {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        switch words.first?.lowercased() {
        case nil, "none", "0":
            self = .none
        case "constant":
            guard words.count == 2 else { throw Self.error(text) }
            self = .constant(try DurationParser.parse(words[1], what: "think time"))
        case "between":
            guard words.count == 3 else { throw Self.error(text) }
            let low = try DurationParser.parse(words[1], what: "think time")
            let high = try DurationParser.parse(words[2], what: "think time")
            guard low <= high else { throw Self.error(text) }
            self = .between(low, high)
        case "pacing":
            guard words.count == 2 else { throw Self.error(text) }
            self = .pacing(try DurationParser.parse(words[1], what: "think time"))
        default:
            if words.count == 1, text.contains("..") {
                let bounds = text.components(separatedBy: "..")
                guard bounds.count == 2 else { throw Self.error(text) }
                self = .between(try DurationParser.parse(bounds[0], what: "think time"), try DurationParser.parse(bounds[1], what: "think time"))
            } else if words.count == 1 {
                self = .constant(try DurationParser.parse(words[0], what: "think time"))
            } else {
                throw Self.error(text)
            }
        }
    }

    static func error(_ text: String) -> LoadEngineError {
        LoadEngineError(.invalidConfiguration, "think time '\(text)' should be none, 'constant 1s', 'between 1s 3s' or 'pacing 2s'")
    }
}

/// Closed model: N virtual users, each running operations one after another (Locust's model).
public struct ClosedModel: Sendable, Hashable {
    /// Users to run (the initial target when there are stages).
    public var users: Int
    /// Users started per second while ramping up; `nil` starts them all at once.
    public var spawnRate: Double?
    public var thinkTime: ThinkTime
    /// Stages of user counts; empty holds `users`.
    public var stages: [Stage]

    public init(users: Int, spawnRate: Double? = nil, thinkTime: ThinkTime = .none, stages: [Stage] = []) {
        self.users = users
        self.spawnRate = spawnRate
        self.thinkTime = thinkTime
        self.stages = stages
    }

    /// Users over time.
    public var plan: StagePlan { StagePlan(initial: Double(users), stages: stages) }

    /// The most users the plan ever asks for.
    public var peakUsers: Int { Int(([Double(users)] + stages.map(\.target)).max() ?? 0) }
}

/// Open model: operations start at a target arrival rate whatever the response times (the k6 / wrk2 model).
///
/// Latency is measured from each operation's intended start, so a stalled server shows in the percentiles
/// (no coordinated omission). At most `maxInFlight` operations run at once; an operation that cannot start within
/// `maxLateness` of its intended start for lack of capacity is dropped and counted.
public struct OpenModel: Sendable, Hashable {
    /// Operations per second (the initial target when there are stages).
    public var rate: Double
    /// The bound on operations in flight (default 1,000).
    public var maxInFlight: Int
    /// How late an operation may start before it is dropped (default 1 s).
    public var maxLateness: Duration
    /// Stages of arrival rates; empty holds `rate`.
    public var stages: [Stage]

    public init(rate: Double, maxInFlight: Int = 1000, maxLateness: Duration = .seconds(1), stages: [Stage] = []) {
        self.rate = rate
        self.maxInFlight = maxInFlight
        self.maxLateness = maxLateness
        self.stages = stages
    }

    /// Rate over time.
    public var plan: StagePlan { StagePlan(initial: rate, stages: stages) }
}

/// How load is generated.
public enum LoadModel: Sendable, Hashable {
    case closed(ClosedModel)
    case open(OpenModel)

    /// The length of the stages, if any.
    public var stagesDuration: Duration? {
        let stages: [Stage]
        switch self {
        case .closed(let model): stages = model.stages
        case .open(let model): stages = model.stages
        }
        guard !stages.isEmpty else { return nil }
        return stages.reduce(Duration.zero) { $0 + $1.duration }
    }
}
