@testable import ChaosKit
import HACore
import HATestKit
import Testing

/// Faults that change at one instant on real nodes, and what INV-I3 may conclude from a host
/// that dropped its isolation addresses (the netns flake of isolation-cancelled-by-election).
@Suite struct SameInstantFaultTests {
    /// The corpus scenario's faults: an isolation healed at 100 into a one-way cut with the
    /// isolation address dark, and a power-off and a process kill around it.
    private func scenario() -> Scenario {
        let steps = [
            FaultStep(at: 60, fault: .isolateHost("host-2", storageToo: false), healAt: 100),
            FaultStep(at: 98, fault: .powerOffHost("host-4"), healAt: 100),
            FaultStep(at: 100, fault: .dropIsolationAddress("host-2"), healAt: 200),
            FaultStep(at: 100, fault: .partitionOneWay(from: ["host-2"], to: ["host-1", "host-3"]), healAt: 200),
            FaultStep(at: 100, fault: .killAgent("host-3", staysDown: false)),
        ]
        let hosts = (1...4).map { HostConfig(id: HostID("host-\($0)"), datastores: ["ds-1"]) }
        return Scenario(name: "same-instant", cluster: ClusterConfig(hosts: hosts, vms: []), datastores: [DatastoreSpec(id: "ds-1", kind: .vmfs)], initialPlacement: [:],
                        steps: steps, duration: 300, expectations: [])
    }

    @Test func instant_putsRuleOnlyFaultsInPlaceBeforeHealingOthers_andHealsPowerFirst() {
        let instants = RealTimeline.instants(of: scenario(), scale: 0.2)
        #expect(instants.map(\.time) == [12, 19.6, 20, 40])
        // At 100: the power-on first (a new fault on that host needs it up), then the two new
        // rule-only faults, then the isolation's heal, then the kill.
        #expect(instants[2].actions == [.heal(1), .inject(2), .inject(3), .heal(0), .inject(4)])
    }

    @Test func isRuleOnly_onlyForFaultsThatAreTaggedRules() {
        #expect(RealTimeline.isRuleOnly(.isolateHost("host-1", storageToo: false)))
        #expect(!RealTimeline.isRuleOnly(.isolateHost("host-1", storageToo: true)))
        #expect(RealTimeline.isRuleOnly(.partition(groups: [["host-1"], ["host-2"]])))
        #expect(!RealTimeline.isRuleOnly(.unmountDatastore("ds-1", hosts: ["host-1"])))
        #expect(!RealTimeline.isRuleOnly(.powerOffHost("host-1")))
    }

    @Test func settleInstant_recordsTheNewRuleFaultFromTheOldOnesHeal() {
        let s = scenario()
        var records = [
            FaultRecord(fault: s.steps[0].fault, injectedAt: 12, healedAt: 20.0031),
            FaultRecord(fault: s.steps[2].fault, injectedAt: 20.0004),
            FaultRecord(fault: s.steps[3].fault, injectedAt: 20.0012),
            FaultRecord(fault: s.steps[4].fault, injectedAt: 20.0040),
        ]
        let index = [0: 0, 2: 1, 3: 2, 4: 3]
        RealTimeline.settleInstant([.inject(2), .inject(3), .heal(0), .inject(4)], steps: s.steps, records: &records, recordIndex: index)
        #expect(records.map(\.injectedAt) == [12, 20.0031, 20.0031, 20.0040])
    }

    // MARK: - INV-I3 (c): declarations judged only when the host had agent traffic to hear

    /// host-2 isolated from 60 to 100 (it elects itself and declares isolation at 89.6), master
    /// host-4 powered off at 98, then host-2's isolation address goes dark with a one-way cut
    /// from it. A ping answered at 100.1 clears its isolation; it declares again at 106.3. The
    /// others start their election at `othersElectAt`.
    private func droppedAddress(othersElectAt: Double) -> History {
        var b = HistoryBuilder(hosts: ["host-1", "host-2", "host-3", "host-4"], vms: [HistoryBuilder.vm("vm-1")],
                               isolationResponse: .powerOff)
        b.steadyRoles(master: "host-4")
        b.instance("vm-1", on: "host-2", from: 1)
        b.fault(.isolateHost("host-2", storageToo: false), at: 60, healed: 100)
        b.role("host-2", .election, at: 69.5)
        b.role("host-2", .master, at: 84.6)
        b.event("host-2", .isolationDeclared, at: 89.6)
        b.fault(.powerOffHost("host-4"), at: 98)
        b.fault(.dropIsolationAddress("host-2"), at: 100, healed: 200)
        b.fault(.partitionOneWay(from: ["host-2"], to: ["host-1", "host-3"]), at: 100, healed: 200)
        b.event("host-2", .isolationCleared(reason: "isolation address answered"), at: 100.1)
        b.event("host-2", .isolationDeclared, at: 106.3)
        for h: HostID in ["host-1", "host-3"] { b.role(h, .election, at: othersElectAt) }
        b.event("host-2", .isolationCleared(reason: "agent traffic from host-1"), at: max(othersElectAt, 106.4))
        return b.build()
    }

    private func i3(_ history: History) -> CheckResult {
        Checker.check(history, expectations: [.invariant("INV-I3")])[0]
    }

    @Test func i3_declarationWithNobodyBroadcasting_isNotJudged() {
        let result = i3(droppedAddress(othersElectAt: 107.6))
        #expect(result.passed == true)
        #expect(result.observed.contains("not judged"))
    }

    @Test func i3_declarationWhileOthersWereInElection_fails() {
        let result = i3(droppedAddress(othersElectAt: 100.5))
        #expect(result.passed == false)
        #expect(result.observed.contains("host-2 declared isolation at T+6.3"))
    }

    @Test func cutsTraffic_isDirectionAwareForOneWayCuts() {
        let cut = Fault.partitionOneWay(from: ["host-2"], to: ["host-1"])
        #expect(Invariants.cutsTraffic(cut, from: "host-2", to: "host-1"))
        #expect(!Invariants.cutsTraffic(cut, from: "host-1", to: "host-2"))
        #expect(Invariants.cutsTraffic(.isolateHost("host-1", storageToo: false), from: "host-1", to: "host-2"))
    }
}
