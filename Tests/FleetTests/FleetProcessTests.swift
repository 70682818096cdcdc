import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The `stampede` binary built beside these tests (`swift build` puts it in .build/debug), or STAMPEDE_BINARY.
let stampedeBinary: String? = {
    let environment = ProcessInfo.processInfo.environment
    if let path = environment["STAMPEDE_BINARY"] ?? environment["STAMPEDE_BIN"] { return path }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let path = root.appendingPathComponent(".build/debug/stampede").path
    return FileManager.default.isExecutableFile(atPath: path) ? path : nil
}()

/// Real processes on loopback: `stampede server`, `stampede coordinator` and `stampede worker`s, killed with SIGKILL,
/// and `stampede verify` reading back what the database holds. Every wait is bounded; every process is ended.
@Suite(.serialized, .enabled(if: stampedeBinary != nil, "needs the stampede binary (swift build)"))
final class FleetProcessTests {
    let directory = NSTemporaryDirectory() + "stampede-fleet-process-\(UUID().uuidString)"
    var processes: [Process] = []

    init() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    deinit {
        for process in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Starts `stampede ARGS`, stdout and stderr to files named after `name`.
    func launch(_ name: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: stampedeBinary ?? "/nonexistent")
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        merged["STAMPEDE_TOKEN"] = nil
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        FileManager.default.createFile(atPath: "\(directory)/\(name).out", contents: nil)
        FileManager.default.createFile(atPath: "\(directory)/\(name).err", contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(directory)/\(name).out"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(directory)/\(name).err"))
        try process.run()
        processes.append(process)
        return process
    }

    func output(_ name: String, _ stream: String = "out") -> String {
        (try? String(contentsOfFile: "\(directory)/\(name).\(stream)", encoding: .utf8)) ?? ""
    }

    func waitUntil(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(50_000)
        }
        return condition()
    }

    /// Waits for a process to exit, at most `seconds`; SIGKILLs it after that. Returns its exit status (nil if killed).
    func exitStatus(_ process: Process, within seconds: Double) -> Int32? {
        if waitUntil(seconds, { !process.isRunning }) { return process.terminationStatus }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return nil
    }

    /// Starts the embedded server on an ephemeral port; returns its contact point.
    func startServer() throws -> String {
        _ = try launch("server", ["server", "--host", "127.0.0.1", "--port", "0"])
        var contact: String?
        _ = waitUntil(30) {
            let text = output("server")
            guard let range = text.range(of: "node 1: ") else { return false }
            let rest = text[range.upperBound...]
            guard let end = rest.firstIndex(of: "\n") else { return false }
            contact = String(rest[..<end])
            return true
        }
        return try #require(contact)
    }

    /// The latest "[phase] done/target" progress count printed by the coordinator.
    func progress(_ name: String) -> UInt64 {
        var latest: UInt64 = 0
        for line in output(name).split(separator: "\n") where line.hasPrefix("[running] ") {
            let field = line.dropFirst("[running] ".count).split(separator: "/").first ?? ""
            latest = UInt64(field) ?? latest
        }
        return latest
    }

    func results() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/results.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func coordinatorArguments(port: Int, contact: String, runID: String, target: Int) -> [String] {
        [
            "coordinator", "--web-port", "0", "--bind", "127.0.0.1:\(port)", "--expect-workers", "4", "--target", "\(target)", "--chunk-size",
            "1000", "--concurrency", "16", "--contact-points", contact, "--journal-dir", "\(directory)/journal", "--results",
            "\(directory)/results.json", "--liveness-timeout", "2s", "--run-id", runID,
        ]
    }

    @Test func sigkilledWorkerStillEndsAtExactlyTheTargetInTheServer() throws {
        let contact = try startServer()
        let port = try freePort()
        let target = 60_000
        let coordinator = try launch("coordinator", coordinatorArguments(port: port, contact: contact, runID: "proc-kill", target: target))
        var workers: [Process] = []
        for index in 1...4 {
            workers.append(try launch("w\(index)", ["worker", "--coordinator", "127.0.0.1:\(port)", "--id", "w\(index)"]))
        }
        #expect(waitUntil(90) { progress("coordinator") > 0 })
        kill(workers[1].processIdentifier, SIGKILL)
        #expect(exitStatus(coordinator, within: 120) == 0)
        let document = try results()
        #expect(document["total_messages"] as? Int == target)
        #expect(document["lost_workers"] as? [String] == ["w2"])
        let perWorker = (document["workers"] as? [[String: Any]] ?? []).compactMap { $0["total_messages"] as? Int }
        #expect(perWorker.reduce(0, +) == target)
        // The database holds exactly the target: every message found, none missing, no phantoms.
        let verify = try launch("verify", ["verify", "--results", "\(directory)/results.json", "--contact-points", contact])
        #expect(exitStatus(verify, within: 120) == 0, "\(output("verify"))")
        for worker in workers { _ = exitStatus(worker, within: 10) }
    }

    @Test func coordinatorDeathStopsWorkersAndResumeEndsAtExactlyTheTarget() throws {
        let contact = try startServer()
        let port = try freePort()
        let target = 60_000
        let coordinator = try launch("coordinator", coordinatorArguments(port: port, contact: contact, runID: "proc-resume", target: target))
        var workers: [Process] = []
        for index in 1...4 {
            workers.append(try launch("w\(index)", ["worker", "--coordinator", "127.0.0.1:\(port)", "--id", "w\(index)", "--reconnect-window", "2s"]))
        }
        #expect(waitUntil(90) { progress("coordinator") > 0 })
        kill(coordinator.processIdentifier, SIGKILL)
        for (index, worker) in workers.enumerated() {
            #expect(exitStatus(worker, within: 20) == 3)
            #expect(output("w\(index + 1)", "err").contains("stopped writing"))
        }
        let resumed = try launch(
            "resumed",
            [
                "coordinator", "--web-port", "0", "--bind", "127.0.0.1:\(port)", "--expect-workers", "2", "--resume", "proc-resume", "--contact-points",
                contact, "--journal-dir", "\(directory)/journal", "--results", "\(directory)/results.json",
            ])
        for index in 1...2 {
            _ = try launch("r\(index)", ["worker", "--coordinator", "127.0.0.1:\(port)", "--id", "r\(index)"])
        }
        #expect(exitStatus(resumed, within: 120) == 0)
        #expect(try results()["total_messages"] as? Int == target)
        let verify = try launch("verify", ["verify", "--results", "\(directory)/results.json", "--contact-points", contact])
        #expect(exitStatus(verify, within: 120) == 0, "\(output("verify"))")
    }

    @Test func wrongTokenIsRefusedWithAClearMessage() throws {
        let port = try freePort()
        let coordinator = try launch(
            "coordinator",
            [
                "coordinator", "--web-port", "0", "--bind", "127.0.0.1:\(port)", "--token", "s3cret", "--target", "10", "--no-schema",
                "--journal-dir", "\(directory)/journal", "--results", "\(directory)/results.json",
            ])
        let intruder = try launch(
            "intruder", ["worker", "--coordinator", "127.0.0.1:\(port)", "--id", "intruder"], environment: ["STAMPEDE_TOKEN": "guess"])
        #expect(exitStatus(intruder, within: 30) == 4)
        #expect(output("intruder", "err").contains("token"))
        kill(coordinator.processIdentifier, SIGKILL)
        coordinator.waitUntilExit()
    }
}
