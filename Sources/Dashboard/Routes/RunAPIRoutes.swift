import Hummingbird

/// Read-only JSON about the current run: `/api/run`, `/api/stats`, `/api/failures`, `/api/workers`, `/api/update`.
struct RunAPIRoutes {
    let dataSource: any DashboardDataSource

    func register(on router: Router<some RequestContext>) {
        let dataSource = self.dataSource
        let api = router.group("api")
        api.get("run") { _, _ in
            try JSONBody.response(RunSummary(await dataSource.snapshot()))
        }
        api.get("stats") { _, _ in
            let update = DashboardUpdate(await dataSource.snapshot())
            return try JSONBody.response(StatsPayload(operations: update.operations, series: update.series))
        }
        api.get("failures") { _, _ in
            let update = DashboardUpdate(await dataSource.snapshot(), seriesTail: 0)
            return try JSONBody.response(FailuresPayload(failures: update.failures, errorsByKind: update.errorsByKind))
        }
        api.get("workers") { _, _ in
            try JSONBody.response(WorkersPayload(workers: DashboardUpdate(await dataSource.snapshot(), seriesTail: 0).workers))
        }
        api.get("update") { _, _ in
            try JSONBody.response(DashboardUpdate(await dataSource.snapshot()))
        }
    }
}

/// `/api/stats`: the statistics table and the per-second series.
struct StatsPayload: Codable {
    var operations: [OperationStatsRow]
    var series: [SecondSample]
}

/// `/api/failures`: failures by operation, kind and message, and failed attempts by kind.
struct FailuresPayload: Codable {
    var failures: [FailureRecord]
    var errorsByKind: [ErrorKindCount]
}

/// `/api/workers`: the workers table.
struct WorkersPayload: Codable {
    var workers: [WorkerStatus]
}
