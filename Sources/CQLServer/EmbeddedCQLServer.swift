import Logging
import ServiceLifecycle

/// The embedded cluster as a ServiceLifecycle `Service`: `run()` starts it, serves until graceful shutdown
/// (SIGINT/SIGTERM through a `ServiceGroup`) or cancellation, then shuts it down (snapshotting with a data directory).
public struct EmbeddedCQLServer: Service {
    public let configuration: EmbeddedCQLServerConfiguration
    private let logger: Logger
    private let onStart: @Sendable (EmbeddedCQLCluster) async -> Void

    /// - Parameter onStart: called once the nodes listen (e.g. to print the endpoints).
    public init(
        configuration: EmbeddedCQLServerConfiguration, logger: Logger = Logger(label: "stampede.server"),
        onStart: @escaping @Sendable (EmbeddedCQLCluster) async -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.logger = logger
        self.onStart = onStart
    }

    public func run() async throws {
        let cluster = try await EmbeddedCQLCluster.start(configuration, logger: logger)
        await onStart(cluster)
        // Returns on graceful shutdown; throws CancellationError when the task is cancelled instead.
        try? await gracefulShutdown()
        logger.info("shutting down")
        try await cluster.shutdown()
    }
}
