import HACore

// MARK: - Derived records

/// One stretch of time during which a host held one agent role.
///
/// Derived from `.roleChanged` evidence; closed by the next role change, by `.agentStopped` /
/// `.agentStarted`, or by the end of the host's power interval.
struct RoleInterval: Hashable, Sendable {
    var host: HostID
    var role: Role
    /// Run seconds.
    var from: Double
    /// Run seconds; `nil` while still held at the end of the run.
    var to: Double?
}

/// A `.restartIssued` fact.
struct RestartIssue: Hashable, Sendable {
    var time: Double
    var master: HostID
    var vm: VMID
    var target: HostID
    var attempt: Int
    var priority: RestartPriority
}

/// A `.restartSucceeded` or `.restartFailed` fact.
struct RestartOutcome: Hashable, Sendable {
    var time: Double
    var master: HostID
    var vm: VMID
    var target: HostID
    var attempt: Int
    var succeeded: Bool
    var reason: String
}

/// An isolation-response decision by an isolated host: applied or deferred.
struct ResponseDecision: Hashable, Sendable {
    var time: Double
    var host: HostID
    var vm: VMID
    /// `true` for `.isolationResponseApplied`, `false` for `.isolationResponseDeferred`.
    var applied: Bool
    var response: IsolationResponse?
    var markerWritten: Bool?

    /// Whether this decision stops the VM (power-off or shutdown).
    var stopsVM: Bool { applied && (response == .powerOff || response == .shutdown) }
}

/// A `.hostStateChanged` fact: `observer` classified `host` as `state`.
struct StateReport: Hashable, Sendable {
    var time: Double
    var observer: HostID
    var host: HostID
    var state: HostState
}

/// A half-open run-time interval `[from, to)`; `to == nil` means "until the end of the run".
struct Span: Hashable, Sendable {
    var from: Double
    var to: Double?

    func contains(_ t: Double) -> Bool { from <= t && (to.map { t < $0 } ?? true) }
    func end(or fallback: Double) -> Double { to ?? fallback }
}

// MARK: - Context

/// A read-only index over one ``History`` that every invariant shares.
///
/// It derives role intervals from the evidence, management connectivity and datastore access
/// from the fault journal, and converts between run seconds (what the history stores) and model
/// seconds (what the oracle's timings mean): `model = run / timeScale` (DESIGN §3).
/// Pure: built once from the history, no I/O.
struct CheckContext {
    let history: History
    /// Run seconds per model second (`History.timeScale`; 1 when the stored value is unusable).
    let scale: Double
    /// End of the run in run seconds.
    let runEnd: Double
    /// Agent evidence in time order (stable for equal times).
    let events: [TimedEvent]
    let roles: [HostID: [RoleInterval]]
    /// Per host, in time order: agent start/stop and hostd availability evidence.
    let agentEvents: [HostID: [TimedEvent]]
    /// Every host of the cluster, plus any host named by evidence or ground truth, sorted.
    let hostIDs: [HostID]
    let faults: [FaultRecord]

    let restartIssues: [RestartIssue]
    let restartOutcomes: [RestartOutcome]
    let decisions: [ResponseDecision]
    let stateReports: [StateReport]
    /// `(time, host)` of `.isolationDeclared`.
    let isolationDeclarations: [(time: Double, host: HostID)]
    /// `(time, host, reason)` of `.isolationCleared`.
    let isolationClearances: [(time: Double, host: HostID, reason: String)]
    /// `(time, host, vm)` of `.vmMonitoringReset`.
    let monitoringResets: [(time: Double, host: HostID, vm: VMID)]

    /// A small run-time epsilon for "at the same instant" comparisons.
    var epsilon: Double { 1e-6 }

