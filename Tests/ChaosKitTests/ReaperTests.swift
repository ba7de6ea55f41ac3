import ChaosKit
import Foundation
import HATestKit
import Testing

/// The PID of a process that has exited (a dead journal owner).
func deadPID() async throws -> Int32 {
    let child = try ChildProcess.spawn(executable: "/bin/true", argv: ["true"], environment: [:])
    #expect(await child.wait(timeout: .seconds(5)) == 0)
    return child.pid
}

@Suite struct ReaperTests {
    @Test func clean_withoutRunID_reapsDeadRunsAndSparesLiveOnes() async throws {
        let root = try scratchDirectory("reaper")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let system = try fakeSystem(root)
        let journals = "\(root)/journal"
        let dead = RunID("0badc0")!
        let deadJournal = try RunJournal(runID: dead, directory: journals, ownerPID: try await deadPID())
        let seq = try await deadJournal.plan(JournalResource(kind: .netns, name: "hac-0badc0-h1", undo: [["ip", "netns", "del", "hac-0badc0-h1"]]))
        try await deadJournal.markCreated(seq)
        try await deadJournal.plan(JournalResource(kind: .process, name: "hac-0badc0-host-1-node", undo: [["kill", "-9", "4242"]]))
        let liveJournal = try RunJournal(runID: goldenRun, directory: journals)
        try await liveJournal.plan(JournalResource(kind: .netns, name: "hac-a3f09c-h1", undo: [["ip", "netns", "del", "hac-a3f09c-h1"]]))

        // Leftovers no journal recorded, of the dead run and of a live one.
        try """
            hac-0badc0-mnt \(system.runtimeRoot)/0badc0/mnt tmpfs rw 0 0
            nsfs \(system.runtimeRoot)/0badc0/mnt/host-1 nsfs rw 0 0
            hac-a3f09c-mnt \(system.runtimeRoot)/a3f09c/mnt tmpfs rw 0 0
            nsfs /run/netns/hac-0badc0-h2 nsfs rw 0 0
            /dev/sda1 /home ext4 rw 0 0

            """.write(toFile: system.mounts, atomically: true, encoding: .utf8)
        let runner = RecordingCommandRunner.answering([
            (["ip", "netns", "list"], "hac-0badc0-h1 (id: 3)\nhac-0badc0-h2\nhac-a3f09c-h1\ncni-1234\n"),
            (["ip", "-br", "link"], "lo UNKNOWN\nhac0badc0br UP\nhac0badc0h2@if9 UP\nhaca3f09cbr UP\neth0 UP\n"),
        ])
        let report = await Reaper.clean(runID: nil, journalDir: journals, runner: runner, system: system)

        #expect(report.runs == [dead])
        #expect(report.liveRuns == [goldenRun])
        let argvs = runner.argvs
        #expect(argvs.contains(["ip", "netns", "del", "hac-0badc0-h1"]))
        #expect(argvs.contains(["ip", "netns", "del", "hac-0badc0-h2"]))
        #expect(argvs.contains(["ip", "link", "del", "hac0badc0br"]))
        #expect(argvs.contains(["ip", "link", "del", "hac0badc0h2"]))
        // Innermost mount first.
        let unmounts = argvs.filter { $0.starts(with: ["umount", "-l"]) }.map { $0[2] }
        #expect(unmounts == ["/run/netns/hac-0badc0-h2", "\(system.runtimeRoot)/0badc0/mnt/host-1", "\(system.runtimeRoot)/0badc0/mnt"])
        #expect(argvs.contains(["umount", "-l", "/run/netns/hac-0badc0-h2"]))
        #expect(argvs.contains(["ip", "netns", "pids", "hac-0badc0-h1"]))
        // Never the live run, never someone else's, never a journaled PID.
        #expect(!argvs.contains { $0.joined(separator: " ").contains("a3f09c") })
        #expect(!argvs.contains { $0.contains("cni-1234") || $0.contains("eth0") || $0.contains("/home") })
        #expect(!argvs.contains(["kill", "-9", "4242"]))
        #expect(report.journalsDeleted == ["\(journals)/0badc0.jsonl"])
        #expect(FileManager.default.fileExists(atPath: liveJournal.path))
    }

    @Test func clean_whenAnUndoFailsForRealReasons_keepsTheEntryForNextTime() async throws {
        let root = try scratchDirectory("reaper-fail")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let system = try fakeSystem(root)
        let journal = try RunJournal(runID: goldenRun, directory: "\(root)/j", ownerPID: try await deadPID())
        try await journal.plan(JournalResource(kind: .link, name: "haca3f09cbr", undo: [["ip", "link", "del", "haca3f09cbr"]]))
        try await journal.plan(JournalResource(kind: .netns, name: "hac-a3f09c-h1", undo: [["ip", "netns", "del", "hac-a3f09c-h1"]]))
        let runner = RecordingCommandRunner { argv, _ in
            switch argv {
            case ["ip", "link", "del", "haca3f09cbr"]: .success(CommandResult(status: 2, stderr: "RTNETLINK answers: Device or resource busy"))
            case ["ip", "netns", "del", "hac-a3f09c-h1"]: .success(CommandResult(status: 1, stderr: "Cannot remove namespace file \"/run/netns/hac-a3f09c-h1\": No such file or directory"))
            default: .success(CommandResult())
            }
        }
        let report = await Reaper.clean(runID: goldenRun, journalDir: "\(root)/j", runner: runner, system: system)
        #expect(report.failures.count == 1 && report.failures[0].contains("busy"))
        let left = try RunJournal.read(path: journal.path)
        #expect(left.outstanding.map(\.name) == ["haca3f09cbr"])
        #expect(report.journalsDeleted.isEmpty)
    }

    @Test func alreadyGoneMessages_areRecognised() {
        let gone = [
            "Cannot remove namespace file \"/run/netns/x\": No such file or directory",
            "Cannot find device \"haca3f09cbr\"", "umount: /run/hachaos/a3f09c/mnt: not mounted.",
            "iptables: Bad rule (does a matching rule exist in that chain?).", "Cannot open network namespace \"x\": No such file or directory",
            "kill: (1234) - No such process",
        ]
        for message in gone {
            #expect(CommandError(code: .nonZeroExit, argv: ["x"], status: 1, stderr: message).isAlreadyGone, "\(message)")
        }
        #expect(!CommandError(code: .nonZeroExit, argv: ["x"], status: 1, stderr: "Device or resource busy").isAlreadyGone)
        #expect(!CommandError(code: .timedOut, argv: ["x"], stderr: "No such file or directory").isAlreadyGone)
    }
}
