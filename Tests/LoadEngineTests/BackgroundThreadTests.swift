import Testing
@testable import LoadEngine

@Suite struct BackgroundThreadTests {
    @Test func runsTasksOnOneLowerPriorityThread() async throws {
        let background = BackgroundThread()
        let callerNice = BackgroundThread.callingThreadNiceValue()
        let (niceThere, firstLoop, secondLoop) = await Task(executorPreference: background.executor) {
            let nice = BackgroundThread.callingThreadNiceValue()
            let first = background.executor.eventLoop.inEventLoop
            await Task.yield()
            return (nice, first, background.executor.eventLoop.inEventLoop)
        }.value
        #expect(firstLoop && secondLoop, "the task ran on the background thread, before and after suspending")
        #if os(Linux)
        let caller = try #require(callerNice)
        let there = try #require(niceThere)
        #expect(there == min(19, caller + BackgroundThread.niceIncrement))
        // The rest of the process keeps its priority.
        #expect(BackgroundThread.callingThreadNiceValue() == caller)
        #endif
        await background.shutdown()
    }
}
