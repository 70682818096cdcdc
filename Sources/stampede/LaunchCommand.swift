import ArgumentParser
import Dispatch
import Foundation
import Synchronization

/// `stampede launch`: copies this binary to plain Linux hosts over SSH, starts workers there pointed at a coordinator,
/// waits for them to finish, stops whatever is left and collects their logs.
struct LaunchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "launch",
        abstract: "Copy stampede to hosts over SSH, start workers pointed at a coordinator, and stop them at the end.",
        discussion: """
            The hosts file lists one user@host[:port] per line (port 22 by default; '#' starts a comment; \
            IPv6 as user@[2001:db8::1]:22). For each host, launch copies the binary with scp into --remote-dir, \
            starts --workers-per-host workers with nohup (`stampede worker --coordinator ADDRESS --id NAME`, plus \
            any arguments after `--`), then checks on them every --poll-interval seconds until they have all \
            exited (a worker exits when the run is over). On Ctrl-C, on --timeout, or when a start fails, it \
            stops them (SIGTERM, then SIGKILL after 10 s). Finally it copies each worker's log into --logs and \
            exits non-zero if any worker did. The token (--token or STAMPEDE_TOKEN) travels on ssh's standard \
            input, never on a command line. ssh runs with BatchMode=yes: use keys (an agent or --identity). \
            --dry-run prints every ssh/scp command instead of running it.
            """
    )

    @Option(help: "File with one user@host[:port] per line.")
    var hosts: String

    @Option(help: "The coordinator's host:port as the workers reach it (not 127.0.0.1 unless the workers are local).")
    var coordinator: String

    @Option(help: "Binary to copy (default: this stampede executable); it must be built for the hosts' OS and CPU.")
    var binary: String?

    @Option(name: .customLong("remote-dir"), help: "Directory on each host for the binary, logs and pid files (relative: under the SSH user's home).")
    var remoteDirectory = "stampede-worker"

    @Option(name: .customLong("workers-per-host"), help: "Worker processes started on each host.")
    var workersPerHost = 1

    @Option(help: "Shared token of the coordinator (default: the STAMPEDE_TOKEN environment variable).")
    var token: String?

    @Option(name: [.customShort("i"), .customLong("identity")], help: "SSH private key file.")
    var identity: String?

    @Option(name: .customLong("ssh-option"), help: "Extra ssh/scp option as KEY=VALUE, e.g. StrictHostKeyChecking=accept-new (repeatable).")
    var sshOptions: [String] = []

    @Option(name: .customLong("step-timeout"), help: "Seconds one ssh or scp command may take.")
    var stepTimeout = 120

    @Option(help: "Stop the workers after this many seconds even if they have not finished.")
    var timeout = 86_400

    @Option(name: .customLong("poll-interval"), help: "Seconds between checks of the workers.")
    var pollInterval = 2.0

    @Option(help: "Local directory the workers' logs are copied into at the end.")
    var logs = "launch-logs"

    @Flag(name: .customLong("dry-run"), help: "Print the ssh/scp commands instead of running them.")
    var dryRun = false

    @Flag(help: "Only stop the workers a previous launch with the same hosts left running, and collect their logs.")
    var stop = false

    @Argument(parsing: .postTerminator, help: "Extra arguments for `stampede worker`, after `--`.")
    var workerArguments: [String] = []

    func validate() throws {
        guard workersPerHost >= 1 else { throw ValidationError("--workers-per-host must be at least 1") }
        guard stepTimeout >= 1, timeout >= 1 else { throw ValidationError("--step-timeout and --timeout must be at least 1 second") }
        guard pollInterval > 0, pollInterval.isFinite else { throw ValidationError("--poll-interval must be positive") }
        guard !remoteDirectory.isEmpty, remoteDirectory.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._/-".contains($0)) }),
              !remoteDirectory.hasPrefix("-")
        else {
            throw ValidationError("--remote-dir '\(remoteDirectory)' may only contain letters, digits, '.', '_', '/' and '-'")
        }
        guard let colon = coordinator.lastIndex(of: ":"), let port = Int(coordinator[coordinator.index(after: colon)...]),
              (1...65_535).contains(port), colon != coordinator.startIndex
        else {
            throw ValidationError("--coordinator '\(coordinator)' must be host:port, e.g. 10.0.0.2:5557")
        }
        for option in sshOptions where !option.contains("=") || option.hasPrefix("-") {
            throw ValidationError("--ssh-option '\(option)' must be KEY=VALUE, e.g. StrictHostKeyChecking=accept-new")
        }
    }

    func run() async throws {
        let text: String
        do {
            text = try String(contentsOfFile: hosts, encoding: .utf8)
        } catch {
            throw LaunchError("cannot read the hosts file \(hosts): \(error.localizedDescription)")
        }
        let targets = try LaunchHost.parseList(text, file: hosts)
        let plan = LaunchPlan(
            hosts: targets, workersPerHost: workersPerHost, coordinator: coordinator, remoteDirectory: remoteDirectory,
            binary: binary ?? Self.ownExecutable(), identity: identity, sshOptions: sshOptions, workerArguments: workerArguments,
            logDirectory: logs, hasToken: !resolvedToken.isEmpty)
        if dryRun {
            printDryRun(plan)
            return
        }
        let runner = try LaunchProcessRunner(timeout: .seconds(stepTimeout))
        if stop {
            try await stopAndCollect(plan, runner: runner)
            return
        }
        guard FileManager.default.isExecutableFile(atPath: plan.binary) else {
            throw LaunchError("\(plan.binary) is not an executable file; build it (swift build -c release) or pass --binary")
        }
        let interrupt = LaunchInterrupt()
        do {
            try await deploy(plan, runner: runner)
        } catch {
            print("launch: starting failed; stopping the workers that did start")
            _ = try? await stopAndCollect(plan, runner: runner)
            throw error
        }
        print("launch: \(plan.workerCount) worker(s) running on \(plan.hosts.count) host(s), coordinator \(coordinator); Ctrl-C stops them")
        let reason = await waitForWorkers(plan, runner: runner, interrupt: interrupt)
        print("launch: \(reason); stopping what is left and collecting logs into \(logs)/")
        let exits = try await stopAndCollect(plan, runner: runner)
        let failed = exits.filter { $0.value != 0 }
        if !failed.isEmpty {
            let list = failed.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value < 0 ? "unknown status" : "exit \($0.value)"))" }
            throw LaunchError("worker(s) did not finish cleanly: \(list.joined(separator: ", ")); see \(logs)/")
        }
        print("launch: every worker exited 0")
    }

    private var resolvedToken: String {
        token ?? ProcessInfo.processInfo.environment["STAMPEDE_TOKEN"] ?? ""
    }

    /// The path of the running executable (so `launch` copies itself).
    static func ownExecutable() -> String {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        return Bundle.main.executablePath ?? CommandLine.arguments[0]
    }

    private func printDryRun(_ plan: LaunchPlan) {
        print("# stampede launch --dry-run: \(plan.workerCount) worker(s) on \(plan.hosts.count) host(s)")
        for host in plan.hosts {
            print("# \(host.display): \(plan.workerIDs(host).joined(separator: ", "))")
            for step in [plan.prepareStep(host), plan.copyStep(host), plan.startStep(host, token: nil)] {
                print(step.rendered)
            }
        }
        print("# every \(pollInterval) s until all have exited:")
        for host in plan.hosts { print(plan.statusStep(host).rendered) }
        print("# at the end, on Ctrl-C or after --timeout \(timeout) s:")
        for host in plan.hosts {
            print(plan.stopStep(host).rendered)
            print(plan.collectStep(host).rendered)
        }
    }

    // MARK: Steps

    private func deploy(_ plan: LaunchPlan, runner: LaunchProcessRunner) async throws {
        let token = resolvedToken
        try await forEachHost(plan) { host in
            try await runner.run(plan.prepareStep(host))
            try await runner.run(plan.copyStep(host))
            let output = try await runner.run(plan.startStep(host, token: token))
            guard output.contains("stampede-launch: started") else {
                throw LaunchError("\(host.display): the start script did not confirm; it printed: \(output.suffix(400))")
            }
            print("launch: \(host.display): started \(plan.workerIDs(host).joined(separator: ", "))")
        }
    }

    /// Polls every host until every worker has exited, the timeout passes or the user interrupts.
    private func waitForWorkers(_ plan: LaunchPlan, runner: LaunchProcessRunner, interrupt: LaunchInterrupt) async -> String {
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(timeout)
        var reported: [String: String] = [:]
        var goneOnce: Set<String> = []
        var unreachable: [String: Int] = [:]
        while true {
            var running = 0
            for host in plan.hosts {
                let statuses: [String: String]
                do {
                    statuses = LaunchPlan.parseStatus(try await runner.run(plan.statusStep(host)))
                    unreachable[host.display] = 0
                } catch {
                    let failures = unreachable[host.display, default: 0] + 1
                    unreachable[host.display] = failures
                    if failures == 1 || failures % 10 == 0 { print("launch: \(host.display): cannot check workers (\(error)); will retry") }
                    running += plan.workerIDs(host).count
                    continue
                }
                for id in plan.workerIDs(host) {
                    let status = statuses[id] ?? "gone"
                    if status == "running" {
                        running += 1
                        continue
                    }
                    // A worker that just exited may not have its exit file yet: look once more before believing "gone".
                    if status == "gone", !goneOnce.contains(id) {
                        goneOnce.insert(id)
                        running += 1
                        continue
                    }
                    if reported[id] != status {
                        reported[id] = status
                        print("launch: worker \(id) on \(host.display): \(status)")
                    }
                }
            }
            if running == 0 { return "every worker has exited" }
            if interrupt.isSet { return "interrupted" }
            if clock.now >= deadline { return "--timeout of \(timeout) s reached" }
            let pause = Duration.milliseconds(Int(pollInterval * 1000))
            let wake = clock.now + pause
            while clock.now < wake, !interrupt.isSet {
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Stops every worker (TERM, then KILL), copies the logs back and returns each worker's exit status (-1: unknown).
    @discardableResult
    private func stopAndCollect(_ plan: LaunchPlan, runner: LaunchProcessRunner) async throws -> [String: Int] {
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let exits = LaunchLockedBox<[String: Int]>([:])
        let problems = LaunchLockedBox<[String]>([])
        await withTaskGroup(of: Void.self) { group in
            for host in plan.hosts {
                group.addTask {
                    do {
                        let statuses = LaunchPlan.parseStatus(try await runner.run(plan.stopStep(host)))
                        exits.withLock { table in
                            for id in plan.workerIDs(host) { table[id] = LaunchPlan.exitCode(statuses[id]) }
                        }
                    } catch {
                        problems.withLock { $0.append("\(host.display): stopping failed: \(error)") }
                    }
                    do {
                        try await runner.run(plan.collectStep(host))
                    } catch {
                        problems.withLock { $0.append("\(host.display): copying logs failed: \(error)") }
                    }
                }
            }
        }
        for problem in problems.withLock({ $0 }) { print("launch: \(problem)") }
        let table = exits.withLock { $0 }
        for (id, code) in table.sorted(by: { $0.key < $1.key }) {
            print("launch: \(id): \(code < 0 ? "exit status unknown" : "exit \(code)"), log \(logs)/\(id).log")
        }
        if !problems.withLock({ $0.isEmpty }), table.isEmpty {
            throw LaunchError("could not reach any host to stop its workers")
        }
        return table
    }

    private func forEachHost(_ plan: LaunchPlan, _ body: @escaping @Sendable (LaunchHost) async throws -> Void) async throws {
        let failures = LaunchLockedBox<[String]>([])
        await withTaskGroup(of: Void.self) { group in
            for host in plan.hosts {
                group.addTask {
                    do { try await body(host) } catch { failures.withLock { $0.append("\(error)") } }
                }
            }
        }
        let all = failures.withLock { $0 }
        if !all.isEmpty { throw LaunchError(all.joined(separator: "\n")) }
    }
}

/// A failure of `stampede launch`, with a message a user can act on.
struct LaunchError: Error, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// One line of the hosts file: `user@host[:port]`.
struct LaunchHost: Sendable, Hashable {
    var user: String?
    var host: String
    var port: Int?

    /// `user@host` for ssh (the port goes in `-p`).
    var sshDestination: String { user.map { "\($0)@\(host)" } ?? host }
    /// `user@host:path` for scp, with IPv6 literals bracketed.
    func scpLocation(_ path: String) -> String {
        let address = host.contains(":") ? "[\(host)]" : host
        return (user.map { "\($0)@" } ?? "") + address + ":" + path
    }
    var display: String { sshDestination + (port.map { ":\($0)" } ?? "") }

    /// Parses one line; `nil` for blank lines and comments.
    static func parse(_ rawLine: Substring, file: String, line: Int) throws -> LaunchHost? {
        let text = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first?
            .trimmingCharacters(in: .whitespaces) ?? ""
        if text.isEmpty { return nil }
        func fail(_ reason: String) -> LaunchError {
            LaunchError("\(file) line \(line): '\(text)' \(reason); expected user@host[:port]")
        }
        guard !text.contains(where: { $0.isWhitespace }) else { throw fail("contains spaces") }
        var user: String?
        var rest = Substring(text)
        if let at = rest.lastIndex(of: "@") {
            user = String(rest[..<at])
            rest = rest[rest.index(after: at)...]
            guard let name = user, !name.isEmpty, !name.hasPrefix("-") else { throw fail("has an empty or invalid user name") }
        }
        var host: String
        var port: Int?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw fail("is missing ']'") }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let value = Int(after.dropFirst()) else { throw fail("has text after ']' that is not :port") }
                port = value
            }
        } else if rest.filter({ $0 == ":" }).count == 1, let colon = rest.firstIndex(of: ":") {
            host = String(rest[..<colon])
            guard let value = Int(rest[rest.index(after: colon)...]) else { throw fail("has a port that is not a number") }
            port = value
        } else {
            host = String(rest)
        }
        guard !host.isEmpty, !host.hasPrefix("-") else { throw fail("has no host name") }
        if let port, !(1...65_535).contains(port) { throw fail("has a port outside 1-65535") }
        return LaunchHost(user: user, host: host, port: port)
    }

    /// Parses a whole hosts file; at least one host is required.
    static func parseList(_ text: String, file: String) throws -> [LaunchHost] {
        var hosts: [LaunchHost] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if let host = try parse(line, file: file, line: index + 1) { hosts.append(host) }
        }
        guard !hosts.isEmpty else { throw LaunchError("\(file) lists no hosts; write one user@host[:port] per line") }
        return hosts
    }
}

