import HACore

// MARK: - Restart mechanics (oracle §6, §11 INV-R1…R6)

extension Invariants {
    /// Model seconds between two first-attempt restarts of one master that still belong to
    /// the same failover batch (INV-R2). Our reading: a batch is one burst of placement
    /// decisions; the 33rd power-on of a host waits only for one completion (≈0.5 s).
    static let batchGap = 2.0

    /// The priority a restart was meant to have: the VM's configured one, else the event's.
    static func priority(_ issue: RestartIssue, _ c: CheckContext) -> RestartPriority {
        c.vm(issue.vm)?.restartPriority ?? issue.priority
    }

    /// INV-R1: at most `das.perHostConcurrentFailoversLimit` concurrent HA power-ons per target.
    static func r1(_ c: CheckContext) -> CheckResult {
        let id = "INV-R1"
        var f = Findings()
        let limit = c.history.settings.perHostConcurrentFailoversLimit
        let expected = "at most \(limit) concurrent HA power-on tasks per target host (issued → succeeded/failed)"
        f.expect(expected)
        guard !c.restartIssues.isEmpty else {
            return finish(f, id, noTrigger: "no restart issued in this run", expected: expected)
        }
        var unresolved = 0
        var tasks: [HostID: [(from: Double, to: Double, resolved: Bool)]] = [:]
        for issue in c.restartIssues {
            let outcome = c.restartOutcomes.first { $0.vm == issue.vm && $0.target == issue.target && $0.attempt == issue.attempt && $0.time >= issue.time - c.epsilon }
            let started = c.history.vmInstances.first { $0.vm == issue.vm && $0.host == issue.target && $0.startedByHA && $0.start >= issue.time - c.epsilon }
            if let end = outcome?.time ?? started?.start {
                tasks[issue.target, default: []].append((issue.time, end, true))
            } else {
                unresolved += 1
                tasks[issue.target, default: []].append((issue.time, c.runEnd, false))
            }
        }
        for target in tasks.keys.sorted() {
            let list = tasks[target] ?? []
            func peak(_ items: [(from: Double, to: Double, resolved: Bool)]) -> (count: Int, at: Double) {
                var points: [(Double, Int)] = []
                for t in items { points.append((t.from, 1)); points.append((t.to, -1)) }
                points.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
                var current = 0
                var best = (0, 0.0)
                for (t, delta) in points {
                    current += delta
                    if current > best.0 { best = (current, t) }
                }
                return best
            }
            let strict = peak(list.filter(\.resolved))
            let loose = peak(list)
            if strict.count > limit {
                f.fail("\(strict.count) concurrent HA power-ons on \(target) at \(c.at(strict.at)) (limit \(limit))", at: strict.at)
            } else if loose.count > limit {
                f.unknown("\(loose.count) power-ons on \(target) at \(c.at(loose.at)) if the \(unresolved) task(s) without an outcome were still running")
            } else {
                f.pass("\(target): at most \(loose.count) concurrent HA power-on(s)", at: loose.at)
            }
        }
        if unresolved > 0 { f.note("\(unresolved) restart(s) without a recorded outcome counted as running to the end") }
        return finish(f, id, noTrigger: "no restart issued in this run", expected: expected)
    }

