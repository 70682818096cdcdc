import Testing
@testable import LoadEngine

/// The core count the CPU diagnosis divides by follows the process's CPU affinity (`taskset`).
struct ProcessProbeTests {
    @Test func countsTheCPUsOfTheAffinityMask() {
        #expect(ProcessProbe.allowedCPUCount(status: "Name:\tx\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\n") == 2)
        #expect(ProcessProbe.allowedCPUCount(status: "Cpus_allowed:\t2\n") == 1)
        #expect(ProcessProbe.allowedCPUCount(status: "Cpus_allowed:\tffffffff,0000000f\n") == 36)
        #expect(ProcessProbe.allowedCPUCount(status: "Cpus_allowed:\t0\n") == nil)
        #expect(ProcessProbe.allowedCPUCount(status: "Cpus_allowed:\tzz\n") == nil)
        #expect(ProcessProbe.allowedCPUCount(status: "Name:\tx\n") == nil)
        #expect(ProcessProbe.cores >= 1)
    }
}
