import HACore
import HATestKit
import Testing

/// A slave's VM-failure report travels in UDP heartbeats: it is repeated until the master echoes
/// it (`MasterHeartbeat.ackedFailedVMs`). Before, a report sent once in a datagram that got lost
/// left the VM down for good (sim nightly 33f46782: a VM killed on a host with 55 % loss).
@Suite struct FailureReportTests {
    /// `host-1`, a slave of `host-2` from T15, running vm-1 which crashes at T100.
    static func slaveWithCrashedVM() -> AgentHarness {
        var h = AgentHarness(myself: "host-1", config: TimelineTests.cluster(["host-1", "host-2"]))
        h.handle(.vmPowerStateChanged(vm: "vm-1", poweredOn: true, reason: nil))
        h.advance(to: .seconds(100)) { h in
            guard h.isMultiple(of: .seconds(1)) else { return }
            if h.instance.role == .election { h.receive(.masterAnnounce(.init(host: "host-2", connectedDatastores: 2)), from: "host-2") }
            if h.instance.role == .slave { h.receive(.masterHeartbeat(.init(master: "host-2", configVersion: 1, datastoreReach: [:])), from: "host-2") }
        }
        h.handle(.vmPowerStateChanged(vm: "vm-1", poweredOn: false, reason: .crashed))
        return h
    }

    /// Plain heartbeats of master `host-2` (no echo) every second until `deadline`.
    static func masterHeartbeats(_ h: inout AgentHarness, until deadline: Instant) {
        h.advance(to: deadline) { h in
            if h.isMultiple(of: .seconds(1)) { h.receive(.masterHeartbeat(.init(master: "host-2", configVersion: 1, datastoreReach: [:])), from: "host-2") }
        }
    }

    static func reportedFailures(_ h: AgentHarness, from: Instant, to: Instant) -> [[VMID]] {
        h.sent.filter { $0.at > from && $0.at <= to }.compactMap { sent in
            if case .slaveHeartbeat(let heartbeat) = sent.message { heartbeat.failedVMs } else { nil }
        }
    }

    @Test func slave_repeatsAFailureUntilTheMasterEchoesIt() {
        var h = Self.slaveWithCrashedVM()
        #expect(h.instance.role == .slave)
        // The master's heartbeats go on, but it has not received the report (lost datagrams).
        Self.masterHeartbeats(&h, until: .seconds(110))
        let unacked = Self.reportedFailures(h, from: .seconds(100), to: .seconds(110))
        #expect(unacked.count >= 9)
        #expect(unacked.allSatisfy { $0 == ["vm-1"] }, "\(unacked)")
        // The master got it and echoes it: the slave stops repeating.
        h.receive(.masterHeartbeat(.init(master: "host-2", configVersion: 1, datastoreReach: [:], ackedFailedVMs: ["vm-1"])), from: "host-2")
        Self.masterHeartbeats(&h, until: .seconds(120))
        let after = Self.reportedFailures(h, from: .seconds(110), to: .seconds(120))
        #expect(!after.isEmpty && after.allSatisfy(\.isEmpty), "\(after)")
    }

    @Test func slave_stopsReportingAVMThatRunsHereAgain() {
        var h = Self.slaveWithCrashedVM()
        Self.masterHeartbeats(&h, until: .seconds(103))
        // The master restarted it on this host; the echo was lost.
        h.handle(.vmPowerStateChanged(vm: "vm-1", poweredOn: true, reason: nil))
        Self.masterHeartbeats(&h, until: .seconds(110))
        let after = Self.reportedFailures(h, from: .seconds(103), to: .seconds(110))
        #expect(!after.isEmpty && after.allSatisfy(\.isEmpty), "\(after)")
    }

    @Test func master_echoesTheReport_andActsOnItOnce() {
        var h = TimelineTests.masterWithSlave()
        let report = PeerMessage.slaveHeartbeat(.init(host: "host-1", poweredOn: [], accessibleDatastores: ["ds-1", "ds-2"], failedVMs: ["vm-1"], configVersion: 1))
        h.advance(to: .seconds(110)) { h in
            if h.isMultiple(of: .seconds(1)) { h.receive(report, from: "host-1") }
        }
        let acks = h.sent.filter { $0.at > .seconds(100) && $0.to == "host-1" }.compactMap { sent -> [VMID]? in
            if case .masterHeartbeat(let heartbeat) = sent.message { heartbeat.ackedFailedVMs } else { nil }
        }
        #expect(!acks.isEmpty && acks.allSatisfy { $0 == ["vm-1"] }, "\(acks)")
        #expect(h.all { if case .vmFailureDetected(vm: "vm-1", _, _) = $0 { true } else { false } }.count == 1)
        #expect(h.all { if case .restartIssued(vm: "vm-1", _, _, _) = $0 { true } else { false } }.count == 1)
    }

    @Test func master_ignoresARepeatedReportOfAVMTheSlaveRunsAgain() {
        var h = TimelineTests.masterWithSlave()
        // The slave runs vm-1 again (restarted there) while its repeated report still lists it.
        let stale = PeerMessage.slaveHeartbeat(.init(host: "host-1", poweredOn: ["vm-1"], accessibleDatastores: ["ds-1", "ds-2"], failedVMs: ["vm-1"], configVersion: 1))
        h.advance(to: .seconds(105)) { h in
            if h.isMultiple(of: .seconds(1)) { h.receive(stale, from: "host-1") }
        }
        #expect(h.first { if case .vmFailureDetected(vm: "vm-1", _, _) = $0 { true } else { false } } == nil)
    }
}
