import ChaosKit
import HACore
import HATestKit
import Testing

// MARK: - Helpers

/// Runs one invariant and returns its result.
private func check(_ history: History, _ id: String) -> CheckResult {
    let results = Checker.check(history, expectations: [.invariant(id)])
    guard let result = results.first(where: { $0.id == id }) else {
        Issue.record("no result for \(id) in \(results.map(\.id))")
        return CheckResult(id: id, name: id, passed: nil, expected: "", observed: "missing")
    }
    return result
}

/// Runs one outcome expectation and returns its result.
private func outcome(_ history: History, _ expectation: ChaosKit.Expectation) -> CheckResult {
    let results = Checker.check(history, expectations: [expectation])
    return results[0]
}

/// A slave (host-3) powered off at model 20 s: master host-1 declares it dead `deadAfter`
/// seconds later and restarts vm-1 on host-2 `restartAfter` seconds after the power-off.
private func failedSlave(
    deadAfter: Double?, restartAfter: Double?, heartbeatPolicy: HeartbeatDatastorePolicy = .allFeasible, scale: Double = 1
) -> History {
    var b = HistoryBuilder(vms: [HistoryBuilder.vm("vm-1"), HistoryBuilder.vm("vm-2", priority: .high)],
                           heartbeatPolicy: heartbeatPolicy, timeScale: scale)
    b.steadyRoles(master: "host-1")
    b.instance("vm-1", on: "host-3", from: 1, to: 20, reason: .hostFailed)
    b.instance("vm-2", on: "host-2", from: 1)
    b.fault(.powerOffHost("host-3"), at: 20)
    b.event("host-1", .datastoreHeartbeatMonitoringStarted(host: "host-3", lastHeard: b.instant(19.6)), at: 23)
    b.hostState("host-1", "host-3", .unreachable, at: 30)
    if let deadAfter { b.hostState("host-1", "host-3", .dead, at: 20 + deadAfter) }
    if let restartAfter {
        b.restart("host-1", "vm-1", to: "host-2", at: 20 + restartAfter)
        b.event("host-1", .restartSucceeded(vm: "vm-1", target: "host-2", attempt: 1), at: 20 + restartAfter + 0.5)
        b.instance("vm-1", on: "host-2", from: 20 + restartAfter + 0.5, byHA: true)
    }
    b.protectedListLock("ds-1", holder: "host-1", from: 0.5)
    return b.build()
}

/// host-2 (a slave) or host-1 (the master) isolated at model 20 s, never healed within `heal`.
private func isolation(
    host: HostID = "host-2", response: IsolationResponse = .powerOff, profile: Profile = .v51,
    storageToo: Bool = false, heal: Double? = 300, datastoreKind: DatastoreSpec.Kind = .vmfs
) -> HistoryBuilder {
    var b = HistoryBuilder(datastores: [DatastoreSpec(id: "ds-1", kind: datastoreKind), DatastoreSpec(id: "ds-2", kind: .vmfs)],
                           vms: [HistoryBuilder.vm("vm-1")], isolationResponse: response, profile: profile)
    b.steadyRoles(master: "host-1")
    b.fault(.isolateHost(host, storageToo: storageToo), at: 20, healed: heal)
    return b
}

/// Master host-1 powered off at 20; host-3 (greatest id among equals) wins at T25.
private func failedMaster(restartAfter: Double, electionAfter: Double = 10.2) -> History {
    var b = HistoryBuilder(vms: [HistoryBuilder.vm("vm-1")])
    b.steadyRoles(master: "host-1")
    b.instance("vm-1", on: "host-1", from: 1, to: 20, reason: .hostFailed)
    b.fault(.powerOffHost("host-1"), at: 20)
    b.event("host-2", .electionStarted, at: 20 + electionAfter)
    b.role("host-2", .election, at: 20 + electionAfter)
    b.role("host-3", .election, at: 20 + electionAfter + 0.1)
    b.event("host-3", .electionWon(datastores: 2), at: 45)
    b.role("host-3", .master, at: 45)
    b.role("host-2", .slave, at: 45.1)
    b.restart("host-3", "vm-1", to: "host-2", at: 20 + restartAfter)
    return b.build()
}

/// Checker tests: small hand-built histories, one behaviour each (oracle §11).
@Suite struct CheckerTests {
    // MARK: - Checker plumbing

    @Test func checker_whenExpectationsRepeat_runsEachOnceThenAlwaysOn() {
        let history = failedSlave(deadAfter: 18.1, restartAfter: 19)
        let results = Checker.check(history, expectations: [
            .invariant("INV-FS1"), .master("host-1", at: 10), .invariant("INV-E1"), .invariant("INV-FS1"),
        ])
        #expect(results.map(\.id) == ["INV-FS1", "INV-E1", "OUT-master-host-1", "INV-SB1", "INV-P2"])
    }

    @Test func checker_whenInvariantUnknown_isInconclusiveNotImplemented() {
        let result = check(failedSlave(deadAfter: 18, restartAfter: 19), "INV-NOPE")
        #expect(result.passed == nil)
        #expect(result.observed == "not implemented")
    }

    @Test func checker_everyCatalogueIdIsImplemented() {
        let history = failedSlave(deadAfter: 18, restartAfter: 19)
        for id in Checker.implemented {
            #expect(check(history, id).observed != "not implemented", "\(id)")
        }
    }

    @Test func checker_whenHistoryEmpty_alwaysOnChecksAreInconclusive() {
        let history = HistoryBuilder().build()
        let results = Checker.check(history, expectations: [])
        #expect(results.map(\.id) == Checker.alwaysOn)
        #expect(results.allSatisfy { $0.passed == nil })
        #expect(CheckResult.verdict(of: results) == .inconclusive)
    }

    @Test func verdict_whenAnyCheckInconclusive_isInconclusive() {
        let history = failedSlave(deadAfter: 18.1, restartAfter: 19)
        let passing = Checker.check(history, expectations: [.invariant("INV-FS1")])
        #expect(passing.allSatisfy { $0.passed == true }, "\(passing)")
        #expect(CheckResult.verdict(of: passing) == .pass)
        let withE6 = Checker.check(history, expectations: [.invariant("INV-FS1"), .invariant("INV-E6")])
        #expect(withE6.first { $0.id == "INV-E6" }?.observed.contains("packet capture") == true)
        #expect(CheckResult.verdict(of: withE6) == .inconclusive)
    }

    // MARK: - Failed slave / master

    @Test func fs1_whenDeadAtT18_1AndRestartAtT19_passes() {
        let result = check(failedSlave(deadAfter: 18.1, restartAfter: 19), "INV-FS1")
        #expect(result.passed == true, "\(result.observed)")
        #expect(result.observed.contains("T+18.1"))
        #expect(result.expected.contains("[T17, T20]"))
    }

