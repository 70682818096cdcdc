import Dashboard
import Foundation
import Logging

/// Serves the dashboard fed by a simulated run: `stampede-dashboard-demo [--port N] [--host H] [--workers N]
/// [--autostart] [--web-auth user:password] [--token T] [--report-dir DIR] [--lose-worker-at SECONDS]`.
///
/// Prints `listening on http://HOST:PORT` once bound (the browser test waits for that line).
@main
struct DashboardDemo {
    static func main() async throws {
        var arguments = Array(CommandLine.arguments.dropFirst())
        func value(_ flag: String) -> String? {
            guard let index = arguments.firstIndex(of: flag), index + 1 < arguments.count else { return nil }
            let value = arguments[index + 1]
            arguments.removeSubrange(index...(index + 1))
            return value
        }
        let port = Int(value("--port") ?? "8089") ?? 8089
        let host = value("--host") ?? "127.0.0.1"
        let workers = Int(value("--workers") ?? "2") ?? 2
        let auth = try value("--web-auth").map { try BasicCredentials(parsing: $0) }
        let token = value("--token")
        let reportDirectory = value("--report-dir")
        let loseAt = value("--lose-worker-at").flatMap { Int($0) }
        let autostart = arguments.contains("--autostart")

        let dataSource = SimulatedRunDataSource(workers: workers, pacing: .realTime, loseWorkerAtSecond: loseAt)
        if autostart {
            _ = try await dataSource.start(RunStartRequest(workload: "chat-write", target: 1_000_000, users: 50))
        }
        let configuration = try DashboardConfiguration(
            host: host, port: port, basicAuth: auth, token: token, reportDirectory: reportDirectory, stampedeVersion: "demo"
        ).validated()
        var logger = Logger(label: "stampede.dashboard.demo")
        logger.logLevel = .warning
        let server = DashboardServer(configuration: configuration, dataSource: dataSource, logger: logger) { port in
            FileHandle.standardOutput.write(Data("listening on http://\(host):\(port)\n".utf8))
        }
        try await server.run()
    }
}
