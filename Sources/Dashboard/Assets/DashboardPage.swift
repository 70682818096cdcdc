/// The dashboard's single page and the self-contained HTML report built from the same markup, styles and script.
public enum DashboardPage {
    /// The live dashboard page.
    public static func live(version: String) -> String {
        document(mode: "live", title: "Stampede", version: version, data: nil)
    }

    /// The self-contained report of a run: everything inline, opens from disk without a network.
    public static func report(update: DashboardUpdate, bundle: RunBundle) -> String {
        let data = (try? JSONBody.bytes(ReportData(update: update, bundle: bundle))).map { String(decoding: $0, as: UTF8.self) } ?? "null"
        let title = "Stampede report" + (bundle.runID.isEmpty ? "" : " – run \(bundle.runID)")
        return document(mode: "report", title: title, version: bundle.context.stampedeVersion, data: data, bundle: bundle)
    }

    struct ReportData: Encodable {
        var update: DashboardUpdate
        var bundle: RunBundle

        func encode(to encoder: any Encoder) throws {
            // The report script renders the update; the bundle rides along for tools that scrape the file.
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(update.run, forKey: .run)
            try container.encode(update.operations, forKey: .operations)
            try container.encode(update.failures, forKey: .failures)
            try container.encode(update.errorsByKind, forKey: .errorsByKind)
            try container.encode(update.workers, forKey: .workers)
            try container.encode(update.series, forKey: .series)
            try container.encode(bundle.context, forKey: .context)
            try container.encode(bundle.configuration, forKey: .configuration)
        }

        enum CodingKeys: String, CodingKey { case run, operations, failures, errorsByKind, workers, series, context, configuration }
    }

