import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The coordinator's web dashboard as a ServiceLifecycle `Service`: the page, the JSON API, the live stream,
/// reports and Prometheus `/metrics`, all fed by one ``DashboardDataSource``.
///
/// ```swift
/// let dashboard = DashboardServer(configuration: .init(port: 8089, stampedeVersion: "0.1.0"), dataSource: adapter)
/// let group = ServiceGroup(services: [coordinator, dashboard], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
/// try await group.run()
/// // at the end of a run, headless or not:
/// let written = try await dashboard.writeReports()   // into --report-dir, if configured
/// ```
public struct DashboardServer: Service {
    public let configuration: DashboardConfiguration
    public let dataSource: any DashboardDataSource
    let logger: Logger
    let onServerRunning: @Sendable (Int) async -> Void
    let exporter: PrometheusExporter

    /// - Parameters:
    ///   - configuration: where and how to serve; validated in ``run()``.
    ///   - dataSource: the run to show and control.
    ///   - logger: lifecycle at debug level; never credentials.
    ///   - onServerRunning: called with the bound port once listening (useful with port 0).
    public init(
        configuration: DashboardConfiguration, dataSource: any DashboardDataSource,
        logger: Logger = Logger(label: "stampede.dashboard"), onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.dataSource = dataSource
        self.logger = logger
        self.onServerRunning = onServerRunning
        self.exporter = PrometheusExporter()
    }

    /// The router with every route group and the authentication middleware.
    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: DashboardAuthMiddleware(credentials: configuration.basicAuth, token: configuration.token))
        PageRoutes(configuration: configuration).register(on: router)
        RunAPIRoutes(dataSource: dataSource).register(on: router)
        ControlRoutes(dataSource: dataSource).register(on: router)
        LiveRoutes(dataSource: dataSource, interval: configuration.pushInterval).register(on: router)
        ReportRoutes(dataSource: dataSource, configuration: configuration).register(on: router)
        MetricsRoutes(dataSource: dataSource, exporter: exporter).register(on: router)
        return router
    }

    /// The Hummingbird application (for `app.test(.router)` in tests, or to run it yourself).
    public func makeApplication() -> some ApplicationProtocol {
        let onServerRunning = self.onServerRunning
        return Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "stampede"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger
        )
    }

    /// Serves until cancelled or gracefully shut down.
    public func run() async throws {
        let configuration = try configuration.validated()
        if !configuration.isLoopback, !configuration.requiresAuthentication {
            logger.warning("the dashboard listens on \(configuration.host) without --web-auth or a token: anyone who can reach it can start and stop runs")
        }
        logger.debug("dashboard starting on \(configuration.host):\(configuration.port)")
        guard configuration.reportDirectory != nil else {
            try await makeApplication().run()
            return
        }
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await makeApplication().run() }
            group.addTask { await writeReportsWhenRunsEnd() }
        }
    }

    /// Watches the data source and writes each run's reports into `--report-dir` once, when it finishes or fails.
    /// Ends on cancellation or graceful shutdown (a run that ended just before is still written).
    func writeReportsWhenRunsEnd() async {
        var written: Set<String> = []
        var seenActive: Set<String> = []
        while true {
            let snapshot = await dataSource.snapshot()
            if snapshot.state.isActive { seenActive.insert(snapshot.runID) }
            if snapshot.state == .finished || snapshot.state == .failed, seenActive.contains(snapshot.runID), !written.contains(snapshot.runID) {
                written.insert(snapshot.runID)
                do {
                    let files = try await writeReports()
                    logger.info("run \(snapshot.runID): reports written to \(files.first.map { ($0 as NSString).deletingLastPathComponent } ?? "-")")
                } catch {
                    logger.error("run \(snapshot.runID): reports could not be written: \(error)")
                }
            }
            if Task.isCancelled || Task.isShuttingDownGracefully { return }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// Gathers the current run's reports (HTML, CSVs, JSON, HDR log, bundle) from the data source.
    public func collectReport() async -> RunReport {
        await RunReport.collect(from: dataSource, stampedeVersion: configuration.stampedeVersion)
    }

    /// Writes the current run's reports into `--report-dir/<run id>/`; returns the files written (none without a
    /// report directory).
    @discardableResult
    public func writeReports() async throws(DashboardError) -> [String] {
        guard let directory = configuration.reportDirectory else { return [] }
        let report = await collectReport()
        return try report.write(toRunDirectoryIn: directory, prefix: configuration.reportPrefix)
    }
}
