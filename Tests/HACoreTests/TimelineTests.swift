import HACore
import HATestKit
import Testing

/// The documented timelines (oracle §4), pinned to the 100 ms tick at scale 1.
/// Convention: the last network traffic from the failed peer arrives at t = 100.0 s ("T0").
@Suite struct TimelineTests {
    static func cluster(_ ids: [String], hbPolicy: HeartbeatDatastorePolicy = .allFeasible, response: IsolationResponse = .powerOff) -> ClusterConfig {
        let ds: [DatastoreID] = ["ds-1", "ds-2"]
        let hosts = ids.map { HostConfig(id: HostID($0), datastores: ds) }
        let vms = ids.enumerated().map { i, id in VMConfig(id: VMID("vm-\(i + 1)"), homeDatastore: ds[i % 2]) }
        return ClusterConfig(hosts: hosts, vms: vms, isolationResponse: response, heartbeatDatastorePolicy: hbPolicy)
    }

    static func candidate(_ host: String) -> PeerMessage.Candidate { .init(host: HostID(host), connectedDatastores: 2) }

    /// A master `host-2` with slave `host-1` heartbeating every second until t = 100.
    static func masterWithSlave(hbPolicy: HeartbeatDatastorePolicy = .allFeasible, settings: Settings = .v51) -> AgentHarness {
        var h = AgentHarness(myself: "host-2", settings: settings, config: cluster(["host-1", "host-2"], hbPolicy: hbPolicy))
        h.heartbeatCounters["host-1"] = 7
        h.handle(.vmPowerStateChanged(vm: "vm-2", poweredOn: true, reason: nil))
        h.advance(to: .seconds(100)) { h in
            if h.isMultiple(of: .seconds(1)) {
                if h.instance.role == .master {
                    h.receive(.slaveHeartbeat(.init(host: "host-1", poweredOn: ["vm-1"], accessibleDatastores: ["ds-1", "ds-2"], failedVMs: [], configVersion: 1)), from: "host-1")
                } else {
                    h.receive(.election(candidate("host-1")), from: "host-1")
                }
            }
        }
        return h
    }

    /// `host-2` a slave of master `host-3` (heartbeat counter 4 on its datastores), whose last
    /// heartbeat arrives at t = 100; `host-1` is the third host.
    static func slaveOfHost3(powerOnFile: PowerOnFile? = nil) -> AgentHarness {
        var h = AgentHarness(myself: "host-2", config: cluster(["host-1", "host-2", "host-3"]))
        h.heartbeatCounters["host-3"] = 4
        h.powerOnFiles["host-3"] = powerOnFile
        h.advance(to: .seconds(100)) { h in
            if h.isMultiple(of: .seconds(1)) {
                if h.instance.role == .election { h.receive(.masterAnnounce(.init(host: "host-3", connectedDatastores: 2)), from: "host-3") }
                if h.instance.role == .slave { h.receive(.masterHeartbeat(.init(master: "host-3", configVersion: 1, datastoreReach: [:])), from: "host-3") }
            }
        }
        return h
    }

    @Test func failedSlave_withHeartbeatDatastores_unreachableAtT10_deadAtT18() {
        var h = Self.masterWithSlave()
        #expect(h.instance.role == .master)
        h.advance(to: .seconds(140))
        #expect(h.first { if case .datastoreHeartbeatMonitoringStarted("host-1", _) = $0 { true } else { false } }?.at == .seconds(103))
        #expect(h.first { if case .hostStateChanged("host-1", .unreachable) = $0 { true } else { false } }?.at == .seconds(110))
        #expect(h.first { if case .hostStateChanged("host-1", .dead) = $0 { true } else { false } }?.at == .seconds(118))
        let restart = h.first { if case .restartIssued(vm: "vm-1", _, _, _) = $0 { true } else { false } }
        #expect(restart?.at == .seconds(118))
    }

    @Test func failedSlave_withoutHeartbeatDatastores_deadAtT15() {
        var h = Self.masterWithSlave(hbPolicy: .userSelected([]))
        h.advance(to: .seconds(140))
        #expect(h.first { if case .datastoreHeartbeatMonitoringStarted = $0 { true } else { false } } == nil)
        #expect(h.first { if case .hostStateChanged("host-1", .dead) = $0 { true } else { false } }?.at == .seconds(115))
    }

