import CQLProtocol
import NIOCore

/// The byte form of commit-log and snapshot records: `[u32 length][u32 crc32][payload]`.
/// A record whose length or checksum does not match ends the log (a torn write at a crash).
enum JournalCodec {
    private enum Tag: UInt8 {
        case schema = 1
        case mutations = 2
        case truncate = 3
    }

    /// Appends one framed record.
    static func append(_ entry: JournalEntry, engine: QueryEngine, into buffer: inout ByteBuffer) {
        let start = buffer.writerIndex
        buffer.writeInteger(UInt32(0))
        buffer.writeInteger(UInt32(0))
        let payloadStart = buffer.writerIndex
        writePayload(entry, engine: engine, into: &buffer)
        let length = buffer.writerIndex - payloadStart
        let crc = buffer.withUnsafeReadableBytes { bytes in
            CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[(payloadStart - buffer.readerIndex)...]))
        }
        buffer.setInteger(UInt32(length), at: start)
        buffer.setInteger(crc, at: start + 4)
    }

    /// Reads the next framed record's payload; nil at the end or at a torn/corrupt record.
    static func nextPayload(from buffer: inout ByteBuffer) -> ByteBuffer? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
            let crc = buffer.getInteger(at: buffer.readerIndex + 4, as: UInt32.self),
            let payload = buffer.getSlice(at: buffer.readerIndex + 8, length: Int(length))
        else { return nil }
        let actual = payload.withUnsafeReadableBytes { CRC32.checksum($0) }
        guard actual == crc else { return nil }
        buffer.moveReaderIndex(forwardBy: 8 + Int(length))
        return payload
    }

    private static func writePayload(_ entry: JournalEntry, engine: QueryEngine, into buffer: inout ByteBuffer) {
        switch entry {
        case .schema(let keyspace, let statement):
            buffer.writeInteger(Tag.schema.rawValue)
            buffer.writeCQLString(keyspace ?? "")
            buffer.writeCQLLongString(statement)
        case .truncate(let keyspace, let table):
            buffer.writeInteger(Tag.truncate.rawValue)
            buffer.writeCQLString(keyspace)
            buffer.writeCQLString(table)
        case .mutations(let mutations):
            buffer.writeInteger(Tag.mutations.rawValue)
            buffer.writeInteger(Int32(mutations.count))
            for mutation in mutations {
                let types = engine.tableSchema(keyspace: mutation.keyspace, table: mutation.table)?.clusteringTypes ?? []
                write(mutation, clusteringTypes: types, into: &buffer)
            }
        }
    }

    private static func write(_ mutation: Mutation, clusteringTypes: [CQLDataType], into buffer: inout ByteBuffer) {
        buffer.writeCQLString(mutation.keyspace)
        buffer.writeCQLString(mutation.table)
        buffer.writeCQLBytes(mutation.partitionKey)
        buffer.writeInteger(UInt16(mutation.clustering.count))
        for (index, value) in mutation.clustering.enumerated() {
            let type = index < clusteringTypes.count ? clusteringTypes[index] : value.naturalType
            if (try? value.write(as: type, into: &buffer)) == nil { buffer.writeInteger(Int32(-1)) }
        }
        func writeSlots(_ writes: [SlotWrite]) {
            buffer.writeInteger(Int32(writes.count))
            for write in writes {
                buffer.writeInteger(UInt16(write.slot))
                buffer.writeCQLBytes(write.value)
            }
        }
        switch mutation.kind {
        case .upsert(let marker, let cells, let staticCells):
            buffer.writeInteger(UInt8(marker ? 1 : 0))
            writeSlots(cells)
            writeSlots(staticCells)
        case .deleteRow:
            buffer.writeInteger(UInt8(2))
        case .deletePartition:
            buffer.writeInteger(UInt8(3))
        case .deleteCells(let slots, let staticSlots):
            buffer.writeInteger(UInt8(4))
            buffer.writeInteger(Int32(slots.count))
            for slot in slots { buffer.writeInteger(UInt16(slot)) }
            buffer.writeInteger(Int32(staticSlots.count))
            for slot in staticSlots { buffer.writeInteger(UInt16(slot)) }
        }
        buffer.writeInteger(mutation.timestamp)
        buffer.writeInteger(mutation.expiresAt)
        buffer.writeInteger(mutation.ttl)
    }

    /// Decodes a payload. Mutations need the table's schema, which earlier records created.
    static func decode(_ payload: ByteBuffer, engine: QueryEngine) throws -> JournalEntry {
        var buffer = payload
        let rawTag = try buffer.readCQLByte("record tag")
        switch Tag(rawValue: rawTag) {
        case .schema:
            let keyspace = try buffer.readCQLString("keyspace")
            return .schema(keyspace: keyspace.isEmpty ? nil : keyspace, statement: try buffer.readCQLLongString("statement"))
        case .truncate:
            return .truncate(keyspace: try buffer.readCQLString("keyspace"), table: try buffer.readCQLString("table"))
        case .mutations:
            let count = try buffer.readCQLInt("mutation count")
            var mutations: [Mutation] = []
            for _ in 0..<max(0, count) { mutations.append(try readMutation(from: &buffer, engine: engine)) }
            return .mutations(mutations)
        case nil:
            throw CQLProtocolError(.malformed, "commit log record tag \(rawTag)")
        }
    }

    private static func readMutation(from buffer: inout ByteBuffer, engine: QueryEngine) throws -> Mutation {
        let keyspace = try buffer.readCQLString("keyspace")
        let table = try buffer.readCQLString("table")
        guard let key = try buffer.readCQLBytesArray("partition key") else { throw CQLProtocolError(.malformed, "null partition key") }
        let clusteringCount = try buffer.readCQLShort("clustering count")
        let types = engine.tableSchema(keyspace: keyspace, table: table)?.clusteringTypes ?? []
        var clustering: [CQLValue] = []
        for index in 0..<Int(clusteringCount) {
            clustering.append(try CQLValue.read(index < types.count ? types[index] : .blob, from: &buffer))
        }
        func readSlots() throws -> [SlotWrite] {
            let count = try buffer.readCQLInt("slot count")
            var writes: [SlotWrite] = []
            for _ in 0..<max(0, count) {
                let slot = Int(try buffer.readCQLShort("slot"))
                writes.append(SlotWrite(slot: slot, value: try buffer.readCQLBytesArray("cell")))
            }
            return writes
        }
        let kind: Mutation.Kind
        let kindByte = try buffer.readCQLByte("mutation kind")
        switch kindByte {
        case 0, 1:
            kind = .upsert(marker: kindByte == 1, cells: try readSlots(), staticCells: try readSlots())
        case 2: kind = .deleteRow
        case 3: kind = .deletePartition
        case 4:
            var slots: [Int] = []
            for _ in 0..<max(0, try buffer.readCQLInt()) { slots.append(Int(try buffer.readCQLShort())) }
            var staticSlots: [Int] = []
            for _ in 0..<max(0, try buffer.readCQLInt()) { staticSlots.append(Int(try buffer.readCQLShort())) }
            kind = .deleteCells(slots: slots, staticSlots: staticSlots)
        case let other:
            throw CQLProtocolError(.malformed, "mutation kind \(other)")
        }
        let timestamp = try buffer.readCQLLong("timestamp")
        let expiresAt = try buffer.readCQLInt("expiry")
        let ttl = try buffer.readCQLInt("ttl")
        return Mutation(
            keyspace: keyspace, table: table, partitionKey: key, clustering: clustering, kind: kind, timestamp: timestamp,
            expiresAt: expiresAt, ttl: ttl)
    }
}

/// CRC-32 (IEEE), for commit-log record checksums.
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 != 0 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
