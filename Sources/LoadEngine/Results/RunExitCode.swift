/// The process exit status of a run, so CI pipelines can gate on it.
public enum RunExitCode {
    /// Every threshold passed and the run ended normally (completed, duration or interrupted by the user).
    public static let success: Int32 = 0
    /// The run could not start or its work source failed.
    public static let runFailed: Int32 = 1
    /// A threshold failed (also when the run was aborted for it), as k6 does.
    public static let thresholdsFailed: Int32 = 99

    /// The exit status for a finished run.
    public static func code(for outcome: EngineOutcome) -> Int32 {
        code(stopReason: outcome.stopReason, thresholdsPassed: outcome.thresholdsPassed)
    }

    public static func code(stopReason: StopReason, thresholdsPassed: Bool) -> Int32 {
        if stopReason == .thresholdFailed || !thresholdsPassed { return thresholdsFailed }
        if stopReason == .workSourceFailed { return runFailed }
        return success
    }
}
