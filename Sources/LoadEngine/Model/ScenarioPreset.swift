/// The seed's three scenarios as named presets, replayable faster with a time scale.
public enum ScenarioPreset: String, Sendable, CaseIterable {
    /// 1,000,000 messages in 10 minutes by 1,000 users spawned at 100/s.
    case blackFriday = "black-friday"
    /// 500 users for the first minute, 1,500 for the second, then 1,000 to minute 5.
    case newYearsEve = "new-years-eve"
    /// 500 → 2,000 → 5,000 users over 5, 5 and 20 minutes.
    case viral

    /// What a preset sets: the model, the duration, and the total operations (when it has one).
    public struct Settings: Sendable, Hashable {
        public var model: ClosedModel
        public var duration: Duration
        public var totalOperations: UInt64?
    }

    /// The preset's settings with every duration divided (and the spawn rate multiplied) by `timeScale`.
    public func settings(timeScale: Double = 1) throws(LoadEngineError) -> Settings {
        guard timeScale > 0, timeScale.isFinite else {
            throw LoadEngineError(.invalidConfiguration, "--time-scale must be a positive number (got \(timeScale))")
        }
        func scaled(_ minutes: Double) -> Duration { .nanoseconds(Int64((minutes * 60e9 / timeScale).rounded())) }
        let spawnRate = 100 * timeScale
        switch self {
        case .blackFriday:
            return Settings(model: ClosedModel(users: 1000, spawnRate: spawnRate), duration: scaled(10), totalOperations: 1_000_000)
        case .newYearsEve:
            let stages = [
                Stage(duration: scaled(1), target: 500, shape: .step),
                Stage(duration: scaled(1), target: 1500, shape: .step),
                Stage(duration: scaled(3), target: 1000, shape: .step),
            ]
            return Settings(model: ClosedModel(users: 500, spawnRate: spawnRate, stages: stages), duration: scaled(5), totalOperations: nil)
        case .viral:
            let stages = [
                Stage(duration: scaled(5), target: 500, shape: .step),
                Stage(duration: scaled(5), target: 2000, shape: .linear),
                Stage(duration: scaled(20), target: 5000, shape: .linear),
            ]
            return Settings(model: ClosedModel(users: 500, spawnRate: spawnRate, stages: stages), duration: scaled(30), totalOperations: nil)
        }
    }
}
