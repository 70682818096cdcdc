import Foundation
import LoadEngine

/// What a run bundle records besides the results: the Stampede version, driver settings and the cluster.
public struct RunBundleContext: Sendable, Hashable, Codable {
    /// The Stampede version that ran the load (the dashboard fills it from its configuration when empty).
    public var stampedeVersion: String
    /// Driver settings as key/value text (consistency, pool size, timeouts, compression, retry policy, ...).
    public var driverSettings: [String: String]
    /// The cluster as the driver saw it.
    public var topology: ClusterTopologySummary?
    /// The Cassandra side of the run (table and node metrics over CQL, before vs after), when it was captured.
    public var serverMetrics: ServerSideMetrics?

    public init(
        stampedeVersion: String = "", driverSettings: [String: String] = [:], topology: ClusterTopologySummary? = nil,
        serverMetrics: ServerSideMetrics? = nil
    ) {
        self.stampedeVersion = stampedeVersion
        self.driverSettings = driverSettings
        self.topology = topology
        self.serverMetrics = serverMetrics
    }
}

/// The cluster a run wrote to.
public struct ClusterTopologySummary: Sendable, Hashable, Codable {
    /// One node of the cluster.
    public struct Node: Sendable, Hashable, Codable {
        public var address: String
        public var datacenter: String?
        public var rack: String?
        public var releaseVersion: String?

        public init(address: String, datacenter: String? = nil, rack: String? = nil, releaseVersion: String? = nil) {
            self.address = address
            self.datacenter = datacenter
            self.rack = rack
            self.releaseVersion = releaseVersion
        }
    }

    public var clusterName: String?
    /// The Cassandra (or compatible) release version reported by the contact node.
    public var cassandraVersion: String?
    public var nodes: [Node]

    public init(clusterName: String? = nil, cassandraVersion: String? = nil, nodes: [Node] = []) {
        self.clusterName = clusterName
        self.cassandraVersion = cassandraVersion
        self.nodes = nodes
    }
}

/// Everything needed to reproduce and compare a run, in one JSON file (`bundle.json`).
public struct RunBundle: Sendable, Codable {
    /// The bundle format; bumped when fields change incompatibly.
    public static let currentFormat = 1

    public var format: Int
    public var runID: String
    /// When the bundle was written.
    public var createdAt: Date
    public var context: RunBundleContext
    /// The run's settings (workload, model, target, stages, contact points, ...).
    public var configuration: [String: String]
    public var summary: RunSummary
    public var operations: [OperationStatsRow]
    public var failures: [FailureRecord]
    public var errorsByKind: [ErrorKindCount]
    public var workers: [WorkerStatus]
    public var series: [SecondSample]

    public init(
        runID: String, createdAt: Date, context: RunBundleContext, configuration: [String: String], summary: RunSummary,
        operations: [OperationStatsRow], failures: [FailureRecord], errorsByKind: [ErrorKindCount],
        workers: [WorkerStatus], series: [SecondSample]
    ) {
        self.format = Self.currentFormat
        self.runID = runID
        self.createdAt = createdAt
        self.context = context
        self.configuration = configuration
        self.summary = summary
        self.operations = operations
        self.failures = failures
        self.errorsByKind = errorsByKind
        self.workers = workers
        self.series = series
    }

    /// Encodes the bundle as pretty, sorted JSON.
    public func encoded() throws(DashboardError) -> [UInt8] {
        let encoder = JSONBody.encoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            return Array(try encoder.encode(self))
        } catch {
            throw DashboardError(.reportFailed, "the run bundle could not be encoded: \(error)")
        }
    }

    /// Reads a bundle from `path`: a `bundle.json` file, a run directory that holds one, or a results document
    /// (`results.json` / `distributed_results.json`).
    public static func load(from path: String) throws(DashboardError) -> RunBundle {
        var isDirectory: ObjCBool = false
        var file = path
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            file = (path as NSString).appendingPathComponent(RunReport.bundleFileName)
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw DashboardError(.reportFailed, "no run bundle here (expected a bundle.json or a run directory)", file: file)
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        do {
            let bundle = try decoder.decode(RunBundle.self, from: data)
            guard bundle.format <= currentFormat else {
                throw DashboardError(.reportFailed, "bundle format \(bundle.format) is newer than this Stampede understands (\(currentFormat))", file: file)
            }
            return bundle
        } catch let error as DashboardError {
            throw error
        } catch {
            // A results document (results.json / distributed_results.json) compares too, with fewer details.
            if let results = try? JSONDecoder().decode(RunResults.self, from: data) {
                return RunBundle(results: results)
            }
            throw DashboardError(.reportFailed, "neither a Stampede run bundle nor a results file: \(error)", file: file)
        }
    }
}
