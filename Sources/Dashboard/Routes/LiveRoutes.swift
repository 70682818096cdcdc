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
        let dataSource = self.dataSource
        let interval = self.interval
        router.get("api/live") { request, _ -> Response in
            let limit = request.uri.queryParameters["count"].flatMap { Int($0) }.map { max($0, 1) }
            let body = ResponseBody { writer in
                let clock = ContinuousClock()
                let end = clock.now.advanced(by: Self.maximumStreamLength)
                var sent = 0
                var buffer = ByteBuffer(string: "retry: 2000\n\n")
                try await writer.write(buffer)
                while !Task.isCancelled, !Task.isShuttingDownGracefully, clock.now < end {
                    let update = DashboardUpdate(await dataSource.snapshot(), seriesTail: Self.seriesTail)
                    buffer.clear()
                    buffer.writeString("event: update\ndata: ")
                    buffer.writeBytes(try JSONBody.bytes(update))
                    buffer.writeString("\n\n")
                    try await writer.write(buffer)
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