    @Test func fs1_whenDeadAtT12_failsNamingTheTime() {
        let result = check(failedSlave(deadAfter: 12, restartAfter: 19), "INV-FS1")
        #expect(result.passed == false)
        #expect(result.observed.contains("declared dead by host-1 at T+12 (model 32 s)"), "\(result.observed)")
        #expect(result.at == 32)
    }

    @Test func fs1_whenNeverDeclaredDead_fails() {
        let result = check(failedSlave(deadAfter: nil, restartAfter: 19), "INV-FS1")
        #expect(result.passed == false)
        #expect(result.observed.contains("never declared dead"))
        #expect(result.observed.contains("unreachable by host-1 at T+10"))
    }

    @Test func fs1_whenRestartLate_fails() {
        let result = check(failedSlave(deadAfter: 18, restartAfter: 50), "INV-FS1")
        #expect(result.passed == false)
        #expect(result.observed.contains("after T48"))
    }

    @Test func fs1_whenNoPowerOff_isInconclusive() {
        var b = HistoryBuilder()
        b.steadyRoles(master: "host-1")
        let result = check(b.build(), "INV-FS1")
        #expect(result.passed == nil)
        #expect(result.observed.contains("no power-off of a slave with heartbeat datastores in this run"))
    }

    @Test func fs1_atTimeScaleOneTenth_comparesModelSeconds() {
        let history = failedSlave(deadAfter: 18.1, restartAfter: 19, scale: 0.1)
        #expect(history.faults[0].injectedAt == 2)
        let result = check(history, "INV-FS1")
        #expect(result.passed == true, "\(result.observed)")
        #expect(result.observed.contains("T+18.1 (model 38.1 s)"))
    }

    @Test func fs2_withoutHeartbeatDatastores_judgesT15AndLeavesFS1Inconclusive() {
        let good = failedSlave(deadAfter: 15.5, restartAfter: 16, heartbeatPolicy: .userSelected([]))
        #expect(check(good, "INV-FS2").passed == true)
        #expect(check(good, "INV-FS1").passed == nil)
        let early = failedSlave(deadAfter: 13.5, restartAfter: 16, heartbeatPolicy: .userSelected([]))
        #expect(check(early, "INV-FS2").passed == false)
    }

    @Test func fs3_whenRestartBeforeT15_fails() {
        let late = check(failedSlave(deadAfter: 18, restartAfter: 19), "INV-FS3")
        #expect(late.passed == true)
        let early = check(failedSlave(deadAfter: 18, restartAfter: 10), "INV-FS3")
        #expect(early.passed == false)
        #expect(early.observed.contains("T+10"))
    }

    @Test func fm1_whenTimelineNominal_passes() {
        let result = check(failedMaster(restartAfter: 35.2), "INV-FM1")
        #expect(result.passed == true, "\(result.observed)")
        #expect(check(failedMaster(restartAfter: 35.2), "INV-E3").passed == true)
        #expect(check(failedMaster(restartAfter: 35.2), "INV-E2").passed == true)
    }

    @Test func fm1_whenRestartBeforeT25_fails() {
        let result = check(failedMaster(restartAfter: 22), "INV-FM1")
        #expect(result.passed == false)
        #expect(result.observed.contains("before T25"))
    }

    @Test func fm1_whenElectionStartsLate_fails() {
        let result = check(failedMaster(restartAfter: 35, electionAfter: 14), "INV-FM1")
        #expect(result.passed == false)
        #expect(result.observed.contains("election started by host-2 at T+14"))
    }

    // MARK: - Election

    @Test func e2_whenTied_stringOrderPicksHost99OverHost100() {
        func history(winner: HostID) -> History {
            var b = HistoryBuilder(hosts: ["host-100", "host-99"])
            b.role("host-100", .election, at: 1)
            b.role("host-99", .election, at: 1)
            b.role(winner, .master, at: 16)
            b.role(winner == "host-99" ? "host-100" : "host-99", .slave, at: 16.1)
            return b.build()
        }
        #expect(check(history(winner: "host-99"), "INV-E2").passed == true)
        let wrong = check(history(winner: "host-100"), "INV-E2")
        #expect(wrong.passed == false)
        #expect(wrong.observed.contains("host-99 ties"))
    }

    @Test func e2_whenWinnerHasFewerDatastores_fails() {
        var b = HistoryBuilder(hosts: ["host-1", "host-2"], mounts: ["host-1": ["ds-1", "ds-2"], "host-2": ["ds-1"]])
        b.role("host-1", .election, at: 1)
        b.role("host-2", .election, at: 1)
        b.role("host-2", .master, at: 16)
        let result = check(b.build(), "INV-E2")
        #expect(result.passed == false)
        #expect(result.observed.contains("host-2 won"))
    }

    @Test func e1_whenTwoConnectedMasters_fails() {
        var b = HistoryBuilder()
        b.steadyRoles(master: "host-1")
        b.role("host-2", .master, at: 100)
        b.role("host-2", .slave, at: 110)
        let result = check(b.build(), "INV-E1")
        #expect(result.passed == false)
        #expect(result.observed.contains("host-1 and host-2 were master at once"))
        #expect(result.at == 100)
    }

    @Test func e1_whenMastersInSeparatePartitions_passes() {
        var b = HistoryBuilder()
        b.steadyRoles(master: "host-1")
        b.fault(.partition(groups: [["host-1"], ["host-2", "host-3"]]), at: 20, healed: 100)
        b.role("host-2", .election, at: 30)
        b.role("host-3", .election, at: 30)
        b.role("host-3", .master, at: 45)
        b.role("host-3", .slave, at: 108)   // abdicates within the merge grace
        let history = b.build()
        #expect(check(history, "INV-E1").passed == true)
        #expect(check(history, "INV-E5").passed == true)
    }

    @Test func e1_whenNoMasterInSteadyState_fails() {
        var b = HistoryBuilder()
        b.steadyRoles(master: "host-1")
        b.role("host-1", .slave, at: 200)
        let result = check(b.build(), "INV-E1")
        #expect(result.passed == false)
        #expect(result.observed.contains("no master in steady state"))
    }

    @Test func e5_whenSecondMasterKeepsRoleAfterHeal_fails() {
        var b = HistoryBuilder()
        b.steadyRoles(master: "host-1")
        b.fault(.partition(groups: [["host-1"], ["host-2", "host-3"]]), at: 20, healed: 100)
        b.role("host-3", .master, at: 45)
        let result = check(b.build(), "INV-E5")
        #expect(result.passed == false)
        #expect(check(b.build(), "INV-E1").passed == false)
    }

