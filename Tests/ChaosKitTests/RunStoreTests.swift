@testable import ChaosKit
import Foundation
import HACore
import HATestKit
import HAWire
import Testing

/// The run store, `chaos report`'s comparison, split-brain descriptions and the live evidence tail.
/// A corpus scenario file by name.
private func corpusFile(_ name: String) -> String { CorpusSimTests.root.appendingPathComponent("faults/" + name).path }

@Suite struct RunStoreTests {
    static func temporaryRoot() throws -> String {
        let root = NSTemporaryDirectory() + "hachaos-runstore-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        return root
    }

    @Test func defaultDirectory_whenTakenInTheSameSecond_getsASuffix_andLatestFollows() throws {
        let root = try Self.temporaryRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let first = RunStore.defaultDirectory(scenarios: ["host-failure"], root: root)
        #expect(first.hasSuffix("-host-failure"))
        try FileManager.default.createDirectory(atPath: first, withIntermediateDirectories: true)
        let second = RunStore.defaultDirectory(scenarios: ["host-failure"], root: root)
        #expect(second != first)
        let batch = RunStore.defaultDirectory(scenarios: ["a", "b"], root: root)
        #expect(!batch.hasSuffix("-a") && !batch.hasSuffix("-b"))

        RunStore.pointLatest(at: first, root: root)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/latest") == URL(fileURLWithPath: first).lastPathComponent)
        try FileManager.default.createDirectory(atPath: second, withIntermediateDirectories: true)
        RunStore.pointLatest(at: second, root: root)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/latest") == URL(fileURLWithPath: second).lastPathComponent)
    }

    @Test func comparison_reportsVerdictAndPerCheckChanges_only() async throws {
        let scenario = try #require(try ScenarioLoader.load(paths: [corpusFile("host-failure.yaml")]).first)
        let history = try await SimBackend().run(scenario, options: RunOptions(timeScale: 0.1, seed: 3))
        let checks = Checker.check(history, expectations: scenario.expectations)
        let stored = ResultDocument(history: history, checks: checks)
        #expect(ReportComparison.differences(stored: stored, rechecked: ResultDocument(history: history, checks: checks)).isEmpty)

        var flipped = checks
        let index = try #require(flipped.firstIndex { $0.passed == true })
        flipped[index].passed = false
        let differences = ReportComparison.differences(stored: stored, rechecked: ResultDocument(history: history, checks: flipped))
        #expect(differences.contains { $0.hasPrefix("verdict: stored pass, re-checked fail") })
        #expect(differences.contains { $0.hasPrefix("\(checks[index].id): stored passed, re-checked failed") })
    }

    @Test func splitBrainWindow_onRow3_showsTheStaleInstanceEndingLostLock() async throws {
        let scenario = try #require(try ScenarioLoader.load(paths: [corpusFile("isolation-row-03.yaml")]).first)
        let history = try await SimBackend().run(scenario, options: RunOptions(timeScale: 0.1, seed: 1))
        let windows = SplitBrainWindow.of(history)
        let window = try #require(windows.first)
        #expect(window.staleEndReason == VMEndReason.lostLock.rawValue)
        #expect(window.staleHost != window.newHost)
        #expect(window.length > 0)
        // A run without a split-brain describes none.
        let clean = try #require(try ScenarioLoader.load(paths: [corpusFile("host-failure.yaml")]).first)
        let cleanHistory = try await SimBackend().run(clean, options: RunOptions(timeScale: 0.1, seed: 1))
        #expect(SplitBrainWindow.of(cleanHistory).isEmpty)
    }
}

/// The live evidence tail behind terminal progress: complete lines once each, partial lines later.
@Suite struct EvidenceTailTests {
    @Test func newEvents_returnsEachCompleteLineOnce_andKeepsAPartialLineForLater() throws {
        let dir = try RunStoreTests.temporaryRoot()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/events.jsonl"
        func line(_ kind: HAEvent.Kind, wall: Double) throws -> Data {
            Data(try EventLine(wall: wall, mono: wall, event: HAEvent(host: "host-1", at: .seconds(wall), kind: kind)).encodeLine())
        }
        let first = try line(.electionStarted, wall: 1001)
        let second = try line(.roleChanged(.master), wall: 1016)
        #expect(FileManager.default.createFile(atPath: file, contents: first + second.prefix(10)))
        let tail = EvidenceTail()
        let one = tail.newEvents(files: [file, dir + "/missing.jsonl"], startWall: 1000)
        #expect(one.map(\.event.kind) == [.electionStarted])
        #expect(one.first?.time == 1)
        #expect(tail.newEvents(files: [file], startWall: 1000).isEmpty)
        let handle = try #require(FileHandle(forWritingAtPath: file))
        try handle.seekToEnd()
        try handle.write(contentsOf: second.dropFirst(10) + Data("garbage\n".utf8))
        try handle.close()
        let two = tail.newEvents(files: [file], startWall: 1000)
        #expect(two.map(\.event.kind) == [.roleChanged(.master)])
    }
}
