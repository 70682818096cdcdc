import Hummingbird
import ServiceLifecycle

/// The live stream: `GET /api/live` sends a ``DashboardUpdate`` as a Server-Sent Event every push interval.
///
/// Each event carries the last few per-second samples (the page fetches the whole series once from `/api/update`).
/// `?count=N` ends the stream after N events (for scripts and tests). A stream also ends on graceful shutdown and
/// after an hour (the browser's EventSource reconnects by itself).
struct LiveRoutes {
    let dataSource: any DashboardDataSource
    let interval: Duration
    static let seriesTail = 5
    static let maximumStreamLength: Duration = .seconds(3600)

    func register(on router: Router<some RequestContext>) {
        let interval = self.interval
        let cache = LiveUpdateCache(dataSource: dataSource, maximumAge: interval / 2)
        router.get("api/live") { request, _ -> Response in
            let limit = request.uri.queryParameters["count"].flatMap { Int($0) }.map { max($0, 1) }
            let body = ResponseBody { writer in
                let clock = ContinuousClock()
                let end = clock.now.advanced(by: Self.maximumStreamLength)
                var sent = 0
                try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
                while !Task.isCancelled, !Task.isShuttingDownGracefully, clock.now < end {
                    try await writer.write(try await cache.event())
                    sent += 1
                    if let limit, sent >= limit { break }
                    try await Task.sleep(for: interval)
                }
                try await writer.finish(nil)
            }
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-store", .init("X-Accel-Buffering")!: "no"],
                body: body
            )
        }
    }
}

/// The latest encoded live event, shared by every open stream so that many pages cost one snapshot per interval.
actor LiveUpdateCache {
    let dataSource: any DashboardDataSource
    let maximumAge: Duration
    var latest: (at: ContinuousClock.Instant, event: ByteBuffer)?

    init(dataSource: any DashboardDataSource, maximumAge: Duration) {
        self.dataSource = dataSource
        self.maximumAge = maximumAge
    }

    /// A Server-Sent Event carrying the current update, reused while younger than `maximumAge`.
    func event() async throws -> ByteBuffer {
        let now = ContinuousClock.now
        if let latest, now - latest.at < maximumAge { return latest.event }
        let update = DashboardUpdate(await dataSource.snapshot(), seriesTail: LiveRoutes.seriesTail)
        var buffer = ByteBuffer(string: "event: update\ndata: ")
        buffer.writeBytes(try JSONBody.bytes(update))
        buffer.writeString("\n\n")
        latest = (now, buffer)
        return buffer
    }
}