    @Test func e4_whenSlaveIssuesRestart_fails() {
        var b = HistoryBuilder(vms: [HistoryBuilder.vm("vm-1")])
        b.steadyRoles(master: "host-1")
        b.restart("host-2", "vm-1", to: "host-3", at: 50)
        let result = check(b.build(), "INV-E4")
        #expect(result.passed == false)
        #expect(result.observed.contains("while its role was slave"))
    }

    // MARK: - Isolation

    @Test func i1_on50_responseAtT30_passes() {
        var b = isolation(profile: .v50)
        b.instance("vm-1", on: "host-2", from: 1, to: 50.6, reason: .isolationResponse)
        b.event("host-2", .isolationDeclared, at: 48)
        b.event("host-2", .isolationResponseApplied(vm: "vm-1", response: .powerOff, markerWritten: true), at: 50.5)
        let result = check(b.build(), "INV-I1")
        #expect(result.passed == true, "\(result.observed)")
        #expect(result.expected.contains("T30 ±2 (5.0, D=0 s)"))
    }

    @Test func i1_on51_responseAtT60_passesAndAtT30_fails() {
        var good = isolation(profile: .v51)
        good.instance("vm-1", on: "host-2", from: 1, to: 80.6, reason: .isolationResponse)
        good.event("host-2", .isolationDeclared, at: 50)
        good.event("host-2", .isolationResponseApplied(vm: "vm-1", response: .powerOff, markerWritten: true), at: 80.5)
        let passed = check(good.build(), "INV-I1")
        #expect(passed.passed == true, "\(passed.observed)")
        #expect(passed.expected.contains("T60 ±2 (5.1, D=30 s)"))

        var early = isolation(profile: .v51)
        early.instance("vm-1", on: "host-2", from: 1, to: 50.6, reason: .isolationResponse)
        early.event("host-2", .isolationDeclared, at: 50)
        early.event("host-2", .isolationResponseApplied(vm: "vm-1", response: .powerOff, markerWritten: true), at: 50.5)
        let failed = check(early.build(), "INV-I1")
        #expect(failed.passed == false)
        #expect(failed.observed.contains("before T58"))
    }

    @Test func i1_whenNeverDeclared_fails() {
        var b = isolation(profile: .v51)
        b.instance("vm-1", on: "host-2", from: 1)
        let result = check(b.build(), "INV-I1")
        #expect(result.passed == false)
        #expect(result.observed.contains("never declared itself isolated"))
    }

    @Test func i2_isolatedMaster_declaresAtT5_respondsAtT35_releasesLocks() {
        func history(lockUntil: Double) -> History {
            var b = isolation(host: "host-1")
            b.instance("vm-1", on: "host-1", from: 1, to: 55.3, reason: .isolationResponse)
            b.protectedListLock("ds-1", holder: "host-1", from: 0.5, to: lockUntil)
            b.protectedListLock("ds-1", holder: "host-3", from: max(lockUntil, 45))
            b.event("host-1", .isolationDeclared, at: 25)
            b.event("host-1", .isolationResponseApplied(vm: "vm-1", response: .powerOff, markerWritten: true), at: 55.2)
            return b.build()
        }
        let good = check(history(lockUntil: 25.5), "INV-I2")
        #expect(good.passed == true, "\(good.observed)")
        let held = check(history(lockUntil: 60), "INV-I2")
        #expect(held.passed == false)
        #expect(held.observed.contains("held the protectedlist lock of ds-1"))
    }

    @Test func i4_leavePoweredOn_vmStoppedByIsolation_fails() {
        var bad = isolation(response: .leavePoweredOn)
        bad.instance("vm-1", on: "host-2", from: 1, to: 80, reason: .isolationResponse)
        let failed = check(bad.build(), "INV-I4")
        #expect(failed.passed == false)
        #expect(failed.observed.contains("vm-1 on host-2 was stopped by the isolation response at T+60"))

        var good = isolation(response: .leavePoweredOn)
        good.instance("vm-1", on: "host-2", from: 1)
        #expect(check(good.build(), "INV-I4").passed == true)

        var short = isolation(response: .leavePoweredOn, heal: 40)
        short.instance("vm-1", on: "host-2", from: 1)
        #expect(check(short.build(), "INV-I4").passed == nil)
    }

    @Test func i5_powerOffOnlyWhileAnotherMasterOwnsDatastore() {
        func history(owner: DatastoreID) -> History {
            var b = isolation(response: .powerOff)
            b.instance("vm-1", on: "host-2", from: 1, to: 80.6, reason: .isolationResponse)
            b.protectedListLock(owner, holder: "host-1", from: 0.5)
            b.event("host-2", .isolationDeclared, at: 50)
            b.event("host-2", .isolationResponseApplied(vm: "vm-1", response: .powerOff, markerWritten: true), at: 80.5)
            return b.build()
        }
        let owned = check(history(owner: "ds-1"), "INV-I5")
        #expect(owned.passed == true, "\(owned.observed)")
        let unowned = check(history(owner: "ds-2"), "INV-I5")
        #expect(unowned.passed == false)
        #expect(unowned.observed.contains("no other master held ds-1"))
    }

    @Test func i5_deferralWithoutOwner_passes() {
        var b = HistoryBuilder(vms: [HistoryBuilder.vm("vm-1")], isolationResponse: .powerOff)
        b.steadyRoles(master: "host-1")
        b.fault(.managementNetworkOutage, at: 20, healed: 200)
        b.instance("vm-1", on: "host-2", from: 1)
        b.protectedListLock("ds-1", holder: "host-1", from: 0.5, to: 25)
        b.event("host-2", .isolationResponseDeferred(vm: "vm-1"), at: 80.2)
        let result = check(b.build(), "INV-I5")
        #expect(result.passed == true, "\(result.observed)")
    }

    @Test func i11_outage_noPowerOffPasses_powerOffFails() {
        func history(stopped: Bool) -> History {
            var b = HistoryBuilder(vms: [HistoryBuilder.vm("vm-1")], isolationResponse: .powerOff)
            b.steadyRoles(master: "host-1")
            b.fault(.managementNetworkOutage, at: 20, healed: 150)
            if stopped {
                b.instance("vm-1", on: "host-2", from: 1, to: 80.6, reason: .isolationResponse)
                b.event("host-2", .isolationResponseApplied(vm: "vm-1", response: .powerOff, markerWritten: true), at: 80.5)
            } else {
                b.instance("vm-1", on: "host-2", from: 1)
                b.event("host-2", .isolationResponseDeferred(vm: "vm-1"), at: 80.5)
            }
            return b.build()
        }
        let good = check(history(stopped: false), "INV-I11")
        #expect(good.passed == true, "\(good.observed)")
        #expect(good.observed.contains("1 deferral"))
        let bad = check(history(stopped: true), "INV-I11")
        #expect(bad.passed == false)
        #expect(bad.observed.contains("during the outage"))
    }

