import HACore

// MARK: - Isolation (oracle §4.3–§4.6, §5, §11 INV-I1…I11)

extension Invariants {
    /// Tolerance for heartbeat-driven isolation transitions (model seconds, oracle §11).
    static let isolationTolerance = 2.0

    /// Whether a response stops the VM (power-off or shutdown).
    static func stopsVM(_ response: IsolationResponse) -> Bool { response == .powerOff || response == .shutdown }

    /// The decisions `host` made during an isolation (from T0 to the heal + 2 s).
    static func decisions(_ c: CheckContext, _ iso: Isolation) -> [ResponseDecision] {
        let until = (isolationEnd(iso, c) ?? c.runEnd) + c.run(model: isolationTolerance)
        return c.decisions.filter { $0.host == iso.host && $0.time > iso.t0 && $0.time <= until }
    }

    /// `T\(x)` for a model offset.
    static func mark(_ offset: Double) -> String { "T\(fmt(offset))" }

    // MARK: INV-I1 / INV-I2

    /// The shared timeline check of an isolated slave (I1) or master (I2).
    static func isolatedHostTimeline(_ c: CheckContext, id: String, master: Bool) -> CheckResult {
        var f = Findings()
        let (isos, unknownRoles) = isolations(c, includeOutage: false)
        for u in unknownRoles { f.note(u) }
        let declared = master ? (lo: 3.0, hi: 7.0) : (lo: 25.0, hi: 31.0)
        for iso in isos where iso.wasMaster == master {
            let h = iso.host
            let t0 = iso.t0
            let tresp = responseOffset(iso, c)
            let role = master ? "master" : "slave"
            f.expect("\(h) (\(role) at T0) isolated at \(c.at(t0)): declares isolation in [\(mark(declared.lo)), \(mark(declared.hi))]; "
                + "isolation response at \(mark(tresp)) ±2 (\(c.profileName), D=\(fmt(c.isolationDelay)) s); no isolation power-off before \(mark(tresp - isolationTolerance))")
            if c.runEnd < t0 + c.run(model: declared.hi) {
                f.unknown("run ended at \(c.offset(c.runEnd, since: t0)), before \(mark(declared.hi))")
                continue
            }
            if let heal = isolationEnd(iso, c), heal < t0 + c.run(model: declared.hi) {
                f.note("isolation of \(h) healed at \(c.offset(heal, since: t0)), before \(mark(declared.hi)): skipped")
                continue
            }
            // Declaration.
            let declaration = c.isolationDeclarations.first { $0.host == h && $0.time > t0 }
            if let declaration {
                let d = c.model(declaration.time - t0)
                let text = "\(h) declared itself isolated at \(c.stamp(declaration.time, since: t0))"
                if d < declared.lo || d > declared.hi { f.fail(text, at: declaration.time) } else { f.pass(text, at: declaration.time) }
            } else {
                f.fail("\(h) never declared itself isolated after \(c.at(t0))", at: t0 + c.run(model: declared.hi))
            }
            // Response timing.
            let responders = c.instances(on: h, justBefore: t0).map(\.vm).filter { stopsVM(c.isolationResponse(of: $0)) }
            if responders.isEmpty {
                f.note("no VM with a power-off/shutdown response ran on \(h) at T0: response time not applicable")
            } else if c.runEnd < t0 + c.run(model: tresp + isolationTolerance) {
                f.unknown("run ended at \(c.offset(c.runEnd, since: t0)), before \(mark(tresp + isolationTolerance))")
            } else if let heal = isolationEnd(iso, c), heal < t0 + c.run(model: tresp + isolationTolerance) {
                f.note("isolation of \(h) healed at \(c.offset(heal, since: t0)), before the response time")
            } else if let first = decisions(c, iso).first(where: { responders.contains($0.vm) }) {
                let d = c.model(first.time - t0)
                let what = first.applied ? "applied the isolation response to \(first.vm)" : "deferred the isolation response of \(first.vm)"
                let text = "\(h) \(what) at \(c.stamp(first.time, since: t0))"
                if abs(d - tresp) > isolationTolerance { f.fail(text, at: first.time) } else { f.pass(text, at: first.time) }
            } else {
                f.fail("\(h) neither applied nor deferred an isolation response for \(capped(responders.map(\.rawValue), limit: 4, separator: ", ")) by \(mark(tresp + isolationTolerance))",
                       at: t0 + c.run(model: tresp + isolationTolerance))
            }
            // No isolation power-off before T_resp − 2.
            let earliest = t0 + c.run(model: tresp - isolationTolerance)
            for d in c.decisions where d.host == h && d.stopsVM && d.time > t0 && d.time < earliest {
                f.fail("\(h) stopped \(d.vm) by isolation response at \(c.stamp(d.time, since: t0)), before \(mark(tresp - isolationTolerance))", at: d.time)
            }
            for i in c.history.vmInstances where i.host == h && endedByIsolation(i) {
                if let end = i.end, end >= t0, end < earliest, !c.decisions.contains(where: { $0.vm == i.vm && $0.host == h && $0.stopsVM && $0.time < earliest && $0.time > t0 }) {
                    f.fail("\(i.vm) on \(h) ended by isolation response at \(c.stamp(end, since: t0)), before \(mark(tresp - isolationTolerance))", at: end)
                }
            }
            // I2: the isolated master releases its protectedlist locks.
            if master {
                let since = (declaration?.time ?? t0 + c.run(model: 5)) + c.run(model: isolationTolerance)
                let until = isolationEnd(iso, c) ?? c.runEnd
                if c.history.protectedListLocks.isEmpty {
                    f.unknown("no protectedlist lock observations in this run: lock release not judged")
                } else {
                    let held = c.history.protectedListLocks.filter { $0.holder == h && $0.from < until && ($0.to.map { $0 > since } ?? true) }
                    for lock in held {
                        let to = lock.to.map { c.stamp($0, since: t0) } ?? "the end of the run"
                        f.fail("isolated master \(h) held the protectedlist lock of \(lock.datastore) until \(to) (declared + 2 s = \(c.offset(since, since: t0)))", at: since)
                    }
                    if held.isEmpty {
                        let released = c.history.protectedListLocks.filter { $0.holder == h && $0.from <= t0 && ($0.to.map { $0 >= t0 } ?? true) }
                        if released.isEmpty {
                            f.note("\(h) held no protectedlist lock at T0")
                        } else {
                            let last = released.compactMap(\.to).max() ?? t0
                            f.pass("\(h) released its \(released.count) protectedlist lock(s) by \(c.stamp(last, since: t0))", at: last)
                        }
                    }
                }
            }
        }
        return finish(f, id, noTrigger: "no isolation of a \(master ? "master" : "slave") in this run",
                      expected: master
                          ? "isolated master declares isolation at T5 ±2, applies the response at T5 + D ±2 and releases its protectedlist locks"
                          : "isolated slave declares isolation in [T25, T31], applies the response at T30 + D ±2, none before T30 + D − 2")
    }

