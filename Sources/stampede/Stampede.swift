import ArgumentParser

/// The `stampede` command line: one subcommand per file.
@main
struct Stampede: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "stampede",
        abstract: "Distributed load testing for Cassandra (CQL) workloads.",
        version: version,
        subcommands: [
            DemoCommand.self,
            BenchCommand.self,
            LaunchCommand.self,
            VerifyCommand.self,
            DoctorCommand.self,
            SeedCommand.self,
            ServerCommand.self,
            CoordinatorCommand.self,
            WorkerCommand.self,
            CompareCommand.self,
            RunCommand.self,
            SchemaCommand.self,
        ]
    )
}
