import Testing
@testable import LoadEngine

/// The core count the CPU diagnosis divides by follows the process's CPU affinity (`taskset`).
struct ProcessProbeTests {
    @Test func countsTheCPUsOfTheAffinityMask() {
        #expect(ProcessProbe.allowedCPUs(status: "Name:\tx\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\n")?.count == 2)
        #expect(ProcessProbe.allowedCPUs(status: "Cpus_allowed:\t2\n")?.count == 1)
        #expect(ProcessProbe.allowedCPUs(status: "Cpus_allowed:\tffffffff,0000000f\n")?.count == 36)
        #expect(ProcessProbe.allowedCPUs(status: "Cpus_allowed:\t0\n") == nil)
        #expect(ProcessProbe.allowedCPUs(status: "Cpus_allowed:\tzz\n") == nil)
        #expect(ProcessProbe.allowedCPUs(status: "Name:\tx\n") == nil)
        #expect(ProcessProbe.cores >= 1)
    }

    @Test func listsTheCPUsOfTheAffinityMask() {
        #expect(ProcessProbe.allowedCPUs(status: "Cpus_allowed:\t2\n") == [1])
        #expect(ProcessProbe.allowedCPUs(status: "Cpus_allowed:\t00000001,00000005\n") == [0, 2, 32])
        #expect(ProcessProbe.allowedCPUs(status: "Cpus_allowed:\t0\n") == nil)
    }

    /// Host steal is read from /proc/stat's 8th number: of the process's own CPUs when its mask is known.
    @Test func readsTheStealOfTheProcessCPUs() {
        let stat = """
            cpu  1000 0 500 90000 10 0 20 700 0 0
            cpu0 500 0 250 45000 5 0 10 300 0 0
            cpu1 500 0 250 45000 5 0 10 400 0 0
            intr 12345
            """
        #expect(ProcessProbe.stealTicks(procStat: stat, cpus: nil) == 700)
        #expect(ProcessProbe.stealTicks(procStat: stat, cpus: [1]) == 400)
        #expect(ProcessProbe.stealTicks(procStat: stat, cpus: [0, 1]) == 700)
        #expect(ProcessProbe.stealTicks(procStat: "cpu  1 2 3 4\n", cpus: nil) == nil)
        #expect(ProcessProbe.stealSeconds() >= 0)
    }

    /// A host taking 5% or more of the process's CPUs is named among the reasons the results are limited.
    @Test func hostStealIsNamedAsALimit() {
        let healthy = GeneratorHealth(cpuUtilization: 0.3)
        #expect(IntervalCollector.diagnose(healthy, metrics: MetricsSnapshot(), inFlightBound: nil, stolenShare: 0.01).isEmpty)
        let reasons = IntervalCollector.diagnose(healthy, metrics: MetricsSnapshot(), inFlightBound: nil, stolenShare: 0.34)
        #expect(reasons == ["host steal (the hypervisor took 34% of this process's CPUs)"])
        #expect(IntervalCollector.generalReason(reasons[0]) == "host steal")
    }
}
