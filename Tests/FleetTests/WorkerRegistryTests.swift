import Testing
@testable import Fleet

@Suite struct WorkerRegistryTests {
    let t0 = ContinuousClock.now

    @Test func registeredThenRunningThenFinished() {
        var registry = WorkerRegistry()
        #expect(registry.register(id: "w1", host: "h", cores: 2, capacity: 0, running: false, now: t0) == .new(session: 1))
        #expect(registry.workers["w1"]?.state == .registered)
        #expect(registry.workers["w1"]?.capacity == 2)
        #expect(registry.startAll() == ["w1"])
        #expect(registry.workers["w1"]?.state == .running)
        registry.finish("w1")
        #expect(registry.workers["w1"]?.state == .finished)
        #expect(registry.register(id: "w1", host: "h", cores: 2, capacity: 0, running: true, now: t0) == .alreadyFinished)
    }

    @Test func silenceLongerThanTheTimeoutIsLost() {
        var registry = WorkerRegistry(livenessTimeout: .seconds(5))
        _ = registry.register(id: "a", host: "h", cores: 1, capacity: 0, running: true, now: t0)
        _ = registry.register(id: "b", host: "h", cores: 1, capacity: 0, running: true, now: t0)
        registry.heard(from: "b", session: 1, now: t0 + .seconds(4))
        #expect(registry.expire(now: t0 + .seconds(5)).isEmpty)
        #expect(registry.expire(now: t0 + .milliseconds(5_001)) == ["a"])
        #expect(registry.workers["a"]?.state == .lost)
        #expect(registry.expire(now: t0 + .seconds(9) + .milliseconds(1)) == ["b"])
        #expect(registry.live.isEmpty)
    }

    @Test func aLostWorkerThatRejoinsIsToldItWasLost() {
        var registry = WorkerRegistry()
        _ = registry.register(id: "a", host: "h", cores: 1, capacity: 0, running: true, now: t0)
        _ = registry.expire(now: t0 + .seconds(6))
        let again = registry.register(id: "a", host: "h", cores: 1, capacity: 0, running: true, now: t0 + .seconds(7))
        #expect(again == .reconnected(session: 2, wasLost: true, previous: .lost))
        #expect(registry.workers["a"]?.state == .running)
    }

    @Test func aReconnectReplacesTheOldSession() {
        var registry = WorkerRegistry()
        _ = registry.register(id: "a", host: "h", cores: 1, capacity: 0, running: true, now: t0)
        #expect(registry.register(id: "a", host: "h", cores: 1, capacity: 0, running: true, now: t0)
            == .reconnected(session: 2, wasLost: false, previous: .running))
        // The old session's stream ends: that does not make the worker lost.
        #expect(registry.markLost("a", session: 1) == false)
        #expect(registry.isCurrent("a", session: 2))
        // Messages of the old session do not count as proof of life.
        registry.heard(from: "a", session: 1, now: t0 + .seconds(10))
        #expect(registry.expire(now: t0 + .seconds(6)) == ["a"])
    }
}
