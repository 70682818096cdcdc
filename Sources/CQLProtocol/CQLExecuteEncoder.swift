import Foundation
import NIOCore

/// Writes whole EXECUTE frames of one prepared statement straight into a buffer: the fast path of prepared writes.
///
/// The general path builds `CQLBoundValues` (a buffer of serialized values), then a `CQLQueryParameters` and a
/// `CQLRequest`, and `CQLFrameEncoder` copies them into the frame. This encoder writes the header, the statement id,
/// the query parameters and every bound value in place, in one pass over the output buffer, and back-fills the body
/// length: no intermediate buffers, arrays or boxes. It puts exactly the bytes the general path puts on the wire
/// (tested byte for byte, and against the DataStax Python driver's frames).
///
/// Build it once per prepared statement (it precomputes one small codec per bind marker), then call
/// ``writeFrame(stream:version:flags:parameters:into:values:)`` with typed values through a ``CQLValueWriter``, or
/// ``writeFrame(_:stream:version:flags:parameters:into:)`` with `CQLValue`s.
public struct CQLExecuteEncoder: Sendable, Hashable {
    /// The prepared statement id.
    public let id: [UInt8]
    /// The types of the bind markers, in order.
    public let types: [CQLDataType]
    @usableFromInline let codecs: [CQLValueCodec]

    public init(id: [UInt8], types: [CQLDataType]) {
        self.id = id
        self.types = types
        self.codecs = types.map(CQLValueCodec.init)
    }

    /// Where the parts of a written frame are in the buffer (absolute indexes).
    public struct Layout: Sendable, Hashable {
        /// The frame's first byte (the header's version byte).
        public var frameStart: Int
        /// The first bound value's `[int]` length.
        public var valuesStart: Int
        /// One past the frame's last byte.
        public var frameEnd: Int

        @usableFromInline
        init(frameStart: Int, valuesStart: Int, frameEnd: Int) {
            self.frameStart = frameStart
            self.valuesStart = valuesStart
            self.frameEnd = frameEnd
        }
    }

    /// Appends one EXECUTE frame whose values are written by `values` through a ``CQLValueWriter``.
    ///
    /// `parameters` supplies everything but the values (its `values` are ignored): consistency, skip-metadata,
    /// page size, paging state, serial consistency and default timestamp. `values` must write exactly one value
    /// per bind marker, in order, each of a representation the marker's type accepts.
    ///
    /// - Throws: `CQLProtocolError` with `.typeMismatch` for a value of the wrong type or a wrong number of
    ///   values, or whatever `values` throws. On a throw the buffer is left as it was.
    @inlinable
    @discardableResult
    public func writeFrame(
        stream: Int16, version: UInt8 = 4, flags: CQLFrameFlags = [], parameters: CQLQueryParameters,
        into buffer: inout ByteBuffer, values: (inout CQLValueWriter) throws -> Void
    ) throws -> Layout {
        let frameStart = buffer.writerIndex
        let valuesStart = writeHead(stream: stream, version: version, flags: flags, parameters: parameters, into: &buffer)
        // The buffer moves into the writer and back out: no copy, and nothing else holds it while it grows.
        var writer = CQLValueWriter(buffer: consume buffer, codecs: codecs, types: types)
        var thrown: (any Error)?
        do {
            try values(&writer)
        } catch {
            thrown = error
        }
        let written = writer.index
        buffer = writer.finish()
        if let thrown {
            buffer.moveWriterIndex(to: frameStart)
            throw thrown
        }
        guard written == codecs.count else {
            buffer.moveWriterIndex(to: frameStart)
            throw CQLProtocolError(.typeMismatch, "statement takes \(codecs.count) values, given \(written)")
        }
        writeTail(parameters: parameters, into: &buffer)
        buffer.setInteger(Int32(truncatingIfNeeded: buffer.writerIndex - frameStart - CQLFrameHeader.size), at: frameStart + 5)
        return Layout(frameStart: frameStart, valuesStart: valuesStart, frameEnd: buffer.writerIndex)
    }

