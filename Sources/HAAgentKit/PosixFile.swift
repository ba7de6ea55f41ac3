import Foundation
import HAWire
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - PosixFile

/// Thin wrappers over POSIX file calls for datastore I/O (no `FileManager`, no cached handles).
///
/// Every call opens the path anew, so an unmounted datastore fails at once (docs/NODES.md §3).
enum PosixFile {
    /// The outcome of reading a file.
    enum ReadOutcome: Sendable {
        case data(Data)
        case missing
        case failed(DatastoreIOError)
    }

    /// Serialises atomic writes in this process: the temporary name `.<name>.tmp-<pid>`
    /// (docs/NODES.md §3) is the same for two concurrent writes of one path.
    private static let writeLock = Mutex(())

    // MARK: - Writing

    /// Writes `data` to `path` atomically: `.<name>.tmp-<pid>` in the same directory, fsync,
    /// rename over `path`, fsync the directory. The temporary file is removed on failure.
    static func writeAtomically(_ path: String, _ data: Data) -> Result<Void, DatastoreIOError> {
        let (directory, name) = split(path)
        let temporary = directory + "/" + DatastoreFiles.temporaryName(for: name, pid: getpid())
        return writeLock.withLock { _ in
            let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { return .failure(.system(errno, path: temporary, operation: "open")) }
            if let error = writeAll(fd, data, path: temporary) ?? syncFile(fd, path: temporary) {
                close(fd)
                unlink(temporary)
                return .failure(error)
            }
            guard close(fd) == 0 else {
                let error = DatastoreIOError.system(errno, path: temporary, operation: "close")
                unlink(temporary)
                return .failure(error)
            }
            guard rename(temporary, path) == 0 else {
                let error = DatastoreIOError.system(errno, path: path, operation: "rename")
                unlink(temporary)
                return .failure(error)
            }
            if let error = syncDirectory(directory) { return .failure(error) }
            return .success(())
        }
    }

    /// Creates `path` with `data` only if it does not exist, atomically across processes and
    /// mount namespaces of one filesystem: the complete content is written and synced under a
    /// temporary name, then hard-linked to `path` (`link(2)` fails with `EEXIST` when another
    /// creator won). Readers never see a partial claim.
    ///
    /// - Returns: true when this call created `path`, false when it already existed.
    static func createExclusively(_ path: String, _ data: Data) -> Result<Bool, DatastoreIOError> {
        let (directory, name) = split(path)
        let temporary = directory + "/" + DatastoreFiles.temporaryName(for: name, pid: getpid())
        return writeLock.withLock { _ in
            let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { return .failure(.system(errno, path: temporary, operation: "open")) }
            defer { unlink(temporary) }
            if let error = writeAll(fd, data, path: temporary) ?? syncFile(fd, path: temporary) {
                close(fd)
                return .failure(error)
            }
            guard close(fd) == 0 else { return .failure(.system(errno, path: temporary, operation: "close")) }
            guard link(temporary, path) == 0 else {
                let code = errno
                return code == EEXIST ? .success(false) : .failure(.system(code, path: path, operation: "link"))
            }
            if let error = syncDirectory(directory) { return .failure(error) }
            return .success(true)
        }
    }

    /// Creates a small file and removes it again: proves the directory is writable.
    static func probeWritable(_ directory: String) -> DatastoreIOError? {
        let probe = directory + "/" + DatastoreFiles.temporaryName(for: "probe", pid: getpid())
        let fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return .system(errno, path: probe, operation: "open") }
        let error = writeAll(fd, Data([0x31]), path: probe)
        close(fd)
        unlink(probe)
        return error
    }

    /// Creates a directory; an existing directory is success.
    static func makeDirectory(_ path: String) -> DatastoreIOError? {
        guard mkdir(path, 0o755) != 0 else { return nil }
        let code = errno
        if code == EEXIST, isDirectory(path) { return nil }
        return .system(code, path: path, operation: "mkdir")
    }

    /// Removes a file and syncs its directory; a missing file is success.
    static func remove(_ path: String) -> DatastoreIOError? {
        guard unlink(path) == 0 else {
            let code = errno
            return code == ENOENT ? nil : .system(code, path: path, operation: "unlink")
        }
        return syncDirectory(split(path).directory)
    }

    // MARK: - Reading

    /// Reads a whole file of at most `limit` bytes.
    static func read(_ path: String, limit: Int) -> ReadOutcome {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            return code == ENOENT ? .missing : .failed(.system(code, path: path, operation: "open"))
        }
        defer { close(fd) }
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { buffer in systemRead(fd, buffer.baseAddress, buffer.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failed(.system(errno, path: path, operation: "read"))
            }
            if count == 0 { return .data(data) }
            data.append(contentsOf: chunk[0..<count])
            if data.count > limit { return .failed(DatastoreIOError(code: .tooLarge, path: path, operation: "read")) }
        }
    }

    /// Whether something exists at `path` (without following a final symlink).
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Whether `path` is a directory.
    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The names in a directory (without `.` and `..`), or the error.
    static func list(_ path: String) -> Result<[String], DatastoreIOError> {
        guard let dir = opendir(path) else { return .failure(.system(errno, path: path, operation: "opendir")) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: entry.pointee.d_name)) {
                    String(cString: $0)
                }
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return .success(names)
    }

    /// Removes abandoned temporary files (``HAWire/DatastoreFiles/isTemporaryName(_:)``) of
    /// `directory` whose mtime is at least `age` seconds older than a probe file created there
    /// now (the datastore's own clock judges the age, as for disk locks: no clocks are compared
    /// across hosts). A writer killed between create and rename leaves one; each new process
    /// uses a new name, so they would pile up. Returns how many were removed.
    static func removeAbandonedTemporaries(in directory: String, age: Double) -> Int {
        let probe = directory + "/" + DatastoreFiles.temporaryName(for: "sweep", pid: getpid())
        let fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return 0 }
        var ref = stat()
        let statted = fstat(fd, &ref) == 0
        close(fd)
        unlink(probe)
        guard statted, case .success(let names) = list(directory) else { return 0 }
        let now = Double(ref.st_mtim.tv_sec) + Double(ref.st_mtim.tv_nsec) / 1e9
        var removed = 0
        for name in names where DatastoreFiles.isTemporaryName(name) {
            var info = stat()
            let path = directory + "/" + name
            guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            let mtime = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
            if now - mtime >= age, unlink(path) == 0 { removed += 1 }
        }
        return removed
    }

    // MARK: - Helpers

    /// Splits a path into its directory (`.` when none) and last component.
    static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }

    private static func writeAll(_ fd: Int32, _ data: Data, path: String) -> DatastoreIOError? {
        data.withUnsafeBytes { buffer -> DatastoreIOError? in
            guard let base = buffer.baseAddress else { return nil }
            var offset = 0
            while offset < buffer.count {
                let written = write(fd, base + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return .system(errno, path: path, operation: "write")
                }
                offset += written
            }
            return nil
        }
    }

    private static func syncFile(_ fd: Int32, path: String) -> DatastoreIOError? {
        fsync(fd) == 0 ? nil : .system(errno, path: path, operation: "fsync")
    }

    private static func syncDirectory(_ directory: String) -> DatastoreIOError? {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return .system(errno, path: directory, operation: "open") }
        defer { close(fd) }
        return fsync(fd) == 0 ? nil : .system(errno, path: directory, operation: "fsync")
    }
}

/// `read(2)`; a free function because ``PosixFile/read(_:limit:)`` shadows the global name.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.read(fd, buffer, count)
    #else
    Darwin.read(fd, buffer, count)
    #endif
}
