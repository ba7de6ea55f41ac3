#if canImport(Glibc)
import Glibc
#endif

/// The VM disk lock file `<datastore root>/<ds>/<vm>/lock` (NODES.md §3): read, take, renew, release.
///
/// The lock is a lease in the style of NFSv3 `.lck` files: the holder rewrites it with a higher
/// counter every renew interval; other instances compare what they read over their own time.
/// Every write is atomic (temp file, fsync, rename or link, fsync of the directory), so a
/// reader never sees half a lock. The decisions (when to break, when the lock is lost) belong to
/// ``VMWorkload``; this type only does the file operations and classifies what it read.
public struct DiskLock: Sendable {
    /// What one read of the lock file found.
    public enum Observation: Sendable, Equatable {
        /// No lock file; the VM directory exists.
        case missing
        /// A lock file whose `instance` is empty.
        case released(DiskLockFile)
        /// A lock held by `file.instance`; `raw` is the exact content (compared for changes).
        case held(DiskLockFile, raw: [UInt8])
        /// A lock file that does not parse; `raw` is compared for changes like a held lock.
        case malformed(raw: [UInt8])
        /// The VM directory cannot be read (datastore unmounted, APD, PDL): nothing is known.
        case inaccessible(errno: Int32)
    }

    /// `<datastore root>/<ds>/<vm>`.
    public let vmDirectory: String

    /// The lock of `vm` on datastore `datastore` under `root`.
    ///
    /// - Parameters:
    ///   - root: The datastore root (`/vmfs/volumes` in a node).
    ///   - datastore: The VM's home datastore.
    ///   - vm: The VM id.
    public init(root: String, datastore: String, vm: String) {
        self.vmDirectory = root + "/" + datastore + "/" + vm
    }

    /// The lock file's path.
    public var path: String { vmDirectory + "/lock" }
    /// The journal file's path (same directory).
    public var journalPath: String { vmDirectory + "/journal" }
    /// The datastore directory (`<root>/<ds>`).
    public var datastoreDirectory: String { FileOps.parent(of: vmDirectory) }

    /// How long ago the lock file was last written, by the datastore's own clock: the lock file's
    /// mtime against the mtime of a probe file written now in the same folder. This is how an NFS
    /// client judges a stale lock (server timestamps on both sides), so no host compares its own
    /// clock with another host's. `nil` when either cannot be read.
    public func ageByDatastoreClock() -> Duration? {
        var lockStat = stat()
        guard stat(path, &lockStat) == 0 else { return nil }
        let probe = vmDirectory + "/.clock-\(getpid())"
        let fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return nil }
        _ = write(fd, "t", 1)
        close(fd)
        defer { unlink(probe) }
        var probeStat = stat()
        guard stat(probe, &probeStat) == 0 else { return nil }
        func nanos(_ t: timespec) -> Int64 { Int64(t.tv_sec) * 1_000_000_000 + Int64(t.tv_nsec) }
        return .nanoseconds(nanos(probeStat.st_mtim) - nanos(lockStat.st_mtim))
    }

    /// Reads and classifies the lock file.
    public func observe() -> Observation {
        switch FileOps.read(path, limit: 4096) {
        case .missing:
            return .missing
        case .failed(let errno):
            return .inaccessible(errno: errno)
        case .content(let raw):
            guard let file = try? JSONLines.decode(DiskLockFile.self, from: raw) else { return .malformed(raw: raw) }
            return file.isReleased ? .released(file) : .held(file, raw: raw)
        }
    }

    /// Takes a lock that does not exist (atomic: fails if someone else creates it first).
    ///
    /// - Returns: `true` if this call created the lock.
    public func create(_ file: DiskLockFile) throws(HostKitError) -> Bool {
        try FileOps.createExclusively(Self.bytes(file), at: path)
    }

    /// Writes `file` over whatever lock exists (renewal, or breaking an expired lock).
    public func replace(_ file: DiskLockFile) throws(HostKitError) {
        try FileOps.writeAtomically(Self.bytes(file), to: path)
    }

    /// Deletes the lock if it names `instance` (clean power-off, or hostd cleaning up after a
    /// VM process it saw end).
    ///
    /// - Returns: `true` if the lock was removed, `false` if it names someone else, is
    ///   missing, or cannot be reached.
    @discardableResult
    public func release(instance: String) -> Bool {
        guard case .held(let file, _) = observe(), file.instance == instance else { return false }
        return unlink(path) == 0
    }

    /// Creates the VM directory if the datastore directory exists.
    ///
    /// - Returns: `false` when the datastore itself is not reachable (not mounted).
    public func ensureVMDirectory() -> Bool {
        guard FileOps.isDirectory(datastoreDirectory) else { return false }
        if FileOps.isDirectory(vmDirectory) { return true }
        return mkdir(vmDirectory, 0o755) == 0 || errno == EEXIST
    }

    private static func bytes(_ file: DiskLockFile) throws(HostKitError) -> [UInt8] {
        do {
            return Array(try JSONLines.encode(file).utf8)
        } catch {
            throw HostKitError(.malformed, "cannot encode lock \(file): \(error)")
        }
    }
}
