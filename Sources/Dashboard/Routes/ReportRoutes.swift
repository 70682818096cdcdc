import Hummingbird

/// Report downloads of the current (or last) run, generated on request: `/reports/report.html`, `stats.csv`,
/// `stats_history.csv`, `failures.csv`, `results.json`, `latency.hlog`, `bundle.json`; `POST /api/reports` writes them
/// all to `--report-dir`.
struct ReportRoutes {
    let dataSource: any DashboardDataSource
    let configuration: DashboardConfiguration

    func register(on router: Router<some RequestContext>) {
        let dataSource = self.dataSource
        let version = configuration.stampedeVersion
        let prefix = configuration.reportPrefix
        let reportDirectory = configuration.reportDirectory
        let reports = router.group("reports")
        @Sendable func name(_ report: RunReport, _ suffix: String) -> String {
            let run = report.snapshot.runID.isEmpty ? "" : "_" + RunReport.safeDirectoryName(report.snapshot.runID)
            return "\(prefix)\(run)\(suffix)"
        }
        reports.get("report.html") { request, _ -> Response in
            let report = await RunReport.collect(from: dataSource, stampedeVersion: version)
            let inline = request.uri.queryParameters["inline"] != nil
            return FileBody.response(Array(report.html.utf8), contentType: "text/html; charset=utf-8", downloadName: inline ? nil : name(report, "_report.html"))
        }
        reports.get("stats.csv") { _, _ -> Response in
            let report = await RunReport.collect(from: dataSource, stampedeVersion: version)
            return FileBody.response(Array(report.statsCSV.utf8), contentType: "text/csv; charset=utf-8", downloadName: name(report, "_stats.csv"))
        }
        reports.get("stats_history.csv") { _, _ -> Response in
            let report = await RunReport.collect(from: dataSource, stampedeVersion: version)
            return FileBody.response(Array(report.historyCSV.utf8), contentType: "text/csv; charset=utf-8", downloadName: name(report, "_stats_history.csv"))
        }
        reports.get("failures.csv") { _, _ -> Response in
            let report = await RunReport.collect(from: dataSource, stampedeVersion: version)
            return FileBody.response(Array(report.failuresCSV.utf8), contentType: "text/csv; charset=utf-8", downloadName: name(report, "_failures.csv"))
        }
        reports.get("results.json") { _, _ -> Response in
            let report = await RunReport.collect(from: dataSource, stampedeVersion: version)
            return FileBody.response(try report.resultsJSON(), contentType: "application/json", downloadName: name(report, "_results.json"))
        }
        reports.get("latency.hlog") { _, _ -> Response in
            let report = await RunReport.collect(from: dataSource, stampedeVersion: version)
            return FileBody.response(Array(report.hdrLog.utf8), contentType: "text/plain; charset=utf-8", downloadName: name(report, "_latency.hlog"))
        }
        reports.get("bundle.json") { _, _ -> Response in
            let report = await RunReport.collect(from: dataSource, stampedeVersion: version)
            return FileBody.response(try report.bundle.encoded(), contentType: "application/json", downloadName: name(report, "_bundle.json"))
        }
        router.post("api/reports") { _, _ -> Response in
            guard let reportDirectory else {
                return JSONBody.error("no report directory configured (--report-dir)", status: .conflict)
            }
            let report = await RunReport.collect(from: dataSource, stampedeVersion: version)
            let files: [String]
            do {
                files = try report.write(toRunDirectoryIn: reportDirectory, prefix: prefix)
            } catch {
                return JSONBody.error(String(describing: error), status: .internalServerError)
            }
            return try JSONBody.response(["files": files], status: .created)
        }
    }
}
