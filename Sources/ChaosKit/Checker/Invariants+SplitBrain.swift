import HACore

// MARK: - Split-brain safety (oracle §7.1, §5.5, §11 INV-SB1…SB3)

extension Invariants {
    /// Our bound for lost-lock resolution after storage and network return (model seconds).
    /// The oracle gives none (§11 INV-SB2: "bounded but non-zero"); 60 s covers the 35 s NFS
    /// lock expiry plus a lock-renewal period and slack.
    static let lostLockResolutionBound = 60.0

    /// Two live instances of one VM at once: `older` started first.
    struct Duplicate {
        var older: VMInstanceRecord
        var newer: VMInstanceRecord
        var from: Double
        var to: Double
    }

    /// Every overlap of two instances of the same VM.
    static func duplicates(_ c: CheckContext) -> [Duplicate] {
        var result: [Duplicate] = []
        let byVM = Dictionary(grouping: c.history.vmInstances, by: \.vm)
        for vm in byVM.keys.sorted() {
            let list = (byVM[vm] ?? []).sorted { $0.start < $1.start }
            for (i, a) in list.enumerated() {
                for b in list[(i + 1)...] {
                    let from = b.start
                    let to = min(a.end ?? c.runEnd, b.end ?? c.runEnd)
                    if to > from + c.epsilon { result.append(Duplicate(older: a, newer: b, from: from, to: to)) }
                }
            }
        }
        return result
    }

    /// The spans during which `instance`'s host had lost access to the VM's home datastore:
    /// storage faults on it, or a partition or freeze during which the instance no longer held its disk lock.
    static func storageLossSpans(_ c: CheckContext, _ instance: VMInstanceRecord) -> [Span] {
        guard let home = c.vm(instance.vm)?.homeDatastore else { return [] }
        var spans: [Span] = []
        for fault in c.faults {
            switch fault.fault {
            case .isolateHost(let h, true) where h == instance.host && c.isIPStorage(home):
                spans.append(Span(from: fault.injectedAt, to: c.faultEnd(fault)))
            case .unmountDatastore(let d, let hosts), .pdlDatastore(let d, let hosts), .readOnlyDatastore(let d, let hosts):
                if d == home && hosts.contains(instance.host) { spans.append(Span(from: fault.injectedAt, to: c.faultEnd(fault))) }
            case .freezeHost(let h) where h == instance.host:
                // A frozen host's VMs cannot renew their locks: once the lock lapsed, HA may restart
                // the VM elsewhere, and the frozen copy must die of lost-lock when thawed (oracle §7.1).
                let lockEnd = c.history.diskLocks.filter { $0.instance == instance.instance }.compactMap(\.to).max()
                if let lockEnd, (c.faultEnd(fault).map { lockEnd < $0 } ?? true) {
                    spans.append(Span(from: max(lockEnd, fault.injectedAt), to: c.faultEnd(fault)))
                }
            case .partition(let groups) where groups.contains(where: { $0.contains(instance.host) }):
                // Stretched partitions can take storage along; believe it only when the instance lost its lock.
                let lockEnd = c.history.diskLocks.filter { $0.instance == instance.instance }.compactMap(\.to).max()
                if let lockEnd, (c.faultEnd(fault).map { lockEnd < $0 } ?? true) {
                    spans.append(Span(from: max(lockEnd, fault.injectedAt), to: c.faultEnd(fault)))
                }
            default:
                break
            }
        }
        return spans.sorted { $0.from < $1.from }
    }

    /// Whether `[from, to)` is covered by `spans`, each extended by `extra` run seconds.
    static func covered(_ from: Double, _ to: Double, by spans: [Span], extra: Double) -> Bool {
        var reach = from
        for span in spans.sorted(by: { $0.from < $1.from }) {
            if span.from > reach + 1e-9 { break }
            reach = max(reach, span.to.map { $0 + extra } ?? .infinity)
            if reach >= to { return true }
        }
        return reach >= to
    }

