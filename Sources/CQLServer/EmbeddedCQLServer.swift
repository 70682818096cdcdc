import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The embedded cluster as a ServiceLifecycle `Service`: `run()` starts it, serves until graceful shutdown
/// (SIGINT/SIGTERM through a `ServiceGroup`) or cancellation, then shuts it down (snapshotting with a data directory).
public struct EmbeddedCQLServer: Service {
    public let configuration: EmbeddedCQLServerConfiguration
    private let logger: Logger
    private let group: any EventLoopGroup
    private let onStart: @Sendable (EmbeddedCQLCluster) async -> Void

    /// - Parameters:
    ///   - group: the event loops that serve the connections (one per core the process may use is best).
    ///   - onStart: called once the nodes listen (e.g. to print the endpoints).
    public init(
        configuration: EmbeddedCQLServerConfiguration, logger: Logger = Logger(label: "stampede.server"),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        onStart: @escaping @Sendable (EmbeddedCQLCluster) async -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.logger = logger
        self.group = group
        self.onStart = onStart
    }

    public func run() async throws {
        let cluster = try await EmbeddedCQLCluster.start(configuration, logger: logger, group: group)
        await onStart(cluster)
        // Returns on graceful shutdown; throws CancellationError when the task is cancelled instead.
        try? await gracefulShutdown()
        logger.info("shutting down")
        try await cluster.shutdown()
    }
}
