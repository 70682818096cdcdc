import CQLProtocol
import Foundation

/// One lexical token of a CQL statement.
struct CQLToken: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        /// An unquoted identifier or keyword, lower-cased (CQL folds unquoted names).
        case word(String)
        /// A `"double-quoted"` identifier, case preserved.
        case quotedName(String)
        case string(String)
        /// Integer literal text, sign included.
        case integer(String)
        /// Floating-point literal text (also `NaN` and `Infinity`).
        case float(String)
        case uuid(UUID)
        case hex([UInt8])
        /// `?`
        case questionMark
        /// `:name`
        case namedMarker(String)
        case symbol(String)
        case end
    }

    var kind: Kind
    /// Offset of the token in the statement, for error messages.
    var offset: Int
}

/// Splits CQL text into tokens. Comments (`--`, `//`, `/* */`) and whitespace are skipped.
struct CQLLexer {
    private let characters: [Character]
    private var index = 0

    init(_ text: String) {
        self.characters = Array(text)
    }

    /// All tokens, the last being `.end`.
    static func tokenize(_ text: String) throws(CQLServerError) -> [CQLToken] {
        var lexer = CQLLexer(text)
        var tokens: [CQLToken] = []
        while true {
            let token = try lexer.next()
            tokens.append(token)
            if token.kind == .end { return tokens }
        }
    }

    private func peek(_ offset: Int = 0) -> Character? {
        let position = index + offset
        return position < characters.count ? characters[position] : nil
    }

    private func syntaxError(_ message: String) -> CQLServerError {
        CQLServerError(.syntaxError, "line 1:\(index) \(message)")
    }

    mutating func next() throws(CQLServerError) -> CQLToken {
        try skipTrivia()
        let start = index
        guard let character = peek() else { return CQLToken(kind: .end, offset: start) }

        if let uuid = matchUUID() {
            return CQLToken(kind: .uuid(uuid), offset: start)
        }
        if character == "0", let next = peek(1), next == "x" || next == "X" {
            index += 2
            var digits = ""
            while let digit = peek(), digit.isHexDigit { digits.append(digit); index += 1 }
            guard digits.count % 2 == 0 else { throw syntaxError("odd number of hex digits in blob literal 0x\(digits)") }
            var bytes: [UInt8] = []
            var iterator = digits.makeIterator()
            while let high = iterator.next(), let low = iterator.next() {
                bytes.append(UInt8(String([high, low]), radix: 16) ?? 0)
            }
            return CQLToken(kind: .hex(bytes), offset: start)
        }
        if character.isNumber || (character == "-" && (peek(1)?.isNumber ?? false)) {
            return lexNumber(start: start)
        }
        if character == "-" || character == "+", let word = peekWord(at: index + 1), word == "nan" || word == "infinity" {
            index += 1 + word.count
            return CQLToken(kind: .float(String(character) + word), offset: start)
        }
        if character.isLetter || character == "_" {
            var word = ""
            while let next = peek(), next.isLetter || next.isNumber || next == "_" { word.append(next); index += 1 }
            let lowered = word.lowercased()
            if lowered == "nan" || lowered == "infinity" { return CQLToken(kind: .float(lowered), offset: start) }
            return CQLToken(kind: .word(lowered), offset: start)
        }
        switch character {
        case "'":
            return CQLToken(kind: .string(try lexQuoted("'")), offset: start)
        case "\"":
            return CQLToken(kind: .quotedName(try lexQuoted("\"")), offset: start)
        case "$" where peek(1) == "$":
            index += 2
            var text = ""
            while true {
                guard let next = peek() else { throw syntaxError("unterminated $$ string") }
                if next == "$" && peek(1) == "$" { index += 2; break }
                text.append(next)
                index += 1
            }
            return CQLToken(kind: .string(text), offset: start)
        case "?":
            index += 1
            return CQLToken(kind: .questionMark, offset: start)
        case ":":
            index += 1
            if let next = peek(), next.isLetter || next == "_" {
                var name = ""
                while let letter = peek(), letter.isLetter || letter.isNumber || letter == "_" { name.append(letter); index += 1 }
                return CQLToken(kind: .namedMarker(name.lowercased()), offset: start)
            }
            if peek() == "\"" {
                return CQLToken(kind: .namedMarker(try lexQuoted("\"")), offset: start)
            }
            return CQLToken(kind: .symbol(":"), offset: start)
        case "<", ">", "!":
            index += 1
            if peek() == "=" {
                index += 1
                return CQLToken(kind: .symbol(String(character) + "="), offset: start)
            }
            guard character != "!" else { throw syntaxError("unexpected character '!'") }
            return CQLToken(kind: .symbol(String(character)), offset: start)
        case "(", ")", ",", ";", ".", "*", "=", "[", "]", "{", "}", "+", "-":
            index += 1
            return CQLToken(kind: .symbol(String(character)), offset: start)
        default:
            throw syntaxError("token recognition error at: '\(character)'")
        }
    }