    /// INV-I1: isolated slave timeline.
    static func i1(_ c: CheckContext) -> CheckResult { isolatedHostTimeline(c, id: "INV-I1", master: false) }

    /// INV-I2: isolated master timeline and protectedlist release.
    static func i2(_ c: CheckContext) -> CheckResult { isolatedHostTimeline(c, id: "INV-I2", master: true) }

    // MARK: INV-I3

    /// INV-I3: once a ping answers or election traffic is seen, no isolation response is applied.
    static func i3(_ c: CheckContext) -> CheckResult {
        let id = "INV-I3"
        var f = Findings()
        let tolerance = c.run(model: isolationTolerance)
        // (a) Isolation cleared by the host itself.
        for clear in c.isolationClearances {
            let h = clear.host
            let next = c.isolationDeclarations.first { $0.host == h && $0.time > clear.time }?.time ?? c.runEnd
            f.expect("after \(h) clears its isolation, no isolation response until it is isolated again")
            let late = c.decisions.filter { $0.host == h && $0.stopsVM && $0.time > clear.time + tolerance && $0.time < next }
            for d in late {
                f.fail("\(h) stopped \(d.vm) by isolation response at \(c.stamp(d.time, since: clear.time)) after clearing its isolation (\(clear.reason)) at \(c.at(clear.time))", at: d.time)
            }
            if late.isEmpty { f.pass("\(h) cleared isolation at \(c.at(clear.time)) (\(clear.reason)); no response after", at: clear.time) }
        }
        // (b) Isolation healed before the response time.
        let (isos, _) = isolations(c, includeOutage: true)
        for iso in isos {
            guard let heal = isolationEnd(iso, c), heal < iso.t0 + c.run(model: responseOffset(iso, c) - isolationTolerance) else { continue }
            let h = iso.host
            // A fault that cuts the host off again from the heal on (an isolation right after
            // another, found by chaos nightly, seed 1120) continues the isolation.
            let next = c.faults.first {
                ($0.injectedAt > heal && cutsHeartbeats($0.fault, slave: h, master: h)) || ($0.injectedAt >= heal && deafens($0.fault, h))
            }?.injectedAt ?? c.runEnd
            f.expect("\(h)'s isolation healed at \(c.at(heal)) before its response time: no isolation response after heal + 2 s")
            let late = c.decisions.filter { $0.host == h && $0.stopsVM && $0.time > heal + tolerance && $0.time < next }
            for d in late {
                f.fail("\(h) stopped \(d.vm) by isolation response at \(c.stamp(d.time, since: heal)) after its isolation healed at \(c.at(heal))", at: d.time)
            }
            if late.isEmpty { f.pass("\(h)'s isolation healed at \(c.at(heal)); no response after", at: heal) }
        }
        // (c) Isolation addresses dropped while agent traffic flows: never isolated.
        for fault in c.faults {
            guard case .dropIsolationAddress(let h) = fault.fault else { continue }
            let end = c.faultEnd(fault) ?? c.runEnd
            let overlapping = c.faults.contains { other in
                guard other != fault, other.injectedAt < end, (c.faultEnd(other) ?? c.runEnd) > fault.injectedAt else { return false }
                return cutsHeartbeats(other.fault, slave: h, master: h) || deafens(other.fault, h)
            }
            guard !overlapping else {
                f.note("isolation addresses of \(h) dropped together with another network fault: not judged")
                continue
            }
            f.expect("\(h) keeps seeing agent traffic while its isolation addresses are unreachable: never isolated, no response")
            // A declaration is judged only when h had agent traffic to hear before it: some other
            // agent broadcasting (master or in election) that no fault cut off from h in the
            // 5 s window a declaration needs. A host that is master with no slaves while the
            // others still follow a dead master hears nothing (netns rehearsal: host-2 cleared
            // an isolation, the master was powered off, nobody broadcast for 9 s).
            let window = (before: c.run(model: 5), margin: c.run(model: 1))
            var declared: [(time: Double, host: HostID)] = []
            var silent: [Double] = []
            for d in c.isolationDeclarations where d.host == h && d.time >= fault.injectedAt && d.time <= end {
                if broadcasters(audibleTo: h, from: d.time - window.before, to: d.time - window.margin, c).isEmpty {
                    silent.append(d.time)
                    f.note("\(h) declared isolation at \(c.stamp(d.time, since: fault.injectedAt)) with no master or election traffic it could hear in the 5 s before: not judged")
                } else {
                    declared.append(d)
                }
            }
            // A response that follows an unjudged declaration is not judged either.
            let stopped = c.decisions.filter { d in
                guard d.host == h, d.stopsVM, d.time >= fault.injectedAt, d.time <= end else { return false }
                let latest = c.isolationDeclarations.last { $0.host == h && $0.time <= d.time }?.time
                return latest.map { !silent.contains($0) } ?? true
            }
            for d in declared { f.fail("\(h) declared isolation at \(c.stamp(d.time, since: fault.injectedAt)) while still seeing agent traffic", at: d.time) }
            for d in stopped { f.fail("\(h) stopped \(d.vm) by isolation response at \(c.stamp(d.time, since: fault.injectedAt)) while still seeing agent traffic", at: d.time) }
            if declared.isEmpty && stopped.isEmpty {
                f.pass("\(h) lost its isolation addresses over \(c.at(fault.injectedAt))–\(fmt(c.model(end))) s and was never isolated"
                       + (silent.isEmpty ? "" : " while it could hear agent traffic"), at: fault.injectedAt)
            }
        }
        return finish(f, id, noTrigger: "no cleared isolation, early-healed isolation or dropped isolation address in this run",
                      expected: "once an isolation address answers or election traffic is seen before T_resp, no isolation response is applied")
    }

