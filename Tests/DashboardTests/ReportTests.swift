import Dashboard
import Foundation
import LoadEngine
import Testing

@Suite("Reports")
struct ReportTests {
    func report() -> RunReport {
        var histogram0 = LatencyHistogram()
        histogram0.record(micros: 1000)
        histogram0.record(micros: 2000)
        var histogram1 = LatencyHistogram()
        histogram1.record(micros: 3000)
        histogram1.record(micros: 10_000)
        return RunReport(
            snapshot: StaticDataSource.sample(),
            secondHistograms: [SecondHistogram(second: 1, histogram: histogram1), SecondHistogram(second: 0, histogram: histogram0)],
            context: RunBundleContext(stampedeVersion: "1.2.3", driverSettings: ["pool": "2"]),
            generatedAt: Date(timeIntervalSince1970: 1_700_000_100)
        )
    }

    func csvLines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

    @Test func statsCSVHasLocustsHeaderAndOneRowPerOperationPlusAggregated() {
        let lines = csvLines(report().statsCSV)
        #expect(lines[0] == "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%")
        #expect(lines.count == 4)
        #expect(lines[1].hasPrefix("CQL,read_messages,1,0,10,10,10,10,0,0.1,0,10,"))
        #expect(lines[2].hasPrefix("CQL,send_message,5,1,2,2.5,1,4,0,0.5,0.1,2,"))
        // 3 ms lands in a 2 µs-wide bucket (3 significant digits): its highest equivalent value is 3.001 ms.
        #expect(lines[3].hasPrefix(",Aggregated,6,1,3.001,4,1,10,0,0.6,0.1,3.001,"))
        #expect(lines[3].hasSuffix(",10"))
        #expect(lines.allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count == 22 })
    }

