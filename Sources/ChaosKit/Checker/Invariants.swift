import HACore

/// The invariants of oracle §11, one static function each, grouped by area in
/// `Invariants+<Area>.swift`.
enum Invariants {
    /// Every implemented id with its short name, in oracle order.
    static let catalogue: [(id: String, name: String)] = [
        ("INV-E1", "at most one master per management partition"),
        ("INV-E2", "election winner: most datastores, then highest MoID (string order)"),
        ("INV-E3", "new master after a master failure at T25 ±5 s"),
        ("INV-E4", "restarts are issued only by a master"),
        ("INV-E5", "one master again within an election period after a partition heals"),
        ("INV-E6", "slaves talk to slaves only with election messages"),
        ("INV-H1", "datastore-heartbeat checks start no earlier than T3 s"),
        ("INV-H2", "a slave with network heartbeats is never declared dead or isolated"),
        ("INV-H3", "heartbeat datastores per host in [2, 5], each shared by ≥ 2 hosts"),
        ("INV-H4", "NFS heartbeat file mtime advances every 5 s"),
        ("INV-FS1", "failed slave with heartbeat datastores: dead at T18, restarts by T48"),
        ("INV-FS2", "failed slave without heartbeat datastores: dead at T15, restarts by T45"),
        ("INV-FS3", "no restart of a failed slave's VMs before T15"),
        ("INV-FS4", "no HA restart after a clean host shutdown"),
        ("INV-FM1", "failed master: election T10, new master T25, restarts T35"),
        ("INV-I1", "isolated slave: declared in [T25, T31], response at T30 + D"),
        ("INV-I2", "isolated master: declared at T5, response at T5 + D, protectedlist released"),
        ("INV-I3", "no isolation response once isolation is cancelled"),
        ("INV-I4", "leave powered on: no VM stopped on an isolated host"),
        ("INV-I5", "power-off only while another master owns the datastore, else deferral"),
        ("INV-I6", "unreachable home datastore: response applied at T_resp"),
        ("INV-I7", "poweredoff marker and poweron file written by the isolation response"),
        ("INV-I8", "shutdown response completes within 300 s (at once without Tools)"),
        ("INV-I9", "isolation-stopped VMs restarted within T_resp + 30 s"),
        ("INV-I10", "restart priority disabled: no isolation response"),
        ("INV-I11", "management network outage: no VM powered off"),
        ("INV-P1", "partition of ≥ 2 hosts: no isolation response, no restart of running VMs"),
        ("INV-P2", "each datastore's protectedlist held by at most one master"),
        ("INV-SB1", "at most one instance holds the disk lock; duplicates only after storage loss"),
        ("INV-SB2", "duplicates resolved by lost-lock after storage and network return"),
        ("INV-SB3", "leave powered on with storage kept: no second instance"),
        ("INV-R1", "at most 32 concurrent HA power-ons per target host"),
        ("INV-R2", "per target host, higher priority issued first within a failover batch"),
        ("INV-R3", "at most 5 attempts per master, retries at +2/+4/+8/+16 min"),
        ("INV-R4", "disabled, user-powered-off and cleanly shut down VMs never restarted"),
        ("INV-R5", "admission control never blocks a restart; pending placement retried"),
        ("INV-R6", "restart placement respects compatibility lists and agent VMs"),
        ("INV-AC1", "slot-policy admission control"),
        ("INV-AC2", "percentage-policy admission control"),
        ("INV-PDL1", "PDL kill and restart iff das.maskCleanShutdownEnabled"),
        ("INV-APD1", "APD response no earlier than 140 s + 180 s"),
        ("INV-VM1", "no VM-monitoring reset within min uptime or with recent I/O"),
        ("INV-VM2", "guest hang: reset in T+81…139 s"),
        ("INV-VM3", "at most maxFailures resets per window"),
        ("INV-VM4", "a VM-monitoring reset keeps the VM on its host"),
    ]

    /// Every implemented id, in oracle order.
    static var ids: [String] { catalogue.map(\.id) }

    /// The short name of an id (the id itself when unknown).
    static func name(_ id: String) -> String { catalogue.first { $0.id == id }?.name ?? id }

