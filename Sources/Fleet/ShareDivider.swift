/// Divides a run's virtual users (closed model) or arrival rate (open model) among workers in proportion to their
/// capacity. Users are whole: the division uses largest remainders so the shares add up exactly to the total.
/// Called again whenever a worker joins or is lost (rebalancing); pure.
public struct ShareDivider: Sendable {
    /// One worker's share.
    public struct Share: Sendable, Hashable {
        public var users: Int
        public var ratePerSecond: Double
        /// Fraction of the whole run (0–1).
        public var fraction: Double
    }

    public init() {}

    /// Shares of `totalUsers` and `totalRate` for workers of the given capacities (ids → weight). Workers with a
    /// non-positive or non-finite weight count as weight 1. Ties in remainders go to the lower id.
    public func divide(totalUsers: Int, totalRate: Double, capacities: [String: Double]) -> [String: Share] {
        guard !capacities.isEmpty else { return [:] }
        let ids = capacities.keys.sorted()
        let weights = ids.map { id -> Double in
            let weight = capacities[id] ?? 1
            return weight.isFinite && weight > 0 ? weight : 1
        }
        let sum = weights.reduce(0, +)
        let users = max(totalUsers, 0)
        var whole: [Int] = []
        var remainders: [(index: Int, remainder: Double)] = []
        for (index, weight) in weights.enumerated() {
            let exact = Double(users) * weight / sum
            let floor = Int(exact.rounded(.down))
            whole.append(floor)
            remainders.append((index, exact - Double(floor)))
        }
        var left = users - whole.reduce(0, +)
        remainders.sort { $0.remainder != $1.remainder ? $0.remainder > $1.remainder : $0.index < $1.index }
        var position = 0
        while left > 0, !remainders.isEmpty {
            whole[remainders[position % remainders.count].index] += 1
            left -= 1
            position += 1
        }
        var shares: [String: Share] = [:]
        for (index, id) in ids.enumerated() {
            let fraction = weights[index] / sum
            shares[id] = Share(users: whole[index], ratePerSecond: max(totalRate, 0) * fraction, fraction: fraction)
        }
        return shares
    }
}