    /// Appends one EXECUTE frame binding `values` (one per bind marker, in order).
    ///
    /// - Throws: `CQLProtocolError` with `.typeMismatch` (the same cases as `CQLBoundValues.typed`). On a throw the
    ///   buffer is left as it was.
    @discardableResult
    public func writeFrame(
        _ values: [CQLValue], stream: Int16, version: UInt8 = 4, flags: CQLFrameFlags = [], parameters: CQLQueryParameters,
        into buffer: inout ByteBuffer
    ) throws -> Layout {
        guard values.count == codecs.count else {
            throw CQLProtocolError(.typeMismatch, "statement takes \(codecs.count) values, given \(values.count)")
        }
        if let layout = writeSizedFrame(values, stream: stream, version: version, flags: flags, parameters: parameters, into: &buffer) {
            return layout
        }
        return try writeFrame(stream: stream, version: version, flags: flags, parameters: parameters, into: &buffer) { writer in
            for value in values { try writer.write(value) }
        }
    }

    /// The exact serialized size of `value` (with its `[int]` length) when it is one of the shapes written by raw
    /// stores and fits its column; `nil` sends the frame down the checked path (which also reports mismatches).
    @inline(__always)
    static func sizedLength(of value: CQLValue, codec: CQLValueCodec) -> Int? {
        switch (codec, value) {
        case (_, .null), (_, .unset): return 4
        case (.uuid, .uuid): return 20
        case (.timeuuid, .uuid(let uuid)): return uuid.uuid.6 >> 4 == 1 ? 20 : nil
        case (.varchar, .text(let text)): return 4 + text.utf8.count
        case (.int, .int): return 8
        case (.bigint, .bigint), (.timestamp, .timestamp), (.timestamp, .bigint): return 12
        case (.boolean, .boolean): return 5
        case (.textCollection, .list(let elements)), (.textCollection, .set(let elements)):
            var size = 8
            for element in elements {
                switch element {
                case .text(let text): size += 4 + text.utf8.count
                case .null, .unset: size += 4
                default: return nil
                }
            }
            return size
        default: return nil
        }
    }

