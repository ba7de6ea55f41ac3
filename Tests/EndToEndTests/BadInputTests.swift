import ChaosKit
import Foundation
import Testing

/// Bad input through the `chaos` binary, as a user meets it (issue 7 item 5): every broken
/// scenario of the fixture corpus gives `file:line:column: error: <sentence>` and exit 254,
/// and nothing starts — no run folder, no journal, no namespace.
@Suite struct BadInputTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let chaos = root + "/.build/debug/chaos"
    static let fixtures = root + "/Tests/ChaosKitTests/Fixtures/bad-scenarios"

    static var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: fixtures)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: chaos), "needs the built chaos binary"))
    func everyBrokenScenario_exits254WithItsPosition_andStartsNothing() async throws {
        #expect(Self.files.count >= 30)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("hac-bad-\(UUID().uuidString.prefix(8))").path
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("hac-bad-stderr-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer {
            try? FileManager.default.removeItem(atPath: out)
            try? FileManager.default.removeItem(atPath: scratch)
        }
        for name in Self.files {
            let path = Self.fixtures + "/" + name
            let firstLine = (try String(contentsOfFile: path, encoding: .utf8)).split(separator: "\n", omittingEmptySubsequences: false).first ?? ""
            // "# expect: <line>:<column>: <message part>"
            let expected = firstLine.hasPrefix("# expect: ") ? String(firstLine.dropFirst("# expect: ".count)) : ""
            let position = expected.split(separator: ":").prefix(2).joined(separator: ":")
            for command in [["validate", path], ["run", path, "--backend", "netns", "--out", out]] {
                let journalsBefore = Set(RunJournal.journalPaths(in: RunJournal.defaultDirectory))
                let stderrPath = "\(scratch)/stderr-\(name)-\(command[0])"
                let chaos = try ChildProcess.spawn(
                    executable: Self.chaos, argv: [Self.chaos] + command, environment: ProcessInfo.processInfo.environment, stderr: .appendFile(stderrPath)
                )
                let status = await chaos.wait(timeout: .seconds(30))
                let stderr = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
                // Other suites of this pass journal real runs, some with a dead owner on purpose;
                // a journal that `chaos` wrote names it as the owner.
                let foreign = Set(RunJournal.journalPaths(in: RunJournal.defaultDirectory)).subtracting(journalsBefore).filter {
                    (try? RunJournal.read(path: $0))?.header.ownerPID == chaos.pid
                }
                #expect(foreign.isEmpty, "\(name) \(command[0]): bad input journaled a run: \(foreign.sorted())")
                #expect(status == 254, "\(name) \(command[0]): status \(String(describing: status)): \(stderr.prefix(300))")
                #expect(stderr.contains("\(path):\(position): error:"), "\(name) \(command[0]): \(stderr.prefix(300))")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: out), "a run folder was created for bad input")
    }
}
