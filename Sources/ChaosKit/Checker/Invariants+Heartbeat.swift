import HACore

// MARK: - Heartbeats and detection (oracle §2, §11 INV-H1…H4)

extension Invariants {
    /// Whether `fault` cuts the network heartbeats between `slave` and `master`.
    static func cutsHeartbeats(_ fault: Fault, slave: HostID, master: HostID) -> Bool {
        switch fault {
        case .powerOffHost(let h), .restartHost(let h), .shutdownHost(let h), .isolateHost(let h, _), .freezeHost(let h),
             .stopAgent(let h), .killAgent(let h, _), .killHostd(let h, _), .packetLoss(let h, _):
            return h == slave || h == master
        case .managementNetworkOutage:
            return true
        case .partition(let groups):
            let gs = groups.firstIndex { $0.contains(slave) }
            let gm = groups.firstIndex { $0.contains(master) }
            if let gs, let gm { return gs != gm }
            return false
        case .partitionOneWay(let from, let to):
            return (from.contains(slave) && to.contains(master)) || (from.contains(master) && to.contains(slave))
        default:
            return false
        }
    }

    /// INV-H1: datastore-heartbeat checks of a slave start no earlier than T3 after its last
    /// network heartbeat. The last heartbeat is up to one period (1 s) before the fault, so the
    /// bound relative to the fault is T3 − 1 s.
    static func h1(_ c: CheckContext) -> CheckResult {
        let id = "INV-H1"
        var f = Findings()
        let expected = "a master starts datastore-heartbeat checks of a slave no earlier than 3 s after the last network heartbeat it received (the master's report, trusted back to 2 s before the fault; T3 − 1 s from the fault without it)"
        f.expect(expected)
        for e in c.events {
            guard case .datastoreHeartbeatMonitoringStarted(let slave, let lastHeard) = e.event.kind else { continue }
            let master = e.event.host
            let cause = c.faults.last { $0.injectedAt <= e.time + c.epsilon && cutsHeartbeats($0.fault, slave: slave, master: master) }
            guard let cause else {
                f.note("\(master) started datastore-heartbeat checks of \(slave) at \(c.at(e.time)) with no fault cutting their heartbeats")
                continue
            }
            // From the master's last network heartbeat (its own evidence), else T0 − 1 s.
            let reported = e.time - e.event.at.duration(since: lastHeard).inSeconds
            let anchor = min(cause.injectedAt - c.run(model: 1), min(cause.injectedAt, max(reported, cause.injectedAt - c.run(model: 2))))
            let d = c.model(e.time - anchor)
            let text = "\(master) started datastore-heartbeat checks of \(slave) at \(c.stamp(e.time, since: cause.injectedAt)) after \(cause.fault.kind), \(fmt(c.model(e.time - reported))) s after the last network heartbeat it received"
            if d < 3 - c.epsilon { f.fail(text, at: e.time) } else { f.pass(text, at: e.time) }
        }
        return finish(f, id, noTrigger: "no datastore-heartbeat check (datastoreHeartbeatMonitoringStarted) explained by a fault in this run", expected: expected)
    }

    /// Whether `host` was sending network heartbeats that `observer` could receive during the
    /// whole of `[from, to]`: both up, connected, agent running, no agent or loss fault on `host`.
    static func heartbeatsFlowed(_ c: CheckContext, host: HostID, observer: HostID, from: Double, to: Double) -> Bool {
        var samples: [Double] = [from, to, (from + to) / 2]
        for fault in c.faults {
            if fault.injectedAt > from && fault.injectedAt < to { samples.append(fault.injectedAt) }
            if let end = c.faultEnd(fault), end > from && end < to { samples.append(end) }
        }
        for p in c.history.hostPower where p.host == host || p.host == observer {
            if let end = p.end, end > from && end < to { samples.append(end) }
        }
        for fault in c.faults {
            let overlaps = fault.injectedAt <= to && (c.faultEnd(fault).map { $0 >= from } ?? true)
            guard overlaps else { continue }
            switch fault.fault {
            case .killAgent(let h, _), .killHostd(let h, _), .stopAgent(let h), .freezeHost(let h), .packetLoss(let h, _), .restartHost(let h):
                if h == host || h == observer { return false }
            default:
                break
            }
        }
        return samples.allSatisfy { c.canTalk(host, observer, at: $0) && c.agentRunning(host, at: $0) }
    }

