import ChaosKit
import CrashWriter
import Foundation
import HACore
import HASim
import HAWire

#if canImport(Glibc)
import Glibc
#endif

// MARK: - CrashCampaign

/// Starts `crash-writer` on one datastore root again and again, kills it with SIGKILL after a
/// seeded random delay, and checks every file after every kill (issue 7, item 3).
///
/// A rewritten file (heartbeat, poweron, protectedlist and its claims, disk lock) MUST exist once
/// written, parse, be byte-for-byte the canonical form of its value, and hold either the last
/// value the writer finished or the one it had announced (old or new). The journal MUST consist
/// of complete lines with `seq` 1, 2, 3, … and at most one unterminated tail that readers skip.
/// Anything else counts as a torn file, with a description in ``Figures/problems``.
struct CrashCampaign {
    typealias Content = CrashWriterContent

    /// What a campaign saw.
    struct Figures: CustomStringConvertible {
        /// Writer processes started and killed with SIGKILL.
        var kills = 0
        /// Kills that landed while a write was announced and not finished.
        var killsMidWrite = 0
        /// Files checked after kills (one per kind present, plus claims).
        var filesChecked = 0
        /// Files that did not parse or held neither the old nor the new content.
        var tornFiles = 0
        /// Distinct journal lines torn by a kill mid-append (allowed: an unterminated last line
        /// that readers skip; the next append starts a new line, so it stays one rejected line).
        var tornJournalTails = 0
        /// Writes the writers reported finished.
        var writesCompleted = 0
        /// What went wrong, for the failure message (at most 20 entries).
        var problems: [String] = []

        var description: String {
            "\(kills) kill -9 runs (\(killsMidWrite) mid-write), \(filesChecked) files checked, \(writesCompleted) writes completed, "
                + "torn files: \(tornFiles), torn journal tails: \(tornJournalTails)"
        }
    }

    let writer: String
    /// The datastore root the writer works on (holds `ds-1`).
    let root: String
    /// Report files of the writer generations.
    let reports: String
    var random: SeededGenerator
    var figures = Figures()
    /// The value each file held at the last check (absent: never written).
    private(set) var known: [Content.Kind: Content.Value] = [:]
    /// Journal tails seen torn at a check: later they are complete (rejected) lines.
    private var tornFragments: Set<[UInt8]> = []
    /// The journal's bytes checked so far (up to the end of its last complete line).
    private var journalChecked: UInt64 = 0
    /// The journal's complete records so far (their seq run 1…this).
    private var journalRecords: UInt64 = 0

    init(writer: String, directory: String, seed: UInt64) throws {
        self.writer = writer
        root = directory + "/volumes"
        reports = directory + "/reports"
        random = SeededGenerator(seed: seed)
        try FileManager.default.createDirectory(atPath: root + "/" + Content.datastore.rawValue, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: reports, withIntermediateDirectories: true)
    }

    var haDirectory: String { "\(root)/\(Content.datastore.rawValue)/\(DatastoreFiles.haDirectoryName)/\(Content.cluster)" }
    var vmDirectory: String { "\(root)/\(Content.datastore.rawValue)/\(Content.vm.rawValue)" }

    // MARK: - One run

    /// Starts a writer, kills it at a random point at most `maxDelay` after it announced its
    /// start, and checks the files.
    mutating func killOnce(maxDelay: Duration) async throws {
        let run = figures.kills
        let reportPath = "\(reports)/run-\(run).out"
        let child = try ChildProcess.spawn(
            executable: writer, argv: [writer, root], environment: ProcessInfo.processInfo.environment,
            stdout: .appendFile(reportPath), stderr: .appendFile(reportPath)
        )
        // Kill points are spread over the writer's recovery and its loop, not over the loading
        // of the executable: wait for its start line first (at most 10 s).
        for _ in 0..<10_000 {
            guard child.isRunning, !(FileManager.default.contents(atPath: reportPath)?.starts(with: Array("S ".utf8)) ?? false) else { break }
            try await Task.sleep(for: .milliseconds(1))
        }
        let delay = Duration.microseconds(Int64(random.next() % UInt64(maxDelay.microseconds + 1)))
        try await Task.sleep(for: delay)
        child.signal(SIGKILL)
        let status = await child.wait(timeout: .seconds(10))
        figures.kills += 1
        let text = (try? String(contentsOfFile: reportPath, encoding: .utf8)) ?? ""
        guard status == 128 + SIGKILL else {
            problem("run \(run): writer ended with status \(status.map(String.init) ?? "none (still running)") before the kill: "
                + String(text.suffix(300)))
            child.signal(SIGKILL)
            _ = await child.wait(timeout: .seconds(10))
            return
        }
        let report = Report(text)
        if !report.pending.isEmpty { figures.killsMidWrite += 1 }
        figures.writesCompleted += report.completed
        check(report, run: run)
        if figures.problems.isEmpty { try? FileManager.default.removeItem(atPath: reportPath) }
    }