    @Test func i11_withoutOutage_isInconclusive() {
        let result = check(failedSlave(deadAfter: 18, restartAfter: 19), "INV-I11")
        #expect(result.passed == nil)
        #expect(result.observed.contains("no management network outage in this run"))
    }

    // MARK: - Split-brain

    @Test func sb1_duplicateWithoutStorageLoss_fails_withIsolatedIPStorage_passes() {
        func history(storageToo: Bool) -> History {
            var b = isolation(response: .leavePoweredOn, storageToo: storageToo, heal: nil, datastoreKind: .nfs)
            b.instance("vm-1", on: "host-2", from: 1, id: "vm-1#a")
            b.instance("vm-1", on: "host-3", from: 60, byHA: true, id: "vm-1#b")
            b.diskLock("vm-1", instance: "vm-1#a", on: "host-2", from: 1, to: 55)
            b.diskLock("vm-1", instance: "vm-1#b", on: "host-3", from: 60)
            return b.build()
        }
        let unexplained = check(history(storageToo: false), "INV-SB1")
        #expect(unexplained.passed == false)
        #expect(unexplained.observed.contains("never lost access"))
        let explained = check(history(storageToo: true), "INV-SB1")
        #expect(explained.passed == true, "\(explained.observed)")
    }

    @Test func sb1_whenDiskLocksOverlap_fails() {
        var b = HistoryBuilder(vms: [HistoryBuilder.vm("vm-1")])
        b.instance("vm-1", on: "host-2", from: 1, to: 100, reason: .crashed, id: "vm-1#a")
        b.diskLock("vm-1", instance: "vm-1#a", on: "host-2", from: 1, to: 100)
        b.diskLock("vm-1", instance: "vm-1#b", on: "host-3", from: 90, to: 120)
        let result = check(b.build(), "INV-SB1")
        #expect(result.passed == false)
        #expect(result.observed.contains("disk lock held by vm-1#a on host-2 and vm-1#b on host-3 at once"))
    }

    @Test func sb3_leaveOnWithStorage_failedAttemptsPass_secondInstanceFails() {
        func history(second: Bool) -> History {
            var b = isolation(response: .leavePoweredOn, storageToo: false, heal: 300)
            b.instance("vm-1", on: "host-2", from: 1)
            b.restart("host-1", "vm-1", to: "host-3", at: 40)
            b.event("host-1", .restartFailed(vm: "vm-1", target: "host-3", attempt: 1, reason: "file locked"), at: 40.5)
            if second { b.instance("vm-1", on: "host-3", from: 160, byHA: true) }
            return b.build()
        }
        let good = check(history(second: false), "INV-SB3")
        #expect(good.passed == true, "\(good.observed)")
        #expect(good.observed.contains("1 failed restart attempt"))
        let bad = check(history(second: true), "INV-SB3")
        #expect(bad.passed == false)
        #expect(bad.observed.contains("second instance vm-1#2"))
    }

    // MARK: - Restarts

    @Test func r1_whenMoreThan32ConcurrentPowerOns_fails() {
        func history(count: Int) -> History {
            let vms = (1...count).map { HistoryBuilder.vm(VMID("vm-\($0)")) }
            var b = HistoryBuilder(vms: vms)
            b.steadyRoles(master: "host-1")
            for (i, vm) in vms.enumerated() {
                b.restart("host-1", vm.id, to: "host-2", at: 40 + Double(i) * 0.01)
                b.event("host-1", .restartSucceeded(vm: vm.id, target: "host-2", attempt: 1), at: 45)
            }
            return b.build()
        }
        #expect(check(history(count: 32), "INV-R1").passed == true)
        let over = check(history(count: 33), "INV-R1")
        #expect(over.passed == false)
        #expect(over.observed.contains("33 concurrent HA power-ons on host-2"))
    }

    @Test func r3_retriesOnSchedule_pass_earlyRetry_fails() {
        func history(secondWait: Double) -> History {
            var b = HistoryBuilder(vms: [HistoryBuilder.vm("vm-1")], duration: 1200)
            b.steadyRoles(master: "host-1")
            var t = 40.0
            b.restart("host-1", "vm-1", to: "host-2", at: t, attempt: 1)
            b.event("host-1", .restartFailed(vm: "vm-1", target: "host-2", attempt: 1, reason: "lock"), at: t + 1)
            t += 1 + secondWait
            b.restart("host-1", "vm-1", to: "host-2", at: t, attempt: 2)
            b.event("host-1", .restartFailed(vm: "vm-1", target: "host-2", attempt: 2, reason: "lock"), at: t + 1)
            t += 1 + 243
            b.restart("host-1", "vm-1", to: "host-2", at: t, attempt: 3)
            b.event("host-1", .restartSucceeded(vm: "vm-1", target: "host-2", attempt: 3), at: t + 1)
            b.instance("vm-1", on: "host-2", from: t + 1, byHA: true)
            return b.build()
        }
        let good = check(history(secondWait: 122), "INV-R3")
        #expect(good.passed == true, "\(good.observed)")
        let early = check(history(secondWait: 60), "INV-R3")
        #expect(early.passed == false)
        #expect(early.observed.contains("attempt 2 issued 60 s after the previous failure"))
    }

    @Test func r3_withoutRepeatedFailures_isInconclusive() {
        let result = check(failedSlave(deadAfter: 18, restartAfter: 19), "INV-R3")
        #expect(result.passed == nil)
    }

    @Test func r4_disabledVMRestarted_fails() {
        var b = HistoryBuilder(vms: [HistoryBuilder.vm("vm-1", priority: .disabled)])
        b.steadyRoles(master: "host-1")
        b.instance("vm-1", on: "host-3", from: 1, to: 20, reason: .hostFailed)
        b.fault(.powerOffHost("host-3"), at: 20)
        b.restart("host-1", "vm-1", to: "host-2", at: 40)
        let result = check(b.build(), "INV-R4")
        #expect(result.passed == false)
        #expect(result.observed.contains("restart priority disabled"))
    }

    // MARK: - Outcomes

