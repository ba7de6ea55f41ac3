import ChaosKit
import Foundation
import HACore
import Testing

/// Shrunk scenarios of split-brain findings the simulator nightly made on the unmutated core,
/// replayed with their seeds: each must now run without a failed check. File names carry the
/// signature and the seed (`<signature>-seed<N>.yaml`).
/// - c62c88c7 (INV-SB1): a master thawed after 30 s declared every slave dead before it read
///   their heartbeats, and a VM thawed 5 s before its disk lease ran out waited for its next
///   renewal period, lost the lock to a restart elsewhere and ran twice. Fixed by the agent's
///   resume grace (FDMInstance+Tick `noteResumeGap`) and the simulator's renewal at thaw.
/// - 4f7afeb9 (INV-SB2): a lost-lock copy ended 5 s past the 60 s bound after an 80 s freeze;
///   either fix alone makes it pass.
/// - ddb0592b (OUT-vmRunning): the master host-99, cut off one way, rebooted during the election
///   that replaced it; the new master got the protectedlists only when the old leases lapsed,
///   15.0005 s after its election, and so never swept for the rebooted host's VMs (the sweep
///   was armed only within 15 s). Fixed: the first take of each protectedlist arms it.
///   Variant b (seed 20261125001192): the sweep waited for a host cut off one way (it answers
///   pings, so it stays unreachable) but gave up after 78 s, just before the host came back.
///   Fixed: the sweep waits until every host is known.
/// - 33f46782 (OUT-vmRunning): vm-03 was killed on a host with 55 % packet loss; the slave
///   reported the failure in one heartbeat, which was lost, and never again. Fixed: failures are
///   repeated until the master echoes them (`MasterHeartbeat.ackedFailedVMs`).
/// - ad0fcab2 (INV-E2, flaky 3/5): host-2 was isolated from 70 to 77 s, during the election after
///   host-4's hostd was killed, and won it at 77.011 s over host-4, whom it had not heard for over
///   5 s (the stale-candidate reading). The core was right; the checker judged the participants
///   by who could talk at the winning instant only. Fixed in the checker: an election with a
///   participant cut off from the winner within the last half host timeout is noted, not judged.
@Suite struct NightlyFindingTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/nightly-findings").path

    static func findings() throws -> [(file: String, seed: UInt64)] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".yaml") }.sorted().map { name in
            let seed = try #require(name.split(separator: "-seed").last.flatMap { UInt64($0.dropLast(5)) }, "no seed in \(name)")
            return ("\(directory)/\(name)", seed)
        }
    }

    @Test func everyRecordedFinding_replaysWithoutAFailedCheck() async throws {
        let findings = try Self.findings()
        #expect(findings.count == 6)
        for (file, seed) in findings {
            let scenario = try #require(try ScenarioLoader.load(paths: [file]).first)
            let history = try await SimBackend().run(scenario, options: RunOptions(timeScale: 1, seed: seed))
            let checks = Checker.check(history, expectations: scenario.expectations)
            let failed = checks.filter { $0.passed == false }
            #expect(failed.isEmpty, "\(file) seed \(seed): \(failed.map { "\($0.id): \($0.observed)" })")
            // The scenario still exercises what it found: split-brain checks that judged something.
            #expect(checks.contains { $0.id.hasPrefix("INV-SB1") && $0.passed == true }, "\(file): INV-SB1 saw nothing")
        }
    }

    /// The INV-E2 finding: the election host-2 won right after its isolation healed is noted as
    /// not judged, and the first election (no cut) is still judged and passes.
    @Test func staleCandidateElection_isNotedNotJudged() async throws {
        let file = "\(Self.directory)/ad0fcab2-seed2112.yaml"
        let scenario = try #require(try ScenarioLoader.load(paths: [file]).first)
        let history = try await SimBackend().run(scenario, options: RunOptions(timeScale: 1, seed: 2112))
        let e2 = try #require(Checker.check(history, expectations: [.invariant("INV-E2")]).first { $0.id == "INV-E2" })
        #expect(e2.passed == true, "\(e2.observed)")
        #expect(e2.observed.contains("host-4 won at model 15"), "\(e2.observed)")
        #expect(e2.observed.contains("election won by host-2") && e2.observed.contains("not judged"), "\(e2.observed)")
    }
}