    /// INV-SB1: at most one instance of a VM holds its disk lock; a second live instance only
    /// while the first instance's host has lost access to the home datastore (plus the SB2
    /// resolution bound after it returns).
    static func sb1(_ c: CheckContext) -> CheckResult {
        let id = "INV-SB1"
        var f = Findings()
        let expected = "at any instant at most one instance of a VM holds its disk lock; a second live instance exists only while the first one's host "
            + "has lost access to the VM's home datastore (isolation with IP storage, unmount/PDL/read-only, or a partition or freeze that cost it its lock), "
            + "plus \(fmt(lostLockResolutionBound)) s for lost-lock resolution after access returns"
        f.expect(expected)
        guard !c.history.vmInstances.isEmpty || !c.history.diskLocks.isEmpty else {
            return finish(f, id, noTrigger: "no VM instances or disk locks recorded in this run", expected: expected)
        }
        // Lock exclusivity.
        let byVM = Dictionary(grouping: c.history.diskLocks, by: \.vm)
        for vm in byVM.keys.sorted() {
            let list = (byVM[vm] ?? []).sorted { $0.from < $1.from }
            for (i, a) in list.enumerated() {
                for b in list[(i + 1)...] where a.instance != b.instance {
                    let start = max(a.from, b.from)
                    let stop = min(a.to ?? .infinity, b.to ?? .infinity)
                    if stop > start + c.epsilon {
                        f.fail("\(vm)'s disk lock held by \(a.instance) on \(a.host) and \(b.instance) on \(b.host) at once from \(c.at(start))", at: start)
                    }
                }
            }
        }
        // Duplicate instances.
        let dups = duplicates(c)
        let extra = c.run(model: lostLockResolutionBound)
        for d in dups {
            let spans = storageLossSpans(c, d.older)
            let text = "\(d.older.vm) ran twice, \(d.older.instance) on \(d.older.host) and \(d.newer.instance) on \(d.newer.host), over \(c.at(d.from))–\(fmt(c.model(d.to))) s"
            if covered(d.from, d.to, by: spans, extra: extra) {
                f.pass(text + " while \(d.older.host) had lost access to its home datastore", at: d.from)
            } else if spans.isEmpty {
                f.fail(text + "; \(d.older.host) never lost access to the home datastore", at: d.from)
            } else {
                f.fail(text + "; not covered by \(d.older.host)'s loss of storage access (+\(fmt(lostLockResolutionBound)) s)", at: d.from)
            }
        }
        if dups.isEmpty && f.failures.isEmpty {
            f.pass("no two live instances of any VM overlapped (\(c.history.vmInstances.count) instance(s), \(c.history.diskLocks.count) disk-lock interval(s))")
        }
        return finish(f, id, noTrigger: "no VM instances recorded in this run", expected: expected)
    }