    init(_ history: History) {
        self.history = history
        scale = history.timeScale.isFinite && history.timeScale > 0 ? history.timeScale : 1
        let indexed = history.events.enumerated().sorted { lhs, rhs in
            lhs.element.time != rhs.element.time ? lhs.element.time < rhs.element.time : lhs.offset < rhs.offset
        }
        events = indexed.map(\.element)
        faults = history.faults.sorted { $0.injectedAt < $1.injectedAt }

        var latest = history.duration
        for e in history.events { latest = max(latest, e.time) }
        for f in history.faults { latest = max(latest, f.healedAt ?? f.injectedAt) }
        for i in history.vmInstances { latest = max(latest, i.end ?? i.start) }
        runEnd = latest

        var hosts = Set(history.cluster.hosts.map(\.id))
        for e in history.events {
            // Evidence sources that are not hosts (the controller emits as `vcenter`) stay out
            // unless they claim an agent role.
            if case .roleChanged = e.event.kind { hosts.insert(e.event.host) }
        }
        for p in history.hostPower { hosts.insert(p.host) }
        for i in history.vmInstances { hosts.insert(i.host) }
        hostIDs = hosts.sorted()

        var issues: [RestartIssue] = []
        var outcomes: [RestartOutcome] = []
        var decisions: [ResponseDecision] = []
        var reports: [StateReport] = []
        var declared: [(time: Double, host: HostID)] = []
        var cleared: [(time: Double, host: HostID, reason: String)] = []
        var resets: [(time: Double, host: HostID, vm: VMID)] = []
        for e in events {
            let h = e.event.host
            switch e.event.kind {
            case .restartIssued(let vm, let target, let attempt, let priority):
                issues.append(RestartIssue(time: e.time, master: h, vm: vm, target: target, attempt: attempt, priority: priority))
            case .restartSucceeded(let vm, let target, let attempt):
                outcomes.append(RestartOutcome(time: e.time, master: h, vm: vm, target: target, attempt: attempt, succeeded: true, reason: ""))
            case .restartFailed(let vm, let target, let attempt, let reason):
                outcomes.append(RestartOutcome(time: e.time, master: h, vm: vm, target: target, attempt: attempt, succeeded: false, reason: reason))
            case .isolationResponseApplied(let vm, let response, let marker):
                decisions.append(ResponseDecision(time: e.time, host: h, vm: vm, applied: true, response: response, markerWritten: marker))
            case .isolationResponseDeferred(let vm):
                decisions.append(ResponseDecision(time: e.time, host: h, vm: vm, applied: false, response: nil, markerWritten: nil))
            case .hostStateChanged(let host, let state):
                reports.append(StateReport(time: e.time, observer: h, host: host, state: state))
            case .isolationDeclared:
                declared.append((e.time, h))
            case .isolationCleared(let reason):
                cleared.append((e.time, h, reason))
            case .vmMonitoringReset(let vm, _):
                resets.append((e.time, h, vm))
            default:
                break
            }
        }
        restartIssues = issues
        restartOutcomes = outcomes
        self.decisions = decisions
        stateReports = reports
        isolationDeclarations = declared
        isolationClearances = cleared
        monitoringResets = resets

        roles = Self.roleIntervals(events: events, power: history.hostPower)
        var agent: [HostID: [TimedEvent]] = [:]
        for e in events {
            switch e.event.kind {
            case .agentStarted, .agentStopped, .hostdAvailable, .hostdUnavailable: agent[e.event.host, default: []].append(e)
            default: break
            }
        }
        agentEvents = agent
    }

    // MARK: - Role intervals