    /// The hosts other than `h` that broadcast agent traffic (master announcements, election
    /// messages) at some time in [`from`, `to`] run seconds while no fault in force cut their
    /// traffic to `h`.
    static func broadcasters(audibleTo h: HostID, from: Double, to: Double, _ c: CheckContext) -> [HostID] {
        c.hostIDs.filter { g in
            guard g != h else { return false }
            return (c.roles[g] ?? []).contains { interval in
                guard interval.role == .master || interval.role == .election else { return false }
                let start = max(interval.from, from), stop = min(interval.to ?? c.runEnd, to)
                guard start < stop else { return false }
                // Heard unless one fault in force over the whole overlap cut g → h.
                return !c.faults.contains { f in
                    f.injectedAt <= start && (c.faultEnd(f) ?? c.runEnd) >= stop && cutsTraffic(f.fault, from: g, to: h)
                }
            }
        }
    }

    /// Whether `fault` keeps agent traffic of `sender` from reaching `receiver` (direction-aware
    /// for one-way cuts; any fault that stops either agent or its network counts).
    static func cutsTraffic(_ fault: Fault, from sender: HostID, to receiver: HostID) -> Bool {
        if case .partitionOneWay(let from, let to) = fault { return from.contains(sender) && to.contains(receiver) }
        return cutsHeartbeats(fault, slave: receiver, master: sender)
    }

    /// Whether `fault` keeps every other agent's traffic from reaching `h`: its isolation, an
    /// outage, a partition that leaves it alone, or a one-way cut towards it (a partition
    /// group of one host is an isolation; found by chaos nightly, seed 1416).
    static func deafens(_ fault: Fault, _ h: HostID) -> Bool {
        switch fault {
        case .isolateHost(let host, _): host == h
        case .managementNetworkOutage: true
        case .partition(let groups): groups.contains { $0 == [h] }
        case .partitionOneWay(_, let to): to.contains(h)
        default: false
        }
    }

    // MARK: INV-I4

