import HACore

/// Scenario-specific outcome expectations (DESIGN §7): every ``Expectation`` case except
/// `.invariant`. Times in expectations are model seconds from the start of the run.
enum Outcomes {
    /// Judges one outcome expectation.
    static func check(_ expectation: Expectation, _ c: CheckContext) -> CheckResult {
        switch expectation {
        case .invariant(let id):
            Invariants.check(id, c)
        case .vmRunning(let vm, let on, let notOn, let by):
            vmRunning(c, vm: vm, on: on, notOn: notOn, by: by)
        case .vmNeverRestarted(let vm):
            vmNeverRestarted(c, vm: vm)
        case .vmDown(let vm, let at):
            vmDown(c, vm: vm, at: at)
        case .splitBrainResolved(let vm):
            splitBrainResolved(c, vm: vm)
        case .noHAPowerOff:
            noHAPowerOff(c)
        case .hostState(let observer, let host, let state, let from, let to):
            hostState(c, observer: observer, host: host, state: state, from: from, to: to)
        case .master(let host, let at):
            master(c, host: host, at: at)
        case .messagesDropped(let reason):
            messagesDropped(c, reason: reason)
        }
    }

    // MARK: - Helpers

    static func result(_ id: String, _ name: String, _ passed: Bool?, _ expected: String, _ observed: String, at: Double? = nil) -> CheckResult {
        CheckResult(id: id, name: name, passed: passed, expected: expected, observed: observed, at: at)
    }

    static func describe(_ instances: [VMInstanceRecord], _ c: CheckContext) -> String {
        instances.isEmpty ? "no live instance"
            : instances.map { "\($0.instance) on \($0.host) since \(c.at($0.start))" }.joined(separator: ", ")
    }

    // MARK: - Outcomes

    /// Exactly one live instance of `vm` at model time `by`, on a matching host.
    static func vmRunning(_ c: CheckContext, vm: VMID, on: HostID?, notOn: HostID?, by: Double) -> CheckResult {
        let id = "OUT-vmRunning-\(vm)"
        var place = ""
        if let on { place += " on \(on)" }
        if let notOn { place += " not on \(notOn)" }
        let expected = "exactly one instance of \(vm) running\(place) at model \(fmt(by)) s"
        let t = c.run(model: by)
        guard t <= c.runEnd else {
            return result(id, "VM running", nil, expected, "run ended at \(c.at(c.runEnd)), before model \(fmt(by)) s")
        }
        let live = c.liveInstances(of: vm, at: t)
        let observed = "\(vm) at model \(fmt(by)) s: \(describe(live, c))"
        guard live.count == 1, let only = live.first else {
            return result(id, "VM running", false, expected, observed, at: t)
        }
        let matches = (on.map { only.host == $0 } ?? true) && (notOn.map { only.host != $0 } ?? true)
        return result(id, "VM running", matches, expected, observed, at: only.start)
    }

    /// No HA-started instance of `vm` during the run.
    static func vmNeverRestarted(_ c: CheckContext, vm: VMID) -> CheckResult {
        let id = "OUT-vmNeverRestarted-\(vm)"
        let expected = "\(vm) is never restarted by HA during the run"
        let instances = c.history.vmInstances.filter { $0.vm == vm }
        guard !instances.isEmpty else {
            return result(id, "VM never restarted", nil, expected, "\(vm) never ran in this run")
        }
        if let restarted = instances.filter(\.startedByHA).min(by: { $0.start < $1.start }) {
            return result(id, "VM never restarted", false, expected,
                          "\(vm) restarted by HA: \(restarted.instance) on \(restarted.host) at \(c.at(restarted.start))", at: restarted.start)
        }
        return result(id, "VM never restarted", true, expected,
                      "\(instances.count) instance(s) of \(vm), none started by HA (observed until \(c.at(c.runEnd)))")
    }