    @Test func historyCSVHasLocustsHeaderTimestampsAndRunningTotals() {
        let lines = csvLines(report().historyCSV)
        #expect(lines[0] == "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size")
        #expect(lines.count == 3)
        let first = lines[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let second = lines[2].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        #expect(first.count == 24 && second.count == 24)
        #expect(first[0] == "1700000001" && second[0] == "1700000002")
        #expect(first[1] == "10" && first[3] == "Aggregated")
        #expect(first[4] == "3" && first[5] == "1")
        #expect(first[6] == "1")
        #expect(second[17] == "6" && second[18] == "1")
        // Cumulative: 1, 2, 3, 10 ms after the second second.
        #expect(second[22] == "10")
        #expect(second[21] == "1")
    }

    @Test func failuresCSVQuotesMessagesLikePythonsCSVModule() {
        let lines = csvLines(report().failuresCSV)
        #expect(lines == ["Method,Name,Error,Occurrences", #"CQL,send_message,"timeout: write timeout, ""quoted""",1"#])
    }

    @Test func resultsJSONHasTheSeedsFields() throws {
        let data = try report().resultsJSON()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(data)) as? [String: Any])
        #expect(object["total_messages"] as? Int == 5)
        #expect(object["total_time"] as? Double == 10)
        #expect(object["throughput"] as? Double == 0.5)
        #expect(object["p99"] as? Double == 10)
        for key in ["p50", "p95", "p999", "max", "failures", "unknown_outcomes", "errors_by_kind", "per_second", "run_configuration"] {
            #expect(object[key] != nil, "\(key)")
        }
        let workers = try #require(object["workers"] as? [[String: Any]])
        #expect(workers.map { $0["worker_id"] as? String } == ["w1", "w2"])
        #expect(workers[0]["total_messages"] as? Int == 4)
        #expect(workers[0]["throughput"] as? Double == 0.4)
        #expect(workers[1]["was_lost"] as? Bool == true)
    }

    @Test func providedResultsJSONIsWrittenVerbatim() throws {
        var report = report()
        report.providedResultsJSON = Array(#"{"total_messages":7}"#.utf8)
        #expect(try report.resultsJSON() == Array(#"{"total_messages":7}"#.utf8))
    }

    @Test func htmlReportIsSelfContainedAndCarriesTheData() {
        let html = report().html
        #expect(html.hasPrefix("<!doctype html>"))
        #expect(!html.contains("http://") && !html.contains("https://"))
        #expect(!html.contains("<script src") && !html.contains("<link"))
        #expect(html.contains("data-mode=\"report\""))
        #expect(html.contains("\"runID\":\"run-1\""))
        #expect(html.contains("read_messages"))
        #expect(html.contains("<canvas id=\"chart-latency\""))
        #expect(html.contains("1.2.3"))
        #expect(html.contains("<td class=\"text\">pool</td>"))
    }

    @Test func htmlReportEscapesScriptClosingInData() {
        var snapshot = StaticDataSource.sample()
        snapshot.failures = [FailureRecord(operation: "x", kind: .other, message: "</script><b>bad</b>", count: 1)]
        let html = RunReport(snapshot: snapshot).html
        #expect(!html.contains("</script><b>"))
        #expect(html.contains(#"<\/script><b>bad<\/b>"#))
    }

    @Test func hdrLogLinesDecodeToTheRecordedCounts() throws {
        let log = report().hdrLog
        let lines = log.split(separator: "\n").map(String.init)
        #expect(lines[0] == "#[Histogram log format version 1.3]")
        #expect(lines[1].hasPrefix("#[StartTime: 1700000000.000"))
        #expect(lines[3] == #""StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram""#)
        #expect(lines.count == 6)
        #expect(lines[4].hasPrefix("0.000,1.000,2.000,"))
        #expect(lines[5].hasPrefix("1.000,1.000,10.000,"))
        let counts = try HDRTestDecoder.decode(String(lines[5].split(separator: ",")[3]))
        #expect(counts.values.reduce(0, +) == 2)
        #expect(counts.count == 2)
        // 3000 µs: bucket 1, sub-bucket 1500 → index 2048 + 476.
        #expect(counts[2524] == 1)
    }

    @Test func bundleRoundTripsAndComparisonShowsDifferences() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stampede-bundle-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let written = try report().write(to: directory, prefix: "chat")
        #expect(written.map { ($0 as NSString).lastPathComponent }.sorted() == [
            "bundle.json", "chat_failures.csv", "chat_stats.csv", "chat_stats_history.csv", "distributed_results.json", "latency.hlog", "report.html",
        ])
        let a = try RunBundle.load(from: directory)
        #expect(a.runID == "run-1")
        #expect(a.context.stampedeVersion == "1.2.3")
        #expect(a.summary.requests == 6)
        #expect(a.series.count == 2)
        var faster = StaticDataSource.sample()
        faster.runID = "run-9"
        faster.elapsed = .seconds(5)
        let b = RunReport(snapshot: faster).bundle
        let comparison = RunComparison(a: a, b: b)
        let throughput = try #require(comparison.rows.first { $0.metric == "throughput" })
        #expect(throughput.a == 0.5 && throughput.b == 1)
        #expect(throughput.relativeChange == 1)
        #expect(throughput.verdict == "better")
        #expect(comparison.text.contains("throughput (ops/s)"))
        #expect(comparison.text.contains("+100.0%"))
        #expect(throws: DashboardError.self) { try RunBundle.load(from: directory + "/missing") }
    }

    @Test func startRequestValidation() throws {
        #expect(throws: DashboardError.self) { try RunStartRequest(workload: "", target: 1, users: 1).validated() }
        #expect(throws: DashboardError.self) { try RunStartRequest(workload: "chat-write", users: 10).validated() }
        #expect(throws: DashboardError.self) { try RunStartRequest(workload: "chat-write", target: 10, model: "open").validated() }
        #expect(throws: DashboardError.self) { try RunStartRequest(workload: "chat-write", scenario: "easter").validated() }
        #expect(throws: DashboardError.self) { try RunStartRequest(workload: "profile", target: 1, users: 1).validated() }
        let ok = try RunStartRequest(workload: " chat-mixed ", model: "Open", rate: 500, scenario: "viral", consistency: "").validated()
        #expect(ok.workload == "chat-mixed" && ok.model == "open" && ok.consistency == nil)
        #expect(try BasicCredentials(parsing: "a:b:c") == BasicCredentials(user: "a", password: "b:c"))
        #expect(throws: DashboardError.self) { try BasicCredentials(parsing: "nopassword") }
        #expect(throws: DashboardError.self) { try DashboardConfiguration(port: 70000).validated() }
        #expect(DashboardConfiguration().isLoopback)
        #expect(!DashboardConfiguration(host: "0.0.0.0").isLoopback)
    }
}

/// Reads back what HDRHistogramLog writes (compressed V2, zlib stored blocks), independently of the writer.
enum HDRTestDecoder {
    struct Failure: Error {}

    static func decode(_ base64: String) throws -> [Int: Int64] {
        let bytes = try #require(Data(base64Encoded: base64).map(Array.init))
        func int32(_ at: Int) -> Int { Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3]) }
        guard int32(0) == 0x1c84_9314 else { throw Failure() }
        let zlib = Array(bytes[8..<(8 + int32(4))])
        guard zlib[0] == 0x78 else { throw Failure() }
        var inflated: [UInt8] = []
        var offset = 2
        while true {
            let final = zlib[offset] & 1 == 1
            let length = Int(zlib[offset + 1]) | Int(zlib[offset + 2]) << 8
            inflated += zlib[(offset + 5)..<(offset + 5 + length)]
            offset += 5 + length
            if final { break }
        }
        func inner(_ at: Int) -> Int { Int(inflated[at]) << 24 | Int(inflated[at + 1]) << 16 | Int(inflated[at + 2]) << 8 | Int(inflated[at + 3]) }
        guard inner(0) == 0x1c84_9313, inner(12) == 3 else { throw Failure() }
        let payloadLength = inner(4)
        var position = 40
        var index = 0
        var counts: [Int: Int64] = [:]
        while position < 40 + payloadLength {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                let byte = inflated[position]
                position += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { break }
                shift += 7
            }
            let signed = Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1)
            if signed < 0 {
                index += Int(-signed)
            } else {
                if signed > 0 { counts[index] = signed }
                index += 1
            }
        }
        return counts
    }
}