    /// INV-I4: with "leave powered on", HA never stops a VM on an isolated host.
    static func i4(_ c: CheckContext) -> CheckResult {
        let id = "INV-I4"
        var f = Findings()
        // Anywhere: a leave-powered-on VM never gets a stopping response.
        for d in c.decisions where d.stopsVM && c.isolationResponse(of: d.vm) == .leavePoweredOn {
            f.fail("\(d.host) applied \(d.response?.rawValue ?? "?") to \(d.vm) at \(c.at(d.time)) although its response is leave powered on", at: d.time)
        }
        let (isos, _) = isolations(c, includeOutage: true)
        for iso in isos {
            let h = iso.host
            let tresp = responseOffset(iso, c)
            let vms = c.instances(on: h, justBefore: iso.t0).filter { c.isolationResponse(of: $0.vm) == .leavePoweredOn }
            guard !vms.isEmpty else { continue }
            f.expect("\(h) isolated at \(c.at(iso.t0)): its leave-powered-on VMs keep running (past \(mark(tresp + isolationTolerance)))")
            guard lasted(iso, c, modelOffset: tresp + isolationTolerance) else {
                f.note("isolation of \(h) at \(c.at(iso.t0)) ended before \(mark(tresp + isolationTolerance)): not judged")
                continue
            }
            let until = (isolationEnd(iso, c) ?? c.runEnd) + c.run(model: isolationTolerance)
            for instance in vms {
                if let end = instance.end, endedByIsolation(instance), end <= until {
                    f.fail("\(instance.vm) on \(h) was stopped by the isolation response at \(c.stamp(end, since: iso.t0))", at: end)
                } else {
                    f.pass("\(instance.vm) on \(h) left running through the isolation from \(c.at(iso.t0))", at: iso.t0)
                }
            }
        }
        return finish(f, id, noTrigger: "no isolated host with a leave-powered-on VM (isolation lasting past T_resp) in this run",
                      expected: "with isolation response leave powered on, HA never powers off or shuts down a VM on an isolated host")
    }

    // MARK: INV-I5 / INV-I6

    /// The VMs on an isolated host whose response stops them, split by whether the host could
    /// still reach the home datastore at T_resp.
    static func stoppingVMs(_ c: CheckContext, _ iso: Isolation) -> (reachable: [VMInstanceRecord], unreachable: [VMInstanceRecord]) {
        let tresp = iso.t0 + c.run(model: responseOffset(iso, c))
        var reachable: [VMInstanceRecord] = []
        var unreachable: [VMInstanceRecord] = []
        for instance in c.instances(on: iso.host, justBefore: iso.t0) where stopsVM(c.isolationResponse(of: instance.vm)) {
            guard let home = c.vm(instance.vm)?.homeDatastore else { continue }
            if c.canAccess(iso.host, home, at: iso.t0) && c.canAccess(iso.host, home, at: tresp) {
                reachable.append(instance)
            } else if !c.canAccess(iso.host, home, at: tresp) {
                unreachable.append(instance)
            }
        }
        return (reachable, unreachable)
    }

    /// INV-I5: with a reachable home datastore, a VM is stopped only while another master owns
    /// the datastore; otherwise the response is deferred and the VM keeps running.
    static func i5(_ c: CheckContext) -> CheckResult {
        let id = "INV-I5"
        var f = Findings()
        let (isos, _) = isolations(c, includeOutage: true)
        let tolerance = c.run(model: isolationTolerance)
        for iso in isos {
            let h = iso.host
            let tresp = responseOffset(iso, c)
            let vms = stoppingVMs(c, iso).reachable
            guard !vms.isEmpty else { continue }
            f.expect("\(h) isolated at \(c.at(iso.t0)): each power-off/shutdown VM with a reachable home datastore is stopped only while another master holds that datastore's protectedlist lock, else deferred and kept running")
            guard !c.history.protectedListLocks.isEmpty else {
                f.unknown("no protectedlist lock observations in this run: ownership cannot be judged")
                continue
            }
            if c.runEnd < iso.t0 + c.run(model: tresp + isolationTolerance) {
                f.unknown("run ended before \(h)'s response time \(mark(tresp))")
                continue
            }
            let stillIsolated = lasted(iso, c, modelOffset: tresp + isolationTolerance)
            let made = decisions(c, iso)
            for instance in vms {
                guard let home = c.vm(instance.vm)?.homeDatastore else { continue }
                let mine = made.filter { $0.vm == instance.vm }
                var stopTimes = mine.filter(\.stopsVM).map(\.time)
                if stopTimes.isEmpty, endedByIsolation(instance), let end = instance.end { stopTimes = [end] }
                for t in stopTimes {
                    let owner = c.ownedByOtherMaster(home, at: t, excluding: h) ?? c.ownedByOtherMaster(home, at: t - tolerance, excluding: h)
                    if let owner {
                        f.pass("\(instance.vm) stopped at \(c.stamp(t, since: iso.t0)) while master \(owner) owned \(home)", at: t)
                    } else {
                        f.fail("\(instance.vm) stopped at \(c.stamp(t, since: iso.t0)) although no other master held \(home)'s protectedlist lock", at: t)
                    }
                }
                for d in mine where !d.applied {
                    let owners = [d.time - tolerance, d.time - tolerance / 2, d.time].map { c.ownedByOtherMaster(home, at: $0, excluding: h) }
                    if let first = owners.first, let owner = first, owners.allSatisfy({ $0 == owner }) {
                        f.fail("\(h) deferred \(instance.vm) at \(c.stamp(d.time, since: iso.t0)) although master \(owner) held \(home)'s protectedlist lock", at: d.time)
                    } else if let end = instance.end, end <= d.time + tolerance {
                        f.fail("\(h) deferred \(instance.vm) at \(c.stamp(d.time, since: iso.t0)) but the VM stopped at \(c.offset(end, since: iso.t0))", at: d.time)
                    } else {
                        f.pass("\(instance.vm) deferred at \(c.stamp(d.time, since: iso.t0)) with no other master owning \(home)", at: d.time)
                    }
                }
                if stopTimes.isEmpty && mine.isEmpty {
                    if stillIsolated, instance.end.map({ $0 > iso.t0 + c.run(model: tresp + isolationTolerance) }) ?? true {
                        f.fail("\(h) neither stopped nor deferred \(instance.vm) by \(mark(tresp + isolationTolerance))", at: iso.t0 + c.run(model: tresp + isolationTolerance))
                    } else {
                        f.note("\(instance.vm): isolation or VM ended before the response time")
                    }
                }
            }
        }
        return finish(f, id, noTrigger: "no isolated host with a power-off/shutdown VM whose home datastore it could still reach",
                      expected: "a power-off/shutdown VM on an isolated host with a reachable home datastore is stopped only if some master holds the datastore's protectedlist lock; otherwise deferred")
    }

