import CQLProtocol
import Foundation
import Logging
import NIOCore

/// The files of `--data-dir`: `snapshot.bin` (written at clean shutdown) and `commitlog.bin` (every write since).
/// At start the snapshot is loaded, then the log replayed up to its last intact record.
struct DataDirectory {
    var path: String

    var snapshotPath: String { path + "/snapshot.bin" }
    var commitLogPath: String { path + "/commitlog.bin" }

    /// What loading found.
    struct LoadReport {
        var snapshotRecords = 0
        var logRecords = 0
        /// Bytes of the log that hold intact records; the rest (a torn tail) is cut off.
        var validLogLength = 0
    }

    /// Creates the directory if needed and rebuilds `engine` from it.
    func load(into engine: inout QueryEngine, logger: Logger) throws(CQLServerError) -> LoadReport {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw CQLServerError(.serverError, "cannot create data directory \(path): \(error)")
        }
        var report = LoadReport()
        if let snapshot = FileManager.default.contents(atPath: snapshotPath) {
            var buffer = ByteBuffer(bytes: snapshot)
            report.snapshotRecords = replay(&buffer, into: &engine, logger: logger)
        }
        if let log = FileManager.default.contents(atPath: commitLogPath) {
            var buffer = ByteBuffer(bytes: log)
            report.logRecords = replay(&buffer, into: &engine, logger: logger)
            report.validLogLength = buffer.readerIndex
            if buffer.readableBytes > 0 {
                logger.warning("commit log has a torn tail; ignoring it", metadata: ["bytes": "\(buffer.readableBytes)"])
            }
        }
        return report
    }

    private func replay(_ buffer: inout ByteBuffer, into engine: inout QueryEngine, logger: Logger) -> Int {
        var records = 0
        while let payload = JournalCodec.nextPayload(from: &buffer) {
            records += 1
            do {
                try engine.replay(try JournalCodec.decode(payload, engine: engine))
            } catch {
                // Replaying DDL that already took effect (a snapshot plus an untruncated log) fails harmlessly.
                logger.debug("skipped a journal record during replay", metadata: ["error": "\(error)"])
            }
        }
        return records
    }

    /// Writes the whole state as a snapshot (temporary file, fsync, rename).
    func writeSnapshot(of engine: QueryEngine) throws(CQLServerError) {
        var buffer = ByteBuffer()
        for statement in SchemaDescriber.schemaScript(engine.catalog) {
            JournalCodec.append(.schema(keyspace: nil, statement: statement), engine: engine, into: &buffer)
        }
        let nowSeconds = Int32(truncatingIfNeeded: QueryEngine.nowMicros() / 1_000_000)
        engine.forEachStoredTable { table, store in
            var batch: [Mutation] = []
            for partition in store.partitionsInTokenOrder() {
                batch += Self.mutations(of: partition, table: table, now: nowSeconds)
                if batch.count >= 1000 {
                    JournalCodec.append(.mutations(batch), engine: engine, into: &buffer)
                    batch.removeAll(keepingCapacity: true)
                }
            }
            if !batch.isEmpty { JournalCodec.append(.mutations(batch), engine: engine, into: &buffer) }
        }
        let temporary = snapshotPath + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw CQLServerError(.serverError, "cannot write snapshot \(temporary)") }
        let ok = buffer.withUnsafeReadableBytes { bytes -> Bool in
            var offset = 0
            while offset < bytes.count {
                let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { return false }
                offset += written
            }
            return true
        }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard ok, synced, rename(temporary, snapshotPath) == 0 else {
            throw CQLServerError(.serverError, "cannot write snapshot \(snapshotPath): \(String(cString: strerror(errno)))")
        }
    }

    /// The live content of a partition as upserts, grouped by write timestamp and expiry.
    static func mutations(of partition: StoredPartition, table: TableSchema, now: Int32) -> [Mutation] {
        struct Group: Hashable {
            var timestamp: Int64
            var expiresAt: Int32
            var ttl: Int32
        }
        var result: [Mutation] = []
        func emit(clustering: [CQLValue], row: StoredRow, marker: Bool, isStatic: Bool) {
            var groups: [Group: [SlotWrite]] = [:]
            let deletedAt = max(row.deletedAt, partition.deletedAt)
            for (slot, cell) in row.cells.enumerated() where cell.isLive(at: now, deletedAt: deletedAt) {
                groups[Group(timestamp: cell.timestamp, expiresAt: cell.expiresAt, ttl: cell.ttl), default: []].append(SlotWrite(slot: slot, value: cell.value))
            }
            let markerLive = marker && row.markerTimestamp > deletedAt && (row.markerExpiresAt == 0 || row.markerExpiresAt > now)
            if markerLive {
                let group = Group(timestamp: row.markerTimestamp, expiresAt: row.markerExpiresAt, ttl: 0)
                groups[group, default: []] += []
            }
            for (group, cells) in groups {
                let kind: Mutation.Kind =
                    isStatic
                    ? .upsert(marker: false, cells: [], staticCells: cells)
                    : .upsert(marker: markerLive && group.timestamp == row.markerTimestamp && group.expiresAt == row.markerExpiresAt, cells: cells, staticCells: [])
                result.append(
                    Mutation(
                        keyspace: table.keyspace, table: table.name, partitionKey: partition.key, clustering: clustering, kind: kind,
                        timestamp: group.timestamp, expiresAt: group.expiresAt, ttl: group.ttl))
            }
        }
        emit(clustering: [], row: partition.staticRow, marker: false, isStatic: true)
        for key in partition.orderedKeys(schema: table) {
            if let row = partition.row(key) { emit(clustering: key.values, row: row, marker: true, isStatic: false) }
        }
        return result
    }
}