    /// The whole frame sized first, then written with raw stores under one buffer access (every `ByteBuffer` write
    /// otherwise pays its own exclusivity and capacity checks). `nil` when a value is not of the sized shapes.
    func writeSizedFrame(
        _ values: [CQLValue], stream: Int16, version: UInt8, flags: CQLFrameFlags, parameters: CQLQueryParameters, into buffer: inout ByteBuffer
    ) -> Layout? {
        var valuesSize = 0
        for index in values.indices {
            guard let size = Self.sizedLength(of: values[index], codec: codecs[index]) else { return nil }
            valuesSize += size
        }
        var parameterFlags: UInt8 = 0
        var tailSize = 0
        if !codecs.isEmpty { parameterFlags |= 0x01 }
        if parameters.skipMetadata { parameterFlags |= 0x02 }
        if parameters.pageSize != nil { parameterFlags |= 0x04; tailSize += 4 }
        if let pagingState = parameters.pagingState { parameterFlags |= 0x08; tailSize += 4 + pagingState.readableBytes }
        if parameters.serialConsistency != nil { parameterFlags |= 0x10; tailSize += 2 }
        if parameters.defaultTimestamp != nil { parameterFlags |= 0x20; tailSize += 8 }
        let headSize = CQLFrameHeader.size + 2 + id.count + 3 + (codecs.isEmpty ? 0 : 2)
        let total = headSize + valuesSize + tailSize
        let frameStart = buffer.writerIndex
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { raw in
            let base = raw.baseAddress!
            var offset = 0
            @inline(__always) func store<T: FixedWidthInteger>(_ value: T) {
                base.storeBytes(of: value.bigEndian, toByteOffset: offset, as: T.self)
                offset += MemoryLayout<T>.size
            }
            @inline(__always) func copy(_ bytes: UnsafeRawBufferPointer) {
                if bytes.count > 0 { (base + offset).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
                offset += bytes.count
            }
            @inline(__always) func text(_ string: String) {
                let count = string.utf8.count
                store(Int32(truncatingIfNeeded: count))
                if string.utf8.withContiguousStorageIfAvailable({ copy(UnsafeRawBufferPointer($0)) }) == nil {
                    for byte in string.utf8 { store(byte) }
                }
            }
            store(UInt32(version & 0x7F) << 24 | UInt32(flags.rawValue) << 16 | UInt32(UInt16(bitPattern: stream)))
            store(CQLOpcode.execute.rawValue)
            store(Int32(truncatingIfNeeded: total - CQLFrameHeader.size))
            store(UInt16(truncatingIfNeeded: id.count))
            id.withUnsafeBytes { copy($0) }
            store(parameters.consistency.rawValue)
            store(parameterFlags)
            if !codecs.isEmpty { store(UInt16(truncatingIfNeeded: codecs.count)) }
            for value in values {
                switch value {
                case .null: store(Int32(-1))
                case .unset: store(Int32(-2))
                case .uuid(let uuid):
                    store(Int32(16))
                    withUnsafeBytes(of: uuid.uuid) { copy($0) }
                case .text(let string): text(string)
                case .int(let int):
                    store(Int32(4))
                    store(int)
                case .bigint(let int), .timestamp(let int):
                    store(Int32(8))
                    store(int)
                case .boolean(let bool):
                    store(Int32(1))
                    store(UInt8(bool ? 1 : 0))
                case .list(let elements), .set(let elements):
                    let lengthOffset = offset
                    store(Int32(0))
                    store(Int32(truncatingIfNeeded: elements.count))
                    for element in elements {
                        switch element {
                        case .text(let string): text(string)
                        case .unset: store(Int32(-2))
                        default: store(Int32(-1))
                        }
                    }
                    base.storeBytes(of: Int32(truncatingIfNeeded: offset - lengthOffset - 4).bigEndian, toByteOffset: lengthOffset, as: Int32.self)
                default:
                    preconditionFailure("sized above")
                }
            }
            if let pageSize = parameters.pageSize { store(pageSize) }
            if let pagingState = parameters.pagingState {
                store(Int32(truncatingIfNeeded: pagingState.readableBytes))
                pagingState.withUnsafeReadableBytes { copy($0) }
            }
            if let serial = parameters.serialConsistency { store(serial.rawValue) }
            if let timestamp = parameters.defaultTimestamp { store(timestamp) }
            return offset
        }
        return Layout(frameStart: frameStart, valuesStart: frameStart + headSize, frameEnd: buffer.writerIndex)
    }

    /// A buffer capacity that holds a frame of these values without growing (exact for the common types).
    public func estimatedFrameSize(_ values: [CQLValue]) -> Int {
        var size = CQLFrameHeader.size + 2 + id.count + 3 + 2 + 4 + 2 + 8
        for value in values { size += 4 + value.estimatedBodySize }
        return size
    }

    /// Header with a zero length, the id, consistency, flags and value count. Returns where the values start.
    @usableFromInline
    func writeHead(stream: Int16, version: UInt8, flags: CQLFrameFlags, parameters: CQLQueryParameters, into buffer: inout ByteBuffer) -> Int {
        var parameterFlags: UInt8 = 0
        if !codecs.isEmpty { parameterFlags |= 0x01 }
        if parameters.skipMetadata { parameterFlags |= 0x02 }
        if parameters.pageSize != nil { parameterFlags |= 0x04 }
        if parameters.pagingState != nil { parameterFlags |= 0x08 }
        if parameters.serialConsistency != nil { parameterFlags |= 0x10 }
        if parameters.defaultTimestamp != nil { parameterFlags |= 0x20 }
        buffer.reserveCapacity(minimumWritableBytes: CQLFrameHeader.size + 2 + id.count + 5 + codecs.count * 24 + 32)
        // version (request direction), flags and stream in one store, then the opcode and a length placeholder.
        buffer.writeInteger(UInt32(version & 0x7F) << 24 | UInt32(flags.rawValue) << 16 | UInt32(UInt16(bitPattern: stream)))
        buffer.writeInteger(CQLOpcode.execute.rawValue)
        buffer.writeInteger(Int32(0))
        buffer.writeInteger(UInt16(truncatingIfNeeded: id.count))
        buffer.writeBytes(id)
        buffer.writeInteger(parameters.consistency.rawValue)
        buffer.writeInteger(parameterFlags)
        if !codecs.isEmpty { buffer.writeInteger(UInt16(truncatingIfNeeded: codecs.count)) }
        return buffer.writerIndex
    }

    @usableFromInline
    func writeTail(parameters: CQLQueryParameters, into buffer: inout ByteBuffer) {
        if let pageSize = parameters.pageSize { buffer.writeInteger(pageSize) }
        if let pagingState = parameters.pagingState { buffer.writeCQLBytes(pagingState) }
        if let serial = parameters.serialConsistency { buffer.writeInteger(serial.rawValue) }
        if let timestamp = parameters.defaultTimestamp { buffer.writeInteger(timestamp) }
    }
}

/// How one bind marker's values are written: the common column types get a direct case, the rest go through
/// `CQLValue.write(as:into:)`.
@usableFromInline
enum CQLValueCodec: UInt8, Sendable, Hashable {
    case uuid, timeuuid, varchar, ascii, int, bigint, timestamp, boolean, blob, textCollection, other

