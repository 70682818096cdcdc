import Dashboard
import Foundation
import LoadEngine
import Testing

@Suite("Server-side metrics in reports")
struct ServerSideMetricsReportTests {
    let metrics = ServerSideMetrics(
        keyspace: "realtime_chat_app", secondsBetweenSnapshots: 12.5, nodes: ["10.0.0.1:9042", "10.0.0.2:9042"],
        columns: ["Local writes Δ", "SSTables"],
        tables: [ServerSideMetrics.TableRow(table: "messages_by_conversation", values: ["+750", nil])],
        nodeFigures: [
            ServerSideMetrics.NodeFigure(name: "Memtable flushes Δ (MemtableFlushWriter)", value: "+2"),
            ServerSideMetrics.NodeFigure(name: "Client requests Δ", value: nil),
        ],
        notes: ["SSTable counts are not exposed over CQL before Cassandra 5.1"])

    func report(_ serverMetrics: ServerSideMetrics?) -> RunReport {
        RunReport(
            snapshot: StaticDataSource.sample(),
            context: RunBundleContext(stampedeVersion: "1.2.3", serverMetrics: serverMetrics),
            generatedAt: Date(timeIntervalSince1970: 1_700_000_100))
    }

    @Test func theHTMLReportHasACassandraSideSectionWithValuesAndGaps() throws {
        let html = report(metrics).html
        let start = try #require(html.range(of: "<section class=\"card report-only\" id=\"server-metrics\">"))
        let tail = html[start.lowerBound...]
        let end = try #require(tail.range(of: "</section>"))
        let section = String(tail[..<end.upperBound])
        #expect(section.contains("<h2>Cassandra side</h2>"))
        #expect(section.contains("realtime_chat_app · 2 nodes"))
        #expect(section.contains("12.5 s between"))
        #expect(section.contains("<th>Local writes Δ</th><th>SSTables</th>"))
        #expect(section.contains("<td class=\"text\">messages_by_conversation</td><td>+750</td><td class=\"muted\">not exposed by this server</td>"))
        #expect(section.contains("<td class=\"text\">Memtable flushes Δ (MemtableFlushWriter)</td><td>+2</td>"))
        #expect(section.contains("<td class=\"text\">Client requests Δ</td><td class=\"muted\">not exposed by this server</td>"))
        #expect(section.contains("<li>SSTable counts are not exposed over CQL before Cassandra 5.1</li>"))
    }

    @Test func withoutCapturedMetricsThereIsNoSection() {
        #expect(!report(nil).html.contains("id=\"server-metrics\""))
    }

    @Test func theBundleCarriesTheSectionAndOldBundlesStillDecode() throws {
        let bytes = try report(metrics).bundle.encoded()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let context = try #require(object["context"] as? [String: Any])
        let server = try #require(context["serverMetrics"] as? [String: Any])
        #expect(server["keyspace"] as? String == "realtime_chat_app")
        let decoded = try JSONDecoder().decode(RunBundleContext.self, from: try JSONEncoder().encode(RunBundleContext(serverMetrics: metrics)))
        #expect(decoded.serverMetrics == metrics)
        let old = try JSONDecoder().decode(RunBundleContext.self, from: Data("{\"stampedeVersion\": \"1\", \"driverSettings\": {}}".utf8))
        #expect(old.serverMetrics == nil)
    }

    @Test func markupInValuesIsEscaped() {
        var hostile = metrics
        hostile.tables = [ServerSideMetrics.TableRow(table: "<script>x</script>", values: ["<b>", nil])]
        let html = report(hostile).html
        #expect(html.contains("&lt;script&gt;x&lt;/script&gt;"))
        #expect(!html.contains("<td class=\"text\"><script>"))
    }
}
