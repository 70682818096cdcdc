#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Nanoseconds from the system's monotonic clock: cheap (vDSO) and comparable across tasks of one process.
public enum MonotonicClock {
    @inline(__always)
    public static func nanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }

    /// Sleeps until `deadline` (monotonic nanoseconds). Throws `CancellationError` when cancelled.
    public static func sleep(until deadline: UInt64) async throws {
        let now = nanoseconds()
        guard deadline > now else { return }
        try await Task.sleep(for: .nanoseconds(Int64(deadline - now)))
    }
}

/// The process's CPU time and resident memory.
public enum ProcessProbe {
    /// User + system CPU seconds used by the process so far.
    public static func cpuSeconds() -> Double {
        var usage = rusage()
        #if os(Linux)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) * 1e-6
        let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) * 1e-6
        return user + system
    }

    /// Resident memory in bytes (0 when unknown).
    public static func residentMemoryBytes() -> UInt64 {
        #if os(Linux)
        guard let file = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(file) }
        var size: UInt = 0
        var resident: UInt = 0
        guard withUnsafeMutablePointer(to: &size, { sizePointer in
            withUnsafeMutablePointer(to: &resident) { residentPointer in
                readTwoNumbers(file, sizePointer, residentPointer)
            }
        }) else { return 0 }
        return UInt64(resident) * UInt64(sysconf(Int32(_SC_PAGESIZE)))
        #else
        var usage = rusage()
        getrusage(RUSAGE_SELF, &usage)
        return UInt64(usage.ru_maxrss)
        #endif
    }

    #if os(Linux)
    private static func readTwoNumbers(_ file: UnsafeMutablePointer<FILE>, _ a: UnsafeMutablePointer<UInt>, _ b: UnsafeMutablePointer<UInt>) -> Bool {
        var buffer = [CChar](repeating: 0, count: 128)
        guard fgets(&buffer, 128, file) != nil else { return false }
        let text = String(cString: buffer)
        let parts = text.split(separator: " ")
        guard parts.count >= 2, let first = UInt(parts[0]), let second = UInt(parts[1]) else { return false }
        a.pointee = first
        b.pointee = second
        return true
    }
    #endif

    /// Cores available to the process.
    public static var cores: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}
