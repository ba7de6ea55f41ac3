import Foundation
import HACore
import HAWire
#if canImport(Glibc)
import Glibc
#endif

// MARK: - DecisionLine

/// One line of `<state dir>/decisions.jsonl`: a user power-on admission-control decision
/// (oracle §6.7), `{"admitted":false,"host":"host-2","reason":"slot policy: …","vm":"vm-03","wall":1714000000.25}`.
struct DecisionLine: JSONLineCodable, Hashable {
    /// Unix time of the decision, in seconds.
    var wall: Double
    /// The VM the user powers on.
    var vm: VMID
    /// The host it was to run on.
    var host: HostID
    /// Whether admission control let it proceed.
    var admitted: Bool
    /// The policy's verdict in words.
    var reason: String
}

// MARK: - AppendFile

/// A file opened once for appending whole lines (one `write(2)` per line, O_APPEND).
///
/// Only the ``Controller`` actor writes, so lines never interleave.
struct AppendFile: Sendable {
    let path: String
    private let fd: Int32

    /// Opens (creating) `path` for appending.
    ///
    /// - Throws: ``ControllerError`` (`io`) when it cannot be opened.
    init(path: String) throws(ControllerError) {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ControllerError(.io, "cannot open \(path): errno \(errno)") }
    }

    /// Appends one encoded line; failures are reported, never fatal.
    ///
    /// - Returns: Whether the whole line was written.
    @discardableResult
    func append(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in write(fd, raw.baseAddress, raw.count) == raw.count }
    }
}

// MARK: - Atomic writes

enum StateFiles {
    /// Writes `data` to `path` atomically: a temporary file beside it, fsync, rename, fsync the directory.
    ///
    /// - Throws: ``ControllerError`` (`io`).
    static func writeAtomically(_ data: Data, to path: String) throws(ControllerError) {
        let directory = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let temporary = directory + "/" + DatastoreFiles.temporaryName(for: name, pid: getpid())
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ControllerError(.io, "cannot create \(temporary): errno \(errno)") }
        let written = data.withUnsafeBytes { raw in write(fd, raw.baseAddress, raw.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == data.count, synced, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw ControllerError(.io, "cannot write \(path): errno \(errno)")
        }
        let dirFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            fsync(dirFD)
            close(dirFD)
        }
    }
}
