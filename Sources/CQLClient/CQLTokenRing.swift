import CQLProtocol

/// A keyspace's replication, as stored in `system_schema.keyspaces.replication`.
public enum CQLReplication: Sendable, Hashable {
    case simple(replicationFactor: Int)
    case networkTopology([String: Int])
    /// LocalStrategy, EverywhereStrategy and unknown classes: no token routing.
    case other(String)

    public init(options: [String: String]) {
        let className = options["class"] ?? ""
        if className.hasSuffix("SimpleStrategy") {
            self = .simple(replicationFactor: Int(options["replication_factor"] ?? "1") ?? 1)
        } else if className.hasSuffix("NetworkTopologyStrategy") {
            var factors: [String: Int] = [:]
            for (key, value) in options where key != "class" {
                // "3" or "3/1" (with transient replicas)
                if let factor = Int(value.split(separator: "/").first ?? "") { factors[key] = factor }
            }
            self = .networkTopology(factors)
        } else {
            self = .other(className)
        }
    }

    /// Replicas per datacenter (`nil` key: the whole cluster, for SimpleStrategy).
    public func replicationFactor(in datacenter: String) -> Int {
        switch self {
        case .simple(let factor): factor
        case .networkTopology(let factors): factors[datacenter] ?? 0
        case .other: 0
        }
    }
}

/// The Murmur3 token ring: which hosts own which tokens, and the replicas of a token. Pure.
public struct CQLTokenRing: Sendable {
    /// A host's identity on the ring.
    public struct Member: Sendable, Hashable {
        public var id: Int
        public var datacenter: String
        public init(id: Int, datacenter: String) {
            self.id = id
            self.datacenter = datacenter
        }
    }

    private let tokens: [Int64]
    private let owners: [Member]
    private let datacenterSizes: [String: Int]

    /// - Parameter ownership: each member with its tokens.
    public init(ownership: [(member: Member, tokens: [Int64])]) {
        var pairs: [(Int64, Member)] = []
        var sizes: [String: Int] = [:]
        for (member, memberTokens) in ownership {
            sizes[member.datacenter, default: 0] += 1
            for token in memberTokens { pairs.append((token, member)) }
        }
        pairs.sort { $0.0 < $1.0 }
        tokens = pairs.map(\.0)
        owners = pairs.map(\.1)
        datacenterSizes = sizes
    }

    public var isEmpty: Bool { tokens.isEmpty }

    /// The replicas of `token`, primary first, walking the ring clockwise.
    public func replicas(of token: Int64, replication: CQLReplication) -> [Member] {
        guard !tokens.isEmpty, let (wanted, total) = replicaCounts(replication) else { return [] }
        return walk(from: Self.range(of: token, in: tokens), replication: replication, wanted: wanted, total: total)
    }

    /// Every range's replicas for one replication, computed once: a request then finds its replicas with a binary
    /// search and no allocation (``ReplicaTable/replicas(of:)``). Costs one ring walk per token, so a session builds
    /// one per keyspace and only when the topology changes.
    public func replicaTable(replication: CQLReplication) -> ReplicaTable {
        guard !tokens.isEmpty, let (wanted, total) = replicaCounts(replication) else {
            return ReplicaTable(tokens: [], replicasByRange: [])
        }
        return ReplicaTable(
            tokens: tokens,
            replicasByRange: tokens.indices.map { walk(from: $0, replication: replication, wanted: wanted, total: total) })
    }

    /// The replicas of each range of one ring for one replication.
    public struct ReplicaTable: Sendable {
        fileprivate let tokens: [Int64]
        fileprivate let replicasByRange: [[Member]]

        /// The replicas of `token`, primary first: the same as ``CQLTokenRing/replicas(of:replication:)``.
        public func replicas(of token: Int64) -> [Member] {
            tokens.isEmpty ? [] : replicasByRange[CQLTokenRing.range(of: token, in: tokens)]
        }
    }

    /// Replicas wanted per datacenter (NetworkTopologyStrategy) and in all; `nil` when tokens do not route.
    private func replicaCounts(_ replication: CQLReplication) -> (wanted: [String: Int], total: Int)? {
        var wanted: [String: Int] = [:]
        var total = 0
        switch replication {
        case .simple(let factor):
            total = min(factor, datacenterSizes.values.reduce(0, +))
        case .networkTopology(let factors):
            for (datacenter, factor) in factors {
                let count = min(factor, datacenterSizes[datacenter] ?? 0)
                wanted[datacenter] = count
                total += count
            }
        case .other:
            return nil
        }
        return total > 0 ? (wanted, total) : nil
    }

    /// The index of the range holding `token`: the first token >= it (binary search), wrapping around.
    private static func range(of token: Int64, in tokens: [Int64]) -> Int {
        var low = 0, high = tokens.count
        while low < high {
            let mid = (low + high) / 2
            if tokens[mid] < token { low = mid + 1 } else { high = mid }
        }
        return low % tokens.count
    }

    /// Walks the ring clockwise from range `start`, collecting distinct owners until `total` are found.
    private func walk(from start: Int, replication: CQLReplication, wanted: [String: Int], total: Int) -> [Member] {
        var wanted = wanted
        var result: [Member] = []
        var seen = Set<Int>()
        var index = start
        for _ in 0..<tokens.count {
            let owner = owners[index]
            if !seen.contains(owner.id) {
                switch replication {
                case .simple:
                    seen.insert(owner.id)
                    result.append(owner)
                case .networkTopology:
                    if let remaining = wanted[owner.datacenter], remaining > 0 {
                        wanted[owner.datacenter] = remaining - 1
                        seen.insert(owner.id)
                        result.append(owner)
                    }
                case .other:
                    break
                }
                if result.count == total { break }
            }
            index = (index + 1) % tokens.count
        }
        return result
    }
}
