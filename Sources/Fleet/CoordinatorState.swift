import Foundation
import LoadEngine
import Logging
import SwiftProtobuf

/// Wall clock in Unix nanoseconds (for clock offsets and the start barrier, which cross machines).
func wallClockNanos() -> Int64 {
    var time = timespec()
    clock_gettime(CLOCK_REALTIME, &time)
    return Int64(time.tv_sec) &* 1_000_000_000 &+ Int64(time.tv_nsec)
}

/// Live progress of a distributed run, for the terminal, the web UI and tests.
public struct CoordinatorProgress: Sendable, Equatable {
    public enum Phase: String, Sendable {
        case waitingForWorkers = "waiting", running, stopping, finished
    }
    public var phase: Phase
    public var runID: String
    public var target: UInt64
    /// Distinct messages done (fixed-total) or operations so far (rate/user runs).
    public var completed: UInt64
    public var workers: [String: WorkerRegistry.State]
    public var lostWorkers: [String]
    public var operations: UInt64
    public var failures: UInt64
    public var p50Millis: Double
    public var p99Millis: Double
    /// Operations per second over the last full second.
    public var lastSecondRate: Double
}

/// The coordinator's state: registry, ledger, statistics and journal, and one outbox per connected worker.
/// All events funnel through this actor, so the pure parts it owns need no locks.
actor CoordinatorState {
    struct Session {
        let worker: String
        let session: UInt64
        let instance: String
        let host: String
        let outbox: AsyncStream<CoordinatorMessage>.Continuation
        var wants = 0
        var clock = ClockOffsetEstimator()
        var probesSent: [UInt64: Int64] = [:]
        var assigned = false
        let registeredAt: ContinuousClock.Instant
    }

    struct Final {
        var totals: MetricsSnapshot
        var durationNanos: Int64
        var error: String
        var reconciliation: [String]
    }

    enum Phase: Equatable {
        case waiting
        case running(startAtWallNanos: Int64, startInstant: ContinuousClock.Instant)
        case stopping(reason: String)
        case finished
    }

    /// The coordinator's settings; `run` is replaced when an interactive coordinator starts its next run.
    private(set) var configuration: CoordinatorConfiguration
    let logger: Logger
    private(set) var phase: Phase = .waiting
    private(set) var registry: WorkerRegistry
    private var ledger: ChunkLedger?
    /// Unknown-outcome and failed indexes of the counted chunks (fixed-total runs), for the results.
    private var outcomeLists = ChunkOutcomeLists()
    private(set) var stats = StatsAggregator()
    private var journal: RunJournal?
    private var sessions: [String: Session] = [:]
    private var finals: [String: Final] = [:]
    private(set) var hosts: [String: String] = [:]
    private(set) var lost: [String] = []
    private var nextProbeID: UInt64 = 1
    private var indexBases: [String: UInt64] = [:]
    private var shares: [String: ShareDivider.Share] = [:]
    private var stopReason = ""
    private var startWallNanos: Int64?
    private var endWallNanos: Int64?
    private var lastHeartbeat: ContinuousClock.Instant = .now
    private var results: DistributedResults?
    private var finishedWaiters: [UInt64: CheckedContinuation<DistributedResults?, Never>] = [:]
    private var nextWaiter: UInt64 = 0
    private var startRequested = false
    /// The run's whole users (closed) and arrival rate (open) now: the configured ones until the operator changes them.
    private(set) var currentUsers = 0
    private(set) var currentRate = 0.0
    /// Runs started so far by this coordinator (0: an interactive coordinator waiting for its first run).
    private(set) var runsStarted = 0
    /// The current run's thresholds (checked at start-up), evaluated on the merged statistics (`abort-on-fail`: as
    /// they arrive). Read from `configuration.run`, so a next run of an interactive coordinator brings its own.
    private var thresholds: [Threshold] { (try? configuration.run.parsedThresholds()) ?? [] }
    private var lastThresholdCheck: ContinuousClock.Instant = .now
    /// Whole seconds into the run at which a late worker (per run, worker id and process instance) started.
    private var joinOffsets: [String: Int] = [:]

    private func joinKey(_ worker: String, instance: String) -> String {
        "\(configuration.run.runID)/\(worker)/\(instance)"
    }
    /// The threshold whose failure stopped the run (abort-on-fail), for the stop message.
    private var failedThreshold: ThresholdResult?

    init(configuration: CoordinatorConfiguration, logger: Logger) throws(FleetError) {
        var configuration = configuration
        var journalPath: String?
        if let directory = configuration.journalDirectory {
            journalPath = RunJournal.path(directory: directory, runID: configuration.run.runID)
        }
        var replay: JournalReplay?
        if configuration.resume {
            guard let journalPath else {
                throw FleetError(.invalidConfiguration, "--resume needs a journal directory")
            }
            let replayed = try JournalReplay(entries: try RunJournal.read(path: journalPath))
            guard !replayed.finished else {
                throw FleetError(.runFinished, "run \(replayed.configuration.runID) already finished; nothing to resume", subject: journalPath)
            }
            // The run continues as journaled (target, chunks, identity); only the password comes from this start.
            let password = configuration.run.password
            configuration.run = replayed.configuration
            configuration.run.password = password
            replay = replayed
        }
        if configuration.run.runEpochMillis == 0 { configuration.run.runEpochMillis = wallClockNanos() / 1_000_000 }
        self.configuration = configuration
        self.logger = logger
        _ = try configuration.run.parsedThresholds()
        registry = WorkerRegistry(livenessTimeout: configuration.livenessTimeout)
        let run = configuration.run
        currentUsers = run.users
        currentRate = run.rate
        if configuration.keepWorkers, configuration.waitForFirstRun, !configuration.resume {
            // Idle until the first run is given; workers may connect meanwhile.
            phase = .finished
        } else if var replay, let journalPath {
            let released = replay.releaseAllLeases()
            ledger = replay.ledger
            outcomeLists.coversWholeRun = false
            stats = replay.stats
            startWallNanos = replay.startedAtUnixNanos
            lost = replay.lostWorkers.sorted()
            let journal = try RunJournal(path: journalPath)
            for worker in released { try journal.append(.released(worker: worker)) }
            self.journal = journal
            logger.info(
                "resuming run",
                metadata: [
                    "run": "\(run.runID)", "done": "\(replay.ledger?.completedMessages ?? 0)", "target": "\(run.target)",
                ])
        } else {
            if run.model == .fixedTotal {
                ledger = try ChunkLedger(target: run.target, chunkSize: run.chunkSize)
            }
            if let journalPath {
                if FileManager.default.fileExists(atPath: journalPath) {
                    throw FleetError(
                        .journal, "a journal for run \(run.runID) already exists; use --resume \(run.runID) or another run id",
                        subject: journalPath)
                }
                let journal = try RunJournal(path: journalPath)
                try journal.append(.configuration(run.journaled))
                self.journal = journal
            }
        }
    }

    // MARK: Registration

    enum RegisterResult {
        case accepted(session: UInt64, outbox: AsyncStream<CoordinatorMessage>)
        case refused(Stampede_Fleet_V1_Refusal)
    }

    func register(_ request: Stampede_Fleet_V1_Register, peer: String) -> RegisterResult {
        let now = ContinuousClock.now
        let id = request.workerID.isEmpty ? peer : request.workerID
        func refuse(_ reason: Stampede_Fleet_V1_Refusal.Reason, _ message: String) -> RegisterResult {
            logger.warning("refused worker", metadata: ["worker": "\(id)", "peer": "\(peer)", "reason": "\(message)"])
            var refusal = Stampede_Fleet_V1_Refusal()
            refusal.reason = reason
            refusal.message = message
            refusal.coordinatorVersion = configuration.version
            return .refused(refusal)
        }
        if request.version != configuration.version || request.protocolVersion != FleetVersion.protocolVersion {
            return refuse(
                .versionMismatch,
                "worker version \(request.version) (protocol \(request.protocolVersion)) does not match coordinator version "
                    + "\(configuration.version) (protocol \(FleetVersion.protocolVersion)); run the same stampede build on every machine")
        }
        if let token = configuration.token, !token.isEmpty, !constantTimeEqual(token, request.token) {
            return refuse(.badToken, "the worker's token does not match the coordinator's (check --token / STAMPEDE_TOKEN)")
        }
        if id.count > 200 {
            return refuse(.protocolError, "worker id is longer than 200 characters")
        }
        if phase == .finished, !configuration.keepWorkers {
            return refuse(.runFinished, "run \(configuration.run.runID) has finished")
        }
        if phase == .finished {
            // Between runs of an interactive coordinator: a worker reconnecting after a blip waits for the next run.
            registry.readmitIdle(id)
        }
        if let duplicate = liveSession(of: id, now: now), duplicate.instance != request.instance {
            // Another process uses this id and is still heartbeating on its open stream. (The same process
            // reconnecting after a network blip presents the same instance and takes its place back below.)
            return refuse(
                .duplicateWorkerID,
                "worker id \(id) is already connected from host \(duplicate.host.isEmpty ? "?" : duplicate.host); "
                    + "give every worker its own --id")
        }
        let running: Bool
        switch phase {
        case .running, .stopping: running = true
        case .waiting, .finished: running = false
        }
        let registration = registry.register(
            id: id, host: request.host, cores: Int(request.cores), capacity: request.capacity, running: running, now: now)
        let session: UInt64
        var welcome = Stampede_Fleet_V1_Welcome()
        switch registration {
        case .alreadyFinished:
            return refuse(.runFinished, "worker \(id) already finished its part of run \(configuration.run.runID)")
        case .new(let number):
            session = number
            logger.info("worker registered", metadata: ["worker": "\(id)", "host": "\(request.host)", "cores": "\(request.cores)"])
        case .reconnected(let number, let wasLost, _):
            session = number
            welcome.rejoined = wasLost
            if wasLost { lost.removeAll { $0 == id } }
            logger.info("worker reconnected", metadata: ["worker": "\(id)", "was_lost": "\(wasLost)"])
        }
        sessions[id]?.outbox.finish()
        hosts[id] = request.host
        let (stream, continuation) = AsyncStream<CoordinatorMessage>.makeStream(bufferingPolicy: .unbounded)
        var state = Session(
            worker: id, session: session, instance: request.instance, host: request.host, outbox: continuation,
            registeredAt: now)
        welcome.runID = configuration.run.runID
        welcome.coordinatorVersion = configuration.version
        welcome.heartbeatIntervalNanos = configuration.heartbeatInterval.nanoseconds
        welcome.livenessTimeoutNanos = configuration.livenessTimeout.nanoseconds
        welcome.ackedStatsThrough = stats.contiguousThrough(worker: id, instance: request.instance)
        var leasesLostInTransit: [UInt64] = []
        if var ledger {
            welcome.staleChunkIds = ledger.staleChunks(claimedBy: id, claimed: request.heldChunkIds)
            // Leases sent on the connection that dropped may never have arrived: what the worker does not claim goes
            // back to the pool, or it would stay leased to a live worker that never writes it and the run would stall.
            leasesLostInTransit = ledger.releaseUnclaimed(by: id, claimed: request.heldChunkIds)
            self.ledger = ledger
            for chunk in leasesLostInTransit { journalAppend(.releasedChunk(chunk: chunk, worker: id)) }
            if !leasesLostInTransit.isEmpty {
                logger.info(
                    "leases lost with a worker's connection returned to the pool",
                    metadata: ["worker": "\(id)", "chunks": "\(leasesLostInTransit)"])
            }
        }
        continuation.yield(.with(.welcome(welcome)))
        // Three clock probes; the fastest round trip wins.
        let sentAt = wallClockNanos()
        for _ in 0..<3 {
            var probe = Stampede_Fleet_V1_ClockProbe()
            probe.probeID = nextProbeID
            probe.coordinatorTimeUnixNanos = sentAt
            state.probesSent[nextProbeID] = sentAt
            nextProbeID += 1
            continuation.yield(.with(.clockProbe(probe)))
        }
        sessions[id] = state
        if !leasesLostInTransit.isEmpty { serveAll() }
        if indexBases[id] == nil { indexBases[id] = UInt64(indexBases.count + 1) << 40 }
        switch phase {
        case .running(let startAtWall, _):
            rebalance()
            assign(id, startAtCoordinatorNanos: max(startAtWall, wallClockNanos()))
        case .stopping(let reason):
            send(id, .stop(stopMessage(reason)))
        case .waiting, .finished:
            break
        }
        return .accepted(session: session, outbox: stream)
    }

    /// The open session of `id` if its worker is live and was heard from recently (it is heartbeating).
    private func liveSession(of id: String, now: ContinuousClock.Instant) -> Session? {
        guard let session = sessions[id], let worker = registry.workers[id], registry.isCurrent(id, session: session.session)
        else { return nil }
        guard worker.state == .registered || worker.state == .running else { return nil }
        let window = max(configuration.heartbeatInterval * 2, configuration.livenessTimeout / 2)
        return now - worker.lastHeard <= window ? session : nil
    }

    private func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        var difference = UInt8(truncatingIfNeeded: x.count ^ y.count)
        for index in 0..<max(x.count, y.count) {
            let p = index < x.count ? x[index] : 0
            let q = index < y.count ? y[index] : 0
            difference |= p ^ q
        }
        return difference == 0
    }

    // MARK: Messages

    /// Handles one message of a worker's session; throws for protocol violations (the stream is then closed).
    func handle(_ message: WorkerMessage, worker: String, session: UInt64) throws(FleetError) {
        guard registry.isCurrent(worker, session: session) else { return }
        let now = ContinuousClock.now
        registry.heard(from: worker, session: session, now: now)
        switch message.kind {
        case .register:
            throw FleetError(.protocolViolation, "a worker registered twice on one stream", subject: worker)
        case .heartbeat:
            break
        case .clockEcho(let echo):
            guard var state = sessions[worker], let sent = state.probesSent.removeValue(forKey: echo.probeID) else { return }
            state.clock.add(sentAt: sent, workerTime: echo.workerTimeUnixNanos, receivedAt: wallClockNanos())
            sessions[worker] = state
            registry.setClockOffset(state.clock.offsetNanos, for: worker)
        case .chunkRequest(let request):
            let wants = min(Int(request.wanted) + (sessions[worker]?.wants ?? 0), configuration.leaseDepth)
            sessions[worker]?.wants = wants
            serve(worker)
        case .chunkCompleted(let completed):
            try chunkCompleted(completed, worker: worker)
        case .intervalStats(var wire):
            // A worker that joined late counts seconds from its own start: put them on the run's timeline.
            wire.second += Int64(joinOffsets[joinKey(worker, instance: sessions[worker]?.instance ?? "")] ?? 0)
            let interval = try WorkerInterval(wire: wire)
            let instance = sessions[worker]?.instance ?? ""
            if stats.ingest(interval, from: worker, instance: instance) == .accepted {
                if let data = try? wire.serializedData() {
                    journalAppend(.stats(worker: worker, instance: instance, interval: data))
                }
            }
            var ack = Stampede_Fleet_V1_StatsAck()
            ack.sequences = [wire.sequence]
            send(worker, .statsAck(ack))
        case .completion(let completion):
            try completed(completion, worker: worker)
        case nil:
            throw FleetError(.protocolViolation, "a worker sent an empty message", subject: worker)
        }
    }

    private func chunkCompleted(_ completed: Stampede_Fleet_V1_ChunkCompleted, worker: String) throws(FleetError) {
        guard var ledger else {
            throw FleetError(.protocolViolation, "chunk completion in a run without chunks", subject: worker)
        }
        let outcome = ledger.complete(
            chunk: completed.chunkID, epoch: completed.leaseEpoch, by: worker, acknowledged: completed.acknowledged)
        self.ledger = ledger
        var ack = Stampede_Fleet_V1_ChunkAck()
        ack.chunkID = completed.chunkID
        ack.leaseEpoch = completed.leaseEpoch
        switch outcome {
        case .counted(let revokeFrom):
            outcomeLists.counted(completed)
            journalAppend(
                .completed(chunk: completed.chunkID, epoch: completed.leaseEpoch, worker: worker, acknowledged: completed.acknowledged))
            ack.counted = true
            if let revokeFrom {
                var revoke = Stampede_Fleet_V1_ChunkRevoke()
                revoke.chunkIds = [completed.chunkID]
                revoke.reason = "chunk \(completed.chunkID) was completed by \(worker)"
                send(revokeFrom, .chunkRevoke(revoke))
                serve(revokeFrom)
            }
        case .alreadyDone, .unknownChunk:
            ack.counted = false
        }
        send(worker, .chunkAck(ack))
        // The worker holds one chunk fewer: serve requests it made while at its lease depth.
        serve(worker)
        if ledger.isComplete, case .running = phase {
            beginStop(reason: "target-reached")
        }
    }

    private func completed(_ completion: Stampede_Fleet_V1_Completion, worker: String) throws(FleetError) {
        let totals = try MetricsSnapshot(wireOperations: completion.totals)
        let instance = sessions[worker]?.instance ?? ""
        let problems = stats.reconcile(
            worker: worker, instance: instance, finalTotals: totals, lastSequence: completion.lastStatsSequence)
        if !problems.isEmpty {
            logger.warning("worker totals do not reconcile", metadata: ["worker": "\(worker)", "problems": "\(problems)"])
        }
        if !completion.error.isEmpty {
            logger.error("worker stopped with an error", metadata: ["worker": "\(worker)", "error": "\(completion.error)"])
        }
        finals[worker] = Final(
            totals: totals, durationNanos: completion.durationNanos, error: completion.error, reconciliation: problems)
        registry.finish(worker)
        if var ledger {
            ledger.release(worker: worker)
            self.ledger = ledger
            journalAppend(.released(worker: worker))
            serveAll()
        }
        var finished = Stampede_Fleet_V1_Finished()
        finished.success = completion.error.isEmpty
        finished.message = "run \(configuration.run.runID): your part is recorded"
        finished.stayConnected = configuration.keepWorkers
        send(worker, .finished(finished))
        if !configuration.keepWorkers { sessions[worker]?.outbox.finish() }
        if case .running = phase, ledger == nil {
            // A rate/user worker finished on its own (duration): nothing to rebalance to.
            rebalance()
        }
        checkFinished()
    }

    /// A worker's stream ended. It is not lost yet: it may reconnect within the liveness timeout and keep its place.
    func streamEnded(worker: String, session: UInt64) {
        guard let state = sessions[worker], state.session == session else { return }
        state.outbox.finish()
        sessions[worker] = nil
    }

    // MARK: Work

    private func serve(_ worker: String) {
        guard var state = sessions[worker], case .running = phase, var ledger else { return }
        while state.wants > 0, ledger.leases(of: worker).count < configuration.leaseDepth,
            let lease = ledger.lease(to: worker)
        {
            state.wants -= 1
            journalAppend(.leased(chunk: lease.chunk.id, epoch: lease.epoch, worker: worker))
            var message = Stampede_Fleet_V1_ChunkLease()
            message.chunkID = lease.chunk.id
            message.firstIndex = lease.chunk.range.lowerBound
            message.endIndex = lease.chunk.range.upperBound
            message.leaseEpoch = lease.epoch
            state.outbox.yield(.with(.chunkLease(message)))
        }
        sessions[worker] = state
        self.ledger = ledger
    }

    private func serveAll() {
        for worker in sessions.keys.sorted() { serve(worker) }
    }

    private func assign(_ worker: String, startAtCoordinatorNanos: Int64) {
        guard var state = sessions[worker] else { return }
        var assignment = Stampede_Fleet_V1_Assignment()
        var startAtCoordinatorNanos = startAtCoordinatorNanos
        var run = configuration.run
        if case .running(let runStart, _) = phase, startAtCoordinatorNanos > runStart {
            // Joining a running run: start on a whole second of the run's timeline with the stages and duration that
            // remain, so this worker's load and per-second statistics line up with the others' (the coordinator's
            // clock decides where the run is, not the worker's own start).
            let key = joinKey(worker, instance: state.instance)
            let offset = joinOffsets[key] ?? Int((startAtCoordinatorNanos - runStart + 999_999_999) / 1_000_000_000)
            joinOffsets[key] = offset
            startAtCoordinatorNanos = runStart + Int64(offset) * 1_000_000_000
            run = run.joining(after: .seconds(offset))
        }
        assignment.config = run.wire
        let barrier = StartBarrier(startAtCoordinatorNanos: startAtCoordinatorNanos)
        assignment.startAtCoordinatorUnixNanos = startAtCoordinatorNanos
        assignment.startAtWorkerUnixNanos = barrier.startOnWorker(offsetNanos: state.clock.offsetNanos)
        assignment.indexBase = indexBases[worker] ?? 0
        if let share = shares[worker] { assignment.share = wireShare(share) }
        state.assigned = true
        state.outbox.yield(.with(.assignment(assignment)))
        sessions[worker] = state
        registry.startAll()
    }

    private func wireShare(_ share: ShareDivider.Share) -> Stampede_Fleet_V1_ShareUpdate {
        var update = Stampede_Fleet_V1_ShareUpdate()
        update.users = Double(share.users)
        update.ratePerSecond = share.ratePerSecond
        update.fraction = share.fraction
        update.planScale = planScale(share)
        update.effectiveAtCoordinatorUnixNanos = wallClockNanos()
        return update
    }

    /// What a worker multiplies its `RunConfig`'s users / rate plan by: its share of the current total over the
    /// configured total (whole users exactly, so the workers' users add up to the total). Staged runs keep the fraction.
    private func planScale(_ share: ShareDivider.Share) -> Double {
        let run = configuration.run
        switch run.model {
        case .fixedTotal: return 1
        case .closed: return run.stages.isEmpty && run.users > 0 ? Double(share.users) / Double(run.users) : share.fraction
        case .open: return run.stages.isEmpty && run.rate > 0 ? share.ratePerSecond / run.rate : share.fraction
        }
    }

    /// Divides users/rate among live workers again and sends the changed shares.
    private func rebalance() {
        let run = configuration.run
        guard run.model != .fixedTotal else { return }
        var capacities: [String: Double] = [:]
        for worker in registry.live where sessions[worker.id] != nil { capacities[worker.id] = worker.capacity }
        let divided = ShareDivider().divide(totalUsers: currentUsers, totalRate: currentRate, capacities: capacities)
        for (worker, share) in divided where shares[worker] != share {
            shares[worker] = share
            if sessions[worker]?.assigned == true { send(worker, .shareUpdate(wireShare(share))) }
        }
        for worker in shares.keys where divided[worker] == nil { shares[worker] = nil }
    }

    // MARK: Timer

    /// Called every ~100 ms by the coordinator: liveness, heartbeats, the start barrier, duration.
    func tick() {
        let now = ContinuousClock.now
        for worker in registry.expire(now: now) { workerLost(worker) }
        if now - lastHeartbeat >= configuration.heartbeatInterval {
            lastHeartbeat = now
            var beat = Stampede_Fleet_V1_CoordinatorHeartbeat()
            beat.coordinatorTimeUnixNanos = wallClockNanos()
            for state in sessions.values { state.outbox.yield(.with(.heartbeat(beat))) }
        }
        switch phase {
        case .waiting:
            let ready = registry.live.filter { worker in
                guard let session = sessions[worker.id] else { return false }
                return session.clock.sampleCount > 0 || now - session.registeredAt > .seconds(1)
            }
            if startRequested || ready.count >= configuration.expectWorkers, !ready.isEmpty { startRun() }
        case .running(_, let startInstant):
            let stagesEnd = configuration.run.stages.isEmpty ? nil : configuration.run.stages.reduce(Duration.zero) { $0 + $1.duration }
            if let duration = configuration.run.duration ?? stagesEnd, now - startInstant >= duration {
                beginStop(reason: "duration-elapsed")
            } else if configuration.run.abortOnThresholdFailure, now - lastThresholdCheck >= .milliseconds(500) {
                lastThresholdCheck = now
                checkThresholdsForAbort(elapsed: now - startInstant)
            }
        case .stopping, .finished:
            break
        }
        checkFinished()
    }

    /// Abort-on-fail: stops the whole run when a threshold fails on the statistics merged so far. Throughput
    /// thresholds are judged only at the end (a run ramping up is below its target rate at first).
    private func checkThresholdsForAbort(elapsed: Duration) {
        guard !thresholds.isEmpty, stats.total.combined.operations > 0 else { return }
        let seconds = max(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, 0.001)
        for threshold in thresholds {
            if case .throughput = threshold.metric { continue }
            let result = threshold.evaluate(stats.total, elapsedSeconds: seconds)
            if !result.passed {
                failedThreshold = result
                logger.warning(
                    "threshold failed; stopping every worker",
                    metadata: ["threshold": "\(result.expression)", "observed": "\(result.observedText)"])
                beginStop(reason: "threshold-failed")
                return
            }
        }
    }

    private func workerLost(_ worker: String) {
        logger.warning("worker lost", metadata: ["worker": "\(worker)"])
        if !lost.contains(worker) { lost.append(worker) }
        journalAppend(.lost(worker: worker, atUnixNanos: wallClockNanos()))
        sessions[worker]?.outbox.finish()
        sessions[worker] = nil
        if var ledger {
            let returned = ledger.release(worker: worker)
            self.ledger = ledger
            if !returned.isEmpty {
                journalAppend(.released(worker: worker))
                logger.info("chunks returned to the pool", metadata: ["worker": "\(worker)", "chunks": "\(returned.count)"])
            }
            serveAll()
        }
        rebalance()
    }

    /// Starts now (operator request) even if fewer workers than expected are connected.
    func requestStart() {
        startRequested = true
    }

    private func startRun() {
        let barrier = StartBarrier(now: wallClockNanos(), lead: configuration.startLead)
        let startInstant = ContinuousClock.now + configuration.startLead
        phase = .running(startAtWallNanos: barrier.startAtCoordinatorNanos, startInstant: startInstant)
        runsStarted += 1
        if startWallNanos == nil {
            startWallNanos = barrier.startAtCoordinatorNanos
            journalAppend(.started(atUnixNanos: barrier.startAtCoordinatorNanos))
        }
        logger.info("run starting", metadata: ["run": "\(configuration.run.runID)", "workers": "\(sessions.count)"])
        rebalance()
        for worker in sessions.keys.sorted() {
            assign(worker, startAtCoordinatorNanos: barrier.startAtCoordinatorNanos)
        }
        if let ledger, ledger.isComplete { beginStop(reason: "target-reached") }
    }

    /// Stops the run for every worker (operator, duration, target reached).
    func beginStop(reason: String) {
        switch phase {
        case .stopping, .finished: return
        case .waiting, .running: break
        }
        stopReason = reason
        phase = .stopping(reason: reason)
        endWallNanos = wallClockNanos()
        logger.info("run stopping", metadata: ["reason": "\(reason)"])
        for worker in sessions.keys.sorted() { send(worker, .stop(stopMessage(reason))) }
        checkFinished()
    }

    private func stopMessage(_ reason: String) -> Stampede_Fleet_V1_Stop {
        var stop = Stampede_Fleet_V1_Stop()
        switch reason {
        case "target-reached": stop.reason = .targetReached
        case "duration-elapsed": stop.reason = .durationElapsed
        case "operator": stop.reason = .operator
        case "threshold-failed": stop.reason = .thresholdFailed
        default: stop.reason = .coordinatorShutdown
        }
        stop.message = "run \(configuration.run.runID) is stopping: \(reason)"
        if let failedThreshold, reason == "threshold-failed" {
            stop.message += " (\(failedThreshold.expression), observed \(failedThreshold.observedText))"
        }
        return stop
    }

    private func checkFinished() {
        guard case .stopping = phase else { return }
        let outstanding = registry.workers.values.filter { $0.state == .registered || $0.state == .running }
        guard outstanding.isEmpty else { return }
        phase = .finished
        let results = buildResults()
        journalAppend(.finished(atUnixNanos: wallClockNanos(), reason: stopReason))
        journal?.sync()
        self.results = results
        for waiter in finishedWaiters.values { waiter.resume(returning: results) }
        finishedWaiters.removeAll()
        // An interactive coordinator keeps the streams open: the workers wait for its next run.
        if !configuration.keepWorkers {
            for state in sessions.values { state.outbox.finish() }
        }
    }

    /// Waits for the run to finish and returns its results; nil when the waiting task is cancelled.
    func waitForResults() async -> DistributedResults? {
        if let results { return results }
        let id = nextWaiter
        nextWaiter += 1
        return await withTaskCancellationHandler {
            await withCheckedContinuation { finishedWaiters[id] = $0 }
        } onCancel: {
            Task { await self.cancelWaiter(id) }
        }
    }

    private func cancelWaiter(_ id: UInt64) {
        finishedWaiters.removeValue(forKey: id)?.resume(returning: nil)
    }

    // MARK: Results

    func progress() -> CoordinatorProgress {
        let combined = stats.total.combined
        let latestSecond = stats.perSecond.keys.max().map { $0 - 1 } ?? -1
        let rate = Double(stats.perSecond[latestSecond]?.combined.operations ?? 0)
        let phase: CoordinatorProgress.Phase
        switch self.phase {
        case .waiting: phase = .waitingForWorkers
        case .running: phase = .running
        case .stopping: phase = .stopping
        case .finished: phase = .finished
        }
        return CoordinatorProgress(
            phase: phase, runID: configuration.run.runID, target: configuration.run.target,
            completed: ledger?.completedMessages ?? combined.successes,
            workers: registry.workers.mapValues(\.state), lostWorkers: lost, operations: combined.operations,
            failures: combined.failures, p50Millis: DistributedResults.millis(combined.latency.valueAtPercentile(50)),
            p99Millis: DistributedResults.millis(combined.latency.valueAtPercentile(99)), lastSecondRate: rate)
    }

    func buildResults() -> DistributedResults {
        let run = configuration.run
        let combined = stats.total.combined
        let start = startWallNanos ?? wallClockNanos()
        let end = endWallNanos ?? wallClockNanos()
        let totalTime = max(Double(end - start) / 1e9, 0.001)
        let credited = ledger?.credited() ?? [:]
        var errors: [String: UInt64] = [:]
        for kind in ErrorKind.allCases where combined.errors(kind) > 0 { errors[kind.description] = combined.errors(kind) }
        var workers: [DistributedResults.Worker] = []
        let ids = Set(registry.workers.keys).union(stats.perWorker.keys).union(credited.keys).sorted()
        for id in ids {
            let metrics = (finals[id]?.totals ?? stats.perWorker[id] ?? MetricsSnapshot()).combined
            let duration = Double(finals[id]?.durationNanos ?? Int64(totalTime * 1e9)) / 1e9
            let messages = ledger != nil ? (credited[id]?.acknowledged ?? 0) : metrics.successes
            var notes = stats.notes[id] ?? []
            if let error = finals[id]?.error, !error.isEmpty { notes.append(error) }
            workers.append(
                DistributedResults.Worker(
                    workerID: id, host: hosts[id] ?? "", totalMessages: messages, duration: duration,
                    throughput: duration > 0 ? Double(messages) / duration : 0, failures: metrics.failures,
                    unknownOutcomes: metrics.unknownOutcomes, operations: metrics.operations,
                    chunksCompleted: credited[id]?.chunks ?? 0,
                    status: Self.status(of: registry.workers[id]?.state),
                    reconciliation: finals[id]?.reconciliation ?? [], notes: notes))
        }
        var perSecond: [DistributedResults.Second] = []
        for second in stats.perSecond.keys.sorted() {
            guard let metrics = stats.perSecond[second]?.combined else { continue }
            perSecond.append(
                DistributedResults.Second(
                    second: second, operations: metrics.operations, failures: metrics.failures,
                    p50: DistributedResults.millis(metrics.latency.valueAtPercentile(50)),
                    p99: DistributedResults.millis(metrics.latency.valueAtPercentile(99)),
                    max: DistributedResults.millis(metrics.latency.maxMicros)))
        }
        let totalMessages = ledger?.acknowledgedMessages ?? combined.successes
        let verdicts = thresholds.map { $0.evaluate(stats.total, elapsedSeconds: totalTime) }
        var results = DistributedResults(
            runID: run.runID, runEpochMillis: run.runEpochMillis, workload: run.workload, model: run.model.rawValue, target: run.target,
            totalMessages: totalMessages, totalTime: totalTime, throughput: Double(totalMessages) / totalTime,
            p50: DistributedResults.millis(combined.latency.valueAtPercentile(50)),
            p95: DistributedResults.millis(combined.latency.valueAtPercentile(95)),
            p99: DistributedResults.millis(combined.latency.valueAtPercentile(99)),
            p999: DistributedResults.millis(combined.latency.valueAtPercentile(99.9)),
            max: DistributedResults.millis(combined.latency.maxMicros), failures: combined.failures,
            unknownOutcomes: combined.unknownOutcomes, retries: combined.retries, dropped: stats.total.dropped,
            errorsByKind: errors, operations: combined.operations, completed: ledger?.isComplete ?? true,
            stopReason: stopReason, workers: workers, lostWorkers: lost, perSecond: perSecond,
            configuration: run.journaled)
        results.indexOutcomes = ledger.flatMap { outcomeLists.outcomes(ledger: $0) }
        results.thresholds = verdicts
        results.thresholdsPassed = verdicts.allSatisfy(\.passed) && stopReason != "threshold-failed"
        return results
    }

    /// A worker's status in the results: finished, lost, or from before a coordinator restart (`--resume`).
    static func status(of state: WorkerRegistry.State?) -> String {
        switch state {
        case .finished: "finished"
        case .lost, .registered, .running: "lost"
        case nil: "before-resume"
        }
    }

    /// The merged whole-run metrics (for tests and the web UI).
    func totalMetrics() -> MetricsSnapshot { stats.total }

    // MARK: Run control (interactive coordinators)

    /// Changes the running run's whole users (closed model) or arrival rate (open model); the live workers get their
    /// new shares at once. Refused for fixed-total and staged runs, and when no run is running.
    func adjustLoad(users: Int?, rate: Double?) throws(FleetError) {
        guard case .running = phase else {
            throw FleetError(.actionRefused, "no run is running (run \(configuration.run.runID) is \(progress().phase.rawValue))")
        }
        let run = configuration.run
        guard run.stages.isEmpty else {
            throw FleetError(.actionRefused, "run \(run.runID) follows stages; its users or rate cannot be changed by hand")
        }
        switch run.model {
        case .fixedTotal:
            throw FleetError(.actionRefused, "run \(run.runID) writes a fixed total; there are no users or rate to change")
        case .closed:
            guard let users else { throw FleetError(.actionRefused, "run \(run.runID) is a closed-model run: give users, not a rate") }
            guard users >= 0 else { throw FleetError(.invalidConfiguration, "users cannot be negative") }
            currentUsers = users
        case .open:
            guard let rate else { throw FleetError(.actionRefused, "run \(run.runID) is an open-model run: give a rate, not users") }
            guard rate >= 0, rate.isFinite else { throw FleetError(.invalidConfiguration, "the rate must be zero or more") }
            currentRate = rate
        }
        logger.info("load changed by the operator", metadata: ["users": "\(currentUsers)", "rate": "\(currentRate)"])
        rebalance()
    }

    /// Starts another run on the connected workers (interactive coordinators, once the previous run has finished).
    /// The run gets its own journal, statistics and results; returns its id.
    func startNextRun(_ next: FleetRunConfiguration) throws(FleetError) -> String {
        guard configuration.keepWorkers else {
            throw FleetError(
                .actionRefused, "this coordinator serves one run; start it with --keep-workers to run again on the same workers")
        }
        guard phase == .finished else {
            throw FleetError(.actionRefused, "run \(configuration.run.runID) is still \(progress().phase.rawValue); stop it first")
        }
        var run = next
        if run.runEpochMillis == 0 { run.runEpochMillis = wallClockNanos() / 1_000_000 }
        try run.validate()
        if runsStarted > 0, run.runID == configuration.run.runID {
            throw FleetError(.actionRefused, "run id \(run.runID) was already used by this coordinator")
        }
        var journal: RunJournal?
        if let directory = configuration.journalDirectory {
            let path = RunJournal.path(directory: directory, runID: run.runID)
            if FileManager.default.fileExists(atPath: path) {
                throw FleetError(.journal, "a journal for run \(run.runID) already exists; choose another run id", subject: path)
            }
            journal = try RunJournal(path: path)
            try journal?.append(.configuration(run.journaled))
        }
        ledger = run.model == .fixedTotal ? try ChunkLedger(target: run.target, chunkSize: run.chunkSize) : nil
        outcomeLists = ChunkOutcomeLists()
        self.journal = journal
        configuration.run = run
        currentUsers = run.users
        currentRate = run.rate
        stats = StatsAggregator()
        finals = [:]
        lost = []
        shares = [:]
        stopReason = ""
        failedThreshold = nil
        startWallNanos = nil
        endWallNanos = nil
        results = nil
        registry.beginNextRun(keeping: Set(sessions.keys))
        for worker in sessions.keys { sessions[worker]?.assigned = false }
        startRequested = true
        phase = .waiting
        logger.info("next run", metadata: ["run": "\(run.runID)", "workers": "\(sessions.count)"])
        return run.runID
    }

    /// An interactive coordinator is shutting down: idle workers are told they may exit, and every stream closes.
    func dismissWorkers() {
        var finished = Stampede_Fleet_V1_Finished()
        finished.success = true
        finished.message = "the coordinator is shutting down"
        for worker in sessions.keys.sorted() {
            send(worker, .finished(finished))
            sessions[worker]?.outbox.finish()
        }
    }

    /// The last finished run's results (nil while a run is under way or before the first one).
    var finishedResults: DistributedResults? { phase == .finished ? results : nil }

    // MARK: Helpers

    private func send(_ worker: String, _ kind: Stampede_Fleet_V1_CoordinatorMessage.OneOf_Kind) {
        sessions[worker]?.outbox.yield(.with(kind))
    }

    private func journalAppend(_ entry: JournalEntry) {
        guard let journal else { return }
        do {
            try journal.append(entry)
        } catch {
            logger.error("journal write failed; the run can no longer be resumed", metadata: ["error": "\(error)"])
            self.journal = nil
        }
    }
}
