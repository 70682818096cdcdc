import Hummingbird

/// Prometheus exposition at `/metrics`.
struct MetricsRoutes {
    let dataSource: any DashboardDataSource
    let exporter: PrometheusExporter

    func register(on router: Router<some RequestContext>) {
        let dataSource = self.dataSource
        let exporter = self.exporter
        router.get("metrics") { _, _ -> Response in
            FileBody.response(exporter.render(await dataSource.snapshot()), contentType: "text/plain; version=0.0.4; charset=utf-8", downloadName: nil)
        }
    }
}
