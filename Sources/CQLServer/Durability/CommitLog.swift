import CQLProtocol
import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// When the commit log reaches the disk.
public enum CommitLogSync: Sendable, Hashable {
    /// Acknowledge a write only after the fsync that covers it; concurrent writes share one fsync (group commit).
    case batch
    /// Acknowledge at once; write continuously and fsync every `period`.
    case periodic(Duration)
}

/// An append-only log of journal records, written and fsynced by its own thread.
///
/// `append` is called under the database lock, so records are in execution order; it only copies bytes
/// into the pending buffer. The writer thread takes the whole pending buffer at once, writes it and
/// (in batch mode) fsyncs, then completes every waiter it covered.
final class CommitLog: @unchecked Sendable {
    // @unchecked: every mutable property below is read and written only while `condition` is locked.
    private let condition = NSCondition()
    private var pending = ByteBuffer()
    private var appendedCount: UInt64 = 0
    private var durableCount: UInt64 = 0
    private var waiters: [(position: UInt64, promise: EventLoopPromise<Void>)] = []
    private var failure: CQLServerError?
    private var stopping = false
    private var stopped = false

    private let descriptor: Int32
    let sync: CommitLogSync
    let path: String

    var acknowledgesAfterSync: Bool { sync == .batch }

    /// Opens (creating if needed) the log at `path` for appending, cut at `validLength` bytes (after replay).
    init(path: String, validLength: Int, sync: CommitLogSync) throws(CQLServerError) {
        self.path = path
        self.sync = sync
        let descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw CQLServerError(.serverError, "cannot open commit log \(path): \(String(cString: strerror(errno)))")
        }
        guard ftruncate(descriptor, off_t(validLength)) == 0, lseek(descriptor, off_t(validLength), SEEK_SET) >= 0 else {
            Glibc.close(descriptor)
            throw CQLServerError(.serverError, "cannot prepare commit log \(path): \(String(cString: strerror(errno)))")
        }
        self.descriptor = descriptor
        let thread = Thread { [unowned self] in self.writerLoop() }
        thread.name = "stampede-commitlog"
        thread.start()
    }

    /// Appends records; returns the position to wait for. Called under the database lock.
    func append(_ entries: [JournalEntry], engine: QueryEngine) -> UInt64 {
        condition.lock()
        defer { condition.unlock() }
        for entry in entries { JournalCodec.append(entry, engine: engine, into: &pending) }
        appendedCount += 1
        condition.signal()
        return appendedCount
    }

    /// Succeeds once everything up to `position` is on disk.
    func whenDurable(_ position: UInt64, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        condition.lock()
        defer { condition.unlock() }
        if let failure { return eventLoop.makeFailedFuture(failure) }
        if durableCount >= position { return eventLoop.makeSucceededVoidFuture() }
        let promise = eventLoop.makePromise(of: Void.self)
        waiters.append((position, promise))
        return promise.futureResult
    }

    /// Writes what is pending, fsyncs and stops the writer thread.
    func close() {
        condition.lock()
        stopping = true
        condition.signal()
        while !stopped { condition.wait() }
        condition.unlock()
        Glibc.close(descriptor)
    }

    /// Truncates the log to zero (after a snapshot made it redundant).
    func truncate() throws(CQLServerError) {
        let descriptor = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)
        guard descriptor >= 0 else { throw CQLServerError(.serverError, "cannot truncate commit log \(path)") }
        fsync(descriptor)
        Glibc.close(descriptor)
    }

    private func writerLoop() {
        var lastSync = ContinuousClock.now
        while true {
            condition.lock()
            while pending.readableBytes == 0 && !stopping {
                if case .periodic(let period) = sync {
                    _ = condition.wait(until: Date().addingTimeInterval(Self.seconds(period)))
                    if ContinuousClock.now - lastSync >= period { break }
                } else {
                    condition.wait()
                }
            }
            let chunk = pending
            pending = ByteBuffer()
            let target = appendedCount
            let finishing = stopping
            condition.unlock()

            var error: CQLServerError?
            if chunk.readableBytes > 0 { error = writeFully(chunk) }
            let mustSync: Bool
            switch sync {
            case .batch: mustSync = chunk.readableBytes > 0
            case .periodic(let period): mustSync = finishing || ContinuousClock.now - lastSync >= period
            }
            if error == nil, mustSync {
                if fsync(descriptor) != 0 { error = CQLServerError(.serverError, "commit log fsync failed: \(String(cString: strerror(errno)))") }
                lastSync = ContinuousClock.now
            }

            condition.lock()
            var ready: [EventLoopPromise<Void>] = []
            if let error {
                failure = error
                ready = waiters.map(\.promise)
                waiters.removeAll()
            } else {
                durableCount = max(durableCount, target)
                waiters.removeAll { waiter in
                    if waiter.position <= target {
                        ready.append(waiter.promise)
                        return true
                    }
                    return false
                }
            }
            let done = finishing && pending.readableBytes == 0
            if done {
                stopped = true
                condition.broadcast()
            }
            condition.unlock()
            for promise in ready {
                if let error { promise.fail(error) } else { promise.succeed() }
            }
            if done { return }
        }
    }

    private func writeFully(_ chunk: ByteBuffer) -> CQLServerError? {
        chunk.withUnsafeReadableBytes { bytes -> CQLServerError? in
            var offset = 0
            while offset < bytes.count {
                let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return CQLServerError(.serverError, "commit log write failed: \(String(cString: strerror(errno)))")
                }
                offset += written
            }
            return nil
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