    @Test func silentSlave_whoseDatastoreHeartbeatsContinue_isPartitionedNotDead() {
        var h = Self.masterWithSlave()
        var counter: UInt64 = 7
        h.advance(to: .seconds(200)) { h in
            if h.isMultiple(of: .seconds(5)) { counter += 1; h.heartbeatCounters["host-1"] = counter }
        }
        #expect(h.first { if case .hostStateChanged("host-1", .dead) = $0 { true } else { false } } == nil)
        #expect(h.first { if case .hostStateChanged("host-1", .partitioned) = $0 { true } else { false } }?.at == .seconds(118))
        #expect(h.first { if case .restartIssued = $0 { true } else { false } } == nil)
    }

    @Test func agentDown_hostAnswersPing_noDeathNoRestart() {
        var h = Self.masterWithSlave()
        h.pingAnswers["host-1"] = true
        h.advance(to: .seconds(200))
        #expect(h.first { if case .hostStateChanged("host-1", .unreachable) = $0 { true } else { false } }?.at == .seconds(110))
        #expect(h.first { if case .hostStateChanged("host-1", .dead) = $0 { true } else { false } } == nil)
        #expect(h.first { if case .restartIssued = $0 { true } else { false } } == nil)
    }

    @Test func failedMaster_electionAtT10_newMasterAtT25_restartsAtT35() {
        // host-3 was master; host-2 (this agent) and host-1 are slaves. Master's last heartbeat at 100.
        var h = Self.slaveOfHost3(powerOnFile: PowerOnFile(isolated: false, poweredOn: ["vm-3"]))
        #expect(h.instance.role == .slave)
        h.advance(to: .seconds(150)) { h in
            guard h.isMultiple(of: .seconds(1)) else { return }
            if h.instance.role == .election { h.receive(.election(Self.candidate("host-1")), from: "host-1") }
            if h.instance.role == .master {
                h.receive(.slaveHeartbeat(.init(host: "host-1", poweredOn: ["vm-1"], accessibleDatastores: ["ds-1", "ds-2"], failedVMs: [], configVersion: 1)), from: "host-1")
            }
        }
        #expect(h.all { if case .electionStarted = $0 { true } else { false } }.last?.at == .seconds(110))
        #expect(h.all { if case .roleChanged(.master) = $0 { true } else { false } }.last?.at == .seconds(125))
        #expect(h.first { if case .hostStateChanged("host-3", .dead) = $0 { true } else { false } }?.at == .seconds(135))
        #expect(h.first { if case .restartIssued(vm: "vm-3", _, _, _) = $0 { true } else { false } }?.at == .seconds(135))
    }

    /// A slave that loses everything: election T10, self-elected T25, isolated T30, response T30 + D.
    static func isolatedSlave(settings: Settings) -> AgentHarness {
        var h = AgentHarness(myself: "host-1", settings: settings, config: cluster(["host-1", "host-2"]))
        h.advance(to: .seconds(100)) { h in
            if h.isMultiple(of: .seconds(1)) {
                if h.instance.role == .election { h.receive(.masterAnnounce(.init(host: "host-2", connectedDatastores: 2)), from: "host-2") }
                if h.instance.role == .slave { h.receive(.masterHeartbeat(.init(master: "host-2", configVersion: 1, datastoreReach: [:])), from: "host-2") }
            }
        }
        h.handle(.vmPowerStateChanged(vm: "vm-1", poweredOn: true, reason: nil))
        h.isolationAddressAnswers = false
        return h
    }

    @Test(arguments: [(Profile.v51, 160.0), (Profile.v50, 130.0)])
    func isolatedSlave_declaredAtT30_respondsAtT30PlusPolicyDelay(profile: Profile, responseAt: Double) {
        var h = Self.isolatedSlave(settings: Settings(profile: profile))
        h.advance(to: .seconds(200))
        #expect(h.all { if case .electionStarted = $0 { true } else { false } }.last?.at == .seconds(110))
        #expect(h.first { if case .isolationProbeStarted = $0 { true } else { false } }?.at == .seconds(125))
        #expect(h.first { if case .isolationDeclared = $0 { true } else { false } }?.at == .seconds(130))
        let applied = h.first { if case .isolationResponseApplied(vm: "vm-1", response: .powerOff, markerWritten: true) = $0 { true } else { false } }
        #expect(applied?.at == .seconds(responseAt))
        // Marker, then power-off (oracle §5.4).
        let order = h.directives.filter { $0.at == .seconds(responseAt) }.map(\.directive)
        let marker = order.firstIndex { if case .writePoweredOffMarker("ds-1", vm: "vm-1") = $0 { true } else { false } }
        let off = order.firstIndex { if case .powerOffVM("vm-1", reason: .isolationResponse) = $0 { true } else { false } }
        #expect(marker != nil && off != nil && marker! < off!)
    }

