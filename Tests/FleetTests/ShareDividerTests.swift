import Testing
@testable import Fleet

@Suite struct ShareDividerTests {
    @Test func usersAddUpExactlyInProportionToCapacity() {
        let shares = ShareDivider().divide(totalUsers: 1_000, totalRate: 900, capacities: ["a": 1, "b": 1, "c": 1])
        #expect(shares.values.map(\.users).reduce(0, +) == 1_000)
        #expect(shares["a"]?.users == 334)
        #expect(shares["b"]?.users == 333)
        #expect(shares["c"]?.users == 333)
        #expect(shares["b"]?.ratePerSecond == 300)
    }

    @Test func weightsFollowCapacity() {
        let shares = ShareDivider().divide(totalUsers: 100, totalRate: 1_000, capacities: ["big": 3, "small": 1])
        #expect(shares["big"]?.users == 75)
        #expect(shares["small"]?.users == 25)
        #expect(shares["big"]?.fraction == 0.75)
        #expect(shares["small"]?.ratePerSecond == 250)
    }

    @Test func rebalancingOnLossAndJoin() {
        let divider = ShareDivider()
        var capacities: [String: Double] = ["a": 2, "b": 2, "c": 2, "d": 2]
        #expect(divider.divide(totalUsers: 5_000, totalRate: 0, capacities: capacities)["a"]?.users == 1_250)
        capacities["d"] = nil
        let afterLoss = divider.divide(totalUsers: 5_000, totalRate: 0, capacities: capacities)
        #expect(afterLoss.values.map(\.users).reduce(0, +) == 5_000)
        #expect(afterLoss["a"]?.users == 1_667)
        capacities["e"] = 4
        let afterJoin = divider.divide(totalUsers: 5_000, totalRate: 0, capacities: capacities)
        #expect(afterJoin["e"]?.users == 2_000)
        #expect(afterJoin.values.map(\.users).reduce(0, +) == 5_000)
    }

    @Test func invalidWeightsCountAsOne() {
        let shares = ShareDivider().divide(totalUsers: 4, totalRate: 0, capacities: ["a": .nan, "b": -3, "c": 0, "d": 1])
        #expect(shares.values.allSatisfy { $0.users == 1 })
    }
}
