import NIOCore

/// A task executor that runs the engine's tasks on one of the driver's event loops.
///
/// A task that sends a request on a connection of the same loop then writes it without a thread switch, and the
/// response resumes it on that thread too: no hop to the loop to send, none back to the thread pool to resume, and
/// the requests of every task woken in one loop tick go out in one flush. ``CQLSessionExecutor`` hands these out
/// (one per loop of the session's group) when it is given the group.
public final class EventLoopTaskExecutor: TaskExecutor {
    /// The loop jobs run on.
    public let eventLoop: any EventLoop

    public init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    public func asUnownedTaskExecutor() -> UnownedTaskExecutor {
        UnownedTaskExecutor(ordinary: self)
    }

    /// One executor per loop of `group`, in the group's order.
    public static func executors(for group: any EventLoopGroup) -> [EventLoopTaskExecutor] {
        group.makeIterator().map { EventLoopTaskExecutor(eventLoop: $0) }
    }
}
