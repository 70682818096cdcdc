/// Word lists and generators for realistic chat text and names (English, or Vietnamese with diacritics).
public enum ChatText {
    static let englishWords: [String] = [
        "hey", "hi", "ok", "sure", "thanks", "lol", "see", "you", "tomorrow", "tonight", "meeting", "lunch", "coffee",
        "the", "a", "is", "are", "was", "we", "they", "can", "could", "should", "will", "just", "really", "great",
        "sounds", "good", "let's", "go", "at", "to", "for", "with", "about", "project", "deadline", "sent", "file",
        "photo", "check", "this", "out", "running", "late", "traffic", "home", "weekend", "plans", "movie", "game",
        "won", "again", "happy", "birthday", "congrats", "call", "me", "later", "when", "free", "what", "time",
        "where", "are", "you", "now", "on", "my", "way", "almost", "there", "did", "see", "message", "yes", "no",
    ]
    static let vietnameseWords: [String] = [
        "chào", "bạn", "ơi", "mình", "đang", "ở", "đâu", "vậy", "nhé", "cảm", "ơn", "nhiều", "hôm", "nay", "ngày",
        "mai", "gặp", "nhau", "lúc", "mấy", "giờ", "đi", "ăn", "trưa", "không", "có", "được", "rồi", "thế", "nào",
        "cuối", "tuần", "này", "xem", "phim", "uống", "cà", "phê", "sữa", "đá", "vui", "quá", "chúc", "mừng",
        "sinh", "nhật", "dự", "án", "gửi", "tệp", "ảnh", "kẹt", "xe", "về", "nhà", "trễ", "một", "chút", "thật",
        "tuyệt", "vời", "hẹn", "sau", "nhắn", "tin", "gọi", "điện", "đúng", "sai", "ừ", "vâng", "dạ", "ạ",
    ]
    static let englishFirstNames = [
        "Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn", "Harper", "Rowan",
        "Emma", "Liam", "Olivia", "Noah", "Ava", "Lucas", "Mia", "Ethan", "Sofia", "Mason", "Chloe", "Leo",
    ]
    static let englishLastNames = [
        "Smith", "Johnson", "Lee", "Brown", "Garcia", "Miller", "Davis", "Wilson", "Clark", "Lewis", "Walker", "Young",
    ]
    static let vietnameseFamilyNames = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ"]
    static let vietnameseMiddleNames = ["Văn", "Thị", "Minh", "Hữu", "Thanh", "Ngọc", "Đức", "Quang", "Thu", "Kim"]
    static let vietnameseGivenNames = [
        "An", "Bình", "Châu", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hiếu", "Hoa", "Huy", "Khánh", "Lan", "Linh",
        "Long", "Mai", "Nam", "Ngân", "Phương", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Vy", "Yến",
    ]

    /// The display name of generated user `index` (pure).
    public static func displayName(seed: UInt64, index: UInt64, vietnamese: Bool) -> String {
        let h = DeterministicHash.hash(seed: seed, stream: 0x4E41_4D45, index: index)
        if vietnamese {
            let family = vietnameseFamilyNames[Int(h % UInt64(vietnameseFamilyNames.count))]
            let middle = vietnameseMiddleNames[Int((h >> 16) % UInt64(vietnameseMiddleNames.count))]
            let given = vietnameseGivenNames[Int((h >> 32) % UInt64(vietnameseGivenNames.count))]
            return "\(family) \(middle) \(given)"
        }
        let first = englishFirstNames[Int(h % UInt64(englishFirstNames.count))]
        let last = englishLastNames[Int((h >> 16) % UInt64(englishLastNames.count))]
        return "\(first) \(last) \(index)"
    }

    /// A pool of message texts of realistic lengths: 60% short (5–60 characters), 30% medium (60–200),
    /// 10% long (200–1000). Pure function of the seed.
    public static func pool(seed: UInt64, size: Int, vietnamese: Bool) -> [String] {
        var random = SplitMix64(seed: seed ^ 0x7E57_7E57)
        let words = vietnamese ? vietnameseWords : englishWords
        return (0..<max(1, size)).map { _ in
            let bucket = random.next() % 10
            let length: Int
            switch bucket {
            case 0..<6: length = Int(5 + random.next() % 56)
            case 6..<9: length = Int(60 + random.next() % 141)
            default: length = Int(200 + random.next() % 801)
            }
            var text = ""
            text.reserveCapacity(length + 12)
            while text.count < length {
                if !text.isEmpty { text += random.next() % 9 == 0 ? ". " : " " }
                text += words[Int(random.next() % UInt64(words.count))]
            }
            if random.next() % 4 == 0 { text += random.next() % 2 == 0 ? "!" : "?" }
            return text
        }
    }
}