    @Test func outcome_vmRunning_passesAfterRestart_failsBefore() {
        let history = failedSlave(deadAfter: 18.1, restartAfter: 19)
        let after = outcome(history, .vmRunning(vm: "vm-1", on: nil, notOn: "host-3", by: 60))
        #expect(after.passed == true)
        #expect(after.id == "OUT-vmRunning-vm-1")
        let before = outcome(history, .vmRunning(vm: "vm-1", on: nil, notOn: "host-3", by: 30))
        #expect(before.passed == false)
        #expect(before.observed.contains("no live instance"))
        let tooLate = outcome(history, .vmRunning(vm: "vm-1", on: nil, notOn: nil, by: 9000))
        #expect(tooLate.passed == nil)
    }

    @Test func outcome_masterAndHostState() {
        let history = failedSlave(deadAfter: 18.1, restartAfter: 19)
        #expect(outcome(history, .master("host-1", at: 10)).passed == true)
        #expect(outcome(history, .master("host-2", at: 10)).passed == false)
        #expect(outcome(history, .hostState(observer: nil, host: "host-3", state: .dead, from: 35, to: 40)).passed == true)
        #expect(outcome(history, .hostState(observer: "host-1", host: "host-3", state: .dead, from: 20, to: 30)).passed == false)
        #expect(outcome(history, .vmNeverRestarted("vm-2")).passed == true)
        #expect(outcome(history, .vmNeverRestarted("vm-1")).passed == false)
        #expect(outcome(history, .noHAPowerOff).passed == true)
        #expect(outcome(history, .vmDown(vm: "vm-1", at: 30)).passed == true)
    }

    // MARK: - More isolation

    @Test func i3_whenResponseAfterIsolationCleared_fails() {
        var b = isolation(response: .powerOff, heal: 40)
        b.instance("vm-1", on: "host-2", from: 1, to: 80.5, reason: .isolationResponse)
        b.event("host-2", .isolationResponseApplied(vm: "vm-1", response: .powerOff, markerWritten: true), at: 80.4)
        let result = check(b.build(), "INV-I3")
        #expect(result.passed == false)
        #expect(result.observed.contains("after its isolation healed at model 40 s"))
    }

    @Test func i6_unreachableDatastore_responseAtTresp() {
        func history(appliedAt: Double) -> History {
            var b = isolation(response: .powerOff, storageToo: true, datastoreKind: .nfs)
            b.instance("vm-1", on: "host-2", from: 1, to: appliedAt + 0.1, reason: .isolationResponse)
            b.event("host-2", .isolationResponseApplied(vm: "vm-1", response: .powerOff, markerWritten: false), at: appliedAt)
            return b.build()
        }
        #expect(check(history(appliedAt: 80.4), "INV-I6").passed == true)
        let late = check(history(appliedAt: 95), "INV-I6")
        #expect(late.passed == false)
        #expect(late.observed.contains("T+75"))
    }

    @Test func i7_markerBeforePowerOff_andPowerOnFileUpdated() {
        func history(marker: Bool) -> History {
            var b = isolation(response: .powerOff)
            b.instance("vm-1", on: "host-2", from: 1, to: 80.6, reason: .isolationResponse)
            b.file("ds-1", .powerOn(host: "host-2", file: PowerOnFile(isolated: true, poweredOn: ["vm-1"])), at: 50)
            if marker { b.file("ds-1", .poweredOffMarker(vm: "vm-1", present: true), at: 80.45) }
            b.event("host-2", .isolationResponseApplied(vm: "vm-1", response: .powerOff, markerWritten: marker), at: 80.4)
            b.file("ds-1", .powerOn(host: "host-2", file: PowerOnFile(isolated: true, poweredOn: [])), at: 80.7)
            return b.build()
        }
        #expect(check(history(marker: true), "INV-I7").passed == true)
        let missing = check(history(marker: false), "INV-I7")
        #expect(missing.passed == false)
        #expect(missing.observed.contains("markerWritten=false"))
    }

    @Test func i8_shutdownWithoutTools_mustBeImmediate() {
        func history(offAfter: Double) -> History {
            var b = HistoryBuilder(vms: [HistoryBuilder.vm("vm-1", response: .shutdown, tools: false)])
            b.steadyRoles(master: "host-1")
            b.fault(.isolateHost("host-2", storageToo: false), at: 20)
            b.instance("vm-1", on: "host-2", from: 1, to: 80.4 + offAfter, reason: .isolationResponse)
            b.event("host-2", .isolationResponseApplied(vm: "vm-1", response: .shutdown, markerWritten: true), at: 80.4)
            return b.build()
        }
        #expect(check(history(offAfter: 0.5), "INV-I8").passed == true)
        #expect(check(history(offAfter: 30), "INV-I8").passed == false)
    }

    @Test func i9_restartWithin30sOfIsolationPowerOff() {
        func history(restartAt: Double?) -> History {
            var b = isolation(response: .powerOff)
            b.instance("vm-1", on: "host-2", from: 1, to: 80.6, reason: .isolationResponse)
            b.event("host-2", .isolationResponseApplied(vm: "vm-1", response: .powerOff, markerWritten: true), at: 80.5)
            if let restartAt { b.restart("host-1", "vm-1", to: "host-3", at: restartAt) }
            return b.build()
        }
        #expect(check(history(restartAt: 100), "INV-I9").passed == true)
        #expect(check(history(restartAt: 140), "INV-I9").passed == false)
        let never = check(history(restartAt: nil), "INV-I9")
        #expect(never.passed == false)
        #expect(never.observed.contains("never restarted"))
    }

    // MARK: - Partition and split-brain

    @Test func p1_restartOfRunningVMInsidePartition_fails() {
        var b = HistoryBuilder(hosts: ["host-1", "host-2", "host-3", "host-4"], vms: [HistoryBuilder.vm("vm-1")])
        b.steadyRoles(master: "host-1")
        b.fault(.partition(groups: [["host-1", "host-2"], ["host-3", "host-4"]]), at: 20, healed: 200)
        b.instance("vm-1", on: "host-3", from: 1)
        b.restart("host-1", "vm-1", to: "host-2", at: 40)
        let result = check(b.build(), "INV-P1")
        #expect(result.passed == false)
        #expect(result.observed.contains("while it ran on host-3"))
    }

    @Test func sb2_locklessCopyEndsWithLostLockAfterRestore() {
        func history(endAfterHeal: Double?) -> History {
            var b = isolation(response: .leavePoweredOn, storageToo: true, heal: 200, datastoreKind: .nfs)
            b.instance("vm-1", on: "host-2", from: 1, to: endAfterHeal.map { 200 + $0 }, reason: .lostLock, id: "vm-1#a")
            b.instance("vm-1", on: "host-3", from: 160, byHA: true, id: "vm-1#b")
            b.diskLock("vm-1", instance: "vm-1#a", on: "host-2", from: 1, to: 55)
            b.diskLock("vm-1", instance: "vm-1#b", on: "host-3", from: 160)
            return b.build()
        }
        #expect(check(history(endAfterHeal: 12), "INV-SB2").passed == true)
        #expect(check(history(endAfterHeal: 12), "INV-SB1").passed == true)
        let stuck = check(history(endAfterHeal: nil), "INV-SB2")
        #expect(stuck.passed == false)
        #expect(stuck.observed.contains("still running"))
        #expect(outcome(history(endAfterHeal: 12), .splitBrainResolved("vm-1")).passed == true)
        #expect(outcome(history(endAfterHeal: nil), .splitBrainResolved("vm-1")).passed == false)
    }

