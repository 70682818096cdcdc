import Foundation
import Hummingbird

/// The page itself (`/`), a health check (`/healthz`) and the compare page (`/compare?a=RUN&b=RUN`).
struct PageRoutes {
    let configuration: DashboardConfiguration

    func register(on router: Router<some RequestContext>) {
        let page = DashboardPage.live(version: configuration.stampedeVersion)
        let configuration = self.configuration
        router.get("/") { _, _ in
            FileBody.response(Array(page.utf8), contentType: "text/html; charset=utf-8", downloadName: nil)
        }
        router.get("healthz") { _, _ in "ok\n" }
        router.get("favicon.ico") { _, _ in Response(status: .noContent) }
        router.get("compare") { request, _ -> Response in
            let html = ComparePage.render(
                reportDirectory: configuration.reportDirectory, version: configuration.stampedeVersion,
                a: request.uri.queryParameters["a"].map(String.init), b: request.uri.queryParameters["b"].map(String.init),
                token: request.uri.queryParameters["token"].map(String.init)
            )
            return FileBody.response(Array(html.utf8), contentType: "text/html; charset=utf-8", downloadName: nil)
        }
        router.get("api/runs") { _, _ -> Response in
            try JSONBody.response(["runs": ComparePage.storedRuns(in: configuration.reportDirectory)])
        }
    }
}

/// The compare page: pick two stored runs from `--report-dir` and see them side by side.
enum ComparePage {
    /// The run ids with a bundle under the report directory, newest first.
    static func storedRuns(in directory: String?) -> [String] {
        guard let directory, let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        let withBundles = names.filter {
            FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent("\($0)/\(RunReport.bundleFileName)"))
        }
        func modified(_ name: String) -> Date {
            let path = (directory as NSString).appendingPathComponent("\(name)/\(RunReport.bundleFileName)")
            return ((try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date) ?? .distantPast
        }
        return withBundles.sorted { modified($0) > modified($1) }
    }

    static func render(reportDirectory: String?, version: String, a: String?, b: String?, token: String?) -> String {
        let runs = storedRuns(in: reportDirectory)
        func options(_ selected: String?) -> String {
            runs.map { "<option\($0 == selected ? " selected" : "")>\(DashboardPage.escapeHTML($0))</option>" }.joined()
        }
        var body = "<section class=\"card\"><h2>Compare runs</h2>"
        if reportDirectory == nil {
            body += "<p class=\"muted\">Start the coordinator with --report-dir to keep runs for comparison, or use <code>stampede compare A B</code> on two bundles.</p>"
        } else if runs.count < 2 {
            body += "<p class=\"muted\">Fewer than two finished runs are stored in the report directory yet.</p>"
        }
        body += "<form class=\"start\" method=\"get\" action=\"/compare\"><label>Run A<select name=\"a\">\(options(a))</select></label>"
        body += "<label>Run B<select name=\"b\">\(options(b))</select></label>"
        if let token { body += "<input type=\"hidden\" name=\"token\" value=\"\(DashboardPage.escapeHTML(token))\">" }
        body += "<div class=\"buttons\"><button class=\"primary\" type=\"submit\">Compare</button><a class=\"button\" href=\"/\(token.map { "?token=" + DashboardPage.escapeHTML($0) } ?? "")\">Back to the dashboard</a></div></form></section>"
        if let directory = reportDirectory, let a, let b, runs.contains(a), runs.contains(b) {
            do throws(DashboardError) {
                let first = try RunBundle.load(from: (directory as NSString).appendingPathComponent(a))
                let second = try RunBundle.load(from: (directory as NSString).appendingPathComponent(b))
                body += "<section class=\"card\">\(RunComparison(a: first, b: second).htmlTable)</section>"
            } catch {
                body += "<section class=\"banner error\">\(DashboardPage.escapeHTML(error.description))</section>"
            }
        }
        return """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Stampede – compare runs</title><style>\(DashboardStyles.css)</style></head>
        <body data-mode="report"><header class="top"><div class="brand">Stampede<small>\(DashboardPage.escapeHTML(version))</small></div></header>
        <main>\(body)</main></body></html>
        """
    }
}
