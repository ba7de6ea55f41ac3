import HACore

// MARK: - PDL / APD (oracle §7.2, §7.3, §11 INV-PDL1, INV-APD1)

extension Invariants {
    /// Model seconds after a PDL kill by which the restart must be issued (our reading: the
    /// master learns from the host at once or from its poweron file within ~30 s; +5 s slack).
    static let pdlRestartBound = 35.0

    /// INV-PDL1: with terminateVMOnPDL a VM on a PDL datastore may be killed; HA restarts it
    /// elsewhere iff das.maskCleanShutdownEnabled (or a VMCP restart response) applies.
    static func pdl1(_ c: CheckContext) -> CheckResult {
        let id = "INV-PDL1"
        var f = Findings()
        let cluster = c.history.cluster
        let mask = cluster.maskCleanShutdownEnabled ?? c.history.settings.defaultMaskCleanShutdown
        let vmcp = cluster.pdlResponse == .restartConservative || cluster.pdlResponse == .restartAggressive
        let restartExpected = mask || vmcp
        let policy = "terminateVMOnPDL=\(cluster.terminateVMOnPDL), maskCleanShutdown=\(mask), VMCP PDL=\(cluster.pdlResponse.rawValue)"
        // A PDL kill must be explained by a PDL fault on that host and datastore.
        for instance in c.history.vmInstances where instance.endReason == .pdl {
            guard let end = instance.end, let home = c.vm(instance.vm)?.homeDatastore else { continue }
            let explained = c.faults.contains { fault in
                guard case .pdlDatastore(let ds, let hosts) = fault.fault else { return false }
                return ds == home && hosts.contains(instance.host) && fault.injectedAt <= end + c.epsilon && (c.faultEnd(fault).map { $0 >= end } ?? true)
            }
            let vmcpKill = c.events.contains { e in
                guard abs(e.time - end) <= c.run(model: 2), case .componentProtectionKill(let vm, _) = e.event.kind else { return false }
                return vm == instance.vm
            }
            if !explained && !vmcpKill {
                f.fail("\(instance.vm) on \(instance.host) ended with pdl at \(c.at(end)) without a PDL of \(home) on that host", at: end)
            }
        }
        for fault in c.faults {
            guard case .pdlDatastore(let ds, let hosts) = fault.fault else { continue }
            let t0 = fault.injectedAt
            let affected = hosts.flatMap { c.instances(on: $0, justBefore: t0) }.filter { c.vm($0.vm)?.homeDatastore == ds }
            f.expect("PDL of \(ds) on [\(hosts.map(\.rawValue).joined(separator: ","))] at \(c.at(t0)) (\(policy)): killed VMs \(restartExpected ? "restarted elsewhere within \(fmt(pdlRestartBound)) s" : "not restarted by HA")")
            guard !affected.isEmpty else {
                f.note("no VM homed on \(ds) ran on the PDL host(s) at \(c.at(t0))")
                continue
            }
            for instance in affected {
                guard instance.endReason == .pdl, let end = instance.end else {
                    f.note("\(instance.vm) not killed by the PDL (it may have issued no I/O)")
                    continue
                }
                if !cluster.terminateVMOnPDL && !vmcp {
                    f.fail("\(instance.vm) killed by PDL at \(c.stamp(end, since: t0)) although terminateVMOnPDL is off", at: end)
                    continue
                }
                let issue = c.firstRestart(of: instance.vm, after: end)
                let haStart = c.history.vmInstances.first { $0.vm == instance.vm && $0.startedByHA && $0.start >= end }
                if restartExpected && c.isRestartable(instance.vm) {
                    let due = end + c.run(model: pdlRestartBound)
                    if let issue, issue.time <= due {
                        if hosts.contains(issue.target) && c.storageLoss(issue.target, ds, at: issue.time) != nil {
                            f.fail("\(instance.vm) restarted at \(c.stamp(issue.time, since: end)) on \(issue.target), which has the PDL", at: issue.time)
                        } else {
                            f.pass("\(instance.vm) killed by PDL at \(c.stamp(end, since: t0)), restart issued to \(issue.target) at \(c.offset(issue.time, since: end)) after the kill", at: issue.time)
                        }
                    } else if c.runEnd < due {
                        f.unknown("run ended before \(instance.vm)'s PDL restart deadline")
                    } else {
                        f.fail("\(instance.vm) killed by PDL at \(c.stamp(end, since: t0)) but not restarted within \(fmt(pdlRestartBound)) s", at: due)
                    }
                } else if !restartExpected {
                    if let issue {
                        f.fail("\(instance.vm) killed by PDL was restarted (issued at \(c.at(issue.time))) although das.maskCleanShutdownEnabled is false", at: issue.time)
                    } else if let haStart {
                        f.fail("\(instance.vm) killed by PDL was restarted by HA on \(haStart.host) at \(c.at(haStart.start)) although das.maskCleanShutdownEnabled is false", at: haStart.start)
                    } else {
                        f.pass("\(instance.vm) killed by PDL at \(c.stamp(end, since: t0)) and, as the clean-shutdown flag says, not restarted", at: end)
                    }
                } else {
                    f.note("\(instance.vm) is not restartable (disabled or unprotected)")
                }
            }
        }
        return finish(f, id, noTrigger: "no PDL of a datastore with running VMs in this run",
                      expected: "with terminateVMOnPDL a VM on a PDL datastore is killed at its next I/O and restarted elsewhere iff das.maskCleanShutdownEnabled")
    }