    // MARK: - More restarts

    @Test func r2_lowerPriorityIssuedFirstToSameHost_fails() {
        func history(lowFirst: Bool) -> History {
            var b = HistoryBuilder(vms: [HistoryBuilder.vm("vm-hi", priority: .high), HistoryBuilder.vm("vm-lo", priority: .low)])
            b.steadyRoles(master: "host-1")
            b.restart("host-1", lowFirst ? "vm-lo" : "vm-hi", to: "host-2", at: 38.1)
            b.restart("host-1", lowFirst ? "vm-hi" : "vm-lo", to: "host-2", at: 38.2)
            return b.build()
        }
        #expect(check(history(lowFirst: false), "INV-R2").passed == true)
        let bad = check(history(lowFirst: true), "INV-R2")
        #expect(bad.passed == false)
        #expect(bad.observed.contains("vm-lo (low) to host-2"))
    }

    @Test func fs4AndR4_cleanShutdown_noRestart() {
        func history(restarted: Bool) -> History {
            var b = HistoryBuilder(vms: [HistoryBuilder.vm("vm-1")])
            b.steadyRoles(master: "host-1")
            b.instance("vm-1", on: "host-3", from: 1, to: 19, reason: .userPowerOff)
            b.fault(.shutdownHost("host-3"), at: 18.5)
            if restarted { b.restart("host-1", "vm-1", to: "host-2", at: 40) }
            return b.build()
        }
        #expect(check(history(restarted: false), "INV-FS4").passed == true)
        #expect(check(history(restarted: false), "INV-R4").passed == true)
        #expect(check(history(restarted: true), "INV-FS4").passed == false)
        #expect(check(history(restarted: true), "INV-R4").passed == false)
    }

    // MARK: - Storage

    @Test func pdl1_withoutMaskCleanShutdown_restartFails() {
        func history(mask: Bool) -> History {
            var b = HistoryBuilder(vms: [HistoryBuilder.vm("vm-1")])
            b.cluster { $0.terminateVMOnPDL = true; $0.maskCleanShutdownEnabled = mask }
            b.steadyRoles(master: "host-1")
            b.fault(.pdlDatastore("ds-1", hosts: ["host-2"]), at: 20)
            b.instance("vm-1", on: "host-2", from: 1, to: 25, reason: .pdl)
            b.restart("host-1", "vm-1", to: "host-3", at: 40)
            return b.build()
        }
        #expect(check(history(mask: true), "INV-PDL1").passed == true)
        let result = check(history(mask: false), "INV-PDL1")
        #expect(result.passed == false)
        #expect(result.observed.contains("maskCleanShutdownEnabled is false"))
    }

    @Test func apd1_killBefore320s_fails() {
        func history(killAt: Double) -> History {
            var b = HistoryBuilder(vms: [HistoryBuilder.vm("vm-1")], duration: 800)
            b.cluster { $0.apdResponse = .restartConservative }
            b.steadyRoles(master: "host-1")
            b.fault(.unmountDatastore("ds-1", hosts: ["host-2"]), at: 20)
            b.instance("vm-1", on: "host-2", from: 1, to: killAt + 0.1, reason: .crashed)
            b.event("host-2", .componentProtectionKill(vm: "vm-1", datastore: "ds-1"), at: killAt)
            return b.build()
        }
        #expect(check(history(killAt: 341), "INV-APD1").passed == true)
        let early = check(history(killAt: 200), "INV-APD1")
        #expect(early.passed == false)
        #expect(early.observed.contains("before T320"))
    }

    // MARK: - VM monitoring

    /// vm-1 (high sensitivity) hangs at model 300 s and is reset `after` seconds later on `host`.
    private func monitoring(resetAfter after: Double, backOn host: HostID = "host-2") -> History {
        var b = HistoryBuilder(vms: [HistoryBuilder.vm("vm-1", monitoring: .preset(.high))])
        b.steadyRoles(master: "host-1")
        b.instance("vm-1", on: "host-2", from: 1, to: 300 + after, reason: .vmMonitoringReset)
        b.fault(.guestHang("vm-1"), at: 300, healed: 500)
        b.event("host-2", .vmMonitoringReset(vm: "vm-1", count: 1), at: 300 + after)
        b.instance("vm-1", on: host, from: 300 + after + 1)
        return b.build()
    }

    @Test func vm2_resetWindow() {
        #expect(check(monitoring(resetAfter: 125), "INV-VM2").passed == true)
        #expect(check(monitoring(resetAfter: 60), "INV-VM2").passed == false)
        #expect(check(monitoring(resetAfter: 150), "INV-VM2").passed == false)
    }

    @Test func vm1_resetWithRecentIO_fails_vm4_otherHost_fails() {
        #expect(check(monitoring(resetAfter: 125), "INV-VM1").passed == true)
        let io = check(monitoring(resetAfter: 90), "INV-VM1")
        #expect(io.passed == false)
        #expect(io.observed.contains("after its last I/O"))
        #expect(check(monitoring(resetAfter: 125), "INV-VM4").passed == true)
        #expect(check(monitoring(resetAfter: 125, backOn: "host-3"), "INV-VM4").passed == false)
        #expect(check(monitoring(resetAfter: 125), "INV-VM3").passed == true)
    }

    // MARK: - Heartbeats

    @Test func h3_selectionOfUnsharedDatastore_fails() {
        var b = HistoryBuilder(mounts: ["host-1": ["ds-1", "ds-2"], "host-2": ["ds-1", "ds-2"], "host-3": ["ds-1"]])
        b.event("host-1", .heartbeatDatastoresSelected(["ds-1", "ds-2"]), at: 1)
        b.event("host-3", .heartbeatDatastoresSelected(["ds-1", "ds-2"]), at: 1)
        let result = check(b.build(), "INV-H3")
        #expect(result.passed == false)
        #expect(result.observed.contains("not by host-3"))
    }

