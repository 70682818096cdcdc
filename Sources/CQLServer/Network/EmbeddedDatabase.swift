import CQLProtocol
import NIOCore
import Synchronization

/// The query engine behind one lock, shared by every node and connection of a cluster, with the commit
/// log (when durability is on) written under the same lock so its order is the order of execution.
final class EmbeddedDatabase: Sendable {
    private let engine: Mutex<QueryEngine>
    let commitLog: CommitLog?
    /// Rows written since start (for the writes/s summary).
    let writes = Atomic<UInt64>(0)

    init(engine: consuming sending QueryEngine, commitLog: CommitLog?) {
        self.engine = Mutex(engine)
        self.commitLog = commitLog
    }

    /// The result of a request, plus the commit-log position to wait for before acknowledging (batch sync).
    struct Executed: Sendable {
        var outcome: ExecutionOutcome
        var commitLogPosition: UInt64?
    }

    /// Runs `body` on the engine, then journals what it changed.
    func run(_ body: (inout QueryEngine) throws(CQLServerError) -> ExecutionOutcome) throws(CQLServerError) -> Executed {
        let executed = try engine.withLock { engine throws(CQLServerError) -> Executed in
            let outcome = try body(&engine)
            var position: UInt64?
            if let commitLog, !outcome.journal.isEmpty {
                position = commitLog.append(outcome.journal, engine: engine)
            }
            return Executed(outcome: outcome, commitLogPosition: position)
        }
        if executed.outcome.writeCount > 0 { writes.wrappingAdd(UInt64(executed.outcome.writeCount), ordering: .relaxed) }
        return executed
    }

    /// PREPARE does not change data.
    func prepare(_ query: String, session: CQLSessionState) throws(CQLServerError) -> CQLPrepared {
        try engine.withLock { engine throws(CQLServerError) -> CQLPrepared in try engine.prepare(query, session: session) }
    }

    /// Reads or changes the engine without journaling (topology updates, snapshots, replay).
    func withEngine<Result: Sendable>(_ body: (inout QueryEngine) throws -> Result) rethrows -> Result {
        try engine.withLock { engine in try body(&engine) }
    }
}

/// Connections that asked for events with REGISTER, and the pushing of events to them.
final class EventBroadcaster: Sendable {
    private struct Subscriber: Sendable {
        var channel: any Channel
        var events: Set<CQLEventType>
        var version: UInt8
        var nodeIndex: Int
    }

    private let subscribers = Mutex<[ObjectIdentifier: Subscriber]>([:])

    func register(_ channel: any Channel, events: [CQLEventType], version: UInt8, nodeIndex: Int) {
        subscribers.withLock {
            $0[ObjectIdentifier(channel)] = Subscriber(channel: channel, events: Set(events), version: version, nodeIndex: nodeIndex)
        }
    }

    func unregister(_ channel: any Channel) {
        _ = subscribers.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Sends `event` on stream -1 to every subscriber of its type, except connections to `excludingNode`.
    func publish(_ event: CQLEvent, excludingNode: Int? = nil) {
        let type: CQLEventType
        switch event {
        case .schemaChange: type = .schemaChange
        case .statusChange: type = .statusChange
        case .topologyChange: type = .topologyChange
        }
        let targets = subscribers.withLock { Array($0.values) }.filter { $0.events.contains(type) && $0.nodeIndex != excludingNode }
        for target in targets {
            var buffer = target.channel.allocator.buffer(capacity: 64)
            CQLFrameEncoder.write(CQLResponse.event(event), stream: -1, version: target.version, into: &buffer)
            target.channel.writeAndFlush(buffer, promise: nil)
        }
    }
}
