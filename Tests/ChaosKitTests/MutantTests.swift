import ChaosKit
import Foundation
import HACore
import Testing

/// Flip one rule of the core on purpose and show the checker catches it (issue 2, "must show"):
/// each mutant must make a named invariant of a corpus scenario fail, while the unmutated core passes.
@Suite struct MutantTests {
    static let faults = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("faults")

    static func run(_ file: String, bugs: Set<FDM.Bug>) async throws -> [CheckResult] {
        let scenario = try #require(try ScenarioLoader.load(paths: [faults.appendingPathComponent(file).path]).first)
        let history = try await SimBackend().run(scenario, options: RunOptions(timeScale: 1, seed: 1, bugs: bugs))
        return Checker.check(history, expectations: scenario.expectations)
    }

    static let cases: [(FDM.Bug, String, String)] = [
        (.numericHostIDs, "election-string-order.yaml", "INV-E2"),
        (.noOwnershipCheck, "management-network-outage.yaml", "INV-I11"),
        (.isolatedMasterKeepsLocks, "isolated-master.yaml", "INV-I2"),
        (.ignoreDatastoreHeartbeats, "partition-2-2.yaml", "INV-P1"),
        (.ignoreRestartPriority, "restart-priority.yaml", "INV-R2"),
        (.shortRetrySchedule, "restart-retries.yaml", "INV-R3"),
        (.shutdownNeverForced, "isolation-row-11.yaml", "INV-I8"),
        (.earlyDeadDeclaration, "host-failure.yaml", "INV-FS1"),
        (.noIsolationPolicyDelay, "isolation-row-05.yaml", "INV-I1"),
        (.noAbdication, "partition-2-2.yaml", "INV-E5"),
    ]

    @Test(arguments: cases.indices)
    func mutant_isCaughtByTheChecker(index: Int) async throws {
        let (bug, file, invariant) = Self.cases[index]
        let clean = try await Self.run(file, bugs: [])
        #expect(CheckResult.verdict(of: clean) == .pass, "unmutated \(file) must pass: \(clean.filter { $0.passed != true })")
        let mutated = try await Self.run(file, bugs: [bug])
        let caught = mutated.first { $0.id == invariant }
        #expect(caught?.passed == false, "mutant \(bug) must fail \(invariant) on \(file); replay: chaos run faults/\(file) --bug \(bug)")
    }
}
