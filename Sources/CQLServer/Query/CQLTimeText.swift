import Foundation

/// Parses and formats the text forms of `timestamp`, `date` and `time` literals.
enum CQLTimeText {
    /// `yyyy-mm-dd[( |T)hh:mm[:ss[.fff]]][Z|(+|-)hh[:]mm]` → milliseconds since the epoch (UTC when no zone is given).
    static func parseTimestamp(_ text: String) -> Int64? {
        let characters = Array(text.trimmingCharacters(in: .whitespaces))
        var index = 0
        func number(_ digits: Int) -> Int? {
            guard index + digits <= characters.count else { return nil }
            var value = 0
            for offset in 0..<digits {
                guard let digit = characters[index + offset].wholeNumberValue else { return nil }
                value = value * 10 + digit
            }
            index += digits
            return value
        }
        func skip(_ character: Character) -> Bool {
            guard index < characters.count, characters[index] == character else { return false }
            index += 1
            return true
        }
        guard let year = number(4), skip("-"), let month = number(2), skip("-"), let day = number(2) else { return nil }
        var hour = 0, minute = 0, second = 0, millis = 0
        if skip(" ") || skip("T") {
            guard let h = number(2), skip(":"), let m = number(2) else { return nil }
            hour = h
            minute = m
            if skip(":") {
                guard let s = number(2) else { return nil }
                second = s
                if skip(".") {
                    var digits = 0
                    var fraction = 0
                    while index < characters.count, let digit = characters[index].wholeNumberValue {
                        if digits < 3 { fraction = fraction * 10 + digit }
                        digits += 1
                        index += 1
                    }
                    guard digits > 0 else { return nil }
                    while digits < 3 { fraction *= 10; digits += 1 }
                    millis = fraction
                }
            }
        }
        var offsetMinutes = 0
        _ = skip(" ")
        if skip("Z") || skip("z") {
        } else if index < characters.count, characters[index] == "+" || characters[index] == "-" {
            let negative = characters[index] == "-"
            index += 1
            guard let zoneHours = number(2) else { return nil }
            _ = skip(":")
            let zoneMinutes = number(2) ?? 0
            offsetMinutes = (zoneHours * 60 + zoneMinutes) * (negative ? -1 : 1)
        }
        guard index == characters.count, (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
        return seconds * 1000 + Int64(millis)
    }

    /// `yyyy-mm-dd` → days since the epoch.
    static func parseDate(_ text: String) -> Int64? {
        let parts = text.split(separator: "-")
        guard parts.count == 3, let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
            (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        return Int64(daysFromCivil(year: year, month: month, day: day))
    }

    /// `hh:mm:ss[.fffffffff]` → nanoseconds since midnight.
    static func parseTime(_ text: String) -> Int64? {
        let parts = text.split(separator: ":")
        guard parts.count == 3, let hours = Int64(parts[0]), let minutes = Int64(parts[1]) else { return nil }
        let secondParts = parts[2].split(separator: ".", omittingEmptySubsequences: false)
        guard let seconds = Int64(secondParts[0]), hours < 24, minutes < 60, seconds < 60 else { return nil }
        var nanos: Int64 = 0
        if secondParts.count == 2 {
            let digits = String(secondParts[1].prefix(9))
            guard let fraction = Int64(digits) else { return nil }
            nanos = fraction * Int64(pow(10.0, Double(9 - digits.count)))
        }
        return ((hours * 60 + minutes) * 60 + seconds) * 1_000_000_000 + nanos
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

/// Makes version-1 UUIDs for `now()`: unique and increasing within this process.
final class TimeUUIDGenerator {
    /// 100-ns intervals between 1582-10-15 and 1970-01-01.
    static let gregorianOffset: UInt64 = 0x01B2_1DD2_1381_4000
    private var lastTicks: UInt64 = 0
    private let clockAndNode: [UInt8]

    init() {
        var bytes = (0..<8).map { _ in UInt8.random(in: 0...255) }
        bytes[0] = (bytes[0] & 0x3F) | 0x80  // RFC 4122 variant
        bytes[2] |= 0x01  // multicast bit: a random node id
        clockAndNode = bytes
    }

    /// A new timeuuid for the given time, strictly after every one made before.
    func next(micros: Int64) -> UUID {
        var ticks = UInt64(max(0, micros)) * 10 + Self.gregorianOffset
        if ticks <= lastTicks { ticks = lastTicks + 1 }
        lastTicks = ticks
        return Self.make(ticks: ticks, tail: clockAndNode)
    }

    static func make(ticks: UInt64, tail: [UInt8]) -> UUID {
        let timeLow = UInt32(truncatingIfNeeded: ticks)
        let timeMid = UInt16(truncatingIfNeeded: ticks >> 32)
        let timeHigh = UInt16(truncatingIfNeeded: ticks >> 48) & 0x0FFF | 0x1000
        let bytes: [UInt8] = [
            UInt8(timeLow >> 24), UInt8(truncatingIfNeeded: timeLow >> 16), UInt8(truncatingIfNeeded: timeLow >> 8),
            UInt8(truncatingIfNeeded: timeLow), UInt8(timeMid >> 8), UInt8(truncatingIfNeeded: timeMid), UInt8(timeHigh >> 8),
            UInt8(truncatingIfNeeded: timeHigh),
        ] + tail
        return UUID(cqlBytes: bytes)
    }

    /// Milliseconds since the epoch of a version-1 UUID.
    static func millis(of uuid: UUID) -> Int64 {
        let ticks = CQLValueOrdering.timestamp(ofTimeUUID: uuid)
        return (Int64(bitPattern: ticks) - Int64(gregorianOffset)) / 10_000
    }

    /// The smallest or largest timeuuid of a millisecond (`minTimeuuid` / `maxTimeuuid`).
    static func bound(millis: Int64, maximum: Bool) -> UUID {
        var ticks = UInt64(max(0, millis)) * 10_000 + gregorianOffset
        if maximum { ticks += 9_999 }
        let tail: [UInt8] = maximum ? [0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F] : [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80]
        return make(ticks: ticks, tail: tail)
    }
}
