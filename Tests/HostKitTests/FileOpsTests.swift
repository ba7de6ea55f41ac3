import Foundation
import HACore
import HAWire
import HostKit
import Testing

/// `FileOps.appendLine` after a crash (issue 7, crash consistency).
@Suite struct FileOpsTests {
    static func temporaryFile() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hk-fileops-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory + "/journal"
    }

    /// A journal line as vm-workload writes it.
    static func line(_ seq: Int, instance: String) throws -> String {
        try JSONLines.encode(HostKit.JournalRecord(vm: "vm-01", instance: instance, host: "host-2", seq: seq, wall: 1_714_000_000 + Double(seq)))
    }

    @Test func appendLine_whenLastLineWasTornByAKill_keepsTheNewRecordOnItsOwnLine() throws {
        let path = try Self.temporaryFile()
        defer { try? FileManager.default.removeItem(atPath: FileOps.parent(of: path)) }
        try FileOps.appendLine(try Self.line(1, instance: "vm-01#1"), to: path, sync: false)
        // The killed instance got only part of its second line out.
        let torn = Array(try Self.line(2, instance: "vm-01#1").utf8.prefix(30))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: torn)
        try handle.close()

        // The next instance appends its first record.
        try FileOps.appendLine(try Self.line(1, instance: "vm-01#2"), to: path, sync: true)
        let journal = HAWire.JournalRecord.parseJournal(try #require(FileManager.default.contents(atPath: path)))
        #expect(journal.records.map { "\($0.instance)/\($0.seq)" } == ["vm-01#1/1", "vm-01#2/1"])
        #expect(journal.rejectedLines == 1, "the torn fragment is a line of its own, skipped by readers")
    }

    @Test func appendLine_whenFileEndsInNewlineOrIsNew_addsNoEmptyLines() throws {
        let path = try Self.temporaryFile()
        defer { try? FileManager.default.removeItem(atPath: FileOps.parent(of: path)) }
        for seq in 1...3 {
            try FileOps.appendLine(try Self.line(seq, instance: "vm-01#1"), to: path, sync: false)
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.split(separator: "\n", omittingEmptySubsequences: false).count == 4)
        #expect(!text.contains("\n\n"))
        #expect(text.hasPrefix("{"))
    }
}
