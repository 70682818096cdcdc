import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// One thread of its own, at a lower scheduling priority than the rest of the process, for the engine's
/// bookkeeping (cutting the run into one-second intervals, summing histograms, formatting progress).
///
/// That work takes a few milliseconds once a second. On the thread pool it shares the load generator's cores with
/// the event loops at equal priority, so each second it can hold a loop off its core for those milliseconds, and
/// under an open model near saturation every operation due meanwhile waits, then the queue takes many times as long
/// to drain. At a lower priority (nice raised by ``niceIncrement``, Linux only) the loops preempt it as soon as they
/// have work, and it runs in their idle time; when they have none to spare it still gets a share of the core (about
/// a tenth against a busy loop), so intervals are never starved.
public final class BackgroundThread: Sendable {
    /// How much the thread's nice value is raised above the process's.
    public static let niceIncrement: Int32 = 10

    let group: MultiThreadedEventLoopGroup
    /// Runs tasks on the thread.
    public let executor: EventLoopTaskExecutor

    /// Starts the thread.
    public init() {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        executor = EventLoopTaskExecutor(eventLoop: loop)
        loop.execute { Self.lowerCallingThreadPriority(by: Self.niceIncrement) }
    }

    /// Stops the thread once its queued work has run.
    public func shutdown() async {
        try? await group.shutdownGracefully()
    }

    /// Raises the calling thread's nice value by `increment` (at most to 19). On Linux the nice value belongs to
    /// the thread, so the rest of the process keeps its priority. Does nothing elsewhere.
    static func lowerCallingThreadPriority(by increment: Int32) {
        #if os(Linux)
        errno = 0
        let current = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        guard errno == 0 else { return }
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, min(19, current + increment))
        #endif
    }

    /// The calling thread's nice value (Linux), for tests.
    static func callingThreadNiceValue() -> Int32? {
        #if os(Linux)
        errno = 0
        let value = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        return errno == 0 ? value : nil
        #else
        return nil
        #endif
    }
}
