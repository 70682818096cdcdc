import Foundation

/// A target (users or operations per second) as a function of time: an initial value, then stages.
///
/// Pure. After the last stage the last target holds. For the open model it also integrates the rate into a
/// cumulative arrival count and inverts it, which gives each operation's intended start time.
public struct StagePlan: Sendable, Hashable {
    public var initial: Double
    public var stages: [Stage]

    struct Segment: Hashable {
        var start: Double
        var duration: Double
        var from: Double
        var to: Double
        var shape: StageShape
        var arrivalsBefore: Double
    }

    let segments: [Segment]

    /// - Parameters:
    ///   - initial: the target before the first stage starts ramping (the start value of a first linear stage).
    ///   - stages: the stages, in order.
    public init(initial: Double, stages: [Stage] = []) {
        self.initial = initial
        self.stages = stages
        var segments: [Segment] = []
        var time = 0.0
        var previous = initial
        var arrivals = 0.0
        for stage in stages {
            let duration = max(0, stage.duration.seconds)
            var segment = Segment(start: time, duration: duration, from: previous, to: stage.target, shape: stage.shape, arrivalsBefore: arrivals)
            if segment.shape == .exponential, segment.from <= 0 { segment.from = min(1, max(stage.target, 0)) }
            arrivals += Self.integral(segment, upTo: duration)
            segments.append(segment)
            time += duration
            previous = stage.target
        }
        self.segments = segments
    }

    /// A constant target.
    public static func constant(_ value: Double) -> StagePlan { StagePlan(initial: value) }

    /// The total length of the stages in seconds (0 without stages).
    public var totalSeconds: Double { segments.last.map { $0.start + $0.duration } ?? 0 }

    /// The value the plan holds after its stages.
    public var finalTarget: Double { stages.last?.target ?? initial }

    /// The target at `seconds` since the start.
    public func target(at seconds: Double) -> Double {
        guard let index = segmentIndex(at: seconds) else { return finalTarget }
        let segment = segments[index]
        return Self.value(segment, at: seconds - segment.start)
    }

    /// The number of arrivals the rate schedules in [0, seconds].
    public func arrivals(until seconds: Double) -> Double {
        guard seconds > 0 else { return 0 }
        if let index = segmentIndex(at: seconds) {
            let segment = segments[index]
            return segment.arrivalsBefore + Self.integral(segment, upTo: seconds - segment.start)
        }
        let end = totalSeconds
        let before = segments.last.map { $0.arrivalsBefore + Self.integral($0, upTo: $0.duration) } ?? 0
        return before + finalTarget * (seconds - end)
    }

    /// The time (seconds since start) at which the cumulative arrival count reaches `count`; `nil` if it never does.
    public func time(forArrivals count: Double) -> Double? {
        guard count > 0 else { return 0 }
        for segment in segments {
            let total = Self.integral(segment, upTo: segment.duration)
            if count <= segment.arrivalsBefore + total, total > 0 {
                let within = Self.inverseIntegral(segment, arrivals: count - segment.arrivalsBefore)
                return segment.start + min(max(within, 0), segment.duration)
            }
        }
        let before = segments.last.map { $0.arrivalsBefore + Self.integral($0, upTo: $0.duration) } ?? 0
        guard finalTarget > 0 else { return nil }
        return totalSeconds + (count - before) / finalTarget
    }

    func segmentIndex(at seconds: Double) -> Int? {
        guard !segments.isEmpty, seconds < totalSeconds else { return nil }
        var low = 0
        var high = segments.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if segments[mid].start <= seconds { low = mid } else { high = mid - 1 }
        }
        return low
    }

    static func value(_ s: Segment, at u: Double) -> Double {
        guard s.duration > 0 else { return s.to }
        let fraction = min(max(u / s.duration, 0), 1)
        switch s.shape {
        case .step: return s.to
        case .linear: return s.from + (s.to - s.from) * fraction
        case .exponential:
            guard s.from > 0, s.to > 0 else { return s.from + (s.to - s.from) * fraction }
            return s.from * pow(s.to / s.from, fraction)
        }
    }

    static func integral(_ s: Segment, upTo u: Double) -> Double {
        let u = min(max(u, 0), s.duration)
        guard s.duration > 0 else { return 0 }
        switch s.shape {
        case .step:
            return s.to * u
        case .linear:
            return s.from * u + (s.to - s.from) * u * u / (2 * s.duration)
        case .exponential:
            guard s.from > 0, s.to > 0, s.from != s.to else {
                return s.from * u + (s.to - s.from) * u * u / (2 * s.duration)
            }
            let logRatio = log(s.to / s.from)
            return s.from * s.duration / logRatio * (exp(logRatio * u / s.duration) - 1)
        }
    }

    static func inverseIntegral(_ s: Segment, arrivals a: Double) -> Double {
        switch s.shape {
        case .step:
            return s.to > 0 ? a / s.to : s.duration
        case .linear:
            return linearInverse(s, a)
        case .exponential:
            guard s.from > 0, s.to > 0, s.from != s.to else { return linearInverse(s, a) }
            let logRatio = log(s.to / s.from)
            let inner = 1 + a * logRatio / (s.from * s.duration)
            guard inner > 0 else { return s.duration }
            return s.duration / logRatio * log(inner)
        }
    }

    static func linearInverse(_ s: Segment, _ a: Double) -> Double {
        // Solve k u² + p u − a = 0 with k = (q − p) / 2d, in the numerically stable form u = 2a / (p + √(p² + 4ka)).
        let p = s.from
        let k = (s.to - s.from) / (2 * s.duration)
        if k == 0 { return p > 0 ? a / p : s.duration }
        let discriminant = p * p + 4 * k * a
        guard discriminant >= 0 else { return s.duration }
        let denominator = p + discriminant.squareRoot()
        guard denominator > 0 else { return s.duration }
        return 2 * a / denominator
    }
}
