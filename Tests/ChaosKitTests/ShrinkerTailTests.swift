@testable import ChaosKit
import HACore
import Testing

/// The shrinker's "shorter run" step must not cut the quiet tail that an end-of-run liveness
/// expectation needs (a shrink of 33f46782 cut 882 s to 400 s, below HA's own retry schedule).
@Suite struct ShrinkerTailTests {
    /// One VM kill at t = 100; the run ends at 800 (a 700 s tail).
    static func scenario(liveness: Bool) -> Scenario {
        var scenario = ScheduleGenerator.scenario(seed: 3, options: .init(hosts: 4, vms: 4))
        scenario.steps = [FaultStep(at: 100, fault: .killVM("vm-01"))]
        scenario.duration = 800
        scenario.expectations = liveness ? [.vmRunning(vm: "vm-01", on: nil, notOn: nil, by: 800)] : []
        return scenario
    }

    @Test func endOfRunLiveness_keepsTheFinalQuietTail() async {
        // An oracle that "fails" for every candidate: the shrinker takes every cut it may.
        let result = await Shrinker.shrink(Self.scenario(liveness: true)) { _ in true }
        let last = result.scenario.steps.map { $0.healAt ?? $0.at }.max() ?? 0
        #expect(result.scenario.duration == last + Shrinker.minimumLivenessTail)
        #expect(result.scenario.expectations == [.vmRunning(vm: "vm-01", on: nil, notOn: nil, by: result.scenario.duration)])
    }

    @Test func withoutEndOfRunLiveness_theTailIsCutTo120Seconds() async {
        let result = await Shrinker.shrink(Self.scenario(liveness: false)) { _ in true }
        let last = result.scenario.steps.map { $0.healAt ?? $0.at }.max() ?? 0
        #expect(result.scenario.duration == last + 120)
    }
}
