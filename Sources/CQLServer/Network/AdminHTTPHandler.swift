import NIOCore
import NIOPosix

/// A tiny HTTP/1.1 endpoint for failover tests: one request per connection.
///
/// - `GET /nodes` — JSON list of nodes: index, host, port, running.
/// - `POST /nodes/{index}/stop` — stop a node's listener and drop its connections.
/// - `POST /nodes/{index}/start` — start it again on the same port.
final class AdminHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let cluster: EmbeddedCQLCluster
    private var request = ByteBuffer()
    private var answered = false

    init(cluster: EmbeddedCQLCluster) {
        self.cluster = cluster
    }

    static func bind(host: String, port: Int, cluster: EmbeddedCQLCluster, group: any EventLoopGroup) async throws -> any Channel {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AdminHTTPHandler(cluster: cluster))
                }
            }
        do {
            return try await bootstrap.bind(host: host, port: port).get()
        } catch {
            throw EmbeddedCQLServerError("admin endpoint cannot listen on \(host):\(port): \(error)")
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        request.writeBuffer(&bytes)
        guard !answered, let text = request.getString(at: request.readerIndex, length: request.readableBytes),
            let lineEnd = text.range(of: "\r\n")
        else {
            if request.readableBytes > 8192 { context.close(promise: nil) }
            return
        }
        answered = true
        let parts = text[..<lineEnd.lowerBound].split(separator: " ")
        let method = parts.first.map(String.init) ?? ""
        let path = parts.count > 1 ? String(parts[1]) : "/"
        let channel = context.channel
        let cluster = self.cluster
        Self.spawnResponse(method: method, path: path, cluster: cluster, channel: channel)
    }

    private static func spawnResponse(method: String, path: String, cluster: EmbeddedCQLCluster, channel: any Channel) {
        Task { await respond(method: method, path: path, cluster: cluster, channel: channel) }
    }

    private static func respond(method: String, path: String, cluster: EmbeddedCQLCluster, channel: any Channel) async {
        let (status, body) = await handle(method: method, path: path, cluster: cluster)
        var response = channel.allocator.buffer(capacity: body.utf8.count + 128)
        response.writeString(
            "HTTP/1.1 \(status)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
        try? await channel.writeAndFlush(response)
        try? await channel.close()
    }

    static func handle(method: String, path: String, cluster: EmbeddedCQLCluster) async -> (String, String) {
        let segments = path.split(separator: "/").map(String.init)
        if method == "GET", segments == ["nodes"] {
            let nodes = cluster.endpoints.enumerated().map { index, endpoint in
                "{\"index\":\(index),\"host\":\"\(endpoint.host)\",\"port\":\(endpoint.port),\"running\":\(cluster.isNodeRunning(index))}"
            }
            return ("200 OK", "[" + nodes.joined(separator: ",") + "]")
        }
        if method == "POST", segments.count == 3, segments[0] == "nodes", let index = Int(segments[1]) {
            do {
                switch segments[2] {
                case "stop": try await cluster.stopNode(index)
                case "start", "restart": try await cluster.restartNode(index)
                default: return ("404 Not Found", "{\"error\":\"unknown action \(segments[2])\"}")
                }
                return ("200 OK", "{\"index\":\(index),\"running\":\(cluster.isNodeRunning(index))}")
            } catch {
                return ("400 Bad Request", "{\"error\":\"\(String(describing: error).replacingOccurrences(of: "\"", with: "'"))\"}")
            }
        }
        return ("404 Not Found", "{\"error\":\"use GET /nodes, POST /nodes/{index}/stop or POST /nodes/{index}/start\"}")
    }
}