    /// INV-R2: per target host and failover batch, power-ons go out in priority order, and no
    /// lower-priority power-on is issued while a higher-priority one of the batch is still pending
    /// issue **or its attempt is still in flight** (oracle §6.1: HA "does not wait for them to
    /// succeed, only for the issued attempt to complete"). Issue order is the master's log order.
    static func r2(_ c: CheckContext) -> CheckResult {
        let id = "INV-R2"
        var f = Findings()
        let expected = "within a failover batch (first attempts issued by one master with gaps ≤ \(fmt(batchGap)) s), each target host receives power-ons "
            + "in priority order agent → FT secondary → high → medium → low, and a lower priority only after the higher-priority attempts to that host completed"
        f.expect(expected)
        let gap = c.run(model: batchGap)
        let firsts = c.restartIssues.filter { $0.attempt <= 1 }
        var missingOutcomes = 0
        for master in Set(firsts.map(\.master)).sorted() {
            var batches: [[RestartIssue]] = []
            for issue in firsts where issue.master == master {
                if let last = batches.last?.last, issue.time - last.time <= gap {
                    batches[batches.count - 1].append(issue)
                } else {
                    batches.append([issue])
                }
            }
            for batch in batches {
                for target in Set(batch.map(\.target)).sorted() {
                    let sequence = batch.filter { $0.target == target }
                    guard Set(sequence.map { priority($0, c).rank }).count >= 2 else { continue }
                    var violations = 0
                    for (i, earlier) in sequence.enumerated() {
                        for later in sequence[(i + 1)...] {
                            let (pe, pl) = (priority(earlier, c), priority(later, c))
                            if pl < pe {
                                violations += 1
                                f.fail("\(master) issued \(earlier.vm) (\(pe.rawValue)) to \(target) at \(c.at(earlier.time)) before \(later.vm) (\(pl.rawValue)) at \(c.at(later.time))", at: earlier.time)
                            } else if pe < pl {
                                let done = c.restartOutcomes.first { $0.vm == earlier.vm && $0.target == target && $0.attempt == earlier.attempt && $0.master == master && $0.time >= earlier.time }
                                guard let done else {
                                    missingOutcomes += 1
                                    continue
                                }
                                if done.time > later.time + c.epsilon {
                                    violations += 1
                                    f.fail("\(master) issued \(later.vm) (\(pl.rawValue)) to \(target) at \(c.at(later.time)) while \(earlier.vm)'s (\(pe.rawValue)) attempt was in flight until \(c.at(done.time))", at: later.time)
                                }
                            }
                        }
                    }
                    if violations == 0, let head = sequence.first {
                        let order = sequence.map { "\($0.vm)(\(priority($0, c).rawValue))" }.joined(separator: " ")
                        f.pass("\(master) → \(target) from \(c.at(head.time)): \(order)", at: head.time)
                    }
                }
            }
        }
        if missingOutcomes > 0 { f.note("\(missingOutcomes) higher-priority attempt(s) without a recorded outcome: their in-flight window not judged") }
        return finish(f, id, noTrigger: "no failover batch with mixed priorities to one host in this run", expected: expected)
    }

    /// INV-R3: per master and VM at most `das.maxvmrestartcount` attempts, each retry issued
    /// its documented delay after the previous failure (−1…+10 s).
    static func r3(_ c: CheckContext) -> CheckResult {
        let id = "INV-R3"
        var f = Findings()
        let settings = c.history.settings
        let delays = settings.restartRetryDelays.map { c.modelSeconds($0) }
        let maxAttempts = settings.maxRestartAttempts
        let expected = "per master per VM at most \(maxAttempts) attempts; retry k issued \(delays.map { fmt($0) }.joined(separator: "/")) s (−1…+10 s) after the previous failure; none after the last"
        f.expect(expected)
        // A series: one master, one VM, one master tenure.
        for tenure in c.masterIntervals {
            let inTenure = c.restartIssues.filter { $0.master == tenure.host && $0.time >= tenure.from - c.epsilon && ($0.time <= (tenure.to ?? .infinity)) }
            for vm in Set(inTenure.map(\.vm)).sorted() {
                let issues = inTenure.filter { $0.vm == vm }
                let failures = c.restartOutcomes.filter { $0.master == tenure.host && $0.vm == vm && !$0.succeeded && $0.time >= tenure.from && $0.time <= (tenure.to ?? .infinity) }
                guard failures.count >= 2, let firstIssue = issues.first else { continue }
                let label = "\(tenure.host)'s series for \(vm) from \(c.at(firstIssue.time))"
                if issues.count > maxAttempts {
                    f.fail("\(label): \(issues.count) attempts (max \(maxAttempts))", at: issues[maxAttempts].time)
                }
                var spacingOK = true
                for (k, next) in issues.enumerated().dropFirst() {
                    guard let failure = failures.last(where: { $0.time <= next.time + c.epsilon }) else { continue }
                    let index = min(k - 1, max(delays.count - 1, 0))
                    guard index < delays.count else { continue }
                    let wait = c.model(next.time - failure.time)
                    if wait < delays[index] - 1 || wait > delays[index] + 10 {
                        spacingOK = false
                        f.fail("\(label): attempt \(k + 1) issued \(fmt(wait)) s after the previous failure (expected \(fmt(delays[index])) s −1…+10 s)", at: next.time)
                    }
                }
                // After a failure with attempts left, a retry must come (unless the VM runs, or the tenure ended).
                if let lastFailure = failures.last, issues.count < maxAttempts, lastFailure.time >= (issues.last?.time ?? 0) {
                    let index = min(issues.count - 1, delays.count - 1)
                    if index >= 0 && index < delays.count {
                        let due = lastFailure.time + c.run(model: delays[index] + 10)
                        let running = !c.liveInstances(of: vm, at: due).isEmpty
                        let tenureOver = tenure.to.map { $0 < due } ?? false
                        if !running && !tenureOver && c.runEnd >= due && !c.events.contains(where: { e in
                            if case .restartGaveUp(let v, _) = e.event.kind { return v == vm && e.event.host == tenure.host && e.time <= due }
                            return false
                        }) {
                            spacingOK = false
                            f.fail("\(label): no retry after the failure at \(c.at(lastFailure.time)) (attempt \(issues.count) of \(maxAttempts))", at: due)
                        }
                    }
                }
                if spacingOK && issues.count <= maxAttempts {
                    let marks = issues.map { fmt(c.model($0.time - firstIssue.time)) }.joined(separator: ", ")
                    f.pass("\(label): \(issues.count) attempt(s) at +[\(marks)] s", at: firstIssue.time)
                }
            }
        }
        return finish(f, id, noTrigger: "no VM with ≥ 2 failed restart attempts by one master in this run", expected: expected)
    }