    private mutating func skipTrivia() throws(CQLServerError) {
        while let character = peek() {
            if character.isWhitespace {
                index += 1
            } else if (character == "-" && peek(1) == "-") || (character == "/" && peek(1) == "/") {
                while let next = peek(), !next.isNewline { index += 1 }
            } else if character == "/" && peek(1) == "*" {
                index += 2
                while true {
                    guard peek() != nil else { throw syntaxError("unterminated comment") }
                    if peek() == "*" && peek(1) == "/" { index += 2; break }
                    index += 1
                }
            } else {
                return
            }
        }
    }

    private func peekWord(at position: Int) -> String? {
        var word = ""
        var cursor = position
        while cursor < characters.count, characters[cursor].isLetter { word.append(characters[cursor]); cursor += 1 }
        return word.isEmpty ? nil : word.lowercased()
    }

    private mutating func lexQuoted(_ quote: Character) throws(CQLServerError) -> String {
        index += 1
        var text = ""
        while true {
            guard let character = peek() else { throw syntaxError("unterminated quoted text") }
            index += 1
            if character == quote {
                if peek() == quote {
                    text.append(quote)
                    index += 1
                    continue
                }
                return text
            }
            text.append(character)
        }
    }

    private mutating func lexNumber(start: Int) -> CQLToken {
        var text = ""
        if peek() == "-" { text.append("-"); index += 1 }
        var isFloat = false
        while let digit = peek(), digit.isNumber { text.append(digit); index += 1 }
        if peek() == ".", let after = peek(1), after.isNumber {
            isFloat = true
            text.append(".")
            index += 1
            while let digit = peek(), digit.isNumber { text.append(digit); index += 1 }
        }
        if let exponent = peek(), exponent == "e" || exponent == "E" {
            var lookahead = 1
            if let sign = peek(1), sign == "+" || sign == "-" { lookahead = 2 }
            if let digit = peek(lookahead), digit.isNumber {
                isFloat = true
                text.append("e")
                if lookahead == 2 { text.append(peek(1)!) }
                index += lookahead
                while let digit = peek(), digit.isNumber { text.append(digit); index += 1 }
            }
        }
        return CQLToken(kind: isFloat ? .float(text) : .integer(text), offset: start)
    }

    /// A UUID literal `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` at the cursor, not followed by a name character.
    private mutating func matchUUID() -> UUID? {
        guard index + 36 <= characters.count else { return nil }
        for offset in 0..<36 {
            let character = characters[index + offset]
            if offset == 8 || offset == 13 || offset == 18 || offset == 23 {
                guard character == "-" else { return nil }
            } else {
                guard character.isHexDigit else { return nil }
            }
        }
        if index + 36 < characters.count {
            let after = characters[index + 36]
            if after.isLetter || after.isNumber || after == "_" { return nil }
        }
        guard let uuid = UUID(uuidString: String(characters[index..<index + 36])) else { return nil }
        index += 36
        return uuid
    }
}