    @Test func isolatedSlave_noOwningMaster_defersAndKeepsVMRunning() {
        var h = Self.isolatedSlave(settings: .v51)
        h.ownerCheckAnswer = false
        h.advance(to: .seconds(300))
        #expect(h.first { if case .isolationResponseDeferred(vm: "vm-1") = $0 { true } else { false } }?.at == .seconds(160))
        #expect(h.first { if case .isolationResponseApplied = $0 { true } else { false } } == nil)
        #expect(h.instance.poweredOnVMs == ["vm-1"])
    }

    @Test func isolatedSlave_homeDatastoreInaccessible_appliesWithoutMarker() {
        var h = Self.isolatedSlave(settings: .v51)
        h.handle(.datastoreHealthChanged("ds-1", .allPathsDown))
        h.advance(to: .seconds(200))
        #expect(h.first { if case .isolationResponseApplied(vm: "vm-1", response: .powerOff, markerWritten: false) = $0 { true } else { false } }?.at == .seconds(160))
        #expect(!h.directives.contains { if case .writePoweredOffMarker = $0.directive { true } else { false } })
    }

    @Test func isolation_cancelledByElectionTraffic_beforeResponse_noPowerOff() {
        var h = Self.isolatedSlave(settings: .v51)
        h.advance(to: .seconds(140))
        #expect(h.instance.isIsolated)
        // The network is back: host-2's election traffic is heard every second.
        h.advance(to: .seconds(200)) { h in
            if h.isMultiple(of: .seconds(1)) { h.receive(.election(Self.candidate("host-2")), from: "host-2") }
        }
        #expect(h.first { if case .isolationCleared = $0 { true } else { false } }?.at == .seconds(141))
        #expect(h.first { if case .isolationResponseApplied = $0 { true } else { false } } == nil)
    }

    @Test func isolatedMaster_declaredAtT5_releasesLocks_respondsAtT35() {
        var h = Self.masterWithSlave()
        h.isolationAddressAnswers = false
        h.advance(to: .seconds(200))
        let declared = h.first { if case .isolationDeclared = $0 { true } else { false } }
        // The slave's last heartbeat came at T100: isolated at T5 from it, response at T5 + 30.
        #expect(declared?.at == .seconds(105))
        #expect(h.first { if case .lockReleased(_, reason: "isolation") = $0 { true } else { false } }?.at == .seconds(105))
        #expect(h.instance.ownedDatastores.isEmpty)
        #expect(h.first { if case .isolationResponseApplied(vm: "vm-2", _, _) = $0 { true } else { false } }?.at == .seconds(135))
    }

    @Test func election_comparesHostIDsAsStrings_host99BeatsHost100() {
        var h = AgentHarness(myself: "host-100", config: Self.cluster(["host-99", "host-100"]))
        h.advance(to: .seconds(20)) { h in
            if h.isMultiple(of: .seconds(1)) { h.receive(.election(Self.candidate("host-99")), from: "host-99") }
        }
        #expect(h.instance.role == .election)
        #expect(h.first { if case .electionWon = $0 { true } else { false } } == nil)
        var mutant = AgentHarness(myself: "host-100", config: Self.cluster(["host-99", "host-100"]), bugs: [.numericHostIDs])
        mutant.advance(to: .seconds(20)) { h in
            if h.isMultiple(of: .seconds(1)) { h.receive(.election(Self.candidate("host-99")), from: "host-99") }
        }
        #expect(mutant.instance.role == .master, "the numeric-ids mutant must elect host-100")
    }

    @Test func election_mostConnectedDatastoresWinsBeforeHostID() {
        var h = AgentHarness(myself: "host-2", config: Self.cluster(["host-1", "host-2"]))
        h.advance(to: .seconds(20)) { h in
            if h.isMultiple(of: .seconds(1)) { h.receive(.election(.init(host: "host-1", connectedDatastores: 3)), from: "host-1") }
        }
        #expect(h.instance.role == .election, "host-1 has more datastores and must win")
    }
}

