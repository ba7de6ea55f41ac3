import ChaosKit
import Foundation
import HACore
import HATestKit
import Synchronization
import Testing

/// A fresh scratch directory under the system temp folder.
func scratchDirectory(_ label: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("hachaos-\(label)-\(UUID().uuidString.prefix(8))").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// System paths inside `root` (nothing of the machine is read or written).
func fakeSystem(_ root: String) throws -> SystemPaths {
    for dir in ["proc", "cgroup", "run"] { try FileManager.default.createDirectory(atPath: "\(root)/\(dir)", withIntermediateDirectories: true) }
    _ = FileManager.default.createFile(atPath: "\(root)/mounts", contents: Data())
    // Hermetic: live runs of a real `chaos` on this machine are not this test's business.
    return SystemPaths(proc: "\(root)/proc", mounts: "\(root)/mounts", cgroupRoot: "\(root)/cgroup", runtimeRoot: "\(root)/run/hachaos",
                       sharedJournalDirectory: "\(root)/shared-journal")
}

@Suite struct JournalTests {
    @Test func journal_appendsFsyncedLinesAndFoldsStatesBySeq() async throws {
        let dir = try scratchDirectory("journal")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let journal = try RunJournal(runID: goldenRun, directory: dir)
        let a = try await journal.plan(JournalResource(kind: .netns, name: "hac-a3f09c-h1", undo: [["ip", "netns", "del", "hac-a3f09c-h1"]]))
        let b = try await journal.plan(JournalResource(kind: .link, name: "haca3f09cbr", undo: [["ip", "link", "del", "haca3f09cbr"]]))
        try await journal.markCreated(a)
        try await journal.markRemoved(a)
        #expect((a, b) == (1, 2))

        let text = try String(contentsOfFile: journal.path, encoding: .utf8)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 5)
        #expect(lines[0].contains("\"runID\":\"a3f09c\"") && lines[0].contains("\"ownerPID\":\(getpid())"))
        #expect(lines[1].contains("\"state\":\"planned\"") && lines[1].contains("[[\"ip\",\"netns\",\"del\",\"hac-a3f09c-h1\"]]"))
        #expect(journal.path == "\(dir)/a3f09c.jsonl")

        let contents = try RunJournal.read(path: journal.path)
        #expect(contents.entries.map(\.state) == [.removed, .planned])
        #expect(contents.outstanding.map(\.name) == ["haca3f09cbr"])
        #expect(SystemPaths.live.ownerIsAlive(contents.header))
        // A second journal for the same run is refused.
        #expect(throws: JournalError.self) { try RunJournal(runID: goldenRun, directory: dir) }
        // Not clean: the file stays.
        #expect(await journal.close() == false)
        #expect(FileManager.default.fileExists(atPath: journal.path))
    }

    @Test func journal_batch_plansAndMarksAWaveInOneWriteEach() async throws {
        let dir = try scratchDirectory("journal-batch")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let journal = try RunJournal(runID: goldenRun, directory: dir)
        let first = try await journal.plan(JournalResource(kind: .link, name: "haca3f09cbr", undo: [["ip", "link", "del", "haca3f09cbr"]]))
        let wave = try await journal.plan((1...3).map { JournalResource(kind: .netns, name: "hac-a3f09c-h\($0)", undo: [["ip", "netns", "del", "hac-a3f09c-h\($0)"]]) })
        #expect(first == 1 && wave == [2, 3, 4])
        #expect(try await journal.plan([JournalResource]()).isEmpty)
        try await journal.markCreated([2, 4])
        try await journal.markRemoved([4])
        try await journal.markCreated([Int]())
        let lines = try String(contentsOfFile: journal.path, encoding: .utf8).split(separator: "\n")
        // Header, one plan, one wave of three plans, two created, one removed.
        #expect(lines.count == 8)
        let contents = try RunJournal.read(path: journal.path)
        #expect(contents.entries.map(\.state) == [.planned, .created, .planned, .removed])
        #expect(await journal.allEntries.map(\.state) == [.planned, .created, .planned, .removed])
        #expect(contents.outstanding.map(\.name) == ["haca3f09cbr", "hac-a3f09c-h1", "hac-a3f09c-h2"])
        await #expect(throws: JournalError.self) { try await journal.markCreated([9]) }
        _ = await journal.close(deleteIfClean: false)
    }

    @Test func read_whenTheLastLineIsTorn_keepsEverythingBeforeIt() async throws {
        let dir = try scratchDirectory("torn")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let journal = try RunJournal(runID: goldenRun, directory: dir)
        try await journal.plan(JournalResource(kind: .mount, name: "/run/hachaos/a3f09c/mnt", undo: [["umount", "-l", "/run/hachaos/a3f09c/mnt"]]))
        let handle = try #require(FileHandle(forWritingAtPath: journal.path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"seq\":2,\"kind\":\"ne".utf8))
        try handle.close()
        let contents = try RunJournal.read(path: journal.path)
        #expect(contents.entries.count == 1 && contents.unreadableLines == 1)
    }

    @Test func close_whenEverythingIsRemoved_deletesTheFile() async throws {
        let dir = try scratchDirectory("clean")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let journal = try RunJournal(runID: goldenRun, directory: dir)
        let seq = try await journal.plan(JournalResource(kind: .dir, name: "/x/a3f09c", undo: [["rmdir", "/x/a3f09c"]]))
        try await journal.markCreated(seq)
        try await journal.markRemoved(seq)
        #expect(await journal.close())
        #expect(!FileManager.default.fileExists(atPath: journal.path))
    }

    @Test func bringUp_whenTheThirdCommandFails_journalShowsPlannedEntriesAndTheReaperRemovesWhatWasCreated() async throws {
        let root = try scratchDirectory("ordering")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let system = try fakeSystem(root)
        let layout = try NetnsLayout(runID: goldenRun, hosts: [("host-1", ["ds-1"])], datastores: ["ds-1"], runDirectory: "\(root)/runs", system: system)
        let journal = try RunJournal(runID: goldenRun, directory: "\(root)/journal")

        // Before each command, look at the journal on disk: the entry it belongs to is already there.
        let seenBeforeCommand = Mutex<[[JournalEntry.State]]>([])
        let runner = RecordingCommandRunner { _, index in
            let states = (try? RunJournal.read(path: journal.path))?.entries.map(\.state) ?? []
            seenBeforeCommand.withLock { $0.append(states) }
            return index == 2 ? .success(CommandResult(status: 1, stderr: "mkdir: cannot create directory: Permission denied")) : .success(CommandResult())
        }
        let network = NetnsNetwork(layout: layout, journal: journal, runner: runner, journalDirectory: "\(root)/journal")
        await #expect(throws: NetnsError.self) { try await network.bringUp() }
        #expect(runner.argvs.count == 3)
        #expect(seenBeforeCommand.withLock { $0 } == [[.planned], [.created, .planned], [.created, .created, .planned]])
        let afterCrash = try RunJournal.read(path: journal.path)
        #expect(afterCrash.entries.map(\.state) == [.created, .created, .planned])
        #expect(afterCrash.entries.map(\.name) == ["\(root)/run/hachaos", "\(root)/run/hachaos/a3f09c", "/vmfs/volumes"])

        // The harness "dies"; the reaper undoes the three entries, newest first, planned included.
        let reaperRunner = RecordingCommandRunner()
        let report = await Reaper.clean(runID: goldenRun, journalDir: "\(root)/journal", runner: reaperRunner, system: system)
        let undo = reaperRunner.argvs.filter { $0[0] == "rmdir" }
        #expect(undo == [
            ["rmdir", "/vmfs/volumes"], ["rmdir", "/vmfs"],
            ["rmdir", "\(root)/run/hachaos/a3f09c/mnt"], ["rmdir", "\(root)/run/hachaos/a3f09c"],
            ["rmdir", "\(root)/run/hachaos"],
        ])
        #expect(report.isClean, "\(report.failures)")
        #expect(report.journalsDeleted == [journal.path])
        #expect(!FileManager.default.fileExists(atPath: journal.path))
    }
}

