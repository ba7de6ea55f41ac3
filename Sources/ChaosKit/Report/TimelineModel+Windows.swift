import HACore

/// The documented timing windows of oracle §4 / §11 for each fault of a run, each paired with
/// the moment the run actually did the thing, for the brackets under the fault bands of
/// `timeline.html`.
///
/// The triggers and bounds are the checker's own (``Invariants``: slave and master failures,
/// isolations with their T_resp), so a bracket and the check that judges it never disagree:
/// - failed slave (INV-FS1/FS2/FS3): dead in [T17, T20] (T18 with heartbeat datastores; [T14, T17]
///   without), restarts in [T14, T48] (T15 − 1 s at the earliest, T18 + 30 s at the latest);
/// - failed master (INV-FM1, INV-E3): election [T8, T12], new master [T20, T30], restarts [T30, T40];
/// - isolated slave / master (INV-I1, INV-I2, INV-I9): declared [T25, T31] / [T3, T7], response at
///   T_resp ±2 (T_resp = T30 + D or T5 + D), restarts of its stopped VMs in [T_resp, T_resp + 32];
///   an isolated master's peers elect as after a master failure;
/// - partition (§4.7): the side without the master elects as after a master failure;
/// - partition heal (INV-E5): one master again within 20 s of the heal;
/// - split-brain (INV-SB2): the lock-less duplicate ends within 60 s (our bound) of storage and
///   network returning.
enum DocumentedWindows {
    /// Most windows drawn (a management-network outage isolates every host).
    static let limit = 16

    static func of(_ c: CheckContext) -> [TimelineModel.Window] {
        var windows: [TimelineModel.Window] = []
        slaveFailures(c, into: &windows)
        masterFailures(c, into: &windows)
        isolations(c, into: &windows)
        partitionElections(c, into: &windows)
        partitionHeals(c, into: &windows)
        splitBrainResolutions(c, into: &windows)
        return Array(windows.sorted { $0.t0 != $1.t0 ? $0.t0 < $1.t0 : $0.from < $1.from }.prefix(limit))
    }

    /// A window `[lo, hi]` model seconds after the run-time fault instant `t0`.
    static func window(_ label: String, _ lo: Double, _ hi: Double, t0: Double, observed: Double?, what: String, _ c: CheckContext) -> TimelineModel.Window {
        let zero = c.model(t0)
        let seen = observed.map { c.model($0) }
        let bounds = "[T\(fmt(lo)), T\(fmt(hi))]"
        let tip = "documented: \(label) \(bounds) after T0 = model \(fmt(zero)) s; observed: "
            + (seen.map { "\(what) at T+\(fmt($0 - zero)) (model \(fmt($0)) s)" } ?? "nothing")
        return TimelineModel.Window(label: "\(label) \(bounds)", from: zero + lo, to: zero + hi, t0: zero, observed: seen, tip: tip)
    }

    // MARK: - Failures

    static func slaveFailures(_ c: CheckContext, into windows: inout [TimelineModel.Window]) {
        for failure in Invariants.slaveFailures(c).found {
            let h = failure.host
            let t0 = failure.t0
            let base = c.history.cluster.heartbeatCandidates(for: h).isEmpty ? 15.0 : 18.0
            let dead = c.stateReports.first { $0.host == h && $0.state == .dead && $0.time >= t0 }
            windows.append(window("\(h) dead", base - 1, base + 2, t0: t0, observed: dead?.time, what: "declared dead by \(dead?.observer.rawValue ?? "?")", c))
            let vms = Invariants.protectedVMs(on: h, at: t0, c)
            guard !vms.isEmpty else { continue }
            let first = c.restartIssues.first { vms.contains($0.vm) && $0.time >= t0 }
            windows.append(window("\(h)'s VMs restarted", 14, base + 30, t0: t0, observed: first?.time,
                                  what: "first restart (\(first?.vm.rawValue ?? "?")) issued", c))
        }
    }

    static func masterFailures(_ c: CheckContext, into windows: inout [TimelineModel.Window]) {
        for (h, fault) in Invariants.masterFailures(c, includeIsolation: true) {
            let t0 = fault.injectedAt
            let election = c.events.first { e in
                guard e.time > t0, e.event.host != h else { return false }
                if case .electionStarted = e.event.kind { return true }
                return false
            }
            windows.append(window("election after \(h)", 8, 12, t0: t0, observed: election?.time, what: "\(election?.event.host.rawValue ?? "?") started an election", c))
            let newMaster = c.masterIntervals.first { $0.host != h && $0.from > t0 }
            windows.append(window("new master", 20, 30, t0: t0, observed: newMaster?.from, what: "\(newMaster?.host.rawValue ?? "?") became master", c))
            if case .powerOffHost = fault.fault {
                let vms = Invariants.protectedVMs(on: h, at: t0, c)
                if !vms.isEmpty {
                    let first = c.restartIssues.first { vms.contains($0.vm) && $0.time >= t0 }
                    windows.append(window("\(h)'s VMs restarted", 30, 40, t0: t0, observed: first?.time,
                                          what: "first restart (\(first?.vm.rawValue ?? "?")) issued", c))
                }
            }
        }
    }

    // MARK: - Isolation