    /// INV-R4: restart-disabled VMs, user-powered-off (unprotected) VMs and VMs of a cleanly
    /// shut-down host are never restarted by HA.
    static func r4(_ c: CheckContext) -> CheckResult {
        let id = "INV-R4"
        var f = Findings()
        let failureReasons: Set<VMEndReason> = [.hostFailed, .isolationResponse, .crashed, .pdl, .lostLock]
        func restarts(of vm: VMID, from t: Double) -> (issue: RestartIssue?, instance: VMInstanceRecord?) {
            let userStart = c.history.vmInstances.filter { $0.vm == vm && !$0.startedByHA && $0.start > t }.map(\.start).min() ?? .infinity
            let issue = c.restartIssues.first { $0.vm == vm && $0.time >= t - c.epsilon && $0.time < userStart }
            let instance = c.history.vmInstances.first { $0.vm == vm && $0.startedByHA && $0.start >= t - c.epsilon && $0.start < userStart }
            return (issue, instance)
        }
        func judge(_ vm: VMID, from t: Double, why: String) {
            let (issue, instance) = restarts(of: vm, from: t)
            if let issue {
                f.fail("\(issue.master) issued a restart of \(vm) at \(c.at(issue.time)) (\(why))", at: issue.time)
            } else if let instance {
                f.fail("\(vm) restarted by HA on \(instance.host) at \(c.at(instance.start)) (\(why))", at: instance.start)
            } else {
                f.pass("\(vm) not restarted after \(c.at(t)) (\(why))", at: t)
            }
        }
        // Restart-disabled and unprotected VMs after a failure.
        for instance in c.history.vmInstances {
            guard let config = c.vm(instance.vm), let end = instance.end, failureReasons.contains(instance.endReason) else { continue }
            if config.restartPriority == .disabled {
                f.expect("restart-disabled VMs are never restarted")
                judge(instance.vm, from: end, why: "restart priority disabled, \(instance.endReason.rawValue) on \(instance.host)")
            } else if !config.isProtected {
                f.expect("unprotected VMs are never restarted")
                judge(instance.vm, from: end, why: "unprotected, \(instance.endReason.rawValue) on \(instance.host)")
            }
        }
        // User power-offs.
        for instance in c.history.vmInstances where instance.endReason == .userPowerOff {
            guard let end = instance.end else { continue }
            let cleanHost = c.history.hostPower.contains { $0.host == instance.host && $0.cleanShutdown && ($0.end.map { abs($0 - end) <= c.run(model: 300) } ?? false) }
            f.expect("a VM powered off by a user is not restarted")
            judge(instance.vm, from: end, why: cleanHost ? "shut down with \(instance.host)" : "user power-off on \(instance.host)")
        }
        // Clean host shutdowns.
        for record in c.history.hostPower where record.cleanShutdown {
            guard let end = record.end else { continue }
            let vms = c.instances(on: record.host, justBefore: end).map(\.vm)
            f.expect("VMs of cleanly shut-down \(record.host) are not restarted")
            for vm in vms { judge(vm, from: end, why: "clean shutdown of \(record.host)") }
        }
        return finish(f, id, noTrigger: "no failed restart-disabled/unprotected VM, user power-off or clean host shutdown in this run",
                      expected: "VMs with restart priority disabled, VMs powered off by a user, and VMs of a cleanly shut-down host are never restarted by HA")
    }