    /// INV-I6: with an unreachable home datastore, the response is applied at T_resp.
    static func i6(_ c: CheckContext) -> CheckResult {
        let id = "INV-I6"
        var f = Findings()
        let (isos, _) = isolations(c, includeOutage: true)
        for iso in isos {
            let h = iso.host
            let tresp = responseOffset(iso, c)
            let vms = stoppingVMs(c, iso).unreachable
            guard !vms.isEmpty else { continue }
            f.expect("\(h) isolated at \(c.at(iso.t0)) without access to the home datastore: response applied at \(mark(tresp)) ±2 (\(c.profileName))")
            if c.runEnd < iso.t0 + c.run(model: tresp + isolationTolerance) {
                f.unknown("run ended before \(h)'s response time \(mark(tresp))")
                continue
            }
            guard lasted(iso, c, modelOffset: tresp + isolationTolerance) else {
                f.note("isolation of \(h) ended before \(mark(tresp + isolationTolerance)): not judged")
                continue
            }
            let made = decisions(c, iso)
            for instance in vms {
                if let end = instance.end, end < iso.t0 + c.run(model: tresp - isolationTolerance), !endedByIsolation(instance) {
                    f.note("\(instance.vm) ended (\(instance.endReason.rawValue)) before the response time")
                    continue
                }
                let mine = made.filter { $0.vm == instance.vm }
                if let deferral = mine.first(where: { !$0.applied }) {
                    f.fail("\(h) deferred \(instance.vm) at \(c.stamp(deferral.time, since: iso.t0)) although it could not reach its home datastore", at: deferral.time)
                }
                if let applied = mine.first(where: \.stopsVM) {
                    let d = c.model(applied.time - iso.t0)
                    let text = "\(h) applied \(applied.response?.rawValue ?? "?") to \(instance.vm) at \(c.stamp(applied.time, since: iso.t0))"
                    if abs(d - tresp) > isolationTolerance { f.fail(text, at: applied.time) } else { f.pass(text, at: applied.time) }
                } else if endedByIsolation(instance), let end = instance.end {
                    let d = c.model(end - iso.t0)
                    let text = "\(instance.vm) on \(h) stopped by isolation response at \(c.stamp(end, since: iso.t0)) (no applied event)"
                    if abs(d - tresp) > isolationTolerance { f.fail(text, at: end) } else { f.pass(text, at: end) }
                } else {
                    f.fail("\(h) did not apply the isolation response to \(instance.vm) by \(mark(tresp + isolationTolerance))", at: iso.t0 + c.run(model: tresp + isolationTolerance))
                }
            }
        }
        return finish(f, id, noTrigger: "no isolated host with a power-off/shutdown VM whose home datastore it could not reach",
                      expected: "a power-off/shutdown VM whose home datastore the isolated host cannot reach is powered off at T_resp")
    }

    // MARK: INV-I7