    // MARK: - Checks

    /// The writer's announcements: the last finished and the unfinished value per kind.
    struct Report {
        var done: [Content.Kind: Content.Value] = [:]
        var pending: [Content.Kind: Content.Value] = [:]
        var completed = 0

        init(_ text: String) {
            // Only newline-terminated lines: a report line cut by the kill announces nothing.
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            lines.removeLast()
            for line in lines {
                let fields = line.split(separator: " ")
                guard fields.count >= 3, let kind = Content.Kind(rawValue: String(fields[1])),
                    let value = Content.Value(kind, Array(fields[2...]))
                else { continue }
                switch fields[0] {
                case "B": pending[kind] = value
                case "D":
                    done[kind] = value
                    pending[kind] = nil
                    completed += 1
                default: break
                }
            }
        }
    }

    private mutating func check(_ report: Report, run: Int) {
        for kind in [Content.Kind.heartbeat, .powerOn, .protectedList, .lock] {
            checkRewritten(kind, report, run: run)
        }
        checkClaims(run: run)
        checkJournal(report, run: run)
    }

    private func path(of kind: Content.Kind) -> String {
        switch kind {
        case .heartbeat: "\(haDirectory)/\(DatastoreFiles.heartbeatName(Content.host))"
        case .powerOn: "\(haDirectory)/\(DatastoreFiles.powerOnName(Content.host))"
        case .protectedList: "\(haDirectory)/\(DatastoreFiles.protectedListName)"
        case .lock: "\(vmDirectory)/\(DatastoreFiles.vmLockName)"
        case .journal: "\(vmDirectory)/\(DatastoreFiles.journalName)"
        }
    }

    /// The value a rewritten file holds, through the readers' parsers; nil when it does not parse.
    static func value(of kind: Content.Kind, in data: Data) -> Content.Value? {
        switch kind {
        case .heartbeat:
            guard let file = try? HeartbeatFile.parse(data), file.host == Content.host else { return nil }
            return .counter(file.counter)
        case .powerOn:
            guard let file = try? PowerOnFileFormat.parse(data), let first = file.poweredOn.first?.rawValue, first.hasPrefix("seq-"),
                let n = UInt64(first.dropFirst(4))
            else { return nil }
            return .counter(n)
        case .protectedList:
            guard let file = try? ProtectedListFile.parse(data) else { return nil }
            return .protectedList(owner: file.owner, epoch: file.epoch, renewedCounter: file.renewedCounter)
        case .lock:
            guard let file = try? DiskLockFile.parse(data), file.instance == Content.instance else { return nil }
            return .counter(file.counter)
        case .journal:
            return nil
        }
    }

    private mutating func checkRewritten(_ kind: Content.Kind, _ report: Report, run: Int) {
        let old = report.done[kind] ?? known[kind]
        let new = report.pending[kind]
        guard let data = FileManager.default.contents(atPath: path(of: kind)) else {
            if old != nil { torn(run, kind, "missing after it was written (old \(String(describing: old)))") }
            return
        }
        figures.filesChecked += 1
        guard let value = Self.value(of: kind, in: data) else {
            torn(run, kind, "does not parse: \(String(decoding: data.prefix(120), as: UTF8.self).debugDescription)")
            return
        }
        guard Content.bytes(of: kind, value) == Array(data) else {
            torn(run, kind, "is not the canonical content of \(value): \(String(decoding: data.prefix(200), as: UTF8.self).debugDescription)")
            return
        }
        guard value == old || value == new else {
            torn(run, kind, "holds \(value), neither the old \(String(describing: old)) nor the new \(String(describing: new))")
            return
        }
        known[kind] = value
    }

