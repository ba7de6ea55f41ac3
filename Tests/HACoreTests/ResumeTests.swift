import HACore
import HATestKit
import Testing

/// An agent that did not run for a while (SIGSTOP, a frozen host, a stalled machine) must not
/// take the time it did not observe as silence: it hears what arrives after it runs again before
/// any timer verdict (FDMInstance+Tick `noteResumeGap`). The sim nightly found both failures
/// below on the unchanged core (c62c88c7: a thawed master declared every slave dead).
@Suite struct ResumeTests {
    private static func isResumed(_ kind: HAEvent.Kind) -> Bool { if case .agentResumed = kind { true } else { false } }

    private static func slaveHeartbeat() -> PeerMessage {
        .slaveHeartbeat(.init(host: "host-1", poweredOn: ["vm-1"], accessibleDatastores: ["ds-1", "ds-2"], failedVMs: [], configVersion: 1))
    }

    @Test func thawedMaster_hearsItsLiveSlave_beforeJudgingIt() {
        var h = TimelineTests.masterWithSlave()
        #expect(h.instance.role == .master)
        // Frozen for 30 s; the slave keeps running, and its heartbeats reach the master again
        // from the first instant after the thaw (half a heartbeat period in).
        h.pause(until: .seconds(130))
        h.advance(to: .seconds(160)) { h in
            if h.now >= .seconds(130.5), h.isMultiple(of: .milliseconds(500)), !h.isMultiple(of: .seconds(1)) { h.receive(Self.slaveHeartbeat(), from: "host-1") }
        }
        let resumed = h.first(Self.isResumed)
        #expect(resumed?.at == .seconds(130.1))
        if case .agentResumed(let paused)? = resumed?.kind { #expect(abs(paused - 30.1) < 0.001) }
        #expect(h.first { if case .hostStateChanged("host-1", _) = $0 { true } else { false } } == nil, "\(h.events.map(\.kind))")
        #expect(h.first { if case .restartIssued = $0 { true } else { false } } == nil)
        #expect(h.first { if case .isolationProbeStarted = $0 { true } else { false } } == nil)
        #expect(h.instance.role == .master)
    }

    @Test func thawedMaster_whoseSlaveDiedMeanwhile_judgesItAfterTheGrace() {
        var h = TimelineTests.masterWithSlave(hbPolicy: .userSelected([]))
        h.pingAnswers["host-1"] = false
        h.pause(until: .seconds(130))
        h.advance(to: .seconds(200))
        let resumedAt = try? #require(h.first(Self.isResumed)?.at)
        let grace = h.instance.settings.resumeGrace
        let unreachable = h.first { if case .hostStateChanged("host-1", .unreachable) = $0 { true } else { false } }
        let dead = h.first { if case .hostStateChanged("host-1", .dead) = $0 { true } else { false } }
        #expect(unreachable != nil && dead != nil)
        if let resumedAt, let unreachable { #expect(unreachable.at >= resumedAt + grace) }
        // The liveness ping window (5 s) is its own observation after the thaw.
        if let unreachable, let dead { #expect(dead.at >= unreachable.at + .seconds(5)) }
        #expect(h.first { if case .restartIssued(vm: "vm-1", _, _, _) = $0 { true } else { false } } != nil)
    }

    /// `homeAccessible: false`: the home datastore is down too, so the response needs no
    /// ownership check and would go out in the thawing tick itself.
    @Test(arguments: [true, false])
    func thawedIsolatedSlave_whoseNetworkCameBack_appliesNoResponse(homeAccessible: Bool) {
        // Isolated at T130, response due at T160 (5.1). Frozen from T140 to T170; the isolation
        // address answers again when it thaws.
        var h = TimelineTests.isolatedSlave(settings: .v51)
        if !homeAccessible { h.handle(.datastoreHealthChanged("ds-1", .allPathsDown)) }
        h.advance(to: .seconds(140))
        #expect(h.instance.isIsolated)
        h.pause(until: .seconds(170))
        h.isolationAddressAnswers = true
        h.advance(to: .seconds(200))
        #expect(h.first(Self.isResumed)?.at == .seconds(170.1))
        #expect(h.first { if case .isolationCleared(reason: "isolation address answered") = $0 { true } else { false } }?.at == .seconds(170.1))
        #expect(h.first { if case .isolationResponseApplied = $0 { true } else { false } } == nil)
        // vm-1 kept running (host-2 stays silent, so this host, master alone once its network
        // is back, may also restart host-2's vm-2).
        #expect(h.instance.poweredOnVMs.contains("vm-1"))
        #expect(!h.directives.contains { if case .powerOffVM("vm-1", _) = $0.directive { true } else { false } })
    }

    @Test func thawedIsolatedSlave_stillIsolated_respondsAfterTheGrace() {
        var h = TimelineTests.isolatedSlave(settings: .v51)
        h.advance(to: .seconds(140))
        h.pause(until: .seconds(170))
        h.advance(to: .seconds(200))
        let resumedAt = h.first(Self.isResumed)?.at
        let applied = h.first { if case .isolationResponseApplied(vm: "vm-1", response: .powerOff, _) = $0 { true } else { false } }
        #expect(resumedAt == .seconds(170.1))
        #expect(applied?.at == Instant.seconds(170.1) + h.instance.settings.resumeGrace)
    }

    @Test func ordinaryTicks_neverCountAsAGap() {
        var h = TimelineTests.masterWithSlave()
        h.advance(to: .seconds(150)) { h in
            if h.isMultiple(of: .seconds(1)) { h.receive(Self.slaveHeartbeat(), from: "host-1") }
        }
        #expect(h.first(Self.isResumed) == nil)
    }
}
