import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The per-run journal of everything the run creates on the machine (DESIGN §6): one JSON-lines
/// file, `<directory>/<runID>.jsonl`, appended and fsynced before each resource exists.
///
/// Line 1 is a ``JournalHeader`` (run id, owner PID and start time). Every later line is a
/// complete ``JournalEntry``; an entry changes state by appending it again with the same
/// `seq`, so a crash at any point leaves a readable file (a torn last line is skipped).
/// The ``Reaper`` reads journals of dead runs and undoes what they left.
public actor RunJournal {
    /// `/var/lib/hachaos/journal`.
    public static let defaultDirectory = "/var/lib/hachaos/journal"

    public nonisolated let runID: RunID
    /// The journal file.
    public nonisolated let path: String
    private var descriptor: Int32
    private var entries: [JournalEntry] = []

    /// Creates `<directory>/<runID>.jsonl` (it MUST NOT exist) and writes the header.
    ///
    /// - Parameters:
    ///   - ownerPID: the process whose death makes the run dead (default: this process).
    ///   - subnetIndex: the subnet the run claims (see ``SubnetClaim``; `nil`: none).
    public init(runID: RunID, directory: String = RunJournal.defaultDirectory, ownerPID: Int32 = getpid(), subnetIndex: Int? = nil) throws(JournalError) {
        self.runID = runID
        self.path = Self.path(for: runID, directory: directory)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw JournalError(code: .io, path: directory, message: "\(error)")
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let code: JournalError.Code = errno == EEXIST ? .exists : .io
            throw JournalError(code: code, path: path, message: String(cString: strerror(errno)))
        }
        descriptor = fd
        let header = JournalHeader(
            runID: runID, ownerPID: ownerPID, ownerStartTicks: SystemPaths.live.startTicks(pid: ownerPID),
            createdAt: Date().timeIntervalSince1970, subnetIndex: subnetIndex
        )
        try Self.appendLine(Self.encode(header), fd: fd, path: path)
        Self.syncDirectory(directory)
    }

    deinit {
        if descriptor >= 0 { _ = Glibc.close(descriptor) }
    }

    // MARK: - Recording

    /// Appends `resource` as `planned` and fsyncs: call it **before** creating the resource.
    ///
    /// - Returns: the entry's `seq`, for ``markCreated(_:)`` and ``markRemoved(_:)``.
    @discardableResult
    public func plan(_ resource: JournalResource) throws(JournalError) -> Int {
        let entry = JournalEntry(
            seq: entries.count + 1, kind: resource.kind, name: resource.name, undo: resource.undo, state: .planned, shared: resource.shared
        )
        try write([entry])
        entries.append(entry)
        return entry.seq
    }

    /// Appends every resource as `planned` in one write and one fsync: call it **before**
    /// creating any of them (a wave of resources created together).
    ///
    /// - Returns: the entries' `seq`s, in order.
    @discardableResult
    public func plan(_ resources: [JournalResource]) throws(JournalError) -> [Int] {
        let planned = resources.enumerated().map { offset, resource in
            JournalEntry(
                seq: entries.count + 1 + offset, kind: resource.kind, name: resource.name, undo: resource.undo, state: .planned, shared: resource.shared
            )
        }
        try write(planned)
        entries += planned
        return planned.map(\.seq)
    }

    /// Records that the resource of entry `seq` now exists.
    public func markCreated(_ seq: Int) throws(JournalError) { try setState(.created, seqs: [seq]) }

    /// Records that the resources of entries `seqs` now exist (one write, one fsync).
    public func markCreated(_ seqs: [Int]) throws(JournalError) { try setState(.created, seqs: seqs) }

    /// Records that the resource of entry `seq` is gone.
    public func markRemoved(_ seq: Int) throws(JournalError) { try setState(.removed, seqs: [seq]) }

    /// Records that the resources of entries `seqs` are gone (one write, one fsync).
    public func markRemoved(_ seqs: [Int]) throws(JournalError) { try setState(.removed, seqs: seqs) }

    /// Marks the latest not-removed entry of `kind` named `name` as removed.
    ///
    /// - Returns: whether there was such an entry.
    @discardableResult
    public func markRemoved(kind: JournalEntry.Kind, name: String) throws(JournalError) -> Bool {
        guard let entry = entries.last(where: { $0.kind == kind && $0.name == name && $0.state != .removed }) else { return false }
        try setState(.removed, seqs: [entry.seq])
        return true
    }

    /// Every entry in `seq` order, with its latest state.
    public var allEntries: [JournalEntry] { entries }

    /// Entries not yet removed.
    public var outstanding: [JournalEntry] { entries.filter { $0.state != .removed } }

    /// Closes the file; when every entry is removed, also deletes it (nothing left to reap).
    ///
    /// - Returns: whether the file was deleted.
    @discardableResult
    public func close(deleteIfClean: Bool = true) -> Bool {
        if descriptor >= 0 {
            _ = Glibc.close(descriptor)
            descriptor = -1
        }
        guard deleteIfClean else { return false }
        let onDisk = (try? Self.read(path: path))?.outstanding ?? outstanding
        guard onDisk.isEmpty else { return false }
        guard unlink(path) == 0 else { return false }
        Self.removeDirectoryIfEmpty((path as NSString).deletingLastPathComponent)
        return true
    }

    private func setState(_ state: JournalEntry.State, seqs: [Int]) throws(JournalError) {
        var changed: [JournalEntry] = []
        for seq in seqs {
            guard entries.indices.contains(seq - 1) else {
                throw JournalError(code: .unknownEntry, path: path, message: "no entry \(seq)")
            }
            var entry = entries[seq - 1]
            entry.state = state
            changed.append(entry)
        }
        try write(changed)
        for entry in changed { entries[entry.seq - 1] = entry }
    }

    /// One `write` of the entries' lines, then one `fsync` (nothing when there are none).
    private func write(_ entries: [JournalEntry]) throws(JournalError) {
        guard !entries.isEmpty else { return }
        guard descriptor >= 0 else { throw JournalError(code: .io, path: path, message: "journal closed") }
        try Self.appendLines(entries.map { Self.encode($0) }, fd: descriptor, path: path)
    }

    // MARK: - Files (also used by the reaper on other runs' journals)

    /// `<directory>/<runID>.jsonl`.
    public static func path(for runID: RunID, directory: String) -> String { "\(directory)/\(runID.rawValue).jsonl" }

    /// The journal files in `directory`, sorted by name.
    public static func journalPaths(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".jsonl") && RunID(String($0.dropLast(6))) != nil }.sorted().map { "\(directory)/\($0)" }
    }

    /// Reads a journal file, folding the lines of each `seq` into its latest state.
    public static func read(path: String) throws(JournalError) -> JournalContents {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw JournalError(code: .io, path: path, message: "\(error)")
        }
        var lines = text.split(separator: "\n")[...]
        guard let first = lines.popFirst(), let header = try? JSONDecoder().decode(JournalHeader.self, from: Data(first.utf8)) else {
            throw JournalError(code: .corrupt, path: path, message: "no header line")
        }
        var bySeq: [Int: JournalEntry] = [:]
        var unreadable = 0
        for line in lines {
            guard let entry = try? JSONDecoder().decode(JournalEntry.self, from: Data(line.utf8)) else {
                unreadable += 1
                continue
            }
            if var known = bySeq[entry.seq] {
                known.state = entry.state
                bySeq[entry.seq] = known
            } else {
                bySeq[entry.seq] = entry
            }
        }
        return JournalContents(path: path, header: header, entries: bySeq.keys.sorted().map { bySeq[$0]! }, unreadableLines: unreadable)
    }

    /// Appends one state change to a journal file owned by another (dead) run.
    public static func append(_ entry: JournalEntry, toFileAt path: String) throws(JournalError) {
        let fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else { throw JournalError(code: .io, path: path, message: String(cString: strerror(errno))) }
        defer { _ = Glibc.close(fd) }
        try appendLine(encode(entry), fd: fd, path: path)
    }

    /// Removes `directory` when no journal is left in it, and `/var/lib/hachaos` too when it
    /// was the default directory and nothing else is there (the machine as it was found).
    public static func removeDirectoryIfEmpty(_ directory: String) {
        guard rmdir(directory) == 0 else { return }
        if directory == defaultDirectory { _ = rmdir((defaultDirectory as NSString).deletingLastPathComponent) }
    }

    static func encode(_ value: some Encodable) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        // Encoding these plain structs cannot fail.
        return (try? encoder.encode(value)) ?? Data("{}".utf8)
    }

    /// One `write` of the line plus newline (O_APPEND keeps lines whole), then `fsync`.
    private static func appendLine(_ data: Data, fd: Int32, path: String) throws(JournalError) {
        try appendLines([data], fd: fd, path: path)
    }

    /// One `write` of the lines, each plus newline (O_APPEND keeps them whole), then `fsync`.
    private static func appendLines(_ lines: [Data], fd: Int32, path: String) throws(JournalError) {
        var bytes: [UInt8] = []
        for data in lines {
            bytes += data
            bytes.append(0x0A)
        }
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw JournalError(code: .io, path: path, message: "short write: \(String(cString: strerror(errno)))") }
        guard fsync(fd) == 0 else { throw JournalError(code: .io, path: path, message: "fsync: \(String(cString: strerror(errno)))") }
    }

    private static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        _ = Glibc.close(fd)
    }
}
