import HACore

// MARK: - Partition (oracle §4.7, §11 INV-P1, INV-P2)

extension Invariants {
    /// INV-P1: inside a partition of ≥ 2 hosts no isolation response is applied and no running
    /// VM is restarted.
    static func p1(_ c: CheckContext) -> CheckResult {
        let id = "INV-P1"
        var f = Findings()
        for fault in c.faults {
            guard case .partition(let groups) = fault.fault else { continue }
            let t0 = fault.injectedAt
            let end = c.faultEnd(fault) ?? c.runEnd
            let big = groups.map { $0.filter { c.isUp($0, at: t0) } }.filter { $0.count >= 2 }
            guard !big.isEmpty else {
                f.note("partition at \(c.at(t0)) has no side with ≥ 2 powered-on hosts")
                continue
            }
            let hosts = big.flatMap { $0 }
            let sides = big.map { "[\($0.map(\.rawValue).joined(separator: ","))]" }.joined(separator: " ")
            let duration = c.model(end - t0)
            let responseNeed = 30 + c.isolationDelay + isolationTolerance
            f.expect("partition \(sides) over \(c.at(t0))–\(fmt(c.model(end))) s: no isolation response on these hosts, no restart of a running VM")
            if duration >= responseNeed {
                let stopped = c.decisions.filter { hosts.contains($0.host) && $0.stopsVM && $0.time >= t0 && $0.time <= end }
                let ended = c.history.vmInstances.filter { i in hosts.contains(i.host) && endedByIsolation(i) && (i.end.map { $0 >= t0 && $0 <= end } ?? false) }
                for d in stopped { f.fail("\(d.host) applied \(d.response?.rawValue ?? "?") to \(d.vm) at \(c.stamp(d.time, since: t0)) inside a partition of ≥ 2 hosts", at: d.time) }
                for i in ended where !stopped.contains(where: { $0.vm == i.vm }) {
                    f.fail("\(i.vm) on \(i.host) stopped by isolation response at \(c.stamp(i.end ?? t0, since: t0)) inside a partition", at: i.end)
                }
                let declared = c.isolationDeclarations.filter { hosts.contains($0.host) && $0.time >= t0 && $0.time <= end }
                if !declared.isEmpty {
                    f.note("isolation declared inside the partition by \(Set(declared.map(\.host.rawValue)).sorted().joined(separator: ", "))")
                }
                if stopped.isEmpty && ended.isEmpty {
                    f.pass("no isolation response inside partition \(sides) (lasted \(fmt(duration)) s)", at: t0)
                }
            } else {
                f.note("partition lasted \(fmt(duration)) s, under T_resp + 2 = \(fmt(responseNeed)) s: isolation part not judged")
            }
            if duration >= 20 {
                var bad = 0
                for issue in c.restartIssues where issue.time >= t0 && issue.time <= end {
                    guard let home = c.vm(issue.vm)?.homeDatastore else { continue }
                    let running = c.liveInstances(of: issue.vm, at: issue.time).filter { c.isUp($0.host, at: issue.time) && c.canAccess($0.host, home, at: issue.time) }
                    for r in running {
                        bad += 1
                        f.fail("\(issue.master) issued a restart of \(issue.vm) at \(c.stamp(issue.time, since: t0)) while it ran on \(r.host) with access to \(home)", at: issue.time)
                    }
                }
                if bad == 0 { f.pass("no running VM restarted during partition \(sides)", at: t0) }
            } else {
                f.note("partition lasted \(fmt(duration)) s, under 20 s: restart part not judged")
            }
        }
        return finish(f, id, noTrigger: "no partition with a side of ≥ 2 hosts in this run",
                      expected: "in a partition of ≥ 2 hosts no isolation response is applied and no running VM is restarted")
    }

    /// INV-P2: at any time each datastore's protectedlist lock (hence each VM) has at most one
    /// holder (ground truth).
    static func p2(_ c: CheckContext) -> CheckResult {
        let id = "INV-P2"
        var f = Findings()
        let locks = c.history.protectedListLocks
        let byDatastore = Dictionary(grouping: locks, by: \.datastore)
        for ds in byDatastore.keys.sorted() {
            let list = (byDatastore[ds] ?? []).sorted { $0.from < $1.from }
            var overlaps = 0
            for (i, a) in list.enumerated() {
                for b in list[(i + 1)...] where a.holder != b.holder {
                    let start = max(a.from, b.from)
                    let stop = min(a.to ?? .infinity, b.to ?? .infinity)
                    if stop > start + c.epsilon {
                        overlaps += 1
                        let until = stop.isFinite ? "\(fmt(c.model(stop))) s" : "the end of the run"
                        f.fail("\(a.holder) and \(b.holder) both held \(ds)'s protectedlist lock over \(c.at(start))–\(until)", at: start)
                    }
                }
            }
            if overlaps == 0 {
                let holders = Set(list.map(\.holder.rawValue)).sorted().joined(separator: ", ")
                f.pass("\(ds): \(list.count) lock interval(s) by [\(holders)], never two holders at once", at: list.first?.from)
            }
        }
        return finish(f, id, noTrigger: "no protectedlist lock observations in this run",
                      expected: "each datastore's protectedlist lock (ownership of its VMs) is held by at most one master at any time")
    }
}