    /// INV-I7: markers and poweron-file updates of the isolation response.
    static func i7(_ c: CheckContext) -> CheckResult {
        let id = "INV-I7"
        var f = Findings()
        let tolerance = c.run(model: isolationTolerance)
        let observations = c.history.fileObservations.sorted { $0.time < $1.time }
        for d in c.decisions where d.stopsVM {
            guard let home = c.vm(d.vm)?.homeDatastore else { continue }
            let h = d.host
            let reachable = c.canAccess(h, home, at: d.time)
            f.expect("\(h) stopping \(d.vm) at \(c.at(d.time)): poweredoff marker on \(home) \(reachable ? "written before the power-off" : "not written (datastore unreachable)"); \(d.vm) removed from \(h)'s poweron file; isolation flag 1")
            // The event's own marker flag.
            if let marker = d.markerWritten, marker != reachable {
                f.fail("\(h) reported markerWritten=\(marker) for \(d.vm) at \(c.at(d.time)) but \(home) was \(reachable ? "reachable" : "unreachable")", at: d.time)
            }
            guard !observations.isEmpty else {
                f.unknown("no datastore file observations in this run: marker and poweron file of \(d.vm) not judged")
                continue
            }
            let instanceEnd = c.history.vmInstances.first { $0.vm == d.vm && $0.host == h && $0.start <= d.time && ($0.end.map { $0 >= d.time - tolerance } ?? true) }?.end
            let offAt = instanceEnd ?? d.time
            let markers = observations.filter { o in
                if case .poweredOffMarker(let vm, true) = o.content { return vm == d.vm && o.datastore == home }
                return false
            }
            if reachable {
                if let marker = markers.first(where: { $0.time >= d.time - c.run(model: 60) && $0.time <= offAt + tolerance }) {
                    f.pass("marker for \(d.vm) on \(home) observed at \(c.at(marker.time)), power-off at \(c.at(offAt))", at: marker.time)
                } else {
                    f.fail("no poweredoff marker for \(d.vm) on \(home) observed before its power-off at \(c.at(offAt))", at: offAt)
                }
            } else if let marker = markers.first(where: { $0.time >= d.time - tolerance && $0.time <= offAt + tolerance }) {
                f.fail("a poweredoff marker for \(d.vm) appeared at \(c.at(marker.time)) although \(home) was unreachable from \(h)", at: marker.time)
            }
            // Poweron file: the latest observation of h's file after the power-off must not list the VM.
            let isolatedUntil = c.isolationClearances.first { $0.host == h && $0.time > d.time }?.time ?? c.runEnd
            let files = observations.compactMap { o -> (time: Double, file: PowerOnFile)? in
                if case .powerOn(let host, let file) = o.content, host == h { return (o.time, file) }
                return nil
            }
            let after = files.filter { $0.time >= offAt - tolerance && $0.time <= isolatedUntil }
            let fileStores = Set(observations.compactMap { o -> DatastoreID? in
                if case .powerOn(let host, _) = o.content, host == h, o.time < offAt { return o.datastore }
                return nil
            }).sorted()
            if let last = after.last {
                if last.file.poweredOn.contains(d.vm) {
                    f.fail("\(h)'s poweron file still lists \(d.vm) at \(c.at(last.time)) after its power-off", at: last.time)
                } else {
                    f.pass("\(h)'s poweron file without \(d.vm) at \(c.at(last.time))", at: last.time)
                }
                if let bad = after.first(where: { !$0.file.isolated }) {
                    f.fail("\(h)'s poweron file isolation flag was 0 at \(c.at(bad.time)) while isolated", at: bad.time)
                }
            } else if !fileStores.isEmpty && fileStores.contains(where: { c.canAccess(h, $0, at: offAt) }) {
                f.fail("\(h)'s poweron file was not rewritten after \(d.vm)'s power-off at \(c.at(offAt))", at: offAt)
            } else if !fileStores.isEmpty {
                f.note("\(h) could not reach the datastore(s) of its poweron file (\(fileStores.map(\.rawValue).joined(separator: ", "))) at \(d.vm)'s power-off")
            } else {
                f.unknown("no observation of \(h)'s poweron file after \(d.vm)'s power-off")
            }
        }
        return finish(f, id, noTrigger: "no VM stopped by an isolation response in this run",
                      expected: "each isolation power-off writes poweredoff/<vm> first when the home datastore is reachable, removes the VM from host-N-poweron, with line 1 = 1 while isolated")
    }

    // MARK: INV-I8

    /// INV-I8: a shutdown response ends the VM within `das.isolationShutdownTimeout` (+2 s), at
    /// once (≤ 2 s) without VMware Tools; a forced power-off never comes before the timeout.
    static func i8(_ c: CheckContext) -> CheckResult {
        let id = "INV-I8"
        var f = Findings()
        let timeout = c.modelSeconds(c.history.settings.isolationShutdownTimeout)
        let tolerance = isolationTolerance
        for d in c.decisions where d.applied && d.response == .shutdown {
            let tools = c.vm(d.vm)?.hasTools ?? true
            let bound = tools ? timeout + tolerance : tolerance
            f.expect("\(d.vm) (\(tools ? "with" : "without") Tools) shut down by \(d.host) at \(c.at(d.time)): powered off by +\(fmt(bound)) s")
            let instance = c.history.vmInstances.first { $0.vm == d.vm && $0.host == d.host && $0.start <= d.time && ($0.end.map { $0 >= d.time } ?? true) }
            guard let instance else {
                f.unknown("no instance of \(d.vm) on \(d.host) live at the shutdown response")
                continue
            }
            if let end = instance.end {
                let text = "\(d.vm) powered off at \(c.stamp(end, since: d.time)) after the shutdown response"
                if c.model(end - d.time) > bound { f.fail(text, at: end) } else { f.pass(text, at: end) }
            } else if c.model(c.runEnd - d.time) < bound {
                f.unknown("run ended \(fmt(c.model(c.runEnd - d.time))) s after \(d.vm)'s shutdown response, before +\(fmt(bound)) s")
            } else {
                f.fail("\(d.vm) still running \(fmt(c.model(c.runEnd - d.time))) s after the shutdown response at \(c.at(d.time))", at: d.time + c.run(model: bound))
            }
            for e in c.events where e.event.host == d.host && e.time >= d.time {
                guard case .isolationShutdownForced(let vm) = e.event.kind, vm == d.vm else { continue }
                if tools && c.model(e.time - d.time) < timeout - tolerance {
                    f.fail("\(d.host) forced \(vm) off at \(c.stamp(e.time, since: d.time)), before the \(fmt(timeout)) s shutdown timeout", at: e.time)
                }
                break
            }
        }
        return finish(f, id, noTrigger: "no shutdown isolation response in this run",
                      expected: "shutdown response: VM powered off by T_resp + 300 s + 2 s; without Tools at once (≤ 2 s)")
    }

