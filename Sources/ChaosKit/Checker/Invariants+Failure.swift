import HACore

// MARK: - Failed slave, failed master (oracle §4.1, §4.2, §11 INV-FS1…FS4, INV-FM1)

extension Invariants {
    /// A power-off of a host that was a slave at T0, while another host was master and stayed up.
    struct SlaveFailure {
        var host: HostID
        var fault: FaultRecord
        var master: HostID
        var t0: Double { fault.injectedAt }
    }

    /// Power-offs of slaves. `skipped` explains power-offs that do not qualify.
    static func slaveFailures(_ c: CheckContext) -> (found: [SlaveFailure], skipped: [String]) {
        var found: [SlaveFailure] = []
        var skipped: [String] = []
        for fault in c.faults {
            guard case .powerOffHost(let h) = fault.fault else { continue }
            let t0 = fault.injectedAt
            let role = c.role(of: h, justBefore: t0)
            guard role == .slave else {
                skipped.append("power-off of \(h) at \(c.at(t0)): its role at T0 was \(role?.rawValue ?? "unknown"), not slave")
                continue
            }
            guard let master = c.masters(at: t0 - c.epsilon).first(where: { $0 != h }) else {
                skipped.append("power-off of \(h) at \(c.at(t0)): no master at T0")
                continue
            }
            let masterLost = c.faults.contains { other in
                guard other.injectedAt >= t0 - c.run(model: 1), other.injectedAt <= t0 + c.run(model: 20) else { return false }
                return cutsHeartbeats(other.fault, slave: master, master: master)
            }
            if masterLost {
                skipped.append("power-off of \(h) at \(c.at(t0)): master \(master) also failed within 20 s")
                continue
            }
            found.append(SlaveFailure(host: h, fault: fault, master: master))
        }
        return (found, skipped)
    }

    /// The restartable VMs running on `host` just before `t0`.
    static func protectedVMs(on host: HostID, at t0: Double, _ c: CheckContext) -> [VMID] {
        c.instances(on: host, justBefore: t0).map(\.vm).filter { c.isRestartable($0) }
    }

    /// FS1 and FS2 share this: dead in `[base − 1, base + 2]`, restarts by `base + 30`.
    static func failedSlave(_ c: CheckContext, id: String, withHeartbeatDatastores: Bool) -> CheckResult {
        let base = withHeartbeatDatastores ? 18.0 : 15.0
        let (early, late) = (base - 1, base + 2)
        var f = Findings()
        let (failures, skipped) = slaveFailures(c)
        for s in skipped { f.note(s) }
        for failure in failures {
            let h = failure.host
            let hasHB = !c.history.cluster.heartbeatCandidates(for: h).isEmpty
            guard hasHB == withHeartbeatDatastores else { continue }
            let t0 = failure.t0
            let hb = withHeartbeatDatastores ? "with heartbeat datastores" : "without heartbeat datastores"
            f.expect("\(h) declared dead in [T\(fmt(early)), T\(fmt(late))] after power-off at \(c.at(t0)) (T\(fmt(base)) \(hb), −1/+2 s); restarts of its protected VMs issued by T\(fmt(base + 30))")
            if let heal = c.faultEnd(failure.fault), c.model(heal - t0) < late {
                f.note("\(h) powered back on at \(c.offset(heal, since: t0)), before T\(fmt(late)): skipped")
                continue
            }
            // Dead declaration.
            let dead = c.stateReports.first { $0.host == h && $0.state == .dead && $0.time >= t0 }
            if let dead {
                // The early bound runs from the master's last network heartbeat (T0 − 1 s, or
                // the master's own report of it when that is earlier; see `heartbeatAnchor`).
                let anchor = c.heartbeatAnchor(master: dead.observer, host: h, faultAt: t0)
                let d = c.model(dead.time - t0)
                let sinceHeartbeat = c.model(dead.time - anchor.time)
                var text = "\(h) declared dead by \(dead.observer) at \(c.stamp(dead.time, since: t0))"
                if anchor.fromEvidence { text += ", \(fmt(sinceHeartbeat)) s after the last heartbeat bound" }
                if sinceHeartbeat < base - c.epsilon || d > late { f.fail(text, at: dead.time) } else { f.pass(text, at: dead.time) }
            } else if c.model(c.runEnd - t0) < late {
                f.unknown("run ended at \(c.offset(c.runEnd, since: t0)), before \(h) could be declared dead")
            } else {
                let others = c.stateReports.filter { $0.host == h && $0.time >= t0 }
                    .map { "\($0.state.rawValue) by \($0.observer) at \(c.offset($0.time, since: t0))" }
                f.fail("\(h) never declared dead after power-off at \(c.at(t0))" + (others.isEmpty ? "" : " (reported: \(capped(others, limit: 4, separator: ", ")))"), at: t0)
            }
            // Restarts.
            let vms = protectedVMs(on: h, at: t0, c)
            if vms.isEmpty { f.note("no protected VM ran on \(h) at T0") }
            let deadline = t0 + c.run(model: base + 30)
            for vm in vms {
                if let issue = c.firstRestart(of: vm, after: t0) , issue.time <= deadline {
                    f.pass("restart of \(vm) issued by \(issue.master) at \(c.stamp(issue.time, since: t0))", at: issue.time)
                } else if c.runEnd < deadline {
                    f.unknown("run ended at \(c.offset(c.runEnd, since: t0)) before \(vm)'s restart deadline T\(fmt(base + 30))")
                } else if let late = c.firstRestart(of: vm, after: t0) {
                    f.fail("restart of \(vm) issued only at \(c.stamp(late.time, since: t0)), after T\(fmt(base + 30))", at: late.time)
                } else {
                    f.fail("no restart of \(vm) issued after \(h)'s power-off at \(c.at(t0))", at: deadline)
                }
            }
        }
        let what = withHeartbeatDatastores ? "with" : "without"
        return finish(f, id, noTrigger: "no power-off of a slave \(what) heartbeat datastores in this run",
                      expected: "failed slave \(what) heartbeat datastores declared dead at T\(fmt(base)) (−1/+2 s), restarts initiated by T\(fmt(base + 30))")
    }

