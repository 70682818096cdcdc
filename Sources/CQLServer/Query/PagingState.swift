import CQLProtocol
import NIOCore

/// Where a paged SELECT stopped. Opaque to clients; encoded as bytes in the Rows metadata.
struct PagingState: Equatable {
    /// Index into the list of partitions selected by `=`/`IN`; 0 for scans.
    var partitionIndex: Int
    /// The last partition a row came from.
    var partitionKey: [UInt8]
    /// The last row's clustering key; nil when that partition is finished.
    var clustering: [CQLValue]?
    /// Rows returned so far, across pages (for LIMIT).
    var rowsReturned: Int
    /// Rows returned so far from the current partition (for PER PARTITION LIMIT).
    var rowsInPartition: Int
    /// For system tables, which are paged by position.
    var offset: Int

    private static let formatVersion: UInt8 = 1

    func encode(clusteringTypes: [CQLDataType]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(Self.formatVersion)
        buffer.writeInteger(Int32(partitionIndex))
        buffer.writeInteger(Int32(rowsReturned))
        buffer.writeInteger(Int32(rowsInPartition))
        buffer.writeInteger(Int32(offset))
        buffer.writeInteger(Int32(partitionKey.count))
        buffer.writeBytes(partitionKey)
        if let clustering {
            buffer.writeInteger(UInt8(1))
            for (index, value) in clustering.enumerated() where index < clusteringTypes.count {
                if (try? value.write(as: clusteringTypes[index], into: &buffer)) == nil { buffer.writeInteger(Int32(-1)) }
            }
        } else {
            buffer.writeInteger(UInt8(0))
        }
        return buffer
    }

    static func decode(_ buffer: ByteBuffer, clusteringTypes: [CQLDataType]) throws(CQLServerError) -> PagingState {
        var buffer = buffer
        let invalid = CQLServerError(.protocolError, "Invalid value for the paging state")
        guard buffer.readInteger(as: UInt8.self) == formatVersion,
            let partitionIndex = buffer.readInteger(as: Int32.self), let rowsReturned = buffer.readInteger(as: Int32.self),
            let rowsInPartition = buffer.readInteger(as: Int32.self), let offset = buffer.readInteger(as: Int32.self),
            let keyLength = buffer.readInteger(as: Int32.self), keyLength >= 0, let key = buffer.readBytes(length: Int(keyLength)),
            let hasClustering = buffer.readInteger(as: UInt8.self),
            partitionIndex >= 0, rowsReturned >= 0, rowsInPartition >= 0, offset >= 0
        else { throw invalid }
        var clustering: [CQLValue]?
        if hasClustering == 1 {
            var values: [CQLValue] = []
            for type in clusteringTypes {
                guard let value = try? CQLValue.read(type, from: &buffer) else { throw invalid }
                values.append(value)
            }
            clustering = values
        }
        return PagingState(
            partitionIndex: Int(partitionIndex), partitionKey: key, clustering: clustering, rowsReturned: Int(rowsReturned),
            rowsInPartition: Int(rowsInPartition), offset: Int(offset))
    }
}