    @usableFromInline
    init(_ type: CQLDataType) {
        switch type {
        case .uuid: self = .uuid
        case .timeuuid: self = .timeuuid
        case .varchar: self = .varchar
        case .ascii: self = .ascii
        case .int: self = .int
        case .bigint, .counter: self = .bigint
        case .timestamp: self = .timestamp
        case .boolean: self = .boolean
        case .blob: self = .blob
        case .list(.varchar), .set(.varchar): self = .textCollection
        default: self = .other
        }
    }
}

/// Writes the bound values of one EXECUTE frame in place, checking each against its bind marker's type.
///
/// Handed out by ``CQLExecuteEncoder/writeFrame(stream:version:flags:parameters:into:values:)``; write one value per
/// bind marker, in order. Every write throws `CQLProtocolError(.typeMismatch)` when the marker's type does not take
/// that representation, or when every marker already has its value. It cannot be copied: it owns the frame's buffer
/// while the values are written.
public struct CQLValueWriter: ~Copyable {
    @usableFromInline var buffer: ByteBuffer
    @usableFromInline let codecs: [CQLValueCodec]
    @usableFromInline let types: [CQLDataType]
    @usableFromInline var index = 0
    /// Values written so far.
    public var valueCount: Int { index }

    @usableFromInline
    init(buffer: ByteBuffer, codecs: [CQLValueCodec], types: [CQLDataType]) {
        self.buffer = buffer
        self.codecs = codecs
        self.types = types
    }

    /// Gives the buffer back.
    @usableFromInline
    consuming func finish() -> ByteBuffer {
        buffer
    }

    @inlinable
    func codec() throws -> CQLValueCodec {
        guard index < codecs.count else {
            throw CQLProtocolError(.typeMismatch, "statement takes \(codecs.count) values, given more")
        }
        return codecs[index]
    }

    @usableFromInline
    func mismatch(_ kind: String) -> CQLProtocolError {
        CQLProtocolError(.typeMismatch, "cannot write \(kind) as \(types[index].cqlName)")
    }

    /// A `uuid` or `timeuuid` (which must be a version 1 UUID).
    @inlinable
    public mutating func write(_ uuid: UUID) throws {
        switch try codec() {
        case .uuid: break
        case .timeuuid:
            guard uuid.uuid.6 >> 4 == 1 else {
                throw CQLProtocolError(.typeMismatch, "value for a timeuuid column is a version \(uuid.cqlVersion) UUID")
            }
        default: throw mismatch("uuid")
        }
        buffer.writeInteger(Int32(16))
        uuid.writeCQLBytes(into: &buffer)
        index += 1
    }

    /// A `text`/`varchar`, or an `ascii` (which must be ASCII).
    @inlinable
    public mutating func write(_ text: String) throws {
        switch try codec() {
        case .varchar: break
        case .ascii:
            guard text.utf8.allSatisfy({ $0 < 0x80 }) else {
                throw CQLProtocolError(.typeMismatch, "value for an ascii column contains non-ASCII characters")
            }
        default: throw mismatch("text")
        }
        buffer.writeInteger(Int32(truncatingIfNeeded: text.utf8.count))
        buffer.writeString(text)
        index += 1
    }

    /// An `int`.
    @inlinable
    public mutating func write(_ value: Int32) throws {
        guard try codec() == .int else { throw mismatch("int") }
        buffer.writeInteger(Int32(4))
        buffer.writeInteger(value)
        index += 1
    }

    /// A `bigint`, `counter` or `timestamp` (milliseconds since the epoch).
    @inlinable
    public mutating func write(_ value: Int64) throws {
        switch try codec() {
        case .bigint, .timestamp: break
        default: throw mismatch("bigint")
        }
        buffer.writeInteger(Int32(8))
        buffer.writeInteger(value)
        index += 1
    }

    /// A `boolean`.
    @inlinable
    public mutating func write(_ value: Bool) throws {
        guard try codec() == .boolean else { throw mismatch("boolean") }
        buffer.writeInteger(Int32(1))
        buffer.writeInteger(UInt8(value ? 1 : 0))
        index += 1
    }