    /// INV-APD1: VMCP's APD response comes no earlier than APD timeout + terminate delay
    /// (140 + 180 = 320 s, ±5 s); nothing if the APD clears before that.
    static func apd1(_ c: CheckContext) -> CheckResult {
        let id = "INV-APD1"
        var f = Findings()
        let cluster = c.history.cluster
        let delay = c.modelSeconds(c.history.settings.apdTimeout) + c.modelSeconds(c.history.settings.apdTerminateDelay)
        let acts = cluster.apdResponse == .restartConservative || cluster.apdResponse == .restartAggressive
        for fault in c.faults {
            guard case .unmountDatastore(let ds, let hosts) = fault.fault else { continue }
            let t0 = fault.injectedAt
            let end = c.faultEnd(fault) ?? c.runEnd
            let affected = hosts.flatMap { c.instances(on: $0, justBefore: t0) }.filter { c.vm($0.vm)?.homeDatastore == ds }
            f.expect("APD of \(ds) on [\(hosts.map(\.rawValue).joined(separator: ","))] at \(c.at(t0)), VMCP APD response \(cluster.apdResponse.rawValue): "
                + (acts ? "kill no earlier than T\(fmt(delay)) −5 s, none if the APD clears before" : "no component-protection kill"))
            guard !affected.isEmpty else {
                f.note("no VM homed on \(ds) ran on the APD host(s) at \(c.at(t0))")
                continue
            }
            let kills = c.events.filter { e in
                guard hosts.contains(e.event.host), e.time >= t0, case .componentProtectionKill(_, let d) = e.event.kind else { return false }
                return d == ds
            }
            for kill in kills {
                let d = c.model(kill.time - t0)
                if !acts {
                    f.fail("\(kill.event.host) killed a VM for APD at \(c.stamp(kill.time, since: t0)) with APD response \(cluster.apdResponse.rawValue)", at: kill.time)
                } else if d < delay - 5 {
                    f.fail("\(kill.event.host) killed a VM for APD at \(c.stamp(kill.time, since: t0)), before T\(fmt(delay)) −5 s", at: kill.time)
                } else if c.model(end - t0) < delay - 5 {
                    f.fail("\(kill.event.host) killed a VM at \(c.stamp(kill.time, since: t0)) although the APD cleared at \(c.offset(end, since: t0))", at: kill.time)
                }
            }
            let lasted = c.model(end - t0)
            if !acts {
                if kills.isEmpty {
                    if lasted >= delay + 5 { f.pass("no APD kill over \(fmt(lasted)) s of APD (response \(cluster.apdResponse.rawValue))", at: t0) }
                    else { f.note("APD lasted \(fmt(lasted)) s, under T\(fmt(delay + 5)): a disabled response could not show") }
                }
                continue
            }
            if lasted < delay - 5 {
                if kills.isEmpty { f.pass("APD cleared at \(c.offset(end, since: t0)), before T\(fmt(delay)): no kill", at: end) }
                continue
            }
            guard lasted >= delay + 5 else {
                f.note("APD ended at \(c.offset(end, since: t0)), inside the ±5 s window around T\(fmt(delay))")
                continue
            }
            let othersReach = c.hostIDs.contains { h in !hosts.contains(h) && c.canAccess(h, ds, at: t0 + c.run(model: delay)) }
            for instance in affected {
                if let end = instance.end, end < t0 + c.run(model: delay - 5) {
                    f.note("\(instance.vm) ended (\(instance.endReason.rawValue)) before the APD response time")
                    continue
                }
                let kill = kills.first { if case .componentProtectionKill(let vm, _) = $0.event.kind { vm == instance.vm } else { false } }
                let expectKill = cluster.apdResponse == .restartAggressive || othersReach
                if let kill {
                    let d = c.model(kill.time - t0)
                    if !expectKill {
                        f.fail("\(instance.vm) killed for APD at \(c.stamp(kill.time, since: t0)) although no other host could reach \(ds) (conservative)", at: kill.time)
                    } else if d <= delay + 5 && d >= delay - 5 {
                        f.pass("\(instance.vm) killed for APD at \(c.stamp(kill.time, since: t0))", at: kill.time)
                    } else if d > delay + 5 {
                        f.fail("\(instance.vm) killed for APD only at \(c.stamp(kill.time, since: t0)), after T\(fmt(delay)) +5 s", at: kill.time)
                    }
                } else if expectKill {
                    f.fail("\(instance.vm) not killed by VMCP by T\(fmt(delay + 5)) of a \(fmt(lasted)) s APD", at: t0 + c.run(model: delay + 5))
                } else {
                    f.pass("\(instance.vm) kept (conservative: no other host reaches \(ds))", at: t0)
                }
            }
        }
        return finish(f, id, noTrigger: "no APD (unmount) of a datastore with running VMs in this run",
                      expected: "VMCP APD response no earlier than 140 s + 180 s = 320 s (±5 s) after APD onset; no action if the APD clears first")
    }
}
