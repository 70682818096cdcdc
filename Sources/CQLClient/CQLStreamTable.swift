import NIOCore

/// Stream ids of one connection and the requests waiting on them.
///
/// A request that times out keeps its id ("orphaned") until the server answers it, so a late
/// answer is never taken for the answer to a newer request.
struct CQLStreamTable<Pending> {
    private enum Slot {
        case free
        case inFlight(Pending, deadline: NIODeadline)
        case orphaned
    }

    private var slots: [Slot]
    private var freeIDs: [Int16]
    private(set) var inFlightCount = 0
    private(set) var orphanedCount = 0

    /// - Parameter capacity: at most 32768 (the protocol's positive stream ids).
    init(capacity: Int) {
        let capacity = max(1, min(capacity, 32768))
        slots = Array(repeating: .free, count: capacity)
        // Hand out low ids first.
        freeIDs = (0..<capacity).reversed().map { Int16($0) }
    }

    var capacity: Int { slots.count }

    /// Takes a free stream id for `pending`, or returns `nil` when every id is in use.
    mutating func allocate(_ pending: Pending, deadline: NIODeadline) -> Int16? {
        guard let id = freeIDs.popLast() else { return nil }
        slots[Int(id)] = .inFlight(pending, deadline: deadline)
        inFlightCount += 1
        return id
    }

    enum Completion {
        /// The waiting request.
        case pending(Pending)
        /// The request had timed out; the id is free again.
        case orphaned
        /// No request used this id: the server is confused or malicious.
        case unknownStream
    }

    /// Frees `stream` because its response arrived.
    mutating func complete(stream: Int16) -> Completion {
        guard stream >= 0, Int(stream) < slots.count else { return .unknownStream }
        switch slots[Int(stream)] {
        case .free:
            return .unknownStream
        case .inFlight(let pending, _):
            slots[Int(stream)] = .free
            freeIDs.append(stream)
            inFlightCount -= 1
            return .pending(pending)
        case .orphaned:
            slots[Int(stream)] = .free
            freeIDs.append(stream)
            orphanedCount -= 1
            return .orphaned
        }
    }

    /// Orphans every request whose deadline has passed and returns them, to be failed with a timeout.
    mutating func expire(now: NIODeadline) -> [Pending] {
        guard inFlightCount > 0 else { return [] }
        var expired: [Pending] = []
        for index in slots.indices {
            if case .inFlight(let pending, let deadline) = slots[index], deadline <= now {
                slots[index] = .orphaned
                inFlightCount -= 1
                orphanedCount += 1
                expired.append(pending)
            }
        }
        return expired
    }

    /// Removes and returns every waiting request (the connection is closing).
    mutating func removeAll() -> [Pending] {
        var all: [Pending] = []
        for index in slots.indices {
            if case .inFlight(let pending, _) = slots[index] { all.append(pending) }
            slots[index] = .free
        }
        freeIDs = (0..<slots.count).reversed().map { Int16($0) }
        inFlightCount = 0
        orphanedCount = 0
        return all
    }
}