    /// A `list<text>` or `set<text>` of `texts`, in order.
    @inlinable
    public mutating func write(texts: [String]) throws {
        guard try codec() == .textCollection else { throw mismatch("list") }
        var size = 4
        for text in texts { size += 4 + text.utf8.count }
        buffer.writeInteger(Int32(truncatingIfNeeded: size))
        buffer.writeInteger(Int32(truncatingIfNeeded: texts.count))
        for text in texts {
            buffer.writeInteger(Int32(truncatingIfNeeded: text.utf8.count))
            buffer.writeString(text)
        }
        index += 1
    }

    /// Null: no value.
    @inlinable
    public mutating func writeNull() throws {
        _ = try codec()
        buffer.writeInteger(Int32(-1))
        index += 1
    }

    /// Unset: leave the column unchanged (protocol v4 and later).
    @inlinable
    public mutating func writeUnset() throws {
        _ = try codec()
        buffer.writeInteger(Int32(-2))
        index += 1
    }

    /// Any value. The common shapes (uuid, text, int, bigint, boolean, blob, list/set of text, null, unset) are
    /// written directly; the others go through `CQLValue.write(as:into:)`, the general path.
    public mutating func write(_ value: CQLValue) throws {
        let codec = try codec()
        switch (codec, value) {
        case (_, .null):
            buffer.writeInteger(Int32(-1))
        case (_, .unset):
            buffer.writeInteger(Int32(-2))
        case (.uuid, .uuid(let uuid)), (.timeuuid, .uuid(let uuid)):
            try write(uuid)
            return
        case (.varchar, .text(let text)), (.ascii, .text(let text)):
            try write(text)
            return
        case (.int, .int(let int)):
            buffer.writeInteger(Int32(4))
            buffer.writeInteger(int)
        case (.bigint, .bigint(let int)), (.timestamp, .timestamp(let int)), (.timestamp, .bigint(let int)):
            buffer.writeInteger(Int32(8))
            buffer.writeInteger(int)
        case (.boolean, .boolean(let bool)):
            buffer.writeInteger(Int32(1))
            buffer.writeInteger(UInt8(bool ? 1 : 0))
        case (.blob, .blob(let bytes)):
            buffer.writeInteger(Int32(truncatingIfNeeded: bytes.count))
            buffer.writeBytes(bytes)
        case (.textCollection, .list(let elements)), (.textCollection, .set(let elements)):
            try writeTextCollection(elements)
        default:
            try value.write(as: types[index], into: &buffer)
        }
        index += 1
    }

    /// A list or set of text elements given as `CQLValue`s (nulls included, as the general path writes them).
    @usableFromInline
    mutating func writeTextCollection(_ elements: [CQLValue]) throws {
        let lengthIndex = buffer.writerIndex
        buffer.writeInteger(Int32(0))
        buffer.writeInteger(Int32(truncatingIfNeeded: elements.count))
        for element in elements {
            switch element {
            case .text(let text):
                buffer.writeInteger(Int32(truncatingIfNeeded: text.utf8.count))
                buffer.writeString(text)
            case .null:
                buffer.writeInteger(Int32(-1))
            case .unset:
                buffer.writeInteger(Int32(-2))
            default:
                try element.write(as: .varchar, into: &buffer)
            }
        }
        buffer.setInteger(Int32(truncatingIfNeeded: buffer.writerIndex - lengthIndex - 4), at: lengthIndex)
    }
}

extension CQLValue {
    /// The serialized size of the common shapes; an estimate for the rest.
    var estimatedBodySize: Int {
        switch self {
        case .null, .unset: 0
        case .uuid: 16
        case .text(let text): text.utf8.count
        case .boolean, .tinyint: 1
        case .smallint: 2
        case .int, .float, .date: 4
        case .bigint, .double, .timestamp, .time: 8
        case .blob(let bytes): bytes.count
        case .list(let values), .set(let values), .tuple(let values), .udt(let values):
            values.reduce(4) { $0 + 4 + $1.estimatedBodySize }
        case .map(let entries): entries.reduce(4) { $0 + 8 + $1.key.estimatedBodySize + $1.value.estimatedBodySize }
        case .decimal, .varint, .duration, .inet: 24
        }
    }
}
