import Testing
@testable import LoadEngine

@Suite struct ModelTests {
    @Test func stagesRampStepAndGrow() throws {
        let plan = StagePlan(initial: 0, stages: [
            try Stage(parsing: "10s:100"),
            try Stage(parsing: "10s:100"),
            try Stage(parsing: "5s:500:step"),
            try Stage(parsing: "10s:1000:exp"),
        ])
        #expect(plan.totalSeconds == 35)
        #expect(plan.target(at: 0) == 0)
        #expect(plan.target(at: 5) == 50)
        #expect(plan.target(at: 15) == 100)
        #expect(plan.target(at: 20.5) == 500)
        #expect(abs(plan.target(at: 30) - 500 * 2.0.squareRoot()) < 1e-6)
        #expect(plan.target(at: 100) == 1000)
    }

    /// No users (or no rate) and no stages would never run an operation: an exact total would then wait forever.
    @Test func aModelThatCanNeverRunIsRefused() throws {
        func message(_ model: LoadModel) -> String? {
            do {
                _ = try EngineConfiguration(model: model).validated()
                return nil
            } catch {
                return error.message
            }
        }
        #expect(message(.closed(ClosedModel(users: 0))) == "users must be at least 1 (to start from 0, ramp up with stages)")
        #expect(message(.open(OpenModel(rate: 0))) == "rate must be positive (to start from 0, ramp up with stages)")
        // Starting from 0 is fine when stages ramp up.
        #expect(message(.closed(ClosedModel(users: 0, stages: [try Stage(parsing: "10s:100")]))) == nil)
        #expect(message(.open(OpenModel(rate: 0, stages: [try Stage(parsing: "10s:1000")]))) == nil)
        #expect(message(.closed(ClosedModel(users: 1))) == nil)
    }

    @Test func arrivalScheduleInvertsTheRate() throws {
        let plan = StagePlan(initial: 100, stages: [
            try Stage(parsing: "10s:1000"), try Stage(parsing: "10s:1000"), try Stage(parsing: "5s:200:exp"), try Stage(parsing: "5s:0"),
        ])
        // 10 s ramp 100→1000: 5,500 arrivals; then 10,000 more.
        #expect(abs(plan.arrivals(until: 10) - 5500) < 1e-6)
        #expect(abs(plan.arrivals(until: 20) - 15_500) < 1e-6)
        for count in stride(from: 1.0, to: plan.arrivals(until: 30), by: 997) {
            let time = try #require(plan.time(forArrivals: count))
            #expect(abs(plan.arrivals(until: time) - count) < 1e-6 * max(1, count))
        }
        #expect(plan.time(forArrivals: plan.arrivals(until: 30) + 10) == nil)  // the rate ends at 0
    }

    @Test func scheduleHonoursShareChanges() {
        let schedule = ArrivalSchedule(plan: .constant(1000), share: 0.5, startNanos: 0)
        #expect(schedule.claim() == 0)
        #expect(schedule.claim() == 2_000_000)  // 500/s
        schedule.setShare(1, nowNanos: 10_000_000)
        #expect(schedule.claim() == 10_000_000)
        #expect(schedule.claim() == 11_000_000)  // 1000/s from now on
        #expect(schedule.skip(before: 20_000_000) == 8)
    }

    /// Claims every slot of `schedule` intended before `end`.
    func claimAll(_ schedule: ArrivalSchedule, before end: UInt64) -> [UInt64] {
        var times: [UInt64] = []
        while let next = schedule.peek(), next < end, let time = schedule.claim() { times.append(time) }
        return times
    }

    @Test func lanesTogetherScheduleExactlyTheWholeTimetable() throws {
        let plan = StagePlan(initial: 1000, stages: [try Stage(parsing: "1s:3000"), try Stage(parsing: "1s:500:step")])
        for laneCount in [1, 2, 3, 7] {
            let whole = ArrivalSchedule(plan: plan, share: 0.5, startNanos: 1_000)
            let lanes = (0..<laneCount).map { ArrivalSchedule(plan: plan, share: 0.5, startNanos: 1_000, lane: $0, lanes: laneCount) }
            // Up to 0.7 s, a re-anchoring (the coordinator changes the share), then to the end of the stages.
            var expected = claimAll(whole, before: 700_001_000)
            var got = lanes.flatMap { claimAll($0, before: 700_001_000) }
            whole.setShare(0.8, nowNanos: 700_001_000)
            for lane in lanes { lane.setShare(0.8, nowNanos: 700_001_000) }
            expected += claimAll(whole, before: 2_000_001_000)
            got += lanes.flatMap { claimAll($0, before: 2_000_001_000) }
            #expect(got.sorted() == expected, "\(laneCount) lanes")
            #expect(expected.count > 1000)
        }
    }