/// One ssh or scp invocation.
struct LaunchStep: Sendable {
    /// `ssh` or `scp`.
    var program: String
    var arguments: [String]
    /// What goes to the command's standard input (the token), if anything.
    var input: String?
    /// Shown in errors.
    var summary: String

    /// The command as a shell line (for --dry-run); the token is shown as a reference to the environment.
    var rendered: String {
        let line = ([program] + arguments).map(LaunchPlan.shellQuoted).joined(separator: " ")
        return input == nil ? line : "printf '%s' \"$STAMPEDE_TOKEN\" | " + line
    }
}

/// Every command a launch runs, built from the options; pure, so --dry-run prints exactly what a real launch runs.
struct LaunchPlan: Sendable {
    var hosts: [LaunchHost]
    var workersPerHost: Int
    var coordinator: String
    var remoteDirectory: String
    var binary: String
    var identity: String?
    var sshOptions: [String]
    var workerArguments: [String]
    var logDirectory: String
    var hasToken: Bool

    var workerCount: Int { hosts.count * workersPerHost }

    /// Worker ids of a host: its name (plus the port when not 22, a line number when a host repeats, and an index
    /// when several workers run there), so the coordinator's report names the machine.
    func workerIDs(_ host: LaunchHost) -> [String] {
        var base = String(host.host.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "-" })
        if let port = host.port, port != 22 { base += "-p\(port)" }
        let position = hosts.firstIndex(of: host) ?? 0
        if hosts.filter({ $0.host == host.host && $0.port == host.port }).count > 1 { base += "-h\(position + 1)" }
        if workersPerHost == 1 { return [base] }
        return (1...workersPerHost).map { "\(base)-\($0)" }
    }

    private var commonOptions: [String] {
        // ssh keeps the first value it sees for an option, so the user's --ssh-option values come before our defaults.
        var options: [String] = []
        for option in sshOptions { options += ["-o", option] }
        options += ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3"]
        options += ["-o", "LogLevel=ERROR"]
        if let identity { options += ["-i", identity] }
        return options
    }

    private func ssh(_ host: LaunchHost, _ script: String, input: String? = nil, summary: String) -> LaunchStep {
        var arguments = commonOptions
        if let port = host.port { arguments += ["-p", String(port)] }
        arguments += [host.sshDestination, script]
        return LaunchStep(program: "ssh", arguments: arguments, input: input, summary: "\(host.display): \(summary)")
    }

    private func scp(_ host: LaunchHost, _ sources: [String], _ destination: String, summary: String) -> LaunchStep {
        var arguments = ["-q"] + commonOptions
        if let port = host.port { arguments += ["-P", String(port)] }
        arguments += sources + [destination]
        return LaunchStep(program: "scp", arguments: arguments, input: nil, summary: "\(host.display): \(summary)")
    }

    private var directory: String { Self.shellQuoted(remoteDirectory) }
    private func upload(_ host: LaunchHost) -> String { "stampede.upload-\(workerIDs(host)[0])" }

    func prepareStep(_ host: LaunchHost) -> LaunchStep {
        ssh(host, "mkdir -p \(directory) && chmod 700 \(directory) && uname -sm", summary: "create \(remoteDirectory)")
    }

    func copyStep(_ host: LaunchHost) -> LaunchStep {
        scp(host, [binary], host.scpLocation("\(remoteDirectory)/\(upload(host))"), summary: "copy \(binary)")
    }

    /// Installs the uploaded binary, reads the token from standard input and starts the workers with nohup. Each
    /// worker runs under a small `sh` that records its exit status in `ID.exit`; `ID.pid` is the worker's own pid.
    func startStep(_ host: LaunchHost, token: String?) -> LaunchStep {
        var script = "set -e; cd \(directory); chmod 755 \(upload(host)); mv -f \(upload(host)) stampede; umask 077; "
        if hasToken {
            script += "STAMPEDE_TOKEN=$(cat); export STAMPEDE_TOKEN; "
        }
        let extra = workerArguments.map(Self.shellQuoted).joined(separator: " ")
        for id in workerIDs(host) {
            let arguments = ["--coordinator", coordinator, "--id", id].map(Self.shellQuoted).joined(separator: " ")
            script += "rm -f \(id).exit \(id).pid; "
            script += "nohup sh -c './stampede worker \"$@\" & echo $! > \(id).pid; wait $!; echo $? > \(id).exit' sh "
            script += "\(arguments)\(extra.isEmpty ? "" : " " + extra) > \(id).log 2>&1 < /dev/null & "
        }
        // Wait until every pid file exists, so an immediate status check sees the workers.
        script += "for i in 1 2 3 4 5 6 7 8 9 10; do ok=1; for id in \(workerIDs(host).joined(separator: " ")); do "
        script += "[ -s $id.pid ] || ok=0; done; [ $ok = 1 ] && break; sleep 0.2; done; echo stampede-launch: started"
        return ssh(host, script, input: hasToken ? (token ?? "") : nil, summary: "start workers")
    }

    /// Prints `ID running`, `ID exited N` or `ID gone` for each worker of the host.
    func statusStep(_ host: LaunchHost) -> LaunchStep {
        ssh(host, "cd \(directory) 2>/dev/null || exit 0; " + Self.statusLoop(workerIDs(host)), summary: "check workers")
    }

    /// Sends SIGTERM to running workers, waits up to 10 s, then SIGKILL; prints the final statuses.
    func stopStep(_ host: LaunchHost) -> LaunchStep {
        let ids = workerIDs(host).joined(separator: " ")
        let alive = "[ -s $id.pid ] && [ ! -f $id.exit ] && kill -0 $(cat $id.pid) 2>/dev/null"
        var script = "cd \(directory) 2>/dev/null || exit 0; "
        script += "for id in \(ids); do if \(alive); then kill -TERM $(cat $id.pid) 2>/dev/null || true; fi; done; "
        script += "n=0; while [ $n -lt 50 ]; do any=0; for id in \(ids); do if \(alive); then any=1; fi; done; "
        script += "[ $any = 0 ] && break; sleep 0.2; n=$((n+1)); done; "
        script += "for id in \(ids); do if \(alive); then kill -KILL $(cat $id.pid) 2>/dev/null || true; fi; done; sleep 0.2; "
        script += Self.statusLoop(workerIDs(host))
        return ssh(host, script, summary: "stop workers")
    }

    func collectStep(_ host: LaunchHost) -> LaunchStep {
        scp(host, workerIDs(host).map { host.scpLocation("\(remoteDirectory)/\($0).log") }, logDirectory + "/", summary: "copy logs")
    }

    private static func statusLoop(_ ids: [String]) -> String {
        "for id in \(ids.joined(separator: " ")); do if [ -f $id.exit ]; then echo \"$id exited $(cat $id.exit)\"; "
            + "elif [ -s $id.pid ] && kill -0 $(cat $id.pid) 2>/dev/null; then echo \"$id running\"; "
            + "else echo \"$id gone\"; fi; done"
    }

    /// `ID running` / `ID exited N` / `ID gone` lines → status by id.
    static func parseStatus(_ output: String) -> [String: String] {
        // ssh may mix its own messages (with \r\n endings, one Character in Swift) into the output: split on any newline
        // and keep only well-formed status lines.
        var statuses: [String: String] = [:]
        for line in output.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let status = parts[1].trimmingCharacters(in: .whitespaces)
            guard status == "running" || status == "gone" || status.hasPrefix("exited ") else { continue }
            statuses[String(parts[0])] = status
        }
        return statuses
    }

    /// The exit code in an `exited N` status, -1 when unknown.
    static func exitCode(_ status: String?) -> Int {
        guard let status, status.hasPrefix("exited "), let code = Int(status.dropFirst("exited ".count)) else { return -1 }
        return code
    }

    /// Single-quotes a word for a POSIX shell unless it is plainly safe.
    static func shellQuoted(_ word: String) -> String {
        let safe = !word.isEmpty && word.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "@%+=:,./_-".contains($0)) }
        return safe ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// Runs ssh/scp as child processes, off the cooperative thread pool, with a time limit per command.