    /// No live instance of `vm` at model time `at`.
    static func vmDown(_ c: CheckContext, vm: VMID, at: Double) -> CheckResult {
        let id = "OUT-vmDown-\(vm)"
        let expected = "\(vm) not running at model \(fmt(at)) s"
        let t = c.run(model: at)
        guard t <= c.runEnd else {
            return result(id, "VM down", nil, expected, "run ended at \(c.at(c.runEnd)), before model \(fmt(at)) s")
        }
        guard !c.history.vmInstances.isEmpty else {
            return result(id, "VM down", nil, expected, "no VM instances recorded in this run")
        }
        let live = c.liveInstances(of: vm, at: t)
        let lastEnd = c.history.vmInstances.filter { $0.vm == vm }.compactMap(\.end).filter { $0 <= t }.max()
        let observed = live.isEmpty
            ? "\(vm) down at model \(fmt(at)) s" + (lastEnd.map { " (last instance ended at \(c.at($0)))" } ?? " (never powered on before)")
            : "\(vm) at model \(fmt(at)) s: \(describe(live, c))"
        return result(id, "VM down", live.isEmpty, expected, observed, at: live.isEmpty ? lastEnd : t)
    }

    /// A window with two live instances of `vm`, and at most one live at the end.
    static func splitBrainResolved(_ c: CheckContext, vm: VMID) -> CheckResult {
        let id = "OUT-splitBrainResolved-\(vm)"
        let expected = "a split-brain window (two live instances of \(vm)) happens and at most one instance is live at the end of the run"
        guard c.history.vmInstances.contains(where: { $0.vm == vm }) else {
            return result(id, "split-brain resolved", nil, expected, "no instance of \(vm) recorded in this run")
        }
        let dups = Invariants.duplicates(c).filter { $0.older.vm == vm }
        let atEnd = c.history.vmInstances.filter { $0.vm == vm && $0.end == nil }
        guard let first = dups.first else {
            return result(id, "split-brain resolved", false, expected, "\(vm) never had two live instances at once")
        }
        let window = "\(first.older.instance) on \(first.older.host) and \(first.newer.instance) on \(first.newer.host) over \(c.at(first.from))–\(fmt(c.model(first.to))) s"
        if atEnd.count <= 1 {
            let survivor = atEnd.first.map { "only \($0.instance) on \($0.host)" } ?? "none live"
            return result(id, "split-brain resolved", true, expected, "\(window); at the end: \(survivor)", at: first.to)
        }
        return result(id, "split-brain resolved", false, expected,
                      "\(window); still \(atEnd.count) live at the end: \(atEnd.map { "\($0.instance) on \($0.host)" }.joined(separator: ", "))", at: c.runEnd)
    }

    /// Every host whose agent ran through a rogue-host fault logged dropping forged traffic for
    /// `reason` during it. Inconclusive without such a fault.
    static func messagesDropped(_ c: CheckContext, reason: String) -> CheckResult {
        let id = "OUT-messagesDropped-\(reason)"
        let expected = "every host up during a network.rogueHost fault drops the rogue's datagrams (\(reason)) and logs it"
        let rogues = c.faults.filter { if case .rogueHost = $0.fault { true } else { false } }
        guard !rogues.isEmpty else { return result(id, "forged traffic dropped", nil, expected, "no network.rogueHost fault in this run") }
        var missing: [String] = []
        var seen: [String] = []
        for fault in rogues {
            let end = c.faultEnd(fault) ?? c.runEnd
            for host in c.hostIDs where c.isUp(host, at: fault.injectedAt) && c.agentRunning(host, at: fault.injectedAt) {
                let drops = c.events.filter { e in
                    guard e.event.host == host, e.time >= fault.injectedAt, e.time <= end + c.run(model: 2),
                          case .messageDropped(_, let r) = e.event.kind else { return false }
                    return r == reason
                }
                if let first = drops.first { seen.append("\(host) at \(c.offset(first.time, since: fault.injectedAt))") } else { missing.append(host.rawValue) }
            }
        }
        if !missing.isEmpty {
            return result(id, "forged traffic dropped", false, expected, "no \(reason) drop logged by \(missing.joined(separator: ", ")); logged by: \(seen.isEmpty ? "none" : seen.joined(separator: ", "))")
        }
        guard !seen.isEmpty else { return result(id, "forged traffic dropped", nil, expected, "no host's agent ran during the fault") }
        return result(id, "forged traffic dropped", true, expected, "\(reason) drops logged by \(seen.joined(separator: ", "))")
    }