    // MARK: INV-I9

    /// INV-I9: VMs stopped by the isolation response are restarted within 30 s (+2 s placement
    /// slack) of their power-off, when a master can reach their datastore.
    static func i9(_ c: CheckContext) -> CheckResult {
        let id = "INV-I9"
        var f = Findings()
        let window = 30.0 + 2
        for instance in c.history.vmInstances where endedByIsolation(instance) {
            guard let end = instance.end, let config = c.vm(instance.vm) else { continue }
            let vm = instance.vm
            f.expect("\(vm) stopped by the isolation response on \(instance.host) at \(c.at(end)): restart issued by +\(fmt(window)) s")
            guard config.restartPriority != .disabled, config.isProtected else {
                f.note("\(vm) is not restartable (priority \(config.restartPriority.rawValue), protected \(config.isProtected))")
                continue
            }
            let decision = c.decisions.last { $0.vm == vm && $0.host == instance.host && $0.stopsVM && $0.time <= end + c.epsilon }
            if decision?.markerWritten == false && !c.history.settings.restartIsolatedVMWithoutMarker {
                f.note("\(vm) stopped without a poweredoff marker and restartIsolatedVMWithoutMarker is off")
                continue
            }
            let deadlineEnd = end + c.run(model: window)
            if let elsewhere = c.liveInstances(of: vm, at: end + c.epsilon).first(where: { $0.host != instance.host }) {
                f.pass("\(vm) was already running again on \(elsewhere.host) (since \(c.at(elsewhere.start))) when the isolation response stopped it at \(c.at(end))", at: elsewhere.start)
                continue
            }
            if let inFlight = c.restartIssues.last(where: { issue in
                issue.vm == vm && issue.time < end && !c.restartOutcomes.contains { $0.vm == vm && $0.attempt == issue.attempt && $0.master == issue.master && $0.time >= issue.time && $0.time < end }
            }), let done = c.restartOutcomes.first(where: { $0.vm == vm && $0.attempt == inFlight.attempt && $0.master == inFlight.master && $0.time >= end }),
               done.succeeded, done.time <= deadlineEnd {
                f.pass("restart of \(vm) issued by \(inFlight.master) at \(c.offset(inFlight.time, since: end)) was in flight at the isolation power-off and succeeded at \(c.stamp(done.time, since: end))", at: done.time)
                continue
            }
            let capable = c.hostIDs.contains { m in
                m != instance.host && stride(from: end, through: deadlineEnd, by: max(c.run(model: 1), 1e-3)).contains { t in
                    c.isMaster(m, at: t) && c.canAccess(m, config.homeDatastore, at: t)
                }
            }
            guard capable else {
                f.note("no master able to reach \(config.homeDatastore) within +\(fmt(window)) s of \(vm)'s power-off")
                continue
            }
            // A retry series already under way (host declared failed, first attempt failed on the lock)
            // may legitimately restart it at its next retry mark.
            var deadline = deadlineEnd
            if let failure = c.restartOutcomes.last(where: { $0.vm == vm && !$0.succeeded && $0.time <= end }) {
                let delays = c.history.settings.restartRetryDelays
                let index = max(0, min(failure.attempt - 1, delays.count - 1))
                if !delays.isEmpty {
                    deadline = max(deadline, failure.time + c.run(model: c.modelSeconds(delays[index]) + 10))
                }
            }
            if let issue = c.firstRestart(of: vm, after: end), issue.time <= deadline {
                f.pass("restart of \(vm) issued by \(issue.master) at \(c.stamp(issue.time, since: end)) after its isolation power-off", at: issue.time)
            } else if c.runEnd < deadline {
                f.unknown("run ended \(fmt(c.model(c.runEnd - end))) s after \(vm)'s isolation power-off, before its restart deadline")
            } else if let late = c.firstRestart(of: vm, after: end) {
                f.fail("restart of \(vm) issued only at \(c.stamp(late.time, since: end)) after its isolation power-off at \(c.at(end))", at: late.time)
            } else {
                f.fail("\(vm) never restarted after its isolation power-off at \(c.at(end))", at: deadline)
            }
        }
        return finish(f, id, noTrigger: "no VM stopped by an isolation response in this run",
                      expected: "VMs stopped by the isolation response are restarted (restartIssued) within T_resp + 30 s (+2 s) when a master can reach their datastore")
    }