    /// INV-FS1: failed slave with heartbeat datastores.
    static func fs1(_ c: CheckContext) -> CheckResult { failedSlave(c, id: "INV-FS1", withHeartbeatDatastores: true) }

    /// INV-FS2: failed slave without heartbeat datastores.
    static func fs2(_ c: CheckContext) -> CheckResult { failedSlave(c, id: "INV-FS2", withHeartbeatDatastores: false) }

    /// INV-FS3: no restart of a failed slave's VMs before T15 (−1 s, the FS2 tolerance).
    static func fs3(_ c: CheckContext) -> CheckResult {
        let id = "INV-FS3"
        var f = Findings()
        let bound = 15.0 - 1
        let (failures, skipped) = slaveFailures(c)
        for s in skipped { f.note(s) }
        for failure in failures {
            let h = failure.host
            let t0 = failure.t0
            f.expect("no restart of \(h)'s VMs before T\(fmt(bound)) after its power-off at \(c.at(t0)) (T15, −1 s)")
            let vms = c.instances(on: h, justBefore: t0).map(\.vm)
            guard !vms.isEmpty else {
                f.unknown("no VM ran on \(h) at T0")
                continue
            }
            let anchor = c.heartbeatAnchor(master: failure.master, host: h, faultAt: t0)
            let limit = anchor.time + c.run(model: 15)
            let early = c.restartIssues.filter { vms.contains($0.vm) && $0.time >= t0 && $0.time < limit }
            let earlyInstances = c.history.vmInstances.filter { vms.contains($0.vm) && $0.startedByHA && $0.start >= t0 && $0.start < limit }
            for issue in early {
                f.fail("restart of \(issue.vm) issued by \(issue.master) at \(c.stamp(issue.time, since: t0)), before T\(fmt(bound))", at: issue.time)
            }
            for instance in earlyInstances where !early.contains(where: { $0.vm == instance.vm }) {
                f.fail("\(instance.vm) restarted by HA on \(instance.host) at \(c.stamp(instance.start, since: t0)), before T\(fmt(bound))", at: instance.start)
            }
            if early.isEmpty && earlyInstances.isEmpty {
                if c.runEnd < limit {
                    f.unknown("run ended at \(c.offset(c.runEnd, since: t0)), before T\(fmt(bound))")
                } else if let first = c.restartIssues.first(where: { vms.contains($0.vm) && $0.time >= t0 }) {
                    f.pass("first restart of \(h)'s VMs (\(first.vm)) at \(c.stamp(first.time, since: t0))", at: first.time)
                } else {
                    f.pass("no restart of \(h)'s VMs before T\(fmt(bound)) (none at all)", at: limit)
                }
            }
        }
        return finish(f, id, noTrigger: "no power-off of a slave in this run",
                      expected: "no restart of a failed slave's VMs before T15 (−1 s)")
    }