    private static func roleIntervals(events: [TimedEvent], power: [HostPowerRecord]) -> [HostID: [RoleInterval]] {
        var result: [HostID: [RoleInterval]] = [:]
        var open: [HostID: (role: Role, from: Double)] = [:]
        func close(_ host: HostID, at t: Double) {
            if let current = open[host] {
                result[host, default: []].append(RoleInterval(host: host, role: current.role, from: current.from, to: t))
                open[host] = nil
            }
        }
        for e in events {
            let h = e.event.host
            switch e.event.kind {
            case .roleChanged(let role):
                if open[h]?.role == role { continue }
                close(h, at: e.time)
                open[h] = (role, e.time)
            case .agentStopped, .agentStarted:
                close(h, at: e.time)
            default:
                break
            }
        }
        for (h, current) in open {
            result[h, default: []].append(RoleInterval(host: h, role: current.role, from: current.from, to: nil))
        }
        // A host holds no role while it is powered off: clip to the power interval the role began in.
        var clipped: [HostID: [RoleInterval]] = [:]
        for (h, intervals) in result {
            let records = power.filter { $0.host == h }
            for var interval in intervals {
                if !records.isEmpty {
                    guard let up = records.first(where: { $0.start <= interval.from + 1e-9 && ($0.end.map { interval.from < $0 } ?? true) })
                    else { continue }
                    if let end = up.end, interval.to.map({ $0 > end }) ?? true { interval.to = end }
                }
                clipped[h, default: []].append(interval)
            }
            clipped[h]?.sort { $0.from < $1.from }
        }
        return clipped
    }

    /// Whether any host emitted role evidence.
    var hasRoleEvidence: Bool { roles.values.contains { !$0.isEmpty } }

    /// The role `host` held at run time `t` (`nil`: no role / no evidence covering `t`).
    func role(of host: HostID, at t: Double) -> Role? {
        roles[host]?.first { $0.from <= t && ($0.to.map { t < $0 } ?? true) }?.role
    }

    /// The role `host` held just before run time `t` (its role "at T0" for a fault injected at `t`).
    func role(of host: HostID, justBefore t: Double) -> Role? { role(of: host, at: t - epsilon) }

    /// Whether `host` was master at `t`, accepting role boundaries within `slack` run seconds.
    func isMaster(_ host: HostID, at t: Double, slack: Double = 0) -> Bool {
        roles[host]?.contains { $0.role == .master && $0.from <= t + slack && ($0.to.map { t - slack < $0 } ?? true) } ?? false
    }

    /// Hosts that were master at `t`, sorted.
    func masters(at t: Double) -> [HostID] {
        hostIDs.filter { role(of: $0, at: t) == .master }
    }

    /// The master intervals of every host, in time order.
    var masterIntervals: [RoleInterval] {
        roles.values.flatMap { $0 }.filter { $0.role == .master }.sorted { $0.from < $1.from }
    }

    // MARK: - Power, agents, hostd

    /// Whether `host` was powered on at `t`. Without power records the journal decides
    /// (an active power-off or clean shutdown means down), else the host counts as up.
    func isUp(_ host: HostID, at t: Double) -> Bool {
        let records = history.hostPower.filter { $0.host == host }
        if !records.isEmpty {
            return records.contains { $0.start <= t && ($0.end.map { t < $0 } ?? true) }
        }
        return !faults.contains { f in
            switch f.fault {
            case .powerOffHost(let h), .shutdownHost(let h): h == host && isActive(f, at: t)
            default: false
            }
        }
    }

    /// Whether `host`'s agent was running at `t` (last `.agentStarted`/`.agentStopped` wins;
    /// no such evidence counts as running) and its hostd was available.
    func agentRunning(_ host: HostID, at t: Double) -> Bool {
        guard isUp(host, at: t) else { return false }
        var running = true
        var hostd = true
        for e in agentEvents[host] ?? [] {
            if e.time > t { break }
            switch e.event.kind {
            case .agentStarted: running = true
            case .agentStopped: running = false
            case .hostdUnavailable: hostd = false
            case .hostdAvailable: hostd = true
            default: break
            }
        }
        return running && hostd
    }

    // MARK: - Faults

    /// Whether a fault was in force at `t`. Instantaneous faults are never "in force".
    func isActive(_ f: FaultRecord, at t: Double) -> Bool {
        if f.fault.isInstantaneous { return false }
        return f.injectedAt <= t && (f.healedAt.map { t < $0 } ?? true)
    }

    /// The run time a fault stopped being in force (`nil`: still in force at the end).
    func faultEnd(_ f: FaultRecord) -> Double? {
        f.fault.isInstantaneous ? f.injectedAt : f.healedAt
    }