    static func isolations(_ c: CheckContext, into windows: inout [TimelineModel.Window]) {
        let tolerance = Invariants.isolationTolerance
        for iso in Invariants.isolations(c).found {
            let h = iso.host
            let t0 = iso.t0
            let declared = iso.wasMaster ? (lo: 3.0, hi: 7.0) : (lo: 25.0, hi: 31.0)
            let declaration = c.isolationDeclarations.first { $0.host == h && $0.time > t0 }
            windows.append(window("\(h) isolated", declared.lo, declared.hi, t0: t0, observed: declaration?.time, what: "\(h) declared itself isolated", c))
            let responders = c.instances(on: h, justBefore: t0).map(\.vm).filter { Invariants.stopsVM(c.isolationResponse(of: $0)) }
            guard !responders.isEmpty else { continue }
            let tresp = Invariants.responseOffset(iso, c)
            let decision = c.decisions.first { $0.host == h && $0.time > t0 && responders.contains($0.vm) }
            windows.append(window("\(h) response", tresp - tolerance, tresp + tolerance, t0: t0, observed: decision?.time,
                                  what: "\(h) \(decision?.applied == false ? "deferred" : "applied") the response (\(decision?.vm.rawValue ?? "?"))", c))
            let stopped = c.history.vmInstances.filter { $0.host == h && Invariants.endedByIsolation($0) && ($0.end ?? 0) >= t0 }.map(\.vm)
            if !stopped.isEmpty {
                let first = c.restartIssues.first { stopped.contains($0.vm) && $0.time > t0 }
                windows.append(window("\(h)'s stopped VMs restarted", tresp, tresp + 30 + tolerance, t0: t0, observed: first?.time,
                                      what: "first restart (\(first?.vm.rawValue ?? "?")) issued", c))
            }
        }
    }

    // MARK: - Partition

    /// Oracle §4.7: each partition elects its own master; the side cut off from the master runs
    /// §4.2's timeline (election at T10 ±2, a new master at T25 ±5).
    static func partitionElections(_ c: CheckContext, into windows: inout [TimelineModel.Window]) {
        for fault in c.faults {
            guard case .partition(let groups) = fault.fault else { continue }
            let t0 = fault.injectedAt
            for group in groups where !group.contains(where: { c.role(of: $0, justBefore: t0) == .master }) {
                guard group.contains(where: { c.agentRunning($0, at: t0) }) else { continue }
                let name = group.map(\.rawValue).joined(separator: ",")
                let election = c.events.first { e in
                    guard e.time > t0, group.contains(e.event.host) else { return false }
                    if case .electionStarted = e.event.kind { return true }
                    return false
                }
                windows.append(window("election in \(name)", 8, 12, t0: t0, observed: election?.time, what: "\(election?.event.host.rawValue ?? "?") started an election", c))
                let master = c.masterIntervals.first { group.contains($0.host) && $0.from > t0 }
                windows.append(window("master in \(name)", 20, 30, t0: t0, observed: master?.from, what: "\(master?.host.rawValue ?? "?") became master", c))
            }
        }
    }

    static func partitionHeals(_ c: CheckContext, into windows: inout [TimelineModel.Window]) {
        for fault in c.faults {
            guard case .partition = fault.fault, let heal = c.faultEnd(fault) else { continue }
            let mastersAfter = c.masterIntervals.filter { ($0.to ?? c.runEnd) > heal }
            guard mastersAfter.count > 1 else { continue }
            // The first instant after the heal with at most one master.
            let candidates = [heal] + c.masterIntervals.compactMap(\.to).filter { $0 > heal }.sorted()
            let single = candidates.first { c.masters(at: $0 + c.epsilon).count <= 1 }
            let w = window("one master after heal", 0, Invariants.mergeGrace, t0: heal, observed: single, what: "at most one master", c)
            windows.append(w)
        }
    }

    // MARK: - Split-brain

    /// INV-SB2's window: from the moment storage and network of the older instance's host came
    /// back (as the checker computes it) to our 60 s bound; observed: the lock-less instance's end.
    static func splitBrainResolutions(_ c: CheckContext, into windows: inout [TimelineModel.Window]) {
        for d in Invariants.duplicates(c) {
            guard let span = Invariants.storageLossSpans(c, d.older).last(where: { $0.from <= d.from }) else { continue }
            var restore: Double? = span.to
            for fault in c.faults where c.isActive(fault, at: d.from) && Invariants.cutsHeartbeats(fault.fault, slave: d.older.host, master: d.older.host) {
                restore = restore.flatMap { r in c.faultEnd(fault).map { max(r, $0) } }
            }
            guard let restored = restore else { continue }
            let holder = c.history.diskLocks.first { $0.vm == d.older.vm && $0.from <= restored && ($0.to.map { $0 > restored } ?? true) }
            let lockless = holder?.instance == d.older.instance ? d.newer : d.older
            var w = window("\(d.older.vm) duplicate ends", 0, Invariants.lostLockResolutionBound, t0: restored, observed: lockless.end,
                           what: "\(lockless.instance) on \(lockless.host) ended (\(lockless.endReason.rawValue))", c)
            w.openStart = true
            w.label = "\(d.older.vm) duplicate ends ≤ T\(fmt(Invariants.lostLockResolutionBound)) after storage/network return"
            windows.append(w)
        }
    }
}