    /// INV-FS4: a clean host shutdown triggers no HA restart of its VMs.
    static func fs4(_ c: CheckContext) -> CheckResult {
        let id = "INV-FS4"
        var f = Findings()
        for fault in c.faults {
            guard case .shutdownHost(let h) = fault.fault else { continue }
            let t0 = fault.injectedAt
            f.expect("no HA restart of \(h)'s VMs after its clean shutdown at \(c.at(t0))")
            if let record = c.history.hostPower.first(where: { $0.host == h && $0.end.map { $0 >= t0 } ?? false }), !record.cleanShutdown {
                f.note("ground truth records \(h)'s power-off at \(c.at(record.end ?? t0)) as not clean")
            }
            let vms = c.instances(on: h, justBefore: t0).map(\.vm)
            guard !vms.isEmpty else {
                f.unknown("no VM ran on \(h) at the shutdown")
                continue
            }
            for vm in vms {
                // Until a later non-HA power-on of the VM (a user starting it again).
                let userStart = c.history.vmInstances.filter { $0.vm == vm && !$0.startedByHA && $0.start > t0 }.map(\.start).min() ?? .infinity
                let issues = c.restartIssues.filter { $0.vm == vm && $0.time >= t0 && $0.time < userStart }
                let haStarts = c.history.vmInstances.filter { $0.vm == vm && $0.startedByHA && $0.start >= t0 && $0.start < userStart }
                if let issue = issues.first {
                    f.fail("restart of \(vm) issued by \(issue.master) at \(c.stamp(issue.time, since: t0)) after \(h)'s clean shutdown", at: issue.time)
                } else if let start = haStarts.first {
                    f.fail("\(vm) restarted by HA on \(start.host) at \(c.stamp(start.start, since: t0)) after \(h)'s clean shutdown", at: start.start)
                } else {
                    f.pass("\(vm) not restarted after \(h)'s clean shutdown (observed until \(c.at(min(userStart, c.runEnd))))", at: t0)
                }
            }
        }
        return finish(f, id, noTrigger: "no clean host shutdown in this run",
                      expected: "a host shut down cleanly (clnPwrOff=true) triggers no HA restart of its VMs")
    }

    /// INV-FM1: failed master: election at T10 ±2, new master at T25 ±5 (not before T20),
    /// restarts of its protected VMs at T35 ±5 and never before T25.
    static func fm1(_ c: CheckContext) -> CheckResult {
        let id = "INV-FM1"
        var f = Findings()
        for (h, fault) in masterFailures(c, includeIsolation: false) {
            let t0 = fault.injectedAt
            f.expect("after master \(h)'s power-off at \(c.at(t0)): election starts in [T8, T12], new master in [T20, T30], restarts of its protected VMs in [T30, T40] and none before T25")
            if let heal = c.faultEnd(fault), c.model(heal - t0) < 40 {
                f.note("\(h) powered back on at \(c.offset(heal, since: t0)), before T40: skipped")
                continue
            }
            // Election start.
            let election = c.events.first { e in
                guard e.time > t0, e.event.host != h else { return false }
                switch e.event.kind {
                case .electionStarted, .roleChanged(.election): return true
                default: return false
                }
            }
            if let election {
                let d = c.model(election.time - t0)
                let text = "election started by \(election.event.host) at \(c.stamp(election.time, since: t0))"
                if d < 8 || d > 12 { f.fail(text, at: election.time) } else { f.pass(text, at: election.time) }
            } else if c.model(c.runEnd - t0) < 12 {
                f.unknown("run ended before T12")
            } else {
                f.fail("no election evidence after master \(h)'s power-off at \(c.at(t0))", at: t0)
            }
            // New master.
            let next = c.events.first { e in
                guard e.time > t0, e.event.host != h, case .roleChanged(.master) = e.event.kind else { return false }
                return true
            }
            if let next {
                let d = c.model(next.time - t0)
                let text = "\(next.event.host) became master at \(c.stamp(next.time, since: t0))"
                if d < 20 || d > 30 { f.fail(text, at: next.time) } else { f.pass(text, at: next.time) }
            } else if c.model(c.runEnd - t0) < 30 {
                f.unknown("run ended before T30")
            } else {
                f.fail("no new master after \(h)'s power-off at \(c.at(t0))", at: t0)
            }
            // Restarts.
            let vms = protectedVMs(on: h, at: t0, c)
            if vms.isEmpty { f.note("no protected VM ran on \(h) at T0") }
            for vm in vms {
                guard let issue = c.firstRestart(of: vm, after: t0) else {
                    if c.model(c.runEnd - t0) < 40 { f.unknown("run ended before \(vm)'s restart deadline T40") }
                    else { f.fail("no restart of \(vm) issued after master \(h)'s power-off at \(c.at(t0))", at: t0 + c.run(model: 40)) }
                    continue
                }
                let d = c.model(issue.time - t0)
                let text = "restart of \(vm) issued by \(issue.master) at \(c.stamp(issue.time, since: t0))"
                if d < 25 { f.fail(text + ", before T25", at: issue.time) }
                else if d < 30 || d > 40 { f.fail(text + ", outside [T30, T40]", at: issue.time) }
                else { f.pass(text, at: issue.time) }
            }
        }
        return finish(f, id, noTrigger: "no power-off of the master in this run",
                      expected: "failed master: election at T10 ±2, new master at T25 ±5 (not before T20), restarts at T35 ±5 and never before T25")
    }
}