    @Test func h1_datastoreChecksTooEarly_fails() {
        var b = HistoryBuilder(vms: [HistoryBuilder.vm("vm-1")])
        b.steadyRoles(master: "host-1")
        b.fault(.powerOffHost("host-3"), at: 20)
        b.event("host-1", .datastoreHeartbeatMonitoringStarted(host: "host-3", lastHeard: b.instant(19.6)), at: 20.5)
        #expect(check(b.build(), "INV-H1").passed == false)
    }

    /// A real sender's 1 s timer jitters: the last heartbeat can come 1.01 s before the fault.
    /// The master's report of it moves the bound; the same report never excuses an early check.
    @Test func h1_anchorsOnTheMastersLastHeartbeat_withinTwoPeriods() {
        func history(lastHeard: Double, startedAt: Double) -> History {
            var b = HistoryBuilder(vms: [HistoryBuilder.vm("vm-1")], timeScale: 0.2)
            b.steadyRoles(master: "host-1")
            b.fault(.powerOffHost("host-3"), at: 20)
            b.event("host-1", .datastoreHeartbeatMonitoringStarted(host: "host-3", lastHeard: b.instant(lastHeard)), at: startedAt)
            return b.build()
        }
        #expect(check(history(lastHeard: 18.99, startedAt: 21.995), "INV-H1").passed == true)
        #expect(check(history(lastHeard: 18.99, startedAt: 21.9), "INV-H1").passed == false)
        // A report of a heartbeat 10 s before the fault is implausible: trusted back to T−2 only.
        #expect(check(history(lastHeard: 10, startedAt: 20.5), "INV-H1").passed == false)
        #expect(check(history(lastHeard: 10, startedAt: 21.0), "INV-H1").passed == true)
    }

    @Test func fs1_deadBound_runsFromTheMastersLastHeartbeat() {
        func history(lastHeard: Double, deadAt: Double) -> History {
            var b = HistoryBuilder(vms: [HistoryBuilder.vm("vm-1")], timeScale: 0.2)
            b.steadyRoles(master: "host-1")
            b.instance("vm-1", on: "host-3", from: 1, to: 20, reason: .hostFailed)
            b.fault(.powerOffHost("host-3"), at: 20)
            b.event("host-1", .datastoreHeartbeatMonitoringStarted(host: "host-3", lastHeard: b.instant(lastHeard)), at: lastHeard + 3)
            b.hostState("host-1", "host-3", .dead, at: deadAt)
            b.restart("host-1", "vm-1", to: "host-2", at: deadAt + 0.01)
            b.protectedListLock("ds-1", holder: "host-1", from: 0.5)
            return b.build()
        }
        // T16.999 after the fault, 18.009 s after a heartbeat that came 1.01 s before it: as specified.
        #expect(check(history(lastHeard: 18.99, deadAt: 36.999), "INV-FS1").passed == true)
        // 17.9 s after the last heartbeat: too early, whatever the fault offset.
        #expect(check(history(lastHeard: 19.0, deadAt: 36.9), "INV-FS1").passed == false)
    }

    /// Evidence time is the wall clock at the write; the report of the last heartbeat written
    /// 5 ms (model) later than the dead declaration's write must not move the anchor (rogue-host
    /// on netns: "declared dead … 18 s after the last heartbeat bound" failed at 17.996 s).
    @Test func fs1_anchor_usesTheAgentsClockNotTheReportsWriteDelay() {
        func history(reportWrittenLate: Double, deadAt: Double) -> History {
            var b = HistoryBuilder(vms: [HistoryBuilder.vm("vm-1")], timeScale: 0.2)
            b.steadyRoles(master: "host-1")
            b.instance("vm-1", on: "host-3", from: 1, to: 20, reason: .hostFailed)
            b.fault(.powerOffHost("host-3"), at: 20)
            b.event("host-1", .datastoreHeartbeatMonitoringStarted(host: "host-3", lastHeard: b.instant(18.9)), at: 21.9,
                    writtenLate: reportWrittenLate)
            b.hostState("host-1", "host-3", .dead, at: deadAt)
            b.restart("host-1", "vm-1", to: "host-2", at: deadAt + 0.01)
            b.protectedListLock("ds-1", holder: "host-1", from: 0.5)
            return b.build()
        }
        // 18.0 s after the heartbeat by the master's clock: passes however late the report was written.
        #expect(check(history(reportWrittenLate: 0, deadAt: 36.9), "INV-FS1").passed == true)
        #expect(check(history(reportWrittenLate: 0.005, deadAt: 36.9), "INV-FS1").passed == true)
        // 17.99 s after it: fails, written late or not.
        #expect(check(history(reportWrittenLate: 0.005, deadAt: 36.89), "INV-FS1").passed == false)
        #expect(check(history(reportWrittenLate: 0, deadAt: 36.89), "INV-FS1").passed == false)
    }

    @Test func i10_restartDisabledVMGetsResponse_fails() {
        func history(applied: Bool) -> History {
            var b = HistoryBuilder(vms: [HistoryBuilder.vm("vm-1", priority: .disabled)], isolationResponse: .powerOff)
            b.steadyRoles(master: "host-1")
            b.fault(.isolateHost("host-2", storageToo: false), at: 20, healed: 300)
            if applied {
                b.instance("vm-1", on: "host-2", from: 1, to: 80.6, reason: .isolationResponse)
                b.event("host-2", .isolationResponseApplied(vm: "vm-1", response: .powerOff, markerWritten: true), at: 80.5)
            } else {
                b.instance("vm-1", on: "host-2", from: 1)
            }
            return b.build()
        }
        #expect(check(history(applied: false), "INV-I10").passed == true)
        #expect(check(history(applied: true), "INV-I10").passed == false)
    }

    @Test func r2_lowerPriorityWhileHigherAttemptInFlight_fails() {
        func history(waits: Bool) -> History {
            var b = HistoryBuilder(vms: [HistoryBuilder.vm("vm-hi", priority: .high), HistoryBuilder.vm("vm-lo", priority: .low)])
            b.steadyRoles(master: "host-1")
            b.restart("host-1", "vm-hi", to: "host-2", at: 38.0)
            b.event("host-1", .restartSucceeded(vm: "vm-hi", target: "host-2", attempt: 1), at: 38.5)
            b.restart("host-1", "vm-lo", to: "host-2", at: waits ? 38.5 : 38.0)
            return b.build()
        }
        #expect(check(history(waits: true), "INV-R2").passed == true)
        let eager = check(history(waits: false), "INV-R2")
        #expect(eager.passed == false)
        #expect(eager.observed.contains("in flight"))
    }

    // MARK: - Admission control

