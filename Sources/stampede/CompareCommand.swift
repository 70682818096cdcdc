import ArgumentParser
import Dashboard

/// `stampede compare A B`: two run bundles side by side.
struct CompareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two runs: throughput, percentiles and error rates, with their differences.",
        discussion: """
            A and B are run bundles: a bundle.json file, or a run directory under --report-dir that holds one. \
            'change' is (B - A) / A; 'better' or 'worse' reads higher throughput and lower latency and errors as \
            better. --json prints the rows as JSON instead of a table.
            """
    )

    @Argument(help: "The first run (bundle.json or its run directory).")
    var a: String
    @Argument(help: "The second run (bundle.json or its run directory).")
    var b: String
    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() async throws {
        let comparison: RunComparison
        do {
            comparison = RunComparison(a: try RunBundle.load(from: a), b: try RunBundle.load(from: b))
        } catch {
            throw CompareFailure(message: error.description)
        }
        if json {
            print(String(decoding: try comparison.jsonBytes(), as: UTF8.self))
        } else {
            print(comparison.text, terminator: "")
        }
    }
}

/// A bundle that cannot be read: printed as `Error: <file>: <reason>` without the usage text.
struct CompareFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