/// A new master whose protectedlists stay locked by the old master's lease past the election.
@Suite struct LateProtectedListTests {
    /// host-3 was master and reboots at T100 (its VM vm-3 dies with it); host-2 is elected at
    /// T125; host-3's agent is back as a slave from T130 and reports nothing running. The old
    /// master's leases free the protectedlists at `locksFreeAt`.
    static func run(locksFreeAt: Double) -> AgentHarness {
        var h = TimelineTests.slaveOfHost3()
        h.protectedListAvailable = false
        h.advance(to: .seconds(200)) { h in
            if h.now >= .seconds(locksFreeAt) { h.protectedListAvailable = true }
            guard h.isMultiple(of: .seconds(1)) else { return }
            if h.instance.role == .election { h.receive(.election(TimelineTests.candidate("host-1")), from: "host-1") }
            if h.instance.role == .master {
                h.receive(.slaveHeartbeat(.init(host: "host-1", poweredOn: ["vm-1"], accessibleDatastores: ["ds-1", "ds-2"], failedVMs: [], configVersion: 1)), from: "host-1")
                if h.now >= .seconds(130) {
                    h.receive(.slaveHeartbeat(.init(host: "host-3", poweredOn: [], accessibleDatastores: ["ds-1", "ds-2"], failedVMs: [], configVersion: 1, incarnation: 2)), from: "host-3")
                }
            }
        }
        return h
    }

    @Test(arguments: [126.0, 145.0, 160.0])
    func newMaster_sweepsForProtectedVMsNobodyRuns_whenItFirstHoldsTheLists(locksFreeAt: Double) {
        let h = Self.run(locksFreeAt: locksFreeAt)
        #expect(h.all { if case .roleChanged(.master) = $0 { true } else { false } }.last?.at == .seconds(125))
        let locked = h.first { if case .lockAcquired = $0 { true } else { false } }?.at
        #expect(locked != nil && locked! >= .seconds(locksFreeAt))
        let restart = h.first { if case .restartIssued(vm: "vm-3", _, _, _) = $0 { true } else { false } }
        #expect(restart != nil, "vm-3 (its host rebooted during the election) was never restarted")
        // At T35 (T25 + 10 s), or at the first lock when that comes later.
        if let restart, let locked {
            let due = max(.seconds(135), locked)
            #expect(restart.at >= due && restart.at <= due + h.instance.settings.tickInterval, "restart at \(restart.at), due \(due)")
        }
        #expect(h.all { if case .restartIssued(vm: "vm-3", _, _, _) = $0 { true } else { false } }.count == 1)
    }
}

/// The new master's sweep waits for every host to be known, however long that takes.
@Suite struct SweepWaitsForUnknownHostsTests {
    @Test func aHostSilentFor80s_thatAnswersPings_delaysTheSweepButDoesNotCancelIt() {
        // host-3 (master) reboots at T100 and comes back as a slave reporting nothing from T130;
        // host-1's agent is cut off one way from T100 to T210 (it answers pings: unreachable).
        var h = TimelineTests.slaveOfHost3()
        h.pingAnswers["host-1"] = true
        h.advance(to: .seconds(260)) { h in
            guard h.isMultiple(of: .seconds(1)), h.instance.role == .master else { return }
            if h.now >= .seconds(130) {
                h.receive(.slaveHeartbeat(.init(host: "host-3", poweredOn: [], accessibleDatastores: ["ds-1", "ds-2"], failedVMs: [], configVersion: 1, incarnation: 2)), from: "host-3")
            }
            if h.now >= .seconds(210) {
                h.receive(.slaveHeartbeat(.init(host: "host-1", poweredOn: ["vm-1"], accessibleDatastores: ["ds-1", "ds-2"], failedVMs: [], configVersion: 1)), from: "host-1")
            }
        }
        #expect(h.all { if case .roleChanged(.master) = $0 { true } else { false } }.last?.at == .seconds(125))
        #expect(h.first { if case .hostStateChanged("host-1", .dead) = $0 { true } else { false } } == nil)
        let restart = h.first { if case .restartIssued(vm: "vm-3", _, _, _) = $0 { true } else { false } }
        #expect(restart != nil, "vm-3 was never restarted")
        // Not before host-1 is known again (it might have run vm-3).
        if let restart { #expect(restart.at >= .seconds(210)) }
        #expect(h.first { if case .restartIssued(vm: "vm-1", _, _, _) = $0 { true } else { false } } == nil)
    }
}