@Suite struct OwnerLivenessTests {
    /// `chaos clean` right after `kill -9` of `chaos`: the owner may still be a zombie (its parent
    /// has not reaped it). Its run is dead; the reaper must clean it now, not at the next run.
    @Test func killedButUnreapedOwner_isDead() async throws {
        // A parent that never reaps: the shell starts the owner in the background, writes its
        // PID, and becomes `sleep` (which never calls wait).
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("hac-owner-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: pidFile) }
        let parent = try ChildProcess.spawn(executable: "/bin/sh", argv: ["sh", "-c", "sleep 60 & echo $! > \(pidFile); exec sleep 60"], environment: [:])
        defer { parent.signal(SIGKILL) }
        var owner: Int32?
        for _ in 0..<500 where owner == nil {
            owner = (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if owner == nil { usleep(10_000) }
        }
        let pid = try #require(owner)
        let header = JournalHeader(runID: goldenRun, ownerPID: pid, ownerStartTicks: SystemPaths.live.startTicks(pid: pid), createdAt: 0)
        #expect(SystemPaths.live.ownerIsAlive(header))
        kill(pid, SIGKILL)
        var state = SystemPaths.live.state(pid: pid)
        for _ in 0..<200 where state != "Z" {
            usleep(10_000)
            state = SystemPaths.live.state(pid: pid)
        }
        #expect(state == "Z", "the killed owner stays a zombie: its parent never reaps it")
        #expect(!SystemPaths.live.ownerIsAlive(header))
        _ = await parent.wait(timeout: .seconds(1))
    }
}
