import ChaosKit
import Foundation
import HACore
import Testing

/// The scenario corpus (faults/) on the simulator: every scenario passes, and every result.json
/// written for it is valid against the shared results contract (shared/tools/validate-result).
@Suite struct CorpusSimTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let validator = root.deletingLastPathComponent().appendingPathComponent("shared/tools/validate-result").path

    static func corpus() throws -> [Scenario] {
        try ScenarioLoader.load(paths: [root.appendingPathComponent("faults").path])
    }

    @Test(arguments: [UInt64(1), 7])
    func corpus_everyScenarioPassesOnTheSimulator(seed: UInt64) async throws {
        let scenarios = try Self.corpus()
        #expect(scenarios.count >= 29)
        for scenario in scenarios {
            let history = try await SimBackend().run(scenario, options: RunOptions(timeScale: 1, seed: seed))
            let checks = Checker.check(history, expectations: scenario.expectations)
            let bad = checks.filter { $0.passed != true }
            #expect(bad.isEmpty, "\(scenario.name) seed \(seed): \(bad.map { "\($0.id): \($0.observed)" }); replay: chaos run faults/ --seed \(seed)")
        }
    }

    @Test func corpus_atTimeScaleOneTenth_stillPasses() async throws {
        for scenario in try Self.corpus() {
            let history = try await SimBackend().run(scenario, options: RunOptions(timeScale: 0.1, seed: 3))
            let checks = Checker.check(history, expectations: scenario.expectations)
            #expect(CheckResult.verdict(of: checks) == .pass, "\(scenario.name) at scale 0.1: \(checks.filter { $0.passed != true }.map(\.id))")
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: validator), "shared/tools/validate-result not beside the repository"))
    func resultFiles_areValidAgainstTheSharedSchema() async throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("hac-results-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        for scenario in try Self.corpus() {
            let history = try await SimBackend().run(scenario, options: RunOptions(timeScale: 1, seed: 1))
            try RunWriter.write(history: history, checks: Checker.check(history, expectations: scenario.expectations), to: "\(out)/\(scenario.name)")
        }
        // A deliberately broken rule must produce a valid result.json with verdict fail, too.
        let broken = try #require(try Self.corpus().first { $0.name == "election-string-order" })
        let history = try await SimBackend().run(broken, options: RunOptions(timeScale: 1, seed: 1, bugs: [.numericHostIDs]))
        let checks = Checker.check(history, expectations: broken.expectations)
        #expect(CheckResult.verdict(of: checks) == .fail)
        try RunWriter.write(history: history, checks: checks, to: "\(out)/broken")

        // posix_spawn through the project's runner (Foundation.Process can crash on this toolchain).
        let result = try await ProcessCommandRunner().run(["python3", Self.validator, out], timeout: .seconds(120), input: nil)
        let output = result.stdout + result.stderr
        #expect(result.status == 0, "validate-result: \(output)")
        // Every corpus scenario plus the broken run.
        #expect(output.contains("\(try Self.corpus().count + 1) valid, 0 invalid"), "\(output)")
    }
}