    static func escapeHTML(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    static func document(mode: String, title: String, version: String, data: String?, bundle: RunBundle? = nil) -> String {
        var html = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escapeHTML(title))</title>
        <style>\(DashboardStyles.css)</style>
        </head>
        <body data-mode="\(mode)">
        <header class="top">
          <div class="brand">Stampede<small>\(escapeHTML(version))</small></div>
          <span id="run-state" class="badge">idle</span>
          <span id="run-id" class="muted"></span>
          <span id="workload" class="muted"></span>
          <span class="spacer"></span>
          <span id="connection" class="muted live-only">connecting…</span>
          <span class="live-only"><button id="btn-new" type="button">New run</button> <button id="btn-stop" type="button" class="danger" disabled>Stop</button></span>
        </header>
        <main>
        <section id="message" class="banner" hidden></section>
        <section id="action-result" class="banner live-only" hidden></section>
        \(startPanel)
        <section class="card">
          <div class="progress-row"><div><span class="muted">Completed</span> <strong id="completed">0</strong> <span id="target-text" class="muted"></span> <span id="progress-pct" class="muted"></span></div>
          <div><span class="muted">Elapsed</span> <strong id="elapsed">–</strong> · <span class="muted">ETA</span> <strong id="eta">–</strong></div></div>
          <div class="bar"><div id="progress-bar"></div></div>
        </section>
        <section class="cards">
          <div class="card stat"><div class="label">Current RPS</div><div class="value" id="current-rps">–</div><div class="sub">avg <span id="average-rps">–</span>/s</div></div>
          <div class="card stat"><div class="label">Requests</div><div class="value" id="requests">–</div><div class="sub" id="retries"></div></div>
          <div class="card stat"><div class="label">Failures</div><div class="value" id="failures">–</div><div class="sub"><span id="failure-ratio">–</span> of requests</div></div>
          <div class="card stat"><div class="label">Unknown outcome</div><div class="value" id="unknown">–</div><div class="sub">timeouts, may have applied</div></div>
          <div class="card stat"><div class="label">Load</div><div class="value" id="load-now">–</div>
            <div id="edit-box" class="inline live-only" hidden><input id="edit-value" type="number" min="0" step="any" aria-label="new load"><span id="edit-unit" class="muted">users</span><button id="btn-apply" type="button">Apply</button></div></div>
          <div class="card stat"><div class="label">Workers</div><div class="value" id="workers-count">–</div><div class="sub" id="workers-sub"></div></div>
        </section>
        <section class="card">
          <h2>Response times (ms)</h2>
          <div class="scroll"><table id="latency-table"><thead><tr><th class="text"></th><th>p50</th><th>p95</th><th>p99</th><th>p99.9</th><th>max</th></tr></thead>
          <tbody>
          <tr><td>Last second</td><td id="lat-now-p50">–</td><td id="lat-now-p95">–</td><td id="lat-now-p99">–</td><td id="lat-now-p999">–</td><td id="lat-now-max">–</td></tr>
          <tr class="total"><td>Whole run</td><td id="lat-run-p50">–</td><td id="lat-run-p95">–</td><td id="lat-run-p99">–</td><td id="lat-run-p999">–</td><td id="lat-run-max">–</td></tr>
          </tbody></table></div>
        </section>
        <section class="charts">
          <div class="card chart"><h2>Requests per second</h2><div class="legend"><span><i style="background:#2563eb"></i>requests/s</span><span><i style="background:#64748b"></i>users or target rate (right axis)</span></div><canvas id="chart-rps" role="img" aria-label="requests per second over time"></canvas></div>
          <div class="card chart"><h2>Response times (ms)</h2><div class="legend"><span><i style="background:#2563eb"></i>p50</span><span><i style="background:#d97706"></i>p95</span><span><i style="background:#dc2626"></i>p99</span></div><canvas id="chart-latency" role="img" aria-label="latency percentiles over time"></canvas></div>
          <div class="card chart"><h2>Failures per second</h2><div class="legend"><span><i style="background:#b91c1c"></i>failures/s</span></div><canvas id="chart-failures" role="img" aria-label="failures per second over time"></canvas></div>
        </section>
        <section class="card">
          <h2>Statistics</h2>
          <div class="scroll"><table id="stats-table"><thead><tr><th class="text">Type</th><th class="text">Name</th><th># Requests</th><th># Fails</th><th>Median</th><th>90%ile</th><th>95%ile</th><th>99%ile</th><th>Average</th><th>Min</th><th>Max</th><th>Current RPS</th><th>Current Failures/s</th><th>Average RPS</th></tr></thead><tbody></tbody></table></div>
        </section>
        <section class="card">
          <h2>Failures</h2>
          <div id="error-kinds" class="chips"></div>
          <div class="scroll"><table id="failures-table"><thead><tr><th class="text">Operation</th><th class="text">Kind</th><th class="text">Message</th><th># Occurrences</th></tr></thead><tbody></tbody></table></div>
          <p id="failures-table-empty" class="muted">No failures.</p>
        </section>
        <section class="card">
          <h2>Workers</h2>
          <div class="scroll"><table id="workers-table"><thead><tr><th class="text">Worker</th><th class="text">Host</th><th class="text">State</th><th>Current RPS</th><th>Total</th><th>Failures</th><th>CPU</th><th>Last heartbeat</th></tr></thead><tbody></tbody></table></div>
          <p id="workers-table-empty" class="muted">No workers connected.</p>
        </section>
        <section class="card live-only">
          <h2>Reports</h2>
          <div class="downloads">
            <a class="button" id="download-html" data-report="/reports/report.html" href="/reports/report.html">HTML report</a>
            <a class="button" data-report="/reports/stats.csv" href="/reports/stats.csv">Statistics CSV</a>
            <a class="button" data-report="/reports/stats_history.csv" href="/reports/stats_history.csv">History CSV</a>
            <a class="button" data-report="/reports/failures.csv" href="/reports/failures.csv">Failures CSV</a>
            <a class="button" data-report="/reports/results.json" href="/reports/results.json">Results JSON</a>
            <a class="button" data-report="/reports/latency.hlog" href="/reports/latency.hlog">HDR histogram log</a>
            <a class="button" data-report="/reports/bundle.json" href="/reports/bundle.json">Run bundle</a>
            <a class="button" data-report="/compare" href="/compare">Compare runs</a>
          </div>
        </section>

        """
        if let bundle {
            html += reportDetails(bundle)
        }
        html += "</main>\n"
        if let data {
            // `</` cannot close the script element from inside the JSON.
            html += "<script>window.STAMPEDE_REPORT = \(data.replacingOccurrences(of: "</", with: "<\\/"));</script>\n"
        }
        html += "<script>\(DashboardScript.javascript)</script>\n</body>\n</html>\n"
        return html
    }

    static func reportDetails(_ bundle: RunBundle) -> String {
        func rows(_ values: [String: String]) -> String {
            values.keys.sorted().map { "<tr><td class=\"text\">\(escapeHTML($0))</td><td class=\"wrap\">\(escapeHTML(values[$0] ?? ""))</td></tr>" }.joined()
        }
        var html = "<section class=\"card report-only\"><h2>Run</h2><div class=\"scroll\"><table id=\"config-table\"><tbody>"
        html += rows(bundle.configuration.merging(["stampede version": bundle.context.stampedeVersion, "run id": bundle.runID]) { $1 })
        html += "</tbody></table></div></section>\n"
        if !bundle.context.driverSettings.isEmpty {
            html += "<section class=\"card report-only\"><h2>Driver</h2><div class=\"scroll\"><table><tbody>\(rows(bundle.context.driverSettings))</tbody></table></div></section>\n"
        }
        if let topology = bundle.context.topology {
            html += "<section class=\"card report-only\"><h2>Cluster</h2><p class=\"muted\">\(escapeHTML(topology.clusterName ?? "cluster")) · Cassandra \(escapeHTML(topology.cassandraVersion ?? "unknown"))</p>"
            html += "<div class=\"scroll\"><table><thead><tr><th class=\"text\">Node</th><th class=\"text\">Datacenter</th><th class=\"text\">Rack</th><th class=\"text\">Version</th></tr></thead><tbody>"
            for node in topology.nodes {
                html += "<tr><td class=\"text\">\(escapeHTML(node.address))</td><td class=\"text\">\(escapeHTML(node.datacenter ?? ""))</td><td class=\"text\">\(escapeHTML(node.rack ?? ""))</td><td class=\"text\">\(escapeHTML(node.releaseVersion ?? ""))</td></tr>"
            }
            html += "</tbody></table></div></section>\n"
        }
        if let serverMetrics = bundle.context.serverMetrics { html += serverMetrics.html }
        return html
    }

    static let startPanel = """
    <section id="start-panel" class="card live-only" hidden>
      <h2>Start a run</h2>
      <form id="start-form" class="start">
        <label>Workload<select name="workload"><option value="chat-write">chat write</option><option value="chat-mixed">chat mixed read/write</option><option value="profile">profile file…</option></select></label>
        <label id="profile-field" hidden>Profile file<input name="profile" placeholder="profiles/chat.yaml"></label>
        <label>Scenario<select name="scenario"><option value="">none (use the fields)</option><option value="black-friday">Black Friday</option><option value="new-years-eve">New Year's Eve spike</option><option value="viral">Viral growth</option></select></label>
        <label>Time scale<input name="timeScale" type="number" min="0" step="any" placeholder="1"></label>
        <label>Target total<input name="target" type="number" min="1" step="1" placeholder="1000000"></label>
        <label>Duration<input name="duration" placeholder="10m"></label>
        <fieldset><legend>Load model</legend>
          <label class="choice"><input type="radio" name="model" value="closed" checked> users</label>
          <label class="choice"><input type="radio" name="model" value="open"> arrival rate</label></fieldset>
        <label class="closed-only">Users<input name="users" type="number" min="1" step="1" value="100"></label>
        <label class="closed-only">Spawn rate (users/s)<input name="spawnRate" type="number" min="0" step="any" placeholder="10"></label>
        <label class="closed-only">Think time<input name="thinkTime" placeholder="none, 500ms, between 1s 3s"></label>
        <label class="open-only" hidden>Rate (ops/s)<input name="rate" type="number" min="0" step="any" placeholder="5000"></label>
        <label>Stages<input name="stages" placeholder="1m:500,1m:1500,3m:1000"></label>
        <label>Consistency<select name="consistency"><option value="">default</option><option>ONE</option><option>LOCAL_ONE</option><option>QUORUM</option><option>LOCAL_QUORUM</option><option>EACH_QUORUM</option><option>ALL</option></select></label>
        <label>Contact points<input name="contactPoints" placeholder="127.0.0.1:9042"></label>
        <div class="buttons"><button type="submit" class="primary" id="btn-start">Start</button><button type="button" id="btn-cancel">Cancel</button></div>
      </form>
    </section>
    """
}
