/// One bit per message index of a window `lower..<upper`: whether the index was found in the database.
///
/// Memory is one bit per index of the window (a 10M-message run takes 1.25 MB), never one key per message.
struct FoundIndexBitmap: Sendable {
    let lower: UInt64
    let upper: UInt64
    private var words: [UInt64]

    init(lower: UInt64, upper: UInt64) {
        precondition(upper >= lower)
        self.lower = lower
        self.upper = upper
        words = Array(repeating: 0, count: Int((upper - lower + 63) / 64))
    }

    func contains(_ index: UInt64) -> Bool {
        guard index >= lower, index < upper else { return false }
        let offset = index - lower
        return words[Int(offset / 64)] & (1 << (offset % 64)) != 0
    }

    /// Sets the bit of `index`; returns false when it was already set (a duplicate) or is outside the window.
    @discardableResult
    mutating func insert(_ index: UInt64) -> Bool {
        guard index >= lower, index < upper else { return false }
        let offset = index - lower
        let word = Int(offset / 64)
        let bit: UInt64 = 1 << (offset % 64)
        if words[word] & bit != 0 { return false }
        words[word] |= bit
        return true
    }

    /// How many bits are set.
    var count: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }
}