    /// Every `protectedlist.claim-<e>` is complete: this host's claim of epoch e.
    private mutating func checkClaims(run: Int) {
        let prefix = DatastoreFiles.protectedListClaimName(epoch: 0).dropLast()
        let names = (try? FileManager.default.contentsOfDirectory(atPath: haDirectory)) ?? []
        for name in names where name.hasPrefix(prefix) {
            figures.filesChecked += 1
            let data = FileManager.default.contents(atPath: "\(haDirectory)/\(name)") ?? Data()
            guard let epoch = UInt64(name.dropFirst(prefix.count)), let claim = try? ProtectedListFile.parse(data),
                claim.owner == Content.host, claim.epoch == epoch
            else {
                torn(run, .protectedList, "claim \(name) is not a complete claim: \(String(decoding: data.prefix(120), as: UTF8.self).debugDescription)")
                continue
            }
        }
    }

    /// Complete lines with seq 1…n (n the old or the new count), at most an unterminated tail.
    ///
    /// Incremental: bytes before ``journalChecked`` were checked after an earlier kill and no
    /// writer rewrites them (appends only), so only what was appended since is read.
    private mutating func checkJournal(_ report: Report, run: Int) {
        let old = report.done[.journal] ?? known[.journal]
        let new = report.pending[.journal]
        guard let handle = FileHandle(forReadingAtPath: path(of: .journal)) else {
            if old != nil { torn(run, .journal, "missing after it was written") }
            return
        }
        defer { try? handle.close() }
        figures.filesChecked += 1
        let size = (try? handle.seekToEnd()) ?? 0
        guard size >= journalChecked, (try? handle.seek(toOffset: journalChecked)) != nil else {
            torn(run, .journal, "shrank to \(size) bytes from \(journalChecked)")
            return
        }
        let appended = [UInt8]((try? handle.readToEnd()) ?? Data())
        let end = (appended.lastIndex(of: 0x0A) ?? -1) + 1
        var records = journalRecords
        var skipped = 0
        for line in appended[..<end].split(separator: 0x0A, omittingEmptySubsequences: false).dropLast() {
            guard let record = try? JournalRecord.parse(line: Data(line)) else {
                if tornFragments.contains(Array(line)) {
                    skipped += 1
                    continue
                }
                torn(run, .journal, "line after record \(records) is not a record: \(String(decoding: line.prefix(160), as: UTF8.self).debugDescription)")
                return
            }
            guard record.seq == records + 1 else {
                torn(run, .journal, "record \(records + 1) has seq \(record.seq)")
                return
            }
            records += 1
        }
        guard Content.Value.counter(records) == (old ?? .counter(0)) || Content.Value.counter(records) == new else {
            torn(run, .journal, "has \(records) records, neither the old \(String(describing: old)) nor the new \(String(describing: new))")
            return
        }
        let tail = Array(appended[end...])
        if !tail.isEmpty, !tornFragments.contains(tail) {
            tornFragments.insert(tail)
            figures.tornJournalTails += 1
        }
        // Readers skip the torn lines (earlier ones and the tail) and keep every complete record.
        let contents = JournalRecord.parseJournal(Data(appended))
        if UInt64(contents.records.count) != records - journalRecords || contents.rejectedLines != skipped + (tail.isEmpty ? 0 : 1) {
            torn(run, .journal, "readers do not skip the torn lines: \(contents.records.count) records, \(contents.rejectedLines) rejected")
        }
        journalChecked += UInt64(end)
        journalRecords = records
        known[.journal] = .counter(records)
    }

    private mutating func torn(_ run: Int, _ kind: Content.Kind, _ what: String) {
        figures.tornFiles += 1
        problem("run \(run): \(kind) \(what)")
    }

    private mutating func problem(_ text: String) {
        if figures.problems.count < 20 { figures.problems.append(text) }
    }

    /// Temporary files (`.<name>.tmp-<pid>`) left by killed writers in the HA and VM directories.
    func leftoverTemporaryFiles() -> [String] {
        [haDirectory, vmDirectory].flatMap { directory in
            ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix(".") && $0.contains(".tmp-") }
        }.sorted()
    }
}

extension Duration {
    /// Whole microseconds.
    var microseconds: Int64 { components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000 }
}