    @Test func lanesSkipTheirShareOfLateSlots() {
        let plan = StagePlan.constant(1000)
        let whole = ArrivalSchedule(plan: plan, share: 1, startNanos: 0)
        let lanes = (0..<3).map { ArrivalSchedule(plan: plan, share: 1, startNanos: 0, lane: $0, lanes: 3) }
        for lane in lanes { _ = lane.claim() }
        _ = whole.claim()
        _ = whole.claim()
        _ = whole.claim()
        // As one timetable does, skipping before 99.5 ms leaves the slot at 99 ms: 96 slots after the 3 claimed, split
        // 32 / 32 / 32 over the lanes, whose next slots are then the whole timetable's next three.
        #expect(whole.skip(before: 99_500_000) == 96)
        #expect(lanes.map { $0.skip(before: 99_500_000) } == [32, 32, 32])
        let next = lanes.compactMap { $0.peek() }.sorted()
        #expect(next == [whole.claim(), whole.claim(), whole.claim()].compactMap { $0 })
    }

    @Test func presetsScaleWithTime() throws {
        let blackFriday = try ScenarioPreset.blackFriday.settings()
        #expect(blackFriday.totalOperations == 1_000_000 && blackFriday.model.users == 1000 && blackFriday.model.spawnRate == 100)
        #expect(blackFriday.duration == .seconds(600))
        let fast = try ScenarioPreset.newYearsEve.settings(timeScale: 10)
        #expect(fast.duration == .seconds(30))
        #expect(fast.model.plan.target(at: 3) == 500)
        #expect(fast.model.plan.target(at: 9) == 1500)
        #expect(fast.model.plan.target(at: 20) == 1000)
        let viral = try ScenarioPreset.viral.settings()
        #expect(viral.model.plan.target(at: 0) == 500)
        #expect(viral.model.plan.target(at: 1800) == 5000)
        #expect(throws: LoadEngineError.self) { try ScenarioPreset.viral.settings(timeScale: 0) }
    }

    @Test func thresholdsParseAndDecide() throws {
        var metrics = OperationMetrics()
        for latency: UInt64 in 1...1000 { metrics.recordSuccess(latencyMicros: latency * 100) }  // up to 100 ms
        metrics.recordFailure(OperationFailure(kind: .timeout, outcomeUnknown: true, isRetryable: true, message: ""), final: true)
        let snapshot = MetricsSnapshot(operations: ["w": metrics])
        func check(_ text: String) throws -> Bool { try Threshold(parsing: text).evaluate(snapshot, elapsedSeconds: 10).passed }
        #expect(try check("p99<100ms"))
        #expect(try !check("p99<50ms"))
        #expect(try check("p50 <= 0.06s"))
        #expect(try check("errors<0.2%"))
        #expect(try !check("errors<0.05%"))
        #expect(try check("errors<=1"))
        #expect(try check("throughput>99"))
        #expect(try check("p99.9{w}<101ms"))
        #expect(try !check("max{other}>1ms"))
        for bad in ["p99", "p99<fast", "latency<1ms", "p200<1ms", "throughput>5%", "p99{}<1ms"] {
            #expect(throws: LoadEngineError.self) { try Threshold(parsing: bad) }
        }
        #expect(RunExitCode.code(stopReason: .completed, thresholdsPassed: true) == 0)
        #expect(RunExitCode.code(stopReason: .completed, thresholdsPassed: false) == 99)
        #expect(RunExitCode.code(stopReason: .workSourceFailed, thresholdsPassed: true) == 1)
    }

    @Test func parsesDurationsAndThinkTimes() throws {
        #expect(try DurationParser.parse("1h30m") == .seconds(5400))
        #expect(try DurationParser.parse("250ms") == .milliseconds(250))
        #expect(try DurationParser.parse("2") == .seconds(2))
        #expect(throws: LoadEngineError.self) { try DurationParser.parse("5 parsecs") }
        #expect(try ThinkTime(parsing: "between 1s 3s") == .between(.seconds(1), .seconds(3)))
        #expect(try ThinkTime(parsing: "pacing 2s") == .pacing(.seconds(2)))
        #expect(try ThinkTime(parsing: "500ms") == .constant(.milliseconds(500)))
        #expect(throws: LoadEngineError.self) { try ThinkTime(parsing: "between 3s 1s") }
    }
}
