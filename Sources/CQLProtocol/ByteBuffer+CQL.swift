import NIOCore
import Foundation

/// Readers and writers for the notation of the native protocol spec, section 3.
/// Readers throw `CQLProtocolError` on truncated or malformed input; they never trap.
extension ByteBuffer {
    // MARK: [int] [long] [short] [byte]

    public mutating func readCQLInt(_ what: @autoclosure () -> String = "[int]") throws -> Int32 {
        guard let value = readInteger(as: Int32.self) else { throw CQLProtocolError.truncated(what()) }
        return value
    }

    public mutating func readCQLLong(_ what: @autoclosure () -> String = "[long]") throws -> Int64 {
        guard let value = readInteger(as: Int64.self) else { throw CQLProtocolError.truncated(what()) }
        return value
    }

    public mutating func readCQLShort(_ what: @autoclosure () -> String = "[short]") throws -> UInt16 {
        guard let value = readInteger(as: UInt16.self) else { throw CQLProtocolError.truncated(what()) }
        return value
    }

    public mutating func readCQLByte(_ what: @autoclosure () -> String = "[byte]") throws -> UInt8 {
        guard let value = readInteger(as: UInt8.self) else { throw CQLProtocolError.truncated(what()) }
        return value
    }

    // MARK: [string] [long string]

    public mutating func writeCQLString(_ string: String) {
        let lengthIndex = writerIndex
        writeInteger(UInt16(0))
        let written = writeString(string)
        setInteger(UInt16(truncatingIfNeeded: written), at: lengthIndex)
    }

    public mutating func readCQLString(_ what: @autoclosure () -> String = "[string]") throws -> String {
        let length = try readCQLShort(what())
        guard let string = readString(length: Int(length)) else { throw CQLProtocolError.truncated(what()) }
        return string
    }

    public mutating func writeCQLLongString(_ string: String) {
        let lengthIndex = writerIndex
        writeInteger(Int32(0))
        let written = writeString(string)
        setInteger(Int32(truncatingIfNeeded: written), at: lengthIndex)
    }

    public mutating func readCQLLongString(_ what: @autoclosure () -> String = "[long string]") throws -> String {
        let length = try readCQLInt(what())
        guard length >= 0 else { throw CQLProtocolError.malformed("\(what()): negative length \(length)") }
        guard let string = readString(length: Int(length)) else { throw CQLProtocolError.truncated(what()) }
        return string
    }

    // MARK: [string list] [string map] [string multimap] [bytes map]

    public mutating func writeCQLStringList(_ list: [String]) {
        writeInteger(UInt16(truncatingIfNeeded: list.count))
        for string in list { writeCQLString(string) }
    }

    public mutating func readCQLStringList(_ what: @autoclosure () -> String = "[string list]") throws -> [String] {
        let count = try readCQLShort(what())
        var list: [String] = []
        list.reserveCapacity(Int(min(count, 1024)))
        for _ in 0..<count { list.append(try readCQLString(what())) }
        return list
    }

    /// Writes a `[string map]`. Keys are written in sorted order so encoding is deterministic.
    public mutating func writeCQLStringMap(_ map: [String: String]) {
        writeInteger(UInt16(truncatingIfNeeded: map.count))
        for key in map.keys.sorted() {
            writeCQLString(key)
            writeCQLString(map[key]!)
        }
    }

    public mutating func readCQLStringMap(_ what: @autoclosure () -> String = "[string map]") throws -> [String: String] {
        let count = try readCQLShort(what())
        var map: [String: String] = [:]
        for _ in 0..<count {
            let key = try readCQLString(what())
            map[key] = try readCQLString(what())
        }
        return map
    }

    /// Writes a `[string multimap]`, keys sorted for determinism.
    public mutating func writeCQLStringMultimap(_ map: [String: [String]]) {
        writeInteger(UInt16(truncatingIfNeeded: map.count))
        for key in map.keys.sorted() {
            writeCQLString(key)
            writeCQLStringList(map[key]!)
        }
    }

    public mutating func readCQLStringMultimap(_ what: @autoclosure () -> String = "[string multimap]") throws -> [String: [String]] {
        let count = try readCQLShort(what())
        var map: [String: [String]] = [:]
        for _ in 0..<count {
            let key = try readCQLString(what())
            map[key] = try readCQLStringList(what())
        }
        return map
    }

