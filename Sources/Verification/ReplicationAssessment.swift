import CQLClient
import CQLProtocol

/// Whether a keyspace's replication, the nodes up and the chosen consistency level allow a run. Pure.
public struct ReplicationAssessment: Sendable, Hashable {
    public var keyspace: String
    public var datacenter: String
    public var replicationFactor: Int
    public var nodesInDatacenter: Int
    public var nodesUp: Int
    public var consistency: CQLConsistency

    public init(keyspace: String, datacenter: String, replicationFactor: Int, nodesInDatacenter: Int, nodesUp: Int, consistency: CQLConsistency) {
        self.keyspace = keyspace
        self.datacenter = datacenter
        self.replicationFactor = replicationFactor
        self.nodesInDatacenter = nodesInDatacenter
        self.nodesUp = nodesUp
        self.consistency = consistency
    }

    /// Replicas that must answer at the consistency level.
    public var required: Int { consistency.requiredReplicas(replicationFactor: replicationFactor) }

    /// Replicas actually placed: no more than there are nodes.
    public var placedReplicas: Int { min(replicationFactor, nodesInDatacenter) }

    /// Live replicas of the worst-placed partition when `nodesInDatacenter - nodesUp` nodes are down.
    public var worstCaseLiveReplicas: Int { max(0, placedReplicas - (nodesInDatacenter - nodesUp)) }

    /// The check's verdict.
    public var check: DoctorCheck {
        let name = "replication of \(keyspace)"
        let level = consistency.description
        let setting = "RF \(replicationFactor) in \(datacenter), \(nodesUp)/\(nodesInDatacenter) nodes up, \(level) needs \(required)"
        if replicationFactor <= 0 {
            return DoctorCheck(name, .fail, "\(keyspace) has no replicas in datacenter \(datacenter)",
                               fix: "ALTER KEYSPACE \(keyspace) WITH replication = {'class': 'NetworkTopologyStrategy', '\(datacenter)': \(min(3, max(1, nodesInDatacenter)))}")
        }
        if required > placedReplicas {
            return DoctorCheck(name, .fail, "\(setting), but only \(placedReplicas) replicas can exist: every write will be Unavailable",
                               fix: "use --consistency ONE/QUORUM, or add nodes so RF \(replicationFactor) can be placed")
        }
        if required > worstCaseLiveReplicas {
            let down = nodesInDatacenter - nodesUp
            return DoctorCheck(name, .fail, "\(setting): with \(down) node(s) down some partitions have only \(worstCaseLiveReplicas) live replica(s)",
                               fix: "bring the down node(s) back, or lower --consistency (e.g. ONE)")
        }
        if replicationFactor > nodesInDatacenter {
            return DoctorCheck(name, .warn, "\(setting): RF is larger than the number of nodes",
                               fix: "lower the replication factor to \(nodesInDatacenter) or add nodes")
        }
        let tolerance = worstCaseLiveReplicas - required
        if replicationFactor == 1 {
            return DoctorCheck(name, .warn, "\(setting): one copy of each row, no node may fail",
                               fix: "use replication_factor 3 for a realistic test (stampede schema apply --replication ...)")
        }
        if tolerance == 0 {
            return DoctorCheck(name, .warn, "\(setting): no further node may fail during the run",
                               fix: "lower --consistency or raise the replication factor for headroom")
        }
        return DoctorCheck(name, .ok, "\(setting): tolerates \(tolerance) more node(s) down")
    }
}

/// Clock offsets between the coordinator and its workers or the nodes. Pure.
public struct ClockSkewAssessment: Sendable {
    /// Who the offset is of (a worker id or a node address) and the offset (their clock minus ours).
    public var offsets: [(name: String, offset: Duration)]
    /// Above this, WARN (250 ms); above `failAbove`, FAIL (2 s).
    public var warnAbove: Duration
    public var failAbove: Duration

    public init(offsets: [(name: String, offset: Duration)], warnAbove: Duration = .milliseconds(250), failAbove: Duration = .seconds(2)) {
        self.offsets = offsets
        self.warnAbove = warnAbove
        self.failAbove = failAbove
    }

    /// One check per clock.
    public func checks(kind: String) -> [DoctorCheck] {
        offsets.map { name, offset in
            let magnitude = offset < .zero ? .zero - offset : offset
            let text = "clock \(offset < .zero ? "behind" : "ahead") by \(Self.milliseconds(magnitude)) ms"
            let check = "clock of \(kind) \(name)"
            if magnitude > failAbove {
                return DoctorCheck(check, .fail, text, fix: "sync clocks with NTP/chrony (timestamps decide which write wins)")
            } else if magnitude > warnAbove {
                return DoctorCheck(check, .warn, text, fix: "enable NTP/chrony on \(name)")
            }
            return DoctorCheck(check, .ok, text)
        }
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