struct LaunchProcessRunner: Sendable {
    var timeout: Duration
    private let programs: [String: String]

    init(timeout: Duration) throws {
        self.timeout = timeout
        var programs: [String: String] = [:]
        for name in ["ssh", "scp"] {
            guard let path = Self.find(name) else {
                throw LaunchError("\(name) was not found on PATH; install the OpenSSH client (apt-get install openssh-client)")
            }
            programs[name] = path
        }
        self.programs = programs
    }

    static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
            return "\(directory)/\(name)"
        }
        return nil
    }

    /// Runs a step; returns its combined output, or throws with the step, the exit status and the output's tail.
    @discardableResult
    func run(_ step: LaunchStep) async throws -> String {
        guard let executable = programs[step.program] else { throw LaunchError("unknown program \(step.program)") }
        let seconds = Double(timeout.components.seconds)
        let result: (status: Int32, output: String, timedOut: Bool) = try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                do {
                    continuation.resume(returning: try Self.runBlocking(executable, step, seconds: seconds))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
        if result.timedOut {
            throw LaunchError("\(step.summary): \(step.program) did not finish within \(Int(seconds)) s (is the host reachable? see --step-timeout)")
        }
        guard result.status == 0 else {
            let tail = result.output.trimmingCharacters(in: .whitespacesAndNewlines).suffix(500)
            var hint = ""
            if result.status == 255 {
                hint = " (ssh could not connect or log in: check the address, port, user, key (--identity or an agent) and the host key; "
                    + "for a first connection try --ssh-option StrictHostKeyChecking=accept-new)"
            }
            throw LaunchError("\(step.summary): \(step.program) exited with status \(result.status)\(hint): \(tail)")
        }
        return result.output
    }

    private static func runBlocking(_ executable: String, _ step: LaunchStep, seconds: Double) throws -> (Int32, String, Bool) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = step.arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let input = Pipe()
        process.standardInput = input
        do {
            try process.run()
        } catch {
            throw LaunchError("\(step.summary): cannot run \(executable): \(error.localizedDescription)")
        }
        if let text = step.input { input.fileHandleForWriting.write(Data(text.utf8)) }
        try? input.fileHandleForWriting.close()
        let timedOut = LaunchLockedBox(false)
        let watchdog = DispatchWorkItem {
            timedOut.withLock { $0 = true }
            process.terminate()
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: watchdog)
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        watchdog.cancel()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self), timedOut.withLock { $0 })
    }
}

/// Set once SIGINT or SIGTERM arrives, so the wait loop stops the workers instead of leaving them running.
final class LaunchInterrupt: Sendable {
    private let flag: LaunchLockedBox<Bool>
    // DispatchSourceSignal is not Sendable; the sources are only kept alive here and never touched again.
    private nonisolated(unsafe) let sources: [any DispatchSourceSignal]

    init() {
        var sources: [any DispatchSourceSignal] = []
        let flag = LaunchLockedBox(false)
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { flag.withLock { $0 = true } }
            source.resume()
            sources.append(source)
        }
        self.flag = flag
        self.sources = sources
    }

    var isSet: Bool { flag.withLock { $0 } }
}

/// A value behind a `Mutex`, shareable between tasks and closures (a `Mutex` itself cannot be captured).
final class LaunchLockedBox<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<Result>(_ body: (inout Value) -> Result) -> Result { mutex.withLock { body(&$0) } }
}
