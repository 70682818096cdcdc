import ArgumentParser
import CQLClient
import Foundation
import LoadEngine

/// `stampede schema`: the chat schema (or a profile's) shipped with the binary.
struct SchemaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print or apply the realtime_chat_app schema (or a workload profile's schema).",
        subcommands: [Apply.self, Print.self]
    )

    struct Source: ParsableArguments {
        @Option(help: "A YAML workload profile whose 'schema' statements to use instead of the chat schema.")
        var profile: String?
        @Option(name: .customLong("replication-factor"), help: "Replication factor of the chat keyspace (SimpleStrategy).")
        var replicationFactor = 1
        @Option(help: "The chat keyspace's replication map in CQL, e.g. \"{'class': 'NetworkTopologyStrategy', 'dc1': 3}\" (overrides --replication-factor).")
        var replication: String?

        func statements() throws -> [String] {
            if let profile {
                do { return try WorkloadProfileParser.load(path: profile).schema } catch { throw ValidationError(error.description) }
            }
            guard replicationFactor >= 1 else { throw ValidationError("--replication-factor must be at least 1") }
            return ChatSchema.statements(
                replication: replication ?? "{'class': 'SimpleStrategy', 'replication_factor': \(replicationFactor)}")
        }
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create the keyspace and tables (IF NOT EXISTS) on a cluster.")

        @Option(name: .customLong("contact-points"), help: "Comma-separated host[:port] list.")
        var contactPoints = "127.0.0.1:9042"
        @Option(help: "User name, when the cluster requires authentication (password from STAMPEDE_CQL_PASSWORD).")
        var username: String?
        @OptionGroup var source: Source

        func run() async throws {
            let statements = try source.statements()
            var configuration = CQLSessionConfiguration(contactPoints: contactPoints.split(separator: ",").map(String.init))
            configuration.connectionsPerHost = 1
            if let username {
                configuration.connection.credentials = CQLCredentials(
                    username: username, password: ProcessInfo.processInfo.environment["STAMPEDE_CQL_PASSWORD"] ?? "")
            }
            let session = try await CQLSession.connect(configuration)
            do {
                for statement in statements {
                    try await session.run(statement)
                    print("applied: " + (statement.split(separator: "\n").first.map(String.init) ?? statement).trimmingCharacters(in: .whitespaces))
                }
            } catch {
                await session.close()
                throw error
            }
            await session.close()
            print("schema applied (\(statements.count) statements)")
        }
    }

    struct Print: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the schema statements as CQL.")
        @OptionGroup var source: Source

        func run() throws {
            for statement in try source.statements() { print(statement + ";\n") }
        }
    }
}
