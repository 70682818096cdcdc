import Foundation
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

    /// Cores the process may run on: its CPU affinity mask (`taskset`), else the online cores.
    public static let cores: Int = allowedCPUList?.count ?? max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// The CPU numbers in the `Cpus_allowed:` mask (comma-separated 32-bit hex words, the last holding CPUs 0–31) of
    /// a `/proc/PID/status` text; `nil` when absent, malformed or empty.
    static func allowedCPUs(status: String) -> [Int]? {
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") }) else { return nil }
        let words = line.dropFirst("Cpus_allowed:".count).split(separator: ",")
        var cpus: [Int] = []
        for (position, word) in words.reversed().enumerated() {
            guard let bits = UInt32(word.trimmingCharacters(in: .whitespaces), radix: 16) else { return nil }
            for bit in 0..<32 where bits & (1 << UInt32(bit)) != 0 { cpus.append(position * 32 + bit) }
        }
        return cpus.isEmpty ? nil : cpus.sorted()
    }

    /// The CPUs the process may run on (`nil`: unknown, take them all).
    static let allowedCPUList: [Int]? = {
        #if os(Linux)
        return allowedCPUs(status: (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? "")
        #else
        return nil
        #endif
    }()

    /// Seconds the hypervisor has taken from the process's CPUs so far ("steal": a virtual CPU that wanted to run
    /// while the host ran something else); 0 on bare metal or when unknown. Every stolen slice stalls whatever was
    /// running there, the load generator included.
    public static func stealSeconds() -> Double {
        #if os(Linux)
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let ticks = stealTicks(procStat: text, cpus: allowedCPUList)
        else { return 0 }
        return Double(ticks) / Double(max(1, sysconf(Int32(_SC_CLK_TCK))))
        #else
        return 0
        #endif
    }

    /// The steal column (the 8th number) of `/proc/stat`, summed over the `cpuN` lines of `cpus`, or the `cpu` line
    /// of all CPUs when `cpus` is `nil`; `nil` when the text has no such column.
    static func stealTicks(procStat: String, cpus: [Int]?) -> UInt64? {
        let wanted = cpus.map { Set($0.map { "cpu\($0)" }) }
        var total: UInt64 = 0
        var found = false
        for line in procStat.split(separator: "\n") where line.hasPrefix("cpu") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            let name = String(fields[0])
            guard wanted?.contains(name) ?? (name == "cpu"), fields.count > 8, let steal = UInt64(fields[8]) else { continue }
            total += steal
            found = true
        }
        return found ? total : nil
    }
}