    /// Runs one invariant by id.
    static func check(_ id: String, _ c: CheckContext) -> CheckResult {
        switch id {
        case "INV-E1": e1(c)
        case "INV-E2": e2(c)
        case "INV-E3": e3(c)
        case "INV-E4": e4(c)
        case "INV-E5": e5(c)
        case "INV-E6": e6(c)
        case "INV-H1": h1(c)
        case "INV-H2": h2(c)
        case "INV-H3": h3(c)
        case "INV-H4": h4(c)
        case "INV-FS1": fs1(c)
        case "INV-FS2": fs2(c)
        case "INV-FS3": fs3(c)
        case "INV-FS4": fs4(c)
        case "INV-FM1": fm1(c)
        case "INV-I1": i1(c)
        case "INV-I2": i2(c)
        case "INV-I3": i3(c)
        case "INV-I4": i4(c)
        case "INV-I5": i5(c)
        case "INV-I6": i6(c)
        case "INV-I7": i7(c)
        case "INV-I8": i8(c)
        case "INV-I9": i9(c)
        case "INV-I10": i10(c)
        case "INV-I11": i11(c)
        case "INV-P1": p1(c)
        case "INV-P2": p2(c)
        case "INV-SB1": sb1(c)
        case "INV-SB2": sb2(c)
        case "INV-SB3": sb3(c)
        case "INV-R1": r1(c)
        case "INV-R2": r2(c)
        case "INV-R3": r3(c)
        case "INV-R4": r4(c)
        case "INV-R5": r5(c)
        case "INV-R6": r6(c)
        case "INV-AC1": ac1(c)
        case "INV-AC2": ac2(c)
        case "INV-PDL1": pdl1(c)
        case "INV-APD1": apd1(c)
        case "INV-VM1": vm1(c)
        case "INV-VM2": vm2(c)
        case "INV-VM3": vm3(c)
        case "INV-VM4": vm4(c)
        default:
            CheckResult(id: id, name: id, passed: nil, expected: "a known invariant of oracle §11",
                        observed: "not implemented")
        }
    }

    /// Finishes a ``Findings`` for `id`.
    static func finish(_ f: Findings, _ id: String, noTrigger: String, expected: String) -> CheckResult {
        f.result(id: id, name: name(id), noTrigger: noTrigger, expected: expected)
    }

    // MARK: - Shared trigger helpers

    /// Timeline of one isolation of one host: who, when, and when the response is due.
    struct Isolation {
        var host: HostID
        var fault: FaultRecord
        /// Role just before the fault (slave → §4.3, master → §4.4).
        var wasMaster: Bool
        /// Run seconds.
        var t0: Double { fault.injectedAt }
        /// Model seconds after T0 when the host should declare itself isolated (T30 / T5).
        var declaredAfter: Double { wasMaster ? 5 : 30 }
    }

    /// Every host isolation in the journal: `isolateHost` faults and every host of a
    /// management-network outage, with the host's role at T0. Hosts with no role evidence at T0
    /// are left out (the timeline depends on the role).
    static func isolations(_ c: CheckContext, includeOutage: Bool = true) -> (found: [Isolation], unknownRole: [String]) {
        var found: [Isolation] = []
        var unknownRole: [String] = []
        for f in c.faults {
            var hosts: [HostID] = []
            switch f.fault {
            case .isolateHost(let h, _): hosts = [h]
            case .managementNetworkOutage where includeOutage: hosts = c.hostIDs.filter { c.isUp($0, at: f.injectedAt) }
            default: continue
            }
            for h in hosts {
                switch c.role(of: h, justBefore: f.injectedAt) {
                case .master: found.append(Isolation(host: h, fault: f, wasMaster: true))
                case .slave: found.append(Isolation(host: h, fault: f, wasMaster: false))
                default: unknownRole.append("\(h) had no master/slave role at the \(f.fault.kind) at \(c.at(f.injectedAt))")
                }
            }
        }
        return (found, unknownRole)
    }

    /// T_resp in model seconds after T0: T30 + D (slave) or T5 + D (master).
    static func responseOffset(_ iso: Isolation, _ c: CheckContext) -> Double {
        iso.declaredAfter + c.isolationDelay
    }

    /// Run time at which the isolation fault stops (heal), or `nil` when it lasts to the end.
    static func isolationEnd(_ iso: Isolation, _ c: CheckContext) -> Double? { c.faultEnd(iso.fault) }

    /// Whether the isolation was still in force `modelOffset` model seconds after T0.
    static func lasted(_ iso: Isolation, _ c: CheckContext, modelOffset: Double) -> Bool {
        let until = iso.t0 + c.run(model: modelOffset)
        return (isolationEnd(iso, c).map { $0 >= until } ?? true) && c.runEnd >= until
    }

    /// Whether the instance ended because of the isolation response.
    static func endedByIsolation(_ i: VMInstanceRecord) -> Bool { i.endReason == .isolationResponse }
}