    /// INV-H2: a slave that sends network heartbeats is never declared dead or isolated, and a
    /// running VM on such a host is never restarted (a pure storage outage causes no restart).
    static func h2(_ c: CheckContext) -> CheckResult {
        let id = "INV-H2"
        var f = Findings()
        let expected = "no master declares a host dead/isolated while that host's network heartbeats reached it during the previous 10 s; "
            + "no restart of a VM still running on a host whose heartbeats reach the issuing master (storage faults alone cause no restart)"
        f.expect(expected)
        let window = c.run(model: 10)
        for report in c.stateReports where report.state == .dead || report.state == .isolated {
            if heartbeatsFlowed(c, host: report.host, observer: report.observer, from: report.time - window, to: report.time) {
                f.fail("\(report.observer) declared \(report.host) \(report.state.rawValue) at \(c.at(report.time)) although its heartbeats kept flowing", at: report.time)
            } else {
                f.pass("\(report.observer) declared \(report.host) \(report.state.rawValue) at \(c.at(report.time)) after its heartbeats were cut", at: report.time)
            }
        }
        for issue in c.restartIssues {
            let running = c.liveInstances(of: issue.vm, at: issue.time).filter { $0.host != issue.target }
            for instance in running where heartbeatsFlowed(c, host: instance.host, observer: issue.master, from: issue.time - window, to: issue.time) {
                f.fail("\(issue.master) issued a restart of \(issue.vm) at \(c.at(issue.time)) while it ran on \(instance.host), whose heartbeats kept flowing", at: issue.time)
            }
        }
        let storageFaults = c.faults.filter { fault in
            switch fault.fault {
            case .unmountDatastore, .pdlDatastore, .readOnlyDatastore: true
            default: false
            }
        }
        for fault in storageFaults {
            let end = c.faultEnd(fault) ?? c.runEnd
            guard c.model(end - fault.injectedAt) >= 20 else {
                f.note("\(fault.fault.kind) lasted \(fmt(c.model(end - fault.injectedAt))) s, under 20 s: not judged")
                continue
            }
            let declared = c.stateReports.filter { r in
                (r.state == .dead || r.state == .isolated) && r.time >= fault.injectedAt && r.time <= end && fault.fault.hostsNamed.contains(r.host)
            }
            if declared.isEmpty {
                f.pass("\(fault.fault.kind) of \(fault.fault.targets.joined(separator: ",")) over \(c.at(fault.injectedAt))–\(fmt(c.model(end))) s: no host declared dead or isolated", at: fault.injectedAt)
            }
        }
        return finish(f, id, noTrigger: "no dead/isolated declaration and no storage fault of ≥ 20 s in this run", expected: expected)
    }

    /// INV-H3: each host's heartbeat datastores: at most `das.heartbeatDsPerHost` (≤ 5), at
    /// least 2 when 2 candidates exist, each mounted by the host and by ≥ 2 hosts.
    static func h3(_ c: CheckContext) -> CheckResult {
        let id = "INV-H3"
        var f = Findings()
        let perHost = min(max(c.history.cluster.heartbeatDatastoresPerHost, 2), 5)
        let expected = "every heartbeatDatastoresSelected has ≤ \(perHost) datastores (das.heartbeatDsPerHost, clamped to [2, 5]), "
            + "≥ min(2, candidates the host can reach then), each mounted by the host and by ≥ 2 hosts"
        f.expect(expected)
        let mounts = c.history.cluster.mountCounts
        let selections = c.events.filter { if case .heartbeatDatastoresSelected = $0.event.kind { true } else { false } }
        for (index, e) in selections.enumerated() {
            guard case .heartbeatDatastoresSelected(let list) = e.event.kind else { continue }
            let h = e.event.host
            // A selection superseded within 1 s (datastores returning one by one) is transient.
            if selections[(index + 1)...].contains(where: { $0.event.host == h && $0.time - e.time <= c.run(model: 1) }) { continue }
            // Reselection after a loss (oracle §2.4): only candidates reachable at the selection count.
            let candidates = c.history.cluster.heartbeatCandidates(for: h).filter { c.canAccess(h, $0, at: e.time) }
            let mine = Set(c.history.cluster.host(h)?.datastores ?? [])
            let names = list.map(\.rawValue).joined(separator: ", ")
            var problems: [String] = []
            if list.count > perHost { problems.append("\(list.count) > \(perHost)") }
            if list.count < min(2, candidates.count) { problems.append("only \(list.count) of \(candidates.count) reachable candidate(s)") }
            for ds in list where (mounts[ds] ?? 0) < 2 || !mine.contains(ds) {
                problems.append("\(ds) mounted by \(mounts[ds] ?? 0) host(s)\(mine.contains(ds) ? "" : ", not by \(h)")")
            }
            if Set(list).count != list.count { problems.append("duplicates") }
            if problems.isEmpty {
                f.pass("\(h) selected [\(names)] at \(c.at(e.time))", at: e.time)
            } else {
                f.fail("\(h) selected [\(names)] at \(c.at(e.time)): \(problems.joined(separator: ", "))", at: e.time)
            }
        }
        return finish(f, id, noTrigger: "no heartbeatDatastoresSelected evidence in this run", expected: expected)
    }

    /// INV-H4: needs heartbeat-file mtimes, which a History does not record.
    static func h4(_ c: CheckContext) -> CheckResult {
        let nfs = c.history.datastores.filter { $0.kind == .nfs }.map(\.id.rawValue)
        let observed = nfs.isEmpty
            ? "no NFS datastore in this run"
            : "the History records no host-N-hb file observations (FileObservation has poweron files and markers only) for NFS datastore(s) \(nfs.joined(separator: ", "))"
        return CheckResult(id: "INV-H4", name: name("INV-H4"), passed: nil,
                           expected: "on NFS heartbeat datastores each live host's host-N-hb mtime advances at least every 5 s",
                           observed: observed)
    }
}