    /// Writes a `[bytes map]`, keys sorted for determinism.
    public mutating func writeCQLBytesMap(_ map: [String: [UInt8]]) {
        writeInteger(UInt16(truncatingIfNeeded: map.count))
        for key in map.keys.sorted() {
            writeCQLString(key)
            writeCQLBytes(map[key]!)
        }
    }

    public mutating func readCQLBytesMap(_ what: @autoclosure () -> String = "[bytes map]") throws -> [String: [UInt8]] {
        let count = try readCQLShort(what())
        var map: [String: [UInt8]] = [:]
        for _ in 0..<count {
            let key = try readCQLString(what())
            map[key] = try readCQLBytesArray(what()) ?? []
        }
        return map
    }

    // MARK: [bytes] [short bytes] [value]

    /// Writes `[bytes]`: an `[int]` length then the bytes; `nil` is written as length -1.
    public mutating func writeCQLBytes(_ bytes: [UInt8]?) {
        guard let bytes else {
            writeInteger(Int32(-1))
            return
        }
        writeInteger(Int32(truncatingIfNeeded: bytes.count))
        writeBytes(bytes)
    }

    /// Writes `[bytes]` from a buffer's readable bytes; `nil` is written as length -1.
    public mutating func writeCQLBytes(_ buffer: ByteBuffer?) {
        guard var buffer else {
            writeInteger(Int32(-1))
            return
        }
        writeInteger(Int32(truncatingIfNeeded: buffer.readableBytes))
        writeBuffer(&buffer)
    }

    /// Reads `[bytes]` as a slice of this buffer (no copy); `nil` for a negative length (null).
    public mutating func readCQLBytes(_ what: @autoclosure () -> String = "[bytes]") throws -> ByteBuffer? {
        let length = try readCQLInt(what())
        guard length >= 0 else { return nil }
        guard let slice = readSlice(length: Int(length)) else { throw CQLProtocolError.truncated(what()) }
        return slice
    }

    public mutating func readCQLBytesArray(_ what: @autoclosure () -> String = "[bytes]") throws -> [UInt8]? {
        guard var slice = try readCQLBytes(what()) else { return nil }
        return slice.readBytes(length: slice.readableBytes)
    }

    public mutating func writeCQLShortBytes(_ bytes: [UInt8]) {
        writeInteger(UInt16(truncatingIfNeeded: bytes.count))
        writeBytes(bytes)
    }

    public mutating func readCQLShortBytes(_ what: @autoclosure () -> String = "[short bytes]") throws -> [UInt8] {
        let length = try readCQLShort(what())
        guard let bytes = readBytes(length: Int(length)) else { throw CQLProtocolError.truncated(what()) }
        return bytes
    }

    // MARK: [uuid] [inet] [consistency]

    public mutating func writeCQLUUID(_ uuid: UUID) {
        uuid.writeCQLBytes(into: &self)
    }

    public mutating func readCQLUUID(_ what: @autoclosure () -> String = "[uuid]") throws -> UUID {
        guard let bytes = readBytes(length: 16) else { throw CQLProtocolError.truncated(what()) }
        return UUID(cqlBytes: bytes)
    }

    /// Writes `[inet]`: one byte of address length, the address, then an `[int]` port.
    public mutating func writeCQLInet(_ address: CQLInet, port: Int32) {
        writeInteger(UInt8(address.bytes.count))
        writeBytes(address.bytes)
        writeInteger(port)
    }

    public mutating func readCQLInet(_ what: @autoclosure () -> String = "[inet]") throws -> (address: CQLInet, port: Int32) {
        let size = try readCQLByte(what())
        guard size == 4 || size == 16 else { throw CQLProtocolError.malformed("\(what()): address of \(size) bytes") }
        guard let bytes = readBytes(length: Int(size)) else { throw CQLProtocolError.truncated(what()) }
        let port = try readCQLInt(what())
        return (CQLInet(bytes: bytes)!, port)
    }

    public mutating func readCQLConsistency(_ what: @autoclosure () -> String = "[consistency]") throws -> CQLConsistency {
        let raw = try readCQLShort(what())
        guard let consistency = CQLConsistency(rawValue: raw) else {
            throw CQLProtocolError.malformed("\(what()): unknown consistency 0x\(String(raw, radix: 16))")
        }
        return consistency
    }
}
