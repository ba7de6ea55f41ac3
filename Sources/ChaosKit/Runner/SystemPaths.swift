import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Where the reaper and the netns backend look at the machine (`/proc`, cgroups, mounts);
/// tests point it at a scratch directory.
public struct SystemPaths: Hashable, Sendable {
    /// `/proc`: process cgroups, start times.
    public var proc: String
    /// `/proc/mounts` of the harness's own mount namespace.
    public var mounts: String
    /// `/sys/fs/cgroup` (cgroup v1 controllers below it).
    public var cgroupRoot: String
    /// The cgroup v1 controllers whose `hachaos/<run>/<node>` directories the harness uses.
    public var cgroupControllers: [String]
    /// `/run/hachaos`: per-run runtime files (persistent mount namespaces).
    public var runtimeRoot: String
    /// The machine-wide journal directory every harness process writes to: consulted, besides
    /// a caller's own, to tell live runs of other `chaos` processes from dead ones.
    public var sharedJournalDirectory: String

    public init(
        proc: String = "/proc", mounts: String = "/proc/mounts", cgroupRoot: String = "/sys/fs/cgroup",
        cgroupControllers: [String] = ["freezer", "pids", "memory"], runtimeRoot: String = "/run/hachaos",
        sharedJournalDirectory: String = RunJournal.defaultDirectory
    ) {
        self.sharedJournalDirectory = sharedJournalDirectory
        self.proc = proc
        self.mounts = mounts
        self.cgroupRoot = cgroupRoot
        self.cgroupControllers = cgroupControllers
        self.runtimeRoot = runtimeRoot
    }

    /// The machine itself.
    public static let live = SystemPaths()

    /// `<cgroupRoot>/<controller>/hachaos`.
    public func cgroupBase(_ controller: String) -> String { "\(cgroupRoot)/\(controller)/hachaos" }

    // MARK: - Processes

    /// Whether `pid` exists (signal 0; EPERM still means it exists).
    public static func isAlive(pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    /// Field 22 of `/proc/<pid>/stat`: the start time in clock ticks since boot.
    public func startTicks(pid: Int32) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "\(proc)/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state), so field 22 is fields[19].
        guard fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }

    /// Field 3 of `/proc/<pid>/stat`: the state letter (`R`, `S`, `Z` zombie, `X` dead...).
    public func state(pid: Int32) -> Character? {
        guard let stat = try? String(contentsOfFile: "\(proc)/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ").first?.first
    }

    /// Whether the process that wrote `header` still runs (same PID **and** start time). A
    /// killed owner that its parent has not reaped yet (a zombie, or one still exiting) is dead:
    /// `chaos clean` right after `kill -9` must not take its run for a live one.
    public func ownerIsAlive(_ header: JournalHeader) -> Bool {
        guard Self.isAlive(pid: header.ownerPID) else { return false }
        if let state = state(pid: header.ownerPID), state == "Z" || state == "X" { return false }
        guard let recorded = header.ownerStartTicks, let now = startTicks(pid: header.ownerPID) else { return true }
        return recorded == now
    }

    /// PIDs whose cgroup (any v1 controller) lies under `hachaos/<run>/`, with that run id.
    public func processesInHarnessCgroups() -> [(pid: Int32, runID: RunID)] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: proc) else { return [] }
        var found: [(pid: Int32, runID: RunID)] = []
        for name in names {
            guard let pid = Int32(name), pid > 1,
                  let text = try? String(contentsOfFile: "\(proc)/\(name)/cgroup", encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") {
                // "7:freezer:/hachaos/a3f09c/host-1"
                guard let range = line.range(of: ":/hachaos/") else { continue }
                let rest = line[range.upperBound...]
                if let id = RunID(String(rest.prefix(6))), rest.dropFirst(6).first.map({ $0 == "/" }) ?? true {
                    found.append((pid, id))
                    break
                }
            }
        }
        return found
    }

    /// The whole text of a file, read until end of file: `String(contentsOfFile:)` stops after
    /// the first read of a `/proc` or cgroup file (size 0), about one page (4 KiB) of it.
    public static func readWholeFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { _ = Glibc.close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The PIDs listed in a cgroup's `cgroup.procs`.
    public static func pids(inCgroupProcs path: String) -> [Int32] {
        guard let text = readWholeFile(path) else { return [] }
        return text.split(whereSeparator: \.isNewline).compactMap { Int32($0) }
    }

    // MARK: - Mounts

    /// `(source, mountPoint)` of every line of ``mounts``, octal escapes (`\040`) decoded.
    public func mountTable() -> [(source: String, mountPoint: String)] {
        guard let text = Self.readWholeFile(mounts) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count >= 2 else { return nil }
            return (Self.unescapeMountField(fields[0]), Self.unescapeMountField(fields[1]))
        }
    }

    static func unescapeMountField(_ field: Substring) -> String {
        guard field.contains("\\") else { return String(field) }
        var bytes: [UInt8] = []
        var utf8 = Array(field.utf8)[...]
        while let byte = utf8.first {
            if byte == 0x5C, utf8.count >= 4, let value = UInt8(String(decoding: utf8.dropFirst().prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(value)
                utf8 = utf8.dropFirst(4)
            } else {
                bytes.append(byte)
                utf8 = utf8.dropFirst()
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: - Files

    /// Writes `contents` to an existing or new file without renaming (cgroup control files
    /// cannot be replaced atomically), then closes it.
    public static func writeFile(_ path: String, contents: String) throws(FileWriteError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileWriteError(path: path, message: String(cString: strerror(errno))) }
        defer { _ = close(fd) }
        let bytes = Array(contents.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw FileWriteError(path: path, message: String(cString: strerror(errno))) }
    }
}

/// A control or marker file could not be written.
public struct FileWriteError: Error, Hashable, Sendable, CustomStringConvertible {
    public var path: String
    public var message: String
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "cannot write \(path): \(message)" }
}
