import Foundation
import LoadEngine

/// Writes HdrHistogram interval logs (format 1.3) that HdrHistogram's own tools read (`HistogramLogReader`,
/// `HistogramLogProcessor`, Python's `hdrh`): one line per interval with a base64 compressed V2 histogram.
///
/// Values are microseconds; `Interval_Max` is written in milliseconds. The "compression" is zlib's stored mode
/// (valid zlib that every inflater reads), which avoids a zlib dependency; the counts are already run-length coded.
public enum HDRHistogramLog {
    /// The log text for one histogram per interval.
    /// - Parameters:
    ///   - intervals: (seconds since `start`, length in seconds, histogram) per line.
    ///   - start: the run's start (wall clock) for the `StartTime` header.
    public static func render(intervals: [(offset: Double, length: Double, histogram: LatencyHistogram)], start: Date) -> String {
        var text = "#[Histogram log format version 1.3]\n"
        let startSeconds = start.timeIntervalSince1970
        text += "#[StartTime: \(String(format: "%.3f", startSeconds)) (seconds since epoch), \(ISO8601DateFormatter().string(from: start))]\n"
        text += "#[Written by Stampede; values in microseconds, Interval_Max in milliseconds]\n"
        text += "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n"
        for interval in intervals {
            let max = Double(interval.histogram.maxMicros) / 1000
            text += String(format: "%.3f,%.3f,%.3f,", interval.offset, interval.length, max)
            text += compressedBase64(interval.histogram) + "\n"
        }
        return text
    }

    // Bucket layout shared by every LatencyHistogram: lowest discernible 1, 3 significant digits.
    static let significantDigits: Int32 = 3
    static let subBucketHalfCountMagnitude = 10
    static let subBucketHalfCount = 1 << subBucketHalfCountMagnitude
    static let subBucketMask: UInt64 = (1 << 11) - 1
    static let leadingZeroCountBase = 64 - 0 - subBucketHalfCountMagnitude - 1
    static let encodingCookie: UInt32 = 0x1c84_9303 | 0x10
    static let compressedEncodingCookie: UInt32 = 0x1c84_9304 | 0x10

    /// The counts-array index HdrHistogram uses for `value` with this layout.
    static func countsIndex(_ value: UInt64) -> Int {
        let bucketIndex = leadingZeroCountBase - (value | subBucketMask).leadingZeroBitCount
        let subBucketIndex = Int(value >> UInt64(bucketIndex))
        return ((bucketIndex + 1) << subBucketHalfCountMagnitude) + (subBucketIndex - subBucketHalfCount)
    }

    /// The uncompressed V2 encoding (`0x1c849313` cookie).
    static func encodeV2(_ histogram: LatencyHistogram) -> [UInt8] {
        var counts: [Int: UInt64] = [:]
        var limit = 0
        for bucket in histogram.buckets {
            let index = countsIndex(bucket.value)
            counts[index, default: 0] &+= bucket.count
            limit = max(limit, index + 1)
        }
        var payload: [UInt8] = []
        var index = 0
        while index < limit {
            let count = counts[index] ?? 0
            index += 1
            if count == 0 {
                var zeros: Int64 = 1
                while index < limit, counts[index] == nil {
                    zeros += 1
                    index += 1
                }
                appendZigZag(zeros > 1 ? -zeros : 0, to: &payload)
            } else {
                appendZigZag(Int64(clamping: count), to: &payload)
            }
        }
        let highest = max(LatencyHistogram.initialHighestTrackableMicros, histogram.maxMicros.multipliedReportingOverflow(by: 2).partialValue)
        var bytes: [UInt8] = []
        appendBigEndian(UInt64(encodingCookie), bytes: 4, to: &bytes)
        appendBigEndian(UInt64(payload.count), bytes: 4, to: &bytes)
        appendBigEndian(0, bytes: 4, to: &bytes)  // normalizing index offset
        appendBigEndian(UInt64(significantDigits), bytes: 4, to: &bytes)
        appendBigEndian(1, bytes: 8, to: &bytes)  // lowest discernible value
        appendBigEndian(highest, bytes: 8, to: &bytes)
        appendBigEndian((1.0 as Double).bitPattern, bytes: 8, to: &bytes)  // integer to double conversion ratio
        bytes += payload
        return bytes
    }

    /// The compressed V2 encoding in base64, as a log line carries it.
    static func compressedBase64(_ histogram: LatencyHistogram) -> String {
        let zlib = ZlibStored.wrap(encodeV2(histogram))
        var bytes: [UInt8] = []
        appendBigEndian(UInt64(compressedEncodingCookie), bytes: 4, to: &bytes)
        appendBigEndian(UInt64(zlib.count), bytes: 4, to: &bytes)
        bytes += zlib
        return Data(bytes).base64EncodedString()
    }

    static func appendZigZag(_ value: Int64, to bytes: inout [UInt8]) {
        var encoded = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        // HdrHistogram's LEB128 variant: 7 bits per byte for 8 bytes, then a full 9th byte.
        for _ in 0..<8 {
            if encoded < 0x80 {
                bytes.append(UInt8(encoded))
                return
            }
            bytes.append(UInt8(truncatingIfNeeded: encoded) | 0x80)
            encoded >>= 7
        }
        bytes.append(UInt8(truncatingIfNeeded: encoded))
    }

    static func appendBigEndian(_ value: UInt64, bytes count: Int, to bytes: inout [UInt8]) {
        for shift in stride(from: (count - 1) * 8, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }
}

/// zlib (RFC 1950) framing around deflate stored blocks (RFC 1951, BTYPE 00): valid zlib without compressing.
enum ZlibStored {
    static func wrap(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let length = min(65_535, data.count - offset)
            let final = offset + length == data.count
            out.append(final ? 1 : 0)
            out.append(UInt8(length & 0xFF))
            out.append(UInt8(length >> 8))
            out.append(UInt8(~length & 0xFF))
            out.append(UInt8((~length >> 8) & 0xFF))
            out += data[offset..<(offset + length)]
            offset += length
        } while offset < data.count
        let checksum = adler32(data)
        out += [UInt8(checksum >> 24), UInt8((checksum >> 16) & 0xFF), UInt8((checksum >> 8) & 0xFF), UInt8(checksum & 0xFF)]
        return out
    }

    static func adler32(_ data: [UInt8]) -> UInt32 {
        var a: UInt32 = 1
        var b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        return (b << 16) | a
    }
}