    /// Faults in force at `t`.
    func activeFaults(at t: Double) -> [FaultRecord] { faults.filter { isActive($0, at: t) } }

    /// Whether the fault cuts or disturbs management traffic (partition/isolation/outage/loss,
    /// or stops an agent from talking).
    static func isNetworkFault(_ fault: Fault) -> Bool {
        switch fault {
        case .partition, .partitionOneWay, .isolateHost, .managementNetworkOutage, .packetLoss, .stopAgent, .freezeHost:
            true
        default:
            false
        }
    }

    /// Whether the fault can change who is master (network faults, and faults that take agents or hosts away).
    static func disturbsRoles(_ fault: Fault) -> Bool {
        switch fault {
        case .killAgent, .killHostd, .powerOffHost, .shutdownHost, .restartHost: true
        default: isNetworkFault(fault)
        }
    }

    // MARK: - Connectivity

    /// Whether `a` and `b` could exchange management traffic (heartbeats, election messages) at `t`:
    /// both powered on, and no partition/isolation/outage/one-way cut/stopped or frozen agent between them.
    func canTalk(_ a: HostID, _ b: HostID, at t: Double) -> Bool {
        guard isUp(a, at: t), isUp(b, at: t) else { return false }
        if a == b { return true }
        for f in activeFaults(at: t) {
            switch f.fault {
            case .managementNetworkOutage:
                return false
            case .isolateHost(let h, _), .stopAgent(let h), .freezeHost(let h):
                if h == a || h == b { return false }
            case .partition(let groups):
                let ga = groups.firstIndex { $0.contains(a) }
                let gb = groups.firstIndex { $0.contains(b) }
                if let ga, let gb, ga != gb { return false }
            case .partitionOneWay(let from, let to):
                if (from.contains(a) && to.contains(b)) || (from.contains(b) && to.contains(a)) { return false }
            default:
                break
            }
        }
        return true
    }

    /// Whether `a` and `b` could talk at every moment of `[from, to]`. Connectivity changes only
    /// when a fault starts or ends or a host's power changes, so it is checked at `from` and at
    /// each such instant inside the span.
    func couldTalkThroughout(_ a: HostID, _ b: HostID, from: Double, to: Double) -> Bool {
        var instants: Set<Double> = [from, to]
        for f in faults {
            instants.insert(f.injectedAt)
            if let healed = f.healedAt { instants.insert(healed) }
        }
        for p in history.hostPower {
            instants.insert(p.start)
            if let end = p.end { instants.insert(end) }
        }
        return instants.filter { $0 >= from && $0 <= to }.allSatisfy { canTalk(a, b, at: $0) }
    }

    /// Whether `host` was under packet loss at `t` (connectivity then is uncertain).
    func isLossy(_ host: HostID, at t: Double) -> Bool {
        activeFaults(at: t).contains { if case .packetLoss(let h, _) = $0.fault { h == host } else { false } }
    }

    // MARK: - Storage

    func datastoreSpec(_ ds: DatastoreID) -> DatastoreSpec? { history.datastores.first { $0.id == ds } }

    /// Whether the datastore goes down with a converged management network.
    func isIPStorage(_ ds: DatastoreID) -> Bool { datastoreSpec(ds)?.isIPStorage ?? false }

    /// Whether `host` could read and write `ds` at `t`: powered on, mounts it, and no
    /// isolation-with-storage (IP storage), unmount (APD), PDL or read-only fault on it.
    func canAccess(_ host: HostID, _ ds: DatastoreID, at t: Double) -> Bool {
        guard isUp(host, at: t), history.cluster.host(host)?.datastores.contains(ds) ?? false else { return false }
        return storageLoss(host, ds, at: t) == nil
    }

