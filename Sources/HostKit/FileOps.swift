import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// POSIX file operations with the durability NODES.md §3 asks for, and real `errno` values.
///
/// Datastore faults (APD, PDL, an unmounted path) show up as `EROFS`, `ENOENT`, `EIO`; callers
/// need those numbers, which is why this talks to the C library rather than `FileManager`.
public enum FileOps {
    /// The largest file ``read(_:limit:)`` returns without truncating.
    public static let defaultReadLimit = 1 << 20

    /// The outcome of reading a small file.
    public enum ReadResult: Sendable, Equatable {
        /// The whole content (at most the limit).
        case content([UInt8])
        /// The file does not exist, but its directory does.
        case missing
        /// The file cannot be read: its directory is gone (unmounted datastore) or I/O failed.
        case failed(errno: Int32)
    }

    /// Reads a small file.
    ///
    /// - Parameters:
    ///   - path: The file.
    ///   - limit: At most this many bytes are returned.
    /// - Returns: The content, `.missing` when only the file is absent, or `.failed`.
    public static func read(_ path: String, limit: Int = defaultReadLimit) -> ReadResult {
        readWithIdentity(path, limit: limit).result
    }

    /// ``read(_:limit:)``, plus the identity of the file that was read (`fstat` of the same
    /// descriptor, so the two always belong to one version of the file).
    static func readWithIdentity(_ path: String, limit: Int = defaultReadLimit) -> (result: ReadResult, identity: FileIdentity?) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let error = Glibc.errno
            if error == ENOENT, isDirectory(parent(of: path)) { return (.missing, nil) }
            return (.failed(errno: error), nil)
        }
        defer { close(fd) }
        return (readAll(fd, limit: limit), FileIdentity(fd: fd))
    }

    private static func readAll(_ fd: Int32, limit: Int) -> ReadResult {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < limit {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, min($0.count, limit - bytes.count)) }
            if count < 0 {
                if Glibc.errno == EINTR { continue }
                return .failed(errno: Glibc.errno)
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return .content(bytes)
    }

    /// Replaces `path` atomically: write `.<name>.tmp-<pid>`, fsync, rename, fsync the directory.
    ///
    /// - Parameters:
    ///   - bytes: The new content.
    ///   - path: The file to replace (its directory must exist).
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws(HostKitError) {
        let temp = try writeTemp(bytes, beside: path)
        if rename(temp, path) != 0 {
            let error = Glibc.errno
            unlink(temp)
            throw HostKitError(.io, "cannot rename \(temp) to \(path)", errno: error)
        }
        syncDirectory(parent(of: path))
    }

    /// Creates `path` atomically with `bytes` unless it exists (temp file + `link`).
    ///
    /// `link(2)` fails with `EEXIST` when the name exists, which makes "take a free lock" safe
    /// against a concurrent taker.
    ///
    /// - Returns: `true` if this call created the file, `false` if it already existed.
    public static func createExclusively(_ bytes: [UInt8], at path: String) throws(HostKitError) -> Bool {
        let temp = try writeTemp(bytes, beside: path)
        defer { unlink(temp) }
        if link(temp, path) != 0 {
            let error = Glibc.errno
            if error == EEXIST { return false }
            throw HostKitError(.io, "cannot link \(temp) to \(path)", errno: error)
        }
        syncDirectory(parent(of: path))
        return true
    }

    /// Appends one line (a newline is added) with `O_APPEND`, then fsyncs when asked.
    ///
    /// When the file does not end in a newline — the last line was torn by a writer killed
    /// mid-append (a powered-off VM, a crashed hostd) — the line starts with one, so the torn
    /// fragment stays a line of its own that readers skip instead of swallowing this line
    /// (issue 7, crash consistency). Two appenders racing on that check cost at most an empty
    /// line, which readers also skip.
    ///
    /// - Parameters:
    ///   - line: The text, without newline.
    ///   - path: The file; created (0644) if absent.
    ///   - sync: Whether to fsync before returning.
    public static func appendLine(_ line: String, to path: String, sync: Bool) throws(HostKitError) {
        let fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 { throw HostKitError(.io, "cannot open \(path) for appending", errno: Glibc.errno) }
        defer { close(fd) }
        var bytes = Array((line + "\n").utf8)
        if endsInsideLine(fd) { bytes.insert(0x0A, at: 0) }
        try writeAll(fd, bytes, path: path)
        if sync, fsync(fd) != 0 { throw HostKitError(.io, "cannot fsync \(path)", errno: Glibc.errno) }
    }

    /// Whether the open file is non-empty and its last byte is not a newline.
    private static func endsInsideLine(_ fd: Int32) -> Bool {
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size > 0 else { return false }
        var last: UInt8 = 0
        return pread(fd, &last, 1, info.st_size - 1) == 1 && last != 0x0A
    }

    /// Removes a file; a missing file is not an error.
    ///
    /// - Returns: `true` if the file is gone now.
    @discardableResult
    public static func remove(_ path: String) -> Bool {
        unlink(path) == 0 || Glibc.errno == ENOENT
    }

    /// Creates a directory and its parents (mode 0755); existing ones are fine.
    public static func makeDirectories(_ path: String) throws(HostKitError) {
        if isDirectory(path) { return }
        let parentPath = parent(of: path)
        if parentPath != path, !parentPath.isEmpty, !isDirectory(parentPath) { try makeDirectories(parentPath) }
        if mkdir(path, 0o755) != 0, Glibc.errno != EEXIST {
            throw HostKitError(.io, "cannot create directory \(path)", errno: Glibc.errno)
        }
    }

    /// Whether `path` names a directory (following symbolic links).
    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Whether anything exists at `path` (following symbolic links).
    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// The names in a directory (no `.`/`..`), or an empty list if it cannot be read.
    public static func list(_ directory: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    }

    /// The directory part of `path` (`"."` for a bare name).
    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// The last component of `path`.
    public static func name(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    // MARK: - Helpers

    private static func writeTemp(_ bytes: [UInt8], beside path: String) throws(HostKitError) -> String {
        let temp = parent(of: path) + "/." + name(of: path) + ".tmp-\(getpid())"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw HostKitError(.io, "cannot create \(temp)", errno: Glibc.errno) }
        do throws(HostKitError) {
            try writeAll(fd, bytes, path: temp)
            if fsync(fd) != 0 { throw HostKitError(.io, "cannot fsync \(temp)", errno: Glibc.errno) }
        } catch {
            close(fd)
            unlink(temp)
            throw error
        }
        close(fd)
        return temp
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(HostKitError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if Glibc.errno == EINTR { continue }
                throw HostKitError(.io, "cannot write \(path)", errno: Glibc.errno)
            }
            offset += written
        }
    }

    private static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}
