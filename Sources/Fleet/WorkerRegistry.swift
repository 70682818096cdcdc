/// The coordinator's view of its workers: who is registered, running, lost or finished, and when each was last
/// heard from. A pure state machine over explicit instants; the coordinator calls `expire(now:)` on a timer.
///
/// Transitions:
/// ```
/// (none) ──register──▶ registered ──start──▶ running ──finish──▶ finished
///                          │                    │
///                          └──── silent > timeout ────▶ lost ──register──▶ registered / running (rejoined)
/// ```
/// A worker that registers again with the same id while it is still live replaces its previous session (a reconnect
/// after a network blip); the old session's stream must then be ignored.
public struct WorkerRegistry: Sendable {
    /// Where a worker is in its life.
    public enum State: String, Sendable, Hashable, Codable {
        case registered, running, lost, finished
    }

    /// What the registry knows about one worker.
    public struct Worker: Sendable, Hashable {
        public var id: String
        public var host: String
        public var cores: Int
        /// Relative capacity used to divide users and rate (defaults to cores).
        public var capacity: Double
        public var state: State
        /// Increases with every registration of this id; messages of older sessions are stale.
        public var session: UInt64
        public var lastHeard: ContinuousClock.Instant
        /// True once the worker has been declared lost at least once.
        public var wasLost: Bool
        /// Estimated clock offset (worker clock minus coordinator clock), in nanoseconds.
        public var clockOffsetNanos: Int64
    }

    /// The result of a registration.
    public enum Registration: Sendable, Hashable {
        /// A worker never seen before.
        case new(session: UInt64)
        /// A known worker registering again; `wasLost` tells whether it had been declared lost (its chunks returned).
        case reconnected(session: UInt64, wasLost: Bool, previous: State)
        /// The worker already finished; it is refused.
        case alreadyFinished
    }

    /// Silence longer than this declares a worker lost.
    public var livenessTimeout: Duration
    private(set) public var workers: [String: Worker] = [:]

    /// Creates an empty registry.
    public init(livenessTimeout: Duration = .seconds(5)) {
        self.livenessTimeout = livenessTimeout
    }

    /// Registers (or re-registers) a worker; `running` says whether the run has started (the worker then runs at once).
    public mutating func register(
        id: String, host: String, cores: Int, capacity: Double, clockOffsetNanos: Int64 = 0,
        running: Bool, now: ContinuousClock.Instant
    ) -> Registration {
        let newState: State = running ? .running : .registered
        let weight = capacity > 0 && capacity.isFinite ? capacity : Double(max(cores, 1))
        if var existing = workers[id] {
            if existing.state == .finished { return .alreadyFinished }
            let previous = existing.state
            existing.session += 1
            existing.host = host
            existing.cores = cores
            existing.capacity = weight
            existing.state = newState
            existing.lastHeard = now
            existing.clockOffsetNanos = clockOffsetNanos
            let wasLost = previous == .lost
            workers[id] = existing
            return .reconnected(session: existing.session, wasLost: wasLost, previous: previous)
        }
        workers[id] = Worker(
            id: id, host: host, cores: cores, capacity: weight, state: newState, session: 1, lastHeard: now,
            wasLost: false, clockOffsetNanos: clockOffsetNanos)
        return .new(session: 1)
    }

    /// Whether `session` is the current session of worker `id` (messages of other sessions are ignored).
    public func isCurrent(_ id: String, session: UInt64) -> Bool {
        workers[id]?.session == session
    }

    /// Any message from a worker's current session proves it alive.
    public mutating func heard(from id: String, session: UInt64, now: ContinuousClock.Instant) {
        guard var worker = workers[id], worker.session == session else { return }
        worker.lastHeard = now
        workers[id] = worker
    }

    /// Records the clock offset measured for a worker.
    public mutating func setClockOffset(_ nanos: Int64, for id: String) {
        workers[id]?.clockOffsetNanos = nanos
    }

    /// The run started: every registered worker is running. Returns their ids.
    @discardableResult
    public mutating func startAll() -> [String] {
        var started: [String] = []
        for (id, worker) in workers where worker.state == .registered {
            workers[id]?.state = .running
            started.append(id)
        }
        return started.sorted()
    }

    /// The worker finished its part and the coordinator has its completion.
    public mutating func finish(_ id: String) {
        guard workers[id] != nil else { return }
        workers[id]?.state = .finished
    }

    /// A worker's stream ended without completion; it is lost at once (no need to wait for the timeout).
    /// Returns true if it changed state.
    @discardableResult
    public mutating func markLost(_ id: String, session: UInt64) -> Bool {
        guard var worker = workers[id], worker.session == session else { return false }
        switch worker.state {
        case .registered, .running:
            worker.state = .lost
            worker.wasLost = true
            workers[id] = worker
            return true
        case .lost, .finished:
            return false
        }
    }

    /// Declares lost every registered or running worker silent for longer than the liveness timeout.
    /// Returns the ids newly lost, sorted.
    public mutating func expire(now: ContinuousClock.Instant) -> [String] {
        var lost: [String] = []
        for (id, worker) in workers {
            switch worker.state {
            case .registered, .running:
                if now - worker.lastHeard > livenessTimeout {
                    workers[id]?.state = .lost
                    workers[id]?.wasLost = true
                    lost.append(id)
                }
            case .lost, .finished:
                break
            }
        }
        return lost.sorted()
    }

    /// A new run on the same workers (an interactive coordinator): the connected ones (`keeping`) are registered
    /// again with their sessions unchanged and their lost markers cleared; every other worker is forgotten.
    public mutating func beginNextRun(keeping ids: Set<String>) {
        for (id, var worker) in workers {
            guard ids.contains(id) else {
                workers[id] = nil
                continue
            }
            worker.state = .registered
            worker.wasLost = false
            workers[id] = worker
        }
    }

    /// Between runs of an interactive coordinator: a worker that finished the last run and registers again (a network
    /// blip while idle) is registered again instead of refused.
    public mutating func readmitIdle(_ id: String) {
        guard workers[id]?.state == .finished else { return }
        workers[id]?.state = .registered
    }

    /// Workers in a given state, sorted by id.
    public func ids(in state: State) -> [String] {
        workers.values.filter { $0.state == state }.map(\.id).sorted()
    }

    /// Workers that are registered or running (they take a share of the work), sorted by id.
    public var live: [Worker] {
        workers.values.filter { $0.state == .registered || $0.state == .running }.sorted { $0.id < $1.id }
    }
}