    /// The slot-policy worked example of oracle §6.7 (4/3/3 slots, capacity 1): vm-6 fits, vm-7 does not.
    private func slotExample(admitSecond: Bool) -> History {
        let vms = [
            (1, 2000, 1024), (2, 2000, 1024), (3, 1000, 2048), (4, 1000, 1024), (5, 1000, 1024), (6, 1000, 1024), (7, 1000, 1024),
        ].map { VMConfig(id: VMID("vm-\($0.0)"), homeDatastore: "ds-1", cpuReservationMHz: $0.1, memoryReservationMB: $0.2, memoryOverheadMB: 0) }
        var b = HistoryBuilder(vms: vms)
        b.cluster { cluster in
            cluster.admissionControl = .slots(hostFailuresToTolerate: 1, slotCPUCapMHz: nil, slotMemoryCapMB: nil)
            cluster.hosts = [
                HostConfig(id: "host-1", datastores: ["ds-1"], cpuMHz: 9000, memoryMB: 9216),
                HostConfig(id: "host-2", datastores: ["ds-1"], cpuMHz: 9000, memoryMB: 6144),
                HostConfig(id: "host-3", datastores: ["ds-1"], cpuMHz: 6000, memoryMB: 6144),
            ]
        }
        for (vm, host) in [("vm-1", "host-1"), ("vm-2", "host-1"), ("vm-3", "host-2"), ("vm-4", "host-2"), ("vm-5", "host-3")] {
            b.instance(VMID(vm), on: HostID(host), from: 0)
        }
        b.event("vcenter", .admissionControlDecision(vm: "vm-6", host: "host-3", admitted: true, reason: "admitted"), at: 60)
        b.instance("vm-6", on: "host-3", from: 60.5)
        b.event("vcenter", .admissionControlDecision(vm: "vm-7", host: "host-2", admitted: admitSecond, reason: "x"), at: 70)
        return b.build()
    }

    @Test func ac1_slotExample_rejectsSecondPowerOn() {
        let right = check(slotExample(admitSecond: false), "INV-AC1")
        #expect(right.passed == true, "\(right.observed)")
        #expect(right.observed.contains("slot 2000 MHz/2048 MB, slots [host-1=4, host-2=3, host-3=3], 6 of 10 used, current failover capacity 1"))
        let wrong = check(slotExample(admitSecond: true), "INV-AC1")
        #expect(wrong.passed == false)
        #expect(wrong.observed.contains("vm-7 on host-2 at model 70 s admitted"))
        #expect(check(slotExample(admitSecond: false), "INV-AC2").passed == nil)
    }

    @Test func ac2_percentageExample_70and71PercentFree() {
        // Oracle §6.7: 24 GHz / 21 GB with 7 GHz / 6 GB reserved → 70 % CPU / 71 % memory free.
        func history(configured: Int, admitted: Bool) -> History {
            var b = HistoryBuilder(hosts: ["host-1", "host-2", "host-3"], vms: [
                VMConfig(id: "vm-1", homeDatastore: "ds-1", cpuReservationMHz: 4000, memoryReservationMB: 3072, memoryOverheadMB: 0),
                VMConfig(id: "vm-2", homeDatastore: "ds-1", cpuReservationMHz: 3000, memoryReservationMB: 3072, memoryOverheadMB: 0),
            ])
            b.cluster { cluster in
                cluster.admissionControl = .percentage(cpuPercent: configured, memoryPercent: configured)
                cluster.hosts = cluster.hosts.map { HostConfig(id: $0.id, datastores: $0.datastores, cpuMHz: 8000, memoryMB: 7168) }
            }
            b.instance("vm-1", on: "host-1", from: 0)
            b.event("vcenter", .admissionControlDecision(vm: "vm-2", host: "host-2", admitted: admitted, reason: "x"), at: 60)
            return b.build()
        }
        let ok = check(history(configured: 25, admitted: true), "INV-AC2")
        #expect(ok.passed == true, "\(ok.observed)")
        #expect(ok.observed.contains("free 70.83 % CPU / 71.43 % memory"))
        #expect(check(history(configured: 71, admitted: true), "INV-AC2").passed == false)
        #expect(check(history(configured: 71, admitted: false), "INV-AC2").passed == true)
    }

    @Test func ac1_withoutDecisions_isInconclusive() {
        var b = HistoryBuilder()
        b.cluster { $0.admissionControl = .slots(hostFailuresToTolerate: 1, slotCPUCapMHz: nil, slotMemoryCapMB: nil) }
        let result = check(b.build(), "INV-AC1")
        #expect(result.passed == nil)
        #expect(result.observed.contains("no user power-on admission decision"))
    }

    // MARK: - Scale and ground-truth corner cases

    @Test func vm2_atTimeScaleOneTenth_usesScaledMonitoringSettings() {
        var b = HistoryBuilder(vms: [HistoryBuilder.vm("vm-1", monitoring: .preset(.high))], timeScale: 0.1)
        b.steadyRoles(master: "host-1")
        b.instance("vm-1", on: "host-2", from: 1, to: 420, reason: .vmMonitoringReset)
        b.fault(.guestHang("vm-1"), at: 300, healed: 500)
        b.event("host-2", .vmMonitoringReset(vm: "vm-1", count: 1), at: 420)
        b.instance("vm-1", on: "host-2", from: 421)
        let history = b.build()
        #expect(history.cluster.vms[0].monitoring.failureInterval == .seconds(3))
        let result = check(history, "INV-VM2")
        #expect(result.passed == true, "\(result.observed)")
        #expect(result.expected.contains("[T81, T139]"))
    }

    @Test func i9_restartInFlightAtThePowerOff_passes() {
        var b = isolation(host: "host-1")
        b.instance("vm-1", on: "host-1", from: 1, to: 55.6, reason: .isolationResponse)
        b.event("host-1", .isolationResponseApplied(vm: "vm-1", response: .powerOff, markerWritten: true), at: 55.6)
        b.role("host-3", .master, at: 45)
        b.restart("host-3", "vm-1", to: "host-2", at: 54.4)
        b.event("host-3", .restartSucceeded(vm: "vm-1", target: "host-2", attempt: 1), at: 56.9)
        b.instance("vm-1", on: "host-2", from: 56.5, byHA: true)
        let result = check(b.build(), "INV-I9")
        #expect(result.passed == true, "\(result.observed)")
        #expect(result.observed.contains("in flight"))
    }

    @Test func outcome_vmDown_ofVMThatNeverRan_passesWhenGroundTruthExists() {
        let history = failedSlave(deadAfter: 18, restartAfter: 19)
        let result = outcome(history, .vmDown(vm: "vm-9", at: 100))
        #expect(result.passed == true)
        #expect(result.observed.contains("never powered on"))
        #expect(outcome(HistoryBuilder().build(), .vmDown(vm: "vm-9", at: 100)).passed == nil)
    }
}
