// swift-tools-version:6.1
import PackageDescription

/// Release builds of the modules on the per-operation path skip Swift's runtime exclusivity checks: a profile of the
/// open model at 200,000 writes/s put them at about 6% of the client's CPU (BENCHMARKS.md). Debug builds, and so
/// the tests, keep them.
let hotPathSettings: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "stampede",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "stampede", targets: ["stampede"]),
        .library(name: "CQLProtocol", targets: ["CQLProtocol"]),
        .library(name: "CQLClient", targets: ["CQLClient"]),
        .library(name: "CQLServer", targets: ["CQLServer"]),
        .library(name: "LoadEngine", targets: ["LoadEngine"]),
        .library(name: "Fleet", targets: ["Fleet"]),
        .library(name: "Dashboard", targets: ["Dashboard"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // Frames, messages and type codecs of the CQL native protocol. No sockets.
        .target(
            name: "CQLProtocol",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: hotPathSettings
        ),
        // Connections, pools and the cluster session.
        .target(
            name: "CQLClient",
            dependencies: [
                "CQLProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            swiftSettings: hotPathSettings
        ),
        // The embedded CQL server: parser, storage, commit log, system tables.
        .target(
            name: "CQLServer",
            dependencies: [
                "CQLProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Collections", package: "swift-collections"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: hotPathSettings
        ),
        // Workloads, load models, stages, HDR metrics, results.
        .target(
            name: "LoadEngine",
            dependencies: [
                "CQLClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            swiftSettings: hotPathSettings
        ),
        // Coordinator and worker over gRPC (Protos/ + committed Generated/ code).
        .target(
            name: "Fleet",
            dependencies: [
                "LoadEngine", "CQLClient", "CQLProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The coordinator's web dashboard, live stream, reports and /metrics (Hummingbird; no gRPC).
        .target(
            name: "Dashboard",
            dependencies: [
                "LoadEngine",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Verification of what a run wrote, preflight checks (doctor), server-side metrics over CQL, seeding.
        .target(
            name: "Verification",
            dependencies: [
                "LoadEngine", "CQLClient", "CQLProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // A dashboard fed by a simulated run, for previews and the browser test.
        .executableTarget(
            name: "stampede-dashboard-demo",
            dependencies: ["Dashboard", "LoadEngine"],
            path: "Sources/DashboardDemo"
        ),
        .executableTarget(
            name: "stampede",
            dependencies: [
                "CQLProtocol", "CQLClient", "CQLServer", "LoadEngine", "Fleet", "Dashboard", "Verification",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "CQLProtocolTests", dependencies: ["CQLProtocol"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "CQLClientTests",
            dependencies: ["CQLClient", "CQLServer", .product(name: "NIOSSL", package: "swift-nio-ssl")]
        ),
        .testTarget(name: "CQLServerTests", dependencies: ["CQLServer", "CQLClient"]),
        .testTarget(name: "LoadEngineTests", dependencies: ["LoadEngine", "CQLServer"]),
        .testTarget(name: "FleetTests", dependencies: ["Fleet", "LoadEngine"]),
        .testTarget(name: "VerificationTests", dependencies: ["Verification", "LoadEngine", "CQLClient", "CQLServer"]),
        .testTarget(
            name: "DashboardTests",
            dependencies: ["Dashboard", "LoadEngine", .product(name: "HummingbirdTesting", package: "hummingbird")]
        ),
        // The CLI's adapters (the coordinator's dashboard source) against a real in-process coordinator.
        .testTarget(
            name: "StampedeTests",
            dependencies: [
                "stampede", "Fleet", "Dashboard", "LoadEngine", .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
    ]
)