    /// The fault that cut `host` off `ds` at `t`, if any (ignores power and mounts).
    func storageLoss(_ host: HostID, _ ds: DatastoreID, at t: Double) -> FaultRecord? {
        activeFaults(at: t).first { f in
            switch f.fault {
            case .isolateHost(let h, let storageToo): h == host && storageToo && isIPStorage(ds)
            case .unmountDatastore(let d, let hosts), .pdlDatastore(let d, let hosts), .readOnlyDatastore(let d, let hosts):
                d == ds && hosts.contains(host)
            default: false
            }
        }
    }

    /// How many of its datastores `host` could reach at `t` (the election's first criterion).
    func connectedDatastoreCount(_ host: HostID, at t: Double) -> Int {
        Set(history.cluster.host(host)?.datastores ?? []).filter { canAccess(host, $0, at: t) }.count
    }

    // MARK: - VMs

    func vm(_ id: VMID) -> VMConfig? { history.cluster.vm(id) }

    /// The isolation response that applies to `vm` (``ClusterConfig/effectiveIsolationResponse(for:)``).
    func isolationResponse(of vm: VMID) -> IsolationResponse {
        guard let config = self.vm(vm) else { return history.cluster.isolationResponse == .clusterDefault ? .leavePoweredOn : history.cluster.isolationResponse }
        return history.cluster.effectiveIsolationResponse(for: config)
    }

    /// Instances of `vm` live at `t` (started, not yet ended).
    func liveInstances(of vm: VMID, at t: Double) -> [VMInstanceRecord] {
        history.vmInstances.filter { $0.vm == vm && $0.start <= t && ($0.end.map { t < $0 } ?? true) }
    }

    /// Instances running on `host` just before `t` (the host's VMs "at T0" of a fault injected at `t`).
    func instances(on host: HostID, justBefore t: Double) -> [VMInstanceRecord] {
        history.vmInstances
            .filter { $0.host == host && $0.start < t && ($0.end.map { $0 >= t } ?? true) }
            .sorted { $0.vm < $1.vm }
    }

    /// Whether the VM is one HA must restart after a failure: protected and priority not disabled.
    func isRestartable(_ vm: VMID) -> Bool {
        guard let config = self.vm(vm) else { return false }
        return config.isProtected && config.restartPriority != .disabled
    }

    /// The first restart issued for `vm` at or after run time `t` (optionally before `until`).
    func firstRestart(of vm: VMID, after t: Double, until: Double? = nil) -> RestartIssue? {
        restartIssues.first { issue in
            issue.vm == vm && issue.time >= t - epsilon && (until.map { issue.time <= $0 } ?? true)
        }
    }

    // MARK: - Protectedlist locks

    /// The protectedlist lock intervals of `ds`.
    func protectedListLocks(of ds: DatastoreID) -> [ProtectedListLockRecord] {
        history.protectedListLocks.filter { $0.datastore == ds }
    }

    /// Whether a master other than `excluded` held `ds`'s protectedlist lock at `t`.
    func ownedByOtherMaster(_ ds: DatastoreID, at t: Double, excluding excluded: HostID) -> HostID? {
        protectedListLocks(of: ds).first { lock in
            lock.holder != excluded && lock.from <= t && (lock.to.map { t < $0 } ?? true) && isMaster(lock.holder, at: t, slack: run(model: 1))
        }?.holder
    }

    // MARK: - Heartbeat anchors

