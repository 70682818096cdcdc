import Foundation

/// Files the CLI writes (results, reports): checked before a run starts, so a run is not lost to a path it cannot
/// write at the end, and written with errors that name the file and the cause.
enum OutputFile {
    /// A file that could not be written.
    struct WriteError: Error, CustomStringConvertible {
        let path: String
        let what: String
        let cause: String
        var description: String { "cannot write the \(what) to \(path): \(cause)" }
    }

    /// Throws unless `path` can be created or replaced by ``write(_:to:what:)``: its folder exists and this user may
    /// write there (the atomic write creates a file beside it and renames it over `path`).
    static func checkWritable(_ path: String, what: String) throws(WriteError) {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw WriteError(path: path, what: what, cause: "the folder \(folder) does not exist")
        }
        guard access(folder, W_OK) == 0 else {
            throw WriteError(path: path, what: what, cause: "permission denied (the folder \(folder) is not writable)")
        }
    }

    /// Writes `data` to `path` atomically.
    static func write(_ data: Data, to path: String, what: String) throws(WriteError) {
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            let cause = ((error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError).map { String(cString: strerror(Int32($0.code))) }
            throw WriteError(path: path, what: what, cause: cause ?? error.localizedDescription)
        }
    }
}