    /// No instance ended by the isolation response or VM monitoring.
    static func noHAPowerOff(_ c: CheckContext) -> CheckResult {
        let id = "OUT-noHAPowerOff"
        let expected = "no VM instance ends with isolation-response or vm-monitoring-reset"
        guard !c.history.vmInstances.isEmpty else {
            return result(id, "no HA power-off", nil, expected, "no VM instances recorded in this run")
        }
        let stopped = c.history.vmInstances.filter { $0.endReason == .isolationResponse || $0.endReason == .vmMonitoringReset }
            .sorted { ($0.end ?? 0) < ($1.end ?? 0) }
        if stopped.isEmpty {
            return result(id, "no HA power-off", true, expected, "\(c.history.vmInstances.count) instance(s), none stopped by HA")
        }
        let list = stopped.map { "\($0.instance) on \($0.host) (\($0.endReason.rawValue)) at \(c.at($0.end ?? 0))" }
        return result(id, "no HA power-off", false, expected, capped(list), at: stopped.first?.end)
    }

    /// `observer` (or whoever was master, when nil) reported `host` in `state` within [from, to].
    static func hostState(_ c: CheckContext, observer: HostID?, host: HostID, state: HostState, from: Double, to: Double) -> CheckResult {
        let id = "OUT-hostState-\(host)-\(state.rawValue)"
        let who = observer.map(\.rawValue) ?? "the master"
        let expected = "\(who) reports \(host) \(state.rawValue) within model [\(fmt(from)), \(fmt(to))] s"
        let (lo, hi) = (c.run(model: from), c.run(model: to))
        let candidates = c.stateReports.filter { r in
            r.host == host && (observer.map { r.observer == $0 } ?? c.isMaster(r.observer, at: r.time, slack: c.epsilon))
        }
        if let hit = candidates.first(where: { $0.state == state && $0.time >= lo - c.epsilon && $0.time <= hi + c.epsilon }) {
            return result(id, "host state", true, expected, "\(hit.observer) reported \(host) \(state.rawValue) at \(c.at(hit.time))", at: hit.time)
        }
        let seen = candidates.map { "\($0.state.rawValue) by \($0.observer) at \(c.at($0.time))" }
        let observed = seen.isEmpty ? "no report about \(host) by \(who)" : "reports about \(host): \(capped(seen, limit: 5, separator: ", "))"
        if c.runEnd < hi {
            return result(id, "host state", nil, expected, "run ended at \(c.at(c.runEnd)), before model \(fmt(to)) s; \(observed)")
        }
        let wrongTime = candidates.first { $0.state == state }
        return result(id, "host state", false, expected, observed, at: wrongTime?.time ?? hi)
    }

    /// Exactly one master at model time `at`, and it is `host`.
    static func master(_ c: CheckContext, host: HostID, at: Double) -> CheckResult {
        let id = "OUT-master-\(host)"
        let expected = "\(host) is the only master at model \(fmt(at)) s"
        let t = c.run(model: at)
        guard t <= c.runEnd else {
            return result(id, "master", nil, expected, "run ended at \(c.at(c.runEnd)), before model \(fmt(at)) s")
        }
        guard c.hasRoleEvidence else {
            return result(id, "master", nil, expected, "no role evidence in this run")
        }
        let masters = c.masters(at: t)
        let observed = masters.isEmpty ? "no master at model \(fmt(at)) s" : "master(s) at model \(fmt(at)) s: \(masters.map(\.rawValue).joined(separator: ", "))"
        return result(id, "master", masters == [host], expected, observed, at: t)
    }
}
