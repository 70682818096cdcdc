import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The CLI of distributed runs as users type it, real processes on loopback: `stampede run --local-workers`, and
/// `stampede coordinator` with thresholds, seeded rows and a workload profile, each with spawned local workers.
extension FleetProcessTests {
    func coordinator(_ name: String, contact: String, _ extra: [String]) throws -> Process {
        try launch(
            name,
            [
                "coordinator", "--web-port", "0", "--bind", "127.0.0.1:\(try freePort())", "--local-workers", "2",
                "--contact-points", contact, "--journal-dir", "\(directory)/journal", "--results", "\(directory)/\(name).json",
                "--concurrency", "8", "--chunk-size", "500",
            ] + extra)
    }

    func document(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(name).json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func runWithLocalWorkersGoesThroughACoordinatorAndItsWorkerProcesses() throws {
        let contact = try startServer()
        let run = try launch(
            "run",
            [
                "run", "--local-workers", "2", "--total", "4000", "--users", "16", "--contact-points", contact, "--apply-schema",
                "--results", "\(directory)/run.json", "--quiet", "--verify",
            ])
        #expect(exitStatus(run, within: 120) == 0, "\(output("run"))\(output("run", "err"))")
        let results = try document("run")
        #expect(results["total_messages"] as? Int == 4000)
        #expect(results["completed"] as? Bool == true)
        let workers = (results["workers"] as? [[String: Any]] ?? []).compactMap { $0["worker_id"] as? String }
        #expect(workers.sorted() == ["local-1", "local-2"])
        #expect((results["workers"] as? [[String: Any]] ?? []).compactMap { $0["total_messages"] as? Int }.reduce(0, +) == 4000)
    }

    @Test func coordinatorThresholdsSeededRowsAndProfilesReachItsWorkers() throws {
        let contact = try startServer()

        // A threshold judged on the merged statistics stops every worker, and the exit status says so.
        let strict = try coordinator("strict", contact: contact, ["--target", "1000000", "--threshold", "p99<0.001ms", "--abort-on-fail"])
        #expect(exitStatus(strict, within: 120) == 99, "\(output("strict"))\(output("strict", "err"))")
        let aborted = try document("strict")
        #expect(aborted["stop_reason"] as? String == "threshold-failed")
        #expect(aborted["thresholds_passed"] as? Bool == false)
        #expect((aborted["total_messages"] as? Int ?? 0) < 1_000_000)
        #expect(output("strict").contains("threshold p99<0.001ms: FAILED"))

        // Seeded rows: the workers draw senders and conversations from them, so the run verifies only as seeded.
        let seed = try launch("seed", ["seed", "--contact-points", contact, "--users", "300", "--conversations", "60"])
        #expect(exitStatus(seed, within: 120) == 0, "\(output("seed", "err"))")
        let seeded = try coordinator("seeded", contact: contact, ["--target", "3000", "--seeded-rows", "--verify", "--run-id", "seeded-run"])
        #expect(exitStatus(seeded, within: 120) == 0, "\(output("seeded"))\(output("seeded", "err"))")
        let seededResults = try document("seeded")
        #expect(seededResults["total_messages"] as? Int == 3000)
        #expect((seededResults["configuration"] as? [String: Any])?["seeded_rows"] as? Bool == true)
        let epoch = try #require(seededResults["run_epoch_millis"] as? Int)
        let unseeded = try launch(
            "unseeded", ["verify", "--run-id", "seeded-run", "--epoch-millis", "\(epoch)", "--total", "3000", "--contact-points", contact])
        #expect(exitStatus(unseeded, within: 120) != 0, "verifying without the seeded rows must not find the run's messages")

        // A profile is read and checked once by the coordinator and run by every worker.
        let profilePath = "\(directory)/sensors.yaml"
        try FleetCentralRunTests.profileYAML.write(toFile: profilePath, atomically: true, encoding: .utf8)
        let profiled = try coordinator("profiled", contact: contact, ["--target", "2000", "--profile", profilePath])
        #expect(exitStatus(profiled, within: 120) == 0, "\(output("profiled"))\(output("profiled", "err"))")
        let profileResults = try document("profiled")
        #expect(profileResults["total_messages"] as? Int == 2000)
        #expect(profileResults["workload"] as? String == profilePath)
        #expect((profileResults["workers"] as? [[String: Any]])?.count == 2)

        // A broken profile stops the coordinator before any worker starts, naming the file and line.
        let brokenPath = "\(directory)/broken.yaml"
        try "name: broken\nstatements:\n  w:\n    cql: INSERT INTO t (a) VALUES (?)\n    weight: heavy\n"
            .write(toFile: brokenPath, atomically: true, encoding: .utf8)
        let broken = try coordinator("broken", contact: contact, ["--target", "10", "--profile", brokenPath])
        let status = exitStatus(broken, within: 60)
        #expect(status != nil && status != 0)
        #expect(output("broken", "err").contains("broken.yaml:5"), "\(output("broken", "err"))")
    }
}