    // MARK: INV-I10

    /// INV-I10: a VM with restart priority disabled receives no isolation response.
    static func i10(_ c: CheckContext) -> CheckResult {
        let id = "INV-I10"
        var f = Findings()
        for d in c.decisions where d.applied && c.vm(d.vm)?.restartPriority == .disabled {
            f.fail("\(d.host) applied \(d.response?.rawValue ?? "?") to restart-disabled \(d.vm) at \(c.at(d.time))", at: d.time)
        }
        let (isos, _) = isolations(c, includeOutage: true)
        for iso in isos {
            let tresp = responseOffset(iso, c)
            for instance in c.instances(on: iso.host, justBefore: iso.t0) {
                guard let config = c.vm(instance.vm), config.restartPriority == .disabled else { continue }
                let raw = config.isolationResponse == .clusterDefault ? c.history.cluster.isolationResponse : config.isolationResponse
                f.expect("restart-disabled \(instance.vm) on isolated \(iso.host) (configured response \(raw.rawValue)) gets no isolation response")
                guard stopsVM(raw) else {
                    f.note("\(instance.vm)'s configured response is \(raw.rawValue): not a test of INV-I10")
                    continue
                }
                guard lasted(iso, c, modelOffset: tresp + isolationTolerance) else {
                    f.note("isolation of \(iso.host) ended before \(mark(tresp + isolationTolerance)): not judged")
                    continue
                }
                if let end = instance.end, endedByIsolation(instance) {
                    f.fail("restart-disabled \(instance.vm) on \(iso.host) stopped by isolation response at \(c.stamp(end, since: iso.t0))", at: end)
                } else {
                    f.pass("restart-disabled \(instance.vm) kept running on isolated \(iso.host) past \(mark(tresp + isolationTolerance))", at: iso.t0)
                }
            }
        }
        return finish(f, id, noTrigger: "no restart-disabled VM with a power-off/shutdown response on an isolated host",
                      expected: "a VM with restart priority disabled receives no isolation response")
    }

    // MARK: INV-I11

    /// INV-I11: during a management network outage with power-off/shutdown responses and
    /// storage intact, no VM is powered off.
    static func i11(_ c: CheckContext) -> CheckResult {
        let id = "INV-I11"
        var f = Findings()
        for fault in c.faults {
            guard case .managementNetworkOutage = fault.fault else { continue }
            let t0 = fault.injectedAt
            let end = c.faultEnd(fault) ?? c.runEnd
            let need = 30 + c.isolationDelay + isolationTolerance
            let running = c.history.vmInstances.filter { $0.start < t0 && ($0.end.map { $0 >= t0 } ?? true) }
            let subjects = running.filter { i in
                guard stopsVM(c.isolationResponse(of: i.vm)), let home = c.vm(i.vm)?.homeDatastore else { return false }
                return [t0, (t0 + end) / 2, end - c.epsilon].allSatisfy { c.canAccess(i.host, home, at: $0) }
            }
            f.expect("management network outage from \(c.at(t0)): no VM powered off by the isolation response while it lasts")
            guard !subjects.isEmpty else {
                f.note("no VM with a power-off/shutdown response and intact storage at the outage of \(c.at(t0))")
                continue
            }
            guard c.model(end - t0) >= need else {
                f.note("outage lasted \(fmt(c.model(end - t0))) s, shorter than the slave response time T\(fmt(need)): not judged")
                continue
            }
            let stopped = c.decisions.filter { $0.stopsVM && $0.time >= t0 && $0.time <= end }
            let ended = c.history.vmInstances.filter { i in endedByIsolation(i) && (i.end.map { $0 >= t0 && $0 <= end } ?? false) }
            for d in stopped { f.fail("\(d.host) applied \(d.response?.rawValue ?? "?") to \(d.vm) at \(c.stamp(d.time, since: t0)) during the outage", at: d.time) }
            for i in ended where !stopped.contains(where: { $0.vm == i.vm }) {
                f.fail("\(i.vm) on \(i.host) stopped by isolation response at \(c.stamp(i.end ?? t0, since: t0)) during the outage", at: i.end)
            }
            if stopped.isEmpty && ended.isEmpty {
                let deferrals = c.decisions.filter { !$0.applied && $0.time >= t0 && $0.time <= end }.count
                f.pass("\(subjects.count) power-off/shutdown VM(s) kept running through the outage \(c.at(t0))–\(fmt(c.model(end))) s (\(deferrals) deferral(s))", at: t0)
            }
        }
        return finish(f, id, noTrigger: "no management network outage in this run",
                      expected: "when the whole management network is down (power-off/shutdown response, storage intact), no VM is powered off")
    }
}
