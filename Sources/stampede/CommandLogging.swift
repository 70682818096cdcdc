import Logging

/// Logging of the long-running subcommands: swift-log to standard error at the level given by `--log-level`.
enum CommandLogging {
    static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
