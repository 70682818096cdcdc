import Dashboard
import Foundation
import Hummingbird
import HummingbirdTesting
import LoadEngine
import Testing

@Suite("Dashboard routes")
struct DashboardRouteTests {
    func app(_ dataSource: any DashboardDataSource = StaticDataSource(), configuration: DashboardConfiguration = DashboardConfiguration(stampedeVersion: "9.9.9")) -> some ApplicationProtocol {
        DashboardServer(configuration: configuration, dataSource: dataSource).makeApplication()
    }

    func json(_ body: ByteBuffer) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any])
    }

    @Test func pageIsServedWithChartsAndNoRemoteResources() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/html") == true)
                let html = String(buffer: response.body)
                #expect(html.contains("<canvas id=\"chart-rps\""))
                #expect(html.contains("id=\"workers-table\""))
                #expect(html.contains("9.9.9"))
                #expect(!html.contains("http://") && !html.contains("https://"))
            }
        }
    }

    @Test func runSummaryReportsTotalsRatesAndPercentiles() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/api/run", method: .get) { response in
                #expect(response.status == .ok)
                let summary = try JSONDecoder().decode(RunSummary.self, from: Data(buffer: response.body))
                #expect(summary.runID == "run-1")
                #expect(summary.state == .running)
                #expect(summary.requests == 6)
                #expect(summary.failures == 1)
                #expect(summary.completed == 5)
                #expect(summary.target == 100)
                #expect(summary.progress == 0.05)
                #expect(summary.averageRPS == 0.6)
                #expect(summary.currentRPS == 1)
                #expect(summary.unknownOutcomes == 1)
                #expect(summary.run.max == 10)
                #expect(summary.run.p50 >= 2.9 && summary.run.p50 <= 3.01)
                #expect(summary.now.p50 >= 3.99 && summary.now.p50 <= 4.01)
                #expect(summary.workersRunning == 1 && summary.workersLost == 1)
                #expect(summary.etaSeconds == 190)
            }
        }
    }

    @Test func statsFailuresAndWorkersTables() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/api/stats", method: .get) { response in
                let body = try json(response.body)
                let operations = try #require(body["operations"] as? [[String: Any]])
                #expect(operations.map { $0["name"] as? String } == ["read_messages", "send_message", "Aggregated"])
                #expect(operations[1]["requests"] as? Int == 5)
                #expect(operations[1]["failures"] as? Int == 1)
                #expect((body["series"] as? [Any])?.count == 2)
            }
            try await client.execute(uri: "/api/failures", method: .get) { response in
                let body = try json(response.body)
                let failures = try #require(body["failures"] as? [[String: Any]])
                #expect(failures.first?["kind"] as? String == "timeout")
                #expect(failures.first?["count"] as? Int == 1)
                let kinds = try #require(body["errorsByKind"] as? [[String: Any]])
                #expect(kinds.first { $0["kind"] as? String == "timeout" }?["count"] as? Int == 1)
            }
            try await client.execute(uri: "/api/workers", method: .get) { response in
                let workers = try #require(try json(response.body)["workers"] as? [[String: Any]])
                #expect(workers.map { $0["id"] as? String } == ["w1", "w2"])
                #expect(workers[1]["wasLost"] as? Bool == true)
                #expect(workers[0]["cpu"] as? Double == 0.25)
            }
        }
    }

    @Test func startValidatesTheFormAndPassesItOn() async throws {
        let source = StaticDataSource()
        try await app(source).test(.router) { client in
            try await client.execute(uri: "/api/start", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"workload":"chat-write","users":0,"target":10}"#)) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("users must be at least 1"))
            }
            try await client.execute(uri: "/api/start", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: "not json")) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: "/api/start", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"workload":"chat-write","users":25,"target":1000,"consistency":" "}"#)) { response in
                #expect(response.status == .accepted)
                let body = try json(response.body)
                #expect(body["runID"] as? String == "run-2")
            }
            try await client.execute(uri: "/api/stop", method: .post) { response in
                #expect(response.status == .conflict)
                #expect(String(buffer: response.body).contains("no run is in progress"))
            }
            try await client.execute(uri: "/api/adjust", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{}"#)) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: "/api/adjust", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"users":40}"#)) { response in
                #expect(response.status == .accepted)
            }
        }
        #expect(source.calls.withLock { $0 } == ["start chat-write users=25", "stop", "adjust users=40"])
    }

    @Test func liveStreamSendsServerSentEvents() async throws {
        let configuration = DashboardConfiguration(pushInterval: .milliseconds(10))
        try await app(configuration: configuration).test(.router) { client in
            try await client.execute(uri: "/api/live?count=3", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/event-stream")
                let text = String(buffer: response.body)
                let events = text.components(separatedBy: "event: update\ndata: ").dropFirst()
                #expect(events.count == 3)
                let first = try #require(events.first?.split(separator: "\n").first)
                let update = try JSONDecoder().decode(DashboardUpdate.self, from: Data(first.utf8))
                #expect(update.run.runID == "run-1")
                #expect(update.series.count == 2)
            }
        }
    }

    @Test func liveStreamWorksOverARealSocket() async throws {
        let configuration = DashboardConfiguration(port: 0, pushInterval: .milliseconds(20))
        try await app(configuration: configuration).test(.live) { client in
            try await client.execute(uri: "/api/live?count=2", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).components(separatedBy: "event: update").count == 3)
            }
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test func simulatedRunChangesBetweenSnapshotsAndStops() async throws {
        let source = SimulatedRunDataSource(workers: 2, pacing: .manual, seed: 7)
        try await app(source).test(.router) { client in
            try await client.execute(uri: "/api/start", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"workload":"chat-mixed","users":5,"target":100000}"#)) { response in
                #expect(response.status == .accepted)
            }
            await source.advance(seconds: 3)
            let first = try await client.execute(uri: "/api/run", method: .get) { try JSONDecoder().decode(RunSummary.self, from: Data(buffer: $0.body)) }
            #expect(first.state == .running)
            #expect(first.requests > 0)
            try await client.execute(uri: "/api/start", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"workload":"chat-write","users":5,"target":10}"#)) { response in
                #expect(response.status == .conflict)
            }
            await source.advance(seconds: 2)
            let second = try await client.execute(uri: "/api/run", method: .get) { try JSONDecoder().decode(RunSummary.self, from: Data(buffer: $0.body)) }
            #expect(second.requests > first.requests)
            try await client.execute(uri: "/api/workers", method: .get) { response in
                let body = try json(response.body)
                #expect((body["workers"] as? [Any])?.count == 2)
            }
            try await client.execute(uri: "/api/stop", method: .post) { #expect($0.status == .accepted) }
            await source.advance(seconds: 1)
            let stopped = try await client.execute(uri: "/api/run", method: .get) { try JSONDecoder().decode(RunSummary.self, from: Data(buffer: $0.body)) }
            #expect(stopped.state == .finished)
        }
    }

    @Test func reportDownloadsCarryTheRun() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/reports/report.html", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentDisposition] == "attachment; filename=\"stampede_run-1_report.html\"")
                let html = String(buffer: response.body)
                #expect(html.contains("window.STAMPEDE_REPORT"))
                #expect(html.contains("\"runID\":\"run-1\""))
                #expect(html.contains("5.0.2"))
            }
            try await client.execute(uri: "/reports/stats.csv", method: .get) { response in
                #expect(response.headers[.contentType]?.hasPrefix("text/csv") == true)
                #expect(String(buffer: response.body).hasPrefix("Type,Name,Request Count,Failure Count,Median Response Time"))
            }
            for path in ["stats_history.csv", "failures.csv", "results.json", "latency.hlog", "bundle.json"] {
                try await client.execute(uri: "/reports/\(path)", method: .get) { response in
                    #expect(response.status == .ok, "\(path)")
                    #expect(response.body.readableBytes > 20, "\(path)")
                }
            }
            try await client.execute(uri: "/api/reports", method: .post) { response in
                #expect(response.status == .conflict)
            }
        }
    }

    @Test func reportsAreWrittenToTheReportDirectoryAndCompared() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stampede-dash-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = DashboardConfiguration(reportDirectory: directory, stampedeVersion: "1.0")
        let source = StaticDataSource()
        try await app(source, configuration: configuration).test(.router) { client in
            try await client.execute(uri: "/api/reports", method: .post) { response in
                #expect(response.status == .created)
                let files = try #require(try json(response.body)["files"] as? [String])
                #expect(files.count == 7)
                #expect(files.contains { $0.hasSuffix("run-1/stampede_stats_history.csv") })
            }
            source.state.withLock { $0.runID = "run-2"; $0.elapsed = .seconds(5) }
            try await client.execute(uri: "/api/reports", method: .post) { #expect($0.status == .created) }
            try await client.execute(uri: "/api/runs", method: .get) { response in
                let runs = try #require(try json(response.body)["runs"] as? [String])
                #expect(Set(runs) == ["run-1", "run-2"])
            }
            try await client.execute(uri: "/compare?a=run-1&b=run-2", method: .get) { response in
                let html = String(buffer: response.body)
                #expect(html.contains("id=\"compare-table\""))
                #expect(html.contains("throughput (ops/s)"))
                #expect(html.contains("+100.0%"))
            }
        }
    }

    @Test func metricsExposeTotalsRatesLatencyAndWorkers() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                let text = String(buffer: response.body)
                #expect(text.contains(#"stampede_requests_total{operation="send_message"} 5"#))
                #expect(text.contains(#"stampede_failures_total{operation="send_message"} 1"#))
                #expect(text.contains(#"stampede_errors_total{operation="send_message",kind="timeout"} 1"#))
                #expect(text.contains(#"stampede_workers{state="lost"} 1.0"#))
                #expect(text.contains(#"stampede_latency_seconds{window="run",quantile="1"} 0.01"#))
                #expect(text.contains("stampede_current_rps 1.0"))
                #expect(text.contains(#"stampede_run_state{state="running"} 1.0"#))
                #expect(text.contains("# TYPE stampede_requests_total counter"))
            }
        }
    }

    @Test func authenticationGuardsEveryRouteButHealth() async throws {
        let configuration = DashboardConfiguration(basicAuth: BasicCredentials(user: "ops", password: "s3cr:t"), token: "tok-123")
        try await app(configuration: configuration).test(.router) { client in
            for path in ["/", "/api/run", "/metrics", "/reports/stats.csv"] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .unauthorized, "\(path)")
                    #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Basic") == true)
                }
            }
            let good = "Basic " + Data("ops:s3cr:t".utf8).base64EncodedString()
            let bad = "Basic " + Data("ops:wrong".utf8).base64EncodedString()
            try await client.execute(uri: "/api/run", method: .get, headers: [.authorization: good]) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/run", method: .get, headers: [.authorization: bad]) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/api/run", method: .get, headers: [.authorization: "Bearer tok-123"]) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/run", method: .get, headers: [.authorization: "Bearer tok-12"]) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/api/run?token=tok-123", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
        }
    }
}
