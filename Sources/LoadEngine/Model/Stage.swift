import Foundation

/// How a stage moves from the previous target to its own.
public enum StageShape: String, Sendable, Hashable, Codable, CaseIterable {
    /// Jump to the target at the stage's start and hold it.
    case step
    /// Move linearly from the previous target to this one over the stage.
    case linear
    /// Grow (or shrink) exponentially from the previous target to this one over the stage.
    case exponential
}

/// One stage of a run: over `duration`, move to `target` virtual users (closed model) or operations per second (open).
public struct Stage: Sendable, Hashable, Codable {
    public var duration: Duration
    public var target: Double
    public var shape: StageShape

    public init(duration: Duration, target: Double, shape: StageShape = .linear) {
        self.duration = duration
        self.target = target
        self.shape = shape
    }

    /// Parses `DURATION:TARGET[:SHAPE]`, e.g. `30s:100`, `2m:500:step`, `5m:5000:exp`.
    public init(parsing text: String) throws(LoadEngineError) {
        let parts = text.split(separator: ":").map(String.init)
        guard parts.count == 2 || parts.count == 3 else {
            throw LoadEngineError(.invalidConfiguration, "stage '\(text)' should look like DURATION:TARGET[:step|linear|exp], e.g. 30s:100")
        }
        let duration = try DurationParser.parse(parts[0], what: "stage duration")
        guard let target = Double(parts[1]), target >= 0, target.isFinite else {
            throw LoadEngineError(.invalidConfiguration, "stage '\(text)': target '\(parts[1])' is not a non-negative number")
        }
        var shape = StageShape.linear
        if parts.count == 3 {
            switch parts[2].lowercased() {
            case "step": shape = .step
            case "linear", "ramp": shape = .linear
            case "exp", "exponential": shape = .exponential
            default:
                throw LoadEngineError(.invalidConfiguration, "stage '\(text)': shape '\(parts[2])' is not step, linear or exp")
            }
        }
        self.init(duration: duration, target: target, shape: shape)
    }
}

/// Parses durations such as `250ms`, `10s`, `5m`, `1h30m`, `1.5s`, `100us`; a bare number is seconds.
public enum DurationParser {
    public static func parse(_ text: String, what: String = "duration") throws(LoadEngineError) -> Duration {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        if let seconds = Double(trimmed), seconds >= 0, seconds.isFinite {
            return .nanoseconds(Int64((seconds * 1e9).rounded()))
        }
        var total: Double = 0
        var number = ""
        var unit = ""
        var sawAny = false
        func flush() throws(LoadEngineError) {
            guard let value = Double(number), value >= 0 else {
                throw LoadEngineError(.invalidConfiguration, "\(what) '\(text)' is not a duration like 500ms, 10s, 5m or 1h")
            }
            let scale: Double
            switch unit {
            case "ns": scale = 1e-9
            case "us", "µs": scale = 1e-6
            case "ms": scale = 1e-3
            case "s", "sec": scale = 1
            case "m", "min": scale = 60
            case "h": scale = 3600
            default:
                throw LoadEngineError(.invalidConfiguration, "\(what) '\(text)' has unknown unit '\(unit)' (use ms, s, m or h)")
            }
            total += value * scale
            number = ""
            unit = ""
            sawAny = true
        }
        for character in trimmed {
            if character.isNumber || character == "." {
                if !unit.isEmpty { try flush() }
                number.append(character)
            } else {
                unit.append(character)
            }
        }
        if !number.isEmpty || !unit.isEmpty { try flush() }
        guard sawAny, total.isFinite else {
            throw LoadEngineError(.invalidConfiguration, "\(what) '\(text)' is not a duration like 500ms, 10s, 5m or 1h")
        }
        return .nanoseconds(Int64((total * 1e9).rounded()))
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    public var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }
}