@Suite("Second series cache")
struct SecondSeriesCacheTests {
    func metrics(_ latencies: [UInt64]) -> MetricsSnapshot {
        var operation = OperationMetrics()
        for latency in latencies { operation.recordSuccess(latencyMicros: latency) }
        return MetricsSnapshot(operations: ["op": operation])
    }

    @Test func settledSecondsAreKeptAndRecentOnesFollowLateReports() {
        var cache = SecondSeriesCache(settleAfter: 2)
        var perSecond: [Int: MetricsSnapshot] = [0: metrics([100]), 1: metrics([200]), 2: metrics([300])]
        cache.update(perSecond: perSecond, currentSecond: 3) { Double($0) }
        #expect(cache.samples.map(\.second) == [0, 1, 2])
        #expect(cache.samples.map(\.requests) == [1, 1, 1])
        // A late report for second 0 (settled) is not picked up; one for second 2 (recent) is.
        perSecond[0] = metrics([100, 100])
        perSecond[2] = metrics([300, 300])
        perSecond[3] = metrics([400])
        cache.update(perSecond: perSecond, currentSecond: 4) { Double($0) }
        #expect(cache.samples.map(\.second) == [0, 1, 2, 3])
        #expect(cache.samples.map(\.requests) == [1, 1, 2, 1])
        #expect(cache.samples[3].load == 3)
        #expect(cache.samples[3].p50Micros == 400)
        cache.reset()
        #expect(cache.samples.isEmpty)
    }
}

@Suite("Reports from engine results")
struct ResultsReportTests {
    func engineRun() -> (RunResults, MetricsSnapshot, [IntervalReport]) {
        var intervals: [IntervalReport] = []
        var totals = MetricsSnapshot()
        for second in 0..<3 {
            var send = OperationMetrics()
            for index in 0..<(10 * (second + 1)) { send.recordSuccess(latencyMicros: UInt64(1000 + index * 10)) }
            let metrics = MetricsSnapshot(operations: ["send_message": send])
            totals.merge(metrics)
            intervals.append(IntervalReport(second: second, metrics: metrics, health: GeneratorHealth()))
        }
        let results = RunResults(
            run: RunIdentity(id: "headless-1", epochMillis: 1_700_000_000_000), workload: "chat-write",
            startedAt: Date(timeIntervalSince1970: 1_700_000_000), totals: totals, intervals: intervals, elapsed: .seconds(3),
            writeOperations: ["send_message"], stopReason: .completed, thresholds: [], health: GeneratorHealth(), target: 60,
            config: ["workload": "chat-write"]
        )
        return (results, totals, intervals)
    }

    @Test func headlessRunReportsCarryTheEngineFigures() throws {
        let (results, totals, intervals) = engineRun()
        let report = RunReport(results: results, totals: totals, intervals: intervals)
        #expect(report.snapshot.runID == "headless-1")
        #expect(report.snapshot.state == .finished)
        #expect(report.update.run.completed == 60)
        #expect(report.update.run.progress == 1)
        #expect(report.snapshot.series.map(\.requests) == [10, 20, 30])
        let history = report.historyCSV.split(separator: "\n")
        #expect(history.count == 4)
        #expect(history[3].hasPrefix("1700000003,0,,Aggregated,30,0,"))
        #expect(report.hdrLog.split(separator: "\n").count == 7)
        let written = try JSONDecoder().decode(RunResults.self, from: Data(try report.resultsJSON()))
        #expect(written == results)
    }

    @Test func compareReadsResultsDocumentsToo() throws {
        let (results, _, _) = engineRun()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stampede-results-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("distributed_results.json")
        try results.jsonData().write(to: file)
        let bundle = try RunBundle.load(from: file.path)
        #expect(bundle.runID == "headless-1")
        #expect(bundle.summary.completed == 60)
        #expect(bundle.summary.run.p50 == results.p50)
        #expect(bundle.series.count == 3)
        let comparison = RunComparison(a: bundle, b: bundle)
        #expect(comparison.rows.allSatisfy { $0.verdict == "same" })
    }
}