    /// INV-R5: admission control never blocks an HA restart; a VM pending placement is retried
    /// when capacity or hosts change (our bound: within 60 s of the change).
    static func r5(_ c: CheckContext) -> CheckResult {
        let id = "INV-R5"
        var f = Findings()
        let retryBound = 60.0
        for outcome in c.restartOutcomes where !outcome.succeeded && outcome.reason.lowercased().contains("admission") {
            f.fail("restart of \(outcome.vm) on \(outcome.target) failed at \(c.at(outcome.time)) for admission control: \(outcome.reason)", at: outcome.time)
        }
        if c.history.cluster.admissionControl != .disabled && !c.restartIssues.isEmpty {
            f.expect("with admission control configured, no HA restart fails for admission reasons")
            f.pass("\(c.restartIssues.count) restart(s) with admission control on; none failed for admission reasons", at: c.restartIssues.first?.time)
        }
        for e in c.events {
            guard case .restartPendingPlacement(let vm) = e.event.kind else { continue }
            let t = e.time
            f.expect("\(vm) pending placement at \(c.at(t)) is retried within \(fmt(retryBound)) s of a capacity or host change")
            var changes: [Double] = c.history.hostPower.map(\.start).filter { $0 > t }
            changes += c.faults.compactMap { c.faultEnd($0) }.filter { $0 > t }
            changes += c.events.filter { other in
                guard other.time > t, other.event.host != e.event.host, case .agentStarted = other.event.kind else { return false }
                return true
            }.map(\.time)
            guard let change = changes.min() else {
                f.note("no host or capacity change after \(vm) went pending at \(c.at(t))")
                continue
            }
            let due = change + c.run(model: retryBound)
            if let retry = c.firstRestart(of: vm, after: t + c.epsilon), retry.time <= due {
                f.pass("\(vm) retried by \(retry.master) at \(c.stamp(retry.time, since: change)) after the change at \(c.at(change))", at: retry.time)
            } else if !c.liveInstances(of: vm, at: change).isEmpty {
                f.note("\(vm) was running again at \(c.at(change))")
            } else if c.runEnd < due {
                f.unknown("run ended before \(vm)'s retry deadline")
            } else {
                f.fail("\(vm) pending since \(c.at(t)) not retried within \(fmt(retryBound)) s of the change at \(c.at(change))", at: due)
            }
        }
        return finish(f, id, noTrigger: "no pending placement and no restart under admission control in this run",
                      expected: "admission control never blocks an HA restart; an unplaceable VM goes pending and is retried when capacity or hosts change")
    }

    /// INV-R6: restarts go only to hosts in the VM's compatibility list and that run their
    /// pinned agent VMs (agent-priority VMs whose compatibility list is exactly that host).
    static func r6(_ c: CheckContext) -> CheckResult {
        let id = "INV-R6"
        var f = Findings()
        var agentVMs: [HostID: [VMID]] = [:]
        for vm in c.history.cluster.vms where vm.restartPriority == .agent && vm.compatibleHosts.count == 1 {
            if let host = vm.compatibleHosts.first { agentVMs[host, default: []].append(vm.id) }
        }
        for issue in c.restartIssues {
            guard let config = c.vm(issue.vm) else { continue }
            let pinned = (agentVMs[issue.target] ?? []).filter { $0 != issue.vm }
            guard !config.compatibleHosts.isEmpty || !pinned.isEmpty else { continue }
            f.expect("restarts placed only on compatible hosts running their agent VMs")
            var ok = true
            if !config.compatibleHosts.isEmpty && !config.compatibleHosts.contains(issue.target) {
                ok = false
                f.fail("\(issue.vm) restarted on \(issue.target) at \(c.at(issue.time)), outside its compatibility list [\(config.compatibleHosts.map(\.rawValue).joined(separator: ", "))]", at: issue.time)
            }
            for agent in pinned where !c.liveInstances(of: agent, at: issue.time).contains(where: { $0.host == issue.target }) {
                ok = false
                f.fail("\(issue.vm) restarted on \(issue.target) at \(c.at(issue.time)) while its agent VM \(agent) was not running there", at: issue.time)
            }
            if ok { f.pass("\(issue.vm) → \(issue.target) at \(c.at(issue.time)) respects its placement constraints", at: issue.time) }
        }
        return finish(f, id, noTrigger: "no restart constrained by a compatibility list or agent VM in this run",
                      expected: "no VM is placed on a host lacking its required agent VMs or outside its VM-host must rules")
    }
}