    /// The instant (run time) from which the oracle's failure timelines run for `host` as seen
    /// by `master` after the fault at `t0`: the master's last network heartbeat from `host`.
    ///
    /// The master reports that instant in its `datastoreHeartbeatMonitoringStarted` /
    /// `livenessPingStarted` evidence. Without that evidence the last heartbeat is taken to be one
    /// period (1 s) before the fault — the oracle's −1 s tolerance. With it, the reported instant
    /// is used but never trusted beyond two periods before the fault (a real sender's 1 s timer
    /// jitters; a report further back than that is implausible and falls back to `t0 − 2 s`), and
    /// never after the fault.
    func heartbeatAnchor(master: HostID?, host: HostID, faultAt t0: Double) -> (time: Double, fromEvidence: Bool) {
        let fallback = t0 - run(model: 1)
        let window = t0 + run(model: 30)
        let report = events.first { e in
            guard e.time >= t0, e.time <= window, master == nil || e.event.host == master else { return false }
            switch e.event.kind {
            case .datastoreHeartbeatMonitoringStarted(let h, _), .livenessPingStarted(let h, _): return h == host
            default: return false
            }
        }
        guard let report else { return (fallback, false) }
        let lastHeard: Instant
        switch report.event.kind {
        case .datastoreHeartbeatMonitoringStarted(_, let l), .livenessPingStarted(_, let l): lastHeard = l
        default: return (fallback, false)
        }
        // Mapped with the offset of the agent's clock, not with the report's own write time:
        // the dead declaration is compared with this anchor, and two writes delayed differently
        // moved it by up to a millisecond (rogue-host on netns: dead 17.996 s after the anchor
        // although the master waited its 18 s by its own clock).
        let reported = lastHeard.seconds + clockOffset(of: report)
        let clamped = min(t0, max(reported, t0 - run(model: 2)))
        return (min(fallback, clamped), true)
    }

    /// The offset (run seconds) from the clock of `e`'s agent to run time: the least
    /// `time − at` over the events of that agent incarnation, the one written soonest after its
    /// instant. An event's `time` is the wall clock when it was written, its `at` the agent's
    /// monotonic instant of the decision, which starts again with each incarnation; mapping two
    /// instants of one incarnation with one offset keeps their difference exact.
    func clockOffset(of e: TimedEvent) -> Double {
        func started(_ x: TimedEvent) -> Bool { if case .agentStarted = x.event.kind { true } else { false } }
        let mine = events.filter { $0.event.host == e.event.host }
        let from = mine.lastIndex { started($0) && $0.time <= e.time } ?? 0
        let to = mine[(from + 1)...].firstIndex { started($0) && $0.time > e.time } ?? mine.endIndex
        return mine[from..<to].map { $0.time - $0.event.at.seconds }.min() ?? (e.time - e.event.at.seconds)
    }

    // MARK: - Time

    /// Run seconds → model seconds.
    func model(_ run: Double) -> Double { run / scale }

    /// Model seconds → run seconds.
    func run(model seconds: Double) -> Double { seconds * scale }

    /// A scaled setting in model seconds.
    func modelSeconds(_ d: Duration) -> Double { d.inSeconds / scale }

    /// D_iso in model seconds: 0 on 5.0, max(30, configured) on 5.1+ (oracle §4).
    var isolationDelay: Double {
        history.settings.profile == .v50 ? 0 : max(30, modelSeconds(history.settings.effectiveIsolationPolicyDelay))
    }

    /// The profile name as the oracle writes it.
    var profileName: String { history.settings.profile == .v50 ? "5.0" : "5.1" }

    /// `T+x (model y s)`: a run time relative to a fault, both in model seconds.
    func stamp(_ t: Double, since t0: Double) -> String {
        "\(offset(t, since: t0)) (model \(fmt(model(t))) s)"
    }

    /// `T+x` in model seconds.
    func offset(_ t: Double, since t0: Double) -> String {
        let d = model(t - t0)
        return d < 0 ? "T-\(fmt(-d))" : "T+\(fmt(d))"
    }

    /// `model x s`.
    func at(_ t: Double) -> String { "model \(fmt(model(t))) s" }
}

// MARK: - Formatting

/// Seconds with at most two decimals (no Foundation).
func fmt(_ value: Double) -> String {
    formatSeconds((value * 100).rounded() / 100)
}

/// A list for `observed` texts, capped so a big run cannot produce an unbounded string.
func capped(_ items: [String], limit: Int = 6, separator: String = "; ") -> String {
    if items.count <= limit { return items.joined(separator: separator) }
    return items.prefix(limit).joined(separator: separator) + "\(separator)… and \(items.count - limit) more"
}
