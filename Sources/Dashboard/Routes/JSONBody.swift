import Foundation
import Hummingbird

/// Builds responses with the dashboard's JSON encoding (sorted keys, ISO 8601 dates, non-finite numbers as text).
enum JSONBody {
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return encoder
    }

    static func bytes<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        Array(try encoder().encode(value))
    }

    static func response<Value: Encodable>(_ value: Value, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: try bytes(value)))
        )
    }

    /// `{"error": message}` with a status.
    static func error(_ message: String, status: HTTPResponse.Status) -> Response {
        (try? response(["error": message], status: status)) ?? Response(status: status)
    }
}

/// A file to send: bytes, a media type and, for downloads, a file name.
struct FileBody {
    static func response(_ bytes: [UInt8], contentType: String, downloadName: String?) -> Response {
        var headers: HTTPFields = [.contentType: contentType, .cacheControl: "no-store"]
        if let downloadName { headers[.contentDisposition] = "attachment; filename=\"\(downloadName)\"" }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
