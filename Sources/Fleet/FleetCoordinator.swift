import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceLifecycle

/// The coordinator of a distributed run: a gRPC server for workers, the run's state, its journal and results.
///
/// ```swift
/// let coordinator = try FleetCoordinator(configuration: config)
/// let results = try await coordinator.run()   // returns when the run has finished
/// ```
public final class FleetCoordinator: Sendable, Service {
    public let configuration: CoordinatorConfiguration
    let state: CoordinatorState
    let server: GRPCServer<HTTP2ServerTransport.Posix>
    let logger: Logger

    /// Validates the configuration and prepares the run (opening or replaying its journal). Does not listen yet.
    public init(configuration: CoordinatorConfiguration, logger: Logger = Logger(label: "stampede.coordinator")) throws(FleetError) {
        try configuration.validate()
        self.configuration = configuration
        self.logger = logger
        state = try CoordinatorState(configuration: configuration, logger: logger)
        var security = HTTP2ServerTransport.Posix.TransportSecurity.plaintext
        if let tls = configuration.tls {
            let chain: [TLSConfig.CertificateSource] = [.file(path: tls.certificateChainPath, format: .pem)]
            let key = TLSConfig.PrivateKeySource.file(path: tls.privateKeyPath, format: .pem)
            if let clientCA = tls.clientCAPath {
                security = .mTLS(certificateChain: chain, privateKey: key) { config in
                    config.trustRoots = .certificates([.file(path: clientCA, format: .pem)])
                }
            } else {
                security = .tls(certificateChain: chain, privateKey: key)
            }
        }
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: configuration.host, port: configuration.port),
            transportSecurity: security,
            config: .defaults { config in
                config.rpc.maxRequestPayloadSize = 16 * 1024 * 1024
            })
        server = GRPCServer(transport: transport, services: [FleetService(state: state, logger: logger)])
    }

    /// The port the server listens on, once it does (useful with port 0).
    public func listeningPort() async throws -> Int {
        let address = try await server.transport.listeningAddress
        guard let ipv4 = address.ipv4 else {
            if let ipv6 = address.ipv6 { return ipv6.port }
            throw FleetError(.invalidConfiguration, "the coordinator is not listening on an IP address")
        }
        return ipv4.port
    }

    /// Runs until the run finishes (or the task is cancelled), then writes the results and stops listening.
    @discardableResult
    public func runToCompletion() async throws -> DistributedResults {
        try await withThrowingTaskGroup(of: DistributedResults?.self) { group in
            group.addTask {
                try await self.server.serve()
                return nil
            }
            group.addTask {
                while !Task.isCancelled {
                    await self.state.tick()
                    if await self.state.phase == .finished { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                return nil
            }
            group.addTask {
                await self.state.waitForResults()
            }
            var results: DistributedResults?
            while let next = try await group.next() {
                if let next {
                    results = next
                    break
                }
            }
            // Let the workers read their Finished messages before the server goes away.
            try? await Task.sleep(for: .milliseconds(200))
            server.beginGracefulShutdown()
            group.cancelAll()
            guard let results else { throw CancellationError() }
            if let path = configuration.resultsPath { try results.write(to: path) }
            return results
        }
    }

    /// `Service` conformance: runs the coordinator until the run finishes or a graceful shutdown stops it (an
    /// interactive coordinator, `keepWorkers`: serves runs until the graceful shutdown, see `serveRuns`).
    public func run() async throws {
        if configuration.keepWorkers {
            try await serveRuns { _ in }
            return
        }
        _ = try await cancelWhenGracefulShutdown {
            try await self.runToCompletion()
        }
    }

    /// Starts the run now, even with fewer workers than expected.
    public func start() async {
        await state.requestStart()
    }

    /// Stops the run: workers stop, report, and the results are written.
    public func stop(reason: String = "operator") async {
        await state.beginStop(reason: reason)
    }

    /// Live progress.
    public func progress() async -> CoordinatorProgress {
        await state.progress()
    }

    /// The results so far (final once the run finished).
    public func currentResults() async -> DistributedResults {
        await state.buildResults()
    }
}