    /// INV-SB2: once storage and network return, the lock-less duplicate ends with lost-lock
    /// within ``lostLockResolutionBound``.
    static func sb2(_ c: CheckContext) -> CheckResult {
        let id = "INV-SB2"
        var f = Findings()
        let bound = c.run(model: lostLockResolutionBound)
        for d in duplicates(c) {
            let vm = d.older.vm
            f.expect("\(vm)'s duplicate from \(c.at(d.from)): the instance without the lock ends with lost-lock within \(fmt(lostLockResolutionBound)) s after storage and network return (our bound)")
            let spans = storageLossSpans(c, d.older).filter { $0.contains(d.from) || $0.from <= d.from }
            guard let span = spans.last(where: { $0.from <= d.from }) else {
                f.note("\(vm)'s duplicate is not explained by a storage loss (see INV-SB1)")
                continue
            }
            // Network faults cutting the older instance's host at the duplicate's start must heal too.
            var restore: Double? = span.to
            for fault in c.faults where c.isActive(fault, at: d.from) && cutsHeartbeats(fault.fault, slave: d.older.host, master: d.older.host) {
                restore = restore.flatMap { r in c.faultEnd(fault).map { max(r, $0) } }
            }
            guard let restored = restore else {
                f.unknown("storage/network of \(d.older.host) not restored before the end of the run: \(vm)'s duplicate not judged")
                continue
            }
            // The lock-less instance at the restore: per ground-truth disk locks, else the older one.
            let holder = c.history.diskLocks.first { $0.vm == vm && $0.from <= restored && ($0.to.map { $0 > restored } ?? true) }
            let lockless: VMInstanceRecord
            if let holder, holder.instance == d.older.instance {
                lockless = d.newer
            } else {
                lockless = d.older
                if c.history.diskLocks.isEmpty { f.note("no disk-lock records: assumed the older instance \(d.older.instance) is lock-less") }
            }
            if let end = lockless.end, end <= restored + c.epsilon {
                f.pass("\(lockless.instance) of \(vm) ended (\(lockless.endReason.rawValue)) at \(c.at(end)), before storage and network returned at \(c.at(restored))", at: end)
            } else if let end = lockless.end {
                let text = "\(lockless.instance) of \(vm) on \(lockless.host) ended (\(lockless.endReason.rawValue)) at \(c.stamp(end, since: restored)) after storage and network returned at \(c.at(restored))"
                if end > restored + bound || lockless.endReason != .lostLock { f.fail(text, at: end) } else { f.pass(text, at: end) }
            } else if c.runEnd < restored + bound {
                f.unknown("run ended \(fmt(c.model(c.runEnd - restored))) s after storage returned, before the \(fmt(lostLockResolutionBound)) s bound for \(vm)")
            } else {
                f.fail("\(lockless.instance) of \(vm) on \(lockless.host) still running \(fmt(c.model(c.runEnd - restored))) s after storage and network returned at \(c.at(restored))", at: restored + bound)
            }
        }
        return finish(f, id, noTrigger: "no duplicate VM instances in this run",
                      expected: "after storage and network return, the lock-less duplicate is powered off (lost-lock) within \(fmt(lostLockResolutionBound)) s (our bound; the oracle gives none)")
    }

    /// INV-SB3: leave powered on, isolated host keeps storage: no second instance ever starts,
    /// restart attempts fail on the lock.
    static func sb3(_ c: CheckContext) -> CheckResult {
        let id = "INV-SB3"
        var f = Findings()
        for fault in c.faults {
            guard case .isolateHost(let h, _) = fault.fault else { continue }
            let t0 = fault.injectedAt
            let end = c.faultEnd(fault) ?? c.runEnd
            for instance in c.instances(on: h, justBefore: t0) {
                guard c.isolationResponse(of: instance.vm) == .leavePoweredOn, let home = c.vm(instance.vm)?.homeDatastore else { continue }
                let kept = [t0, (t0 + end) / 2, end - c.epsilon].allSatisfy { c.canAccess(h, home, at: $0) }
                guard kept else { continue }
                f.expect("\(instance.vm) (leave powered on) on \(h), isolated at \(c.at(t0)) with \(home) still reachable: no second instance; restart attempts fail on the lock")
                let liveUntil = instance.end ?? c.runEnd
                let others = c.history.vmInstances.filter { $0.vm == instance.vm && $0.instance != instance.instance && $0.start >= t0 && $0.start < liveUntil }
                let succeeded = c.restartOutcomes.filter { $0.vm == instance.vm && $0.succeeded && $0.time >= t0 && $0.time < liveUntil }
                for o in others {
                    f.fail("second instance \(o.instance) of \(instance.vm) started on \(o.host) at \(c.stamp(o.start, since: t0)) while \(instance.instance) still ran on \(h)", at: o.start)
                }
                for s in succeeded where !others.contains(where: { $0.host == s.target }) {
                    f.fail("restart of \(instance.vm) on \(s.target) reported succeeded at \(c.stamp(s.time, since: t0)) while it still ran on \(h)", at: s.time)
                }
                if others.isEmpty && succeeded.isEmpty {
                    let failed = c.restartOutcomes.filter { $0.vm == instance.vm && !$0.succeeded && $0.time >= t0 && $0.time < liveUntil }.count
                    f.pass("\(instance.vm) stayed single on \(h) through the isolation (\(failed) failed restart attempt(s))", at: t0)
                }
            }
        }
        return finish(f, id, noTrigger: "no isolation with leave-powered-on VMs whose storage stayed reachable in this run",
                      expected: "with leave powered on and the isolated host keeping storage access, no second instance ever starts")
    }
}
