import HACore

/// What `timeline.html` draws, derived once from a ``History`` and its checks.
///
/// Every time here is in **model seconds since the run started** (`run seconds / timeScale`),
/// the unit the oracle's timelines use, so a reader can hold the drawing against oracle §4.
/// Roles, power and fault activity come from the checker's own ``CheckContext`` so the picture
/// and the verdicts agree on what happened. Pure: no I/O, no clock.
struct TimelineModel {
    /// One coloured stretch of a strip (a role, a host state as the master saw it).
    struct Segment: Hashable {
        var from: Double
        var to: Double
        /// CSS class suffix (`master`, `dead`, `off`…).
        var style: String
        var tip: String
        /// Text drawn inside the segment when it fits.
        var label: String? = nil
    }

    /// One VM instance drawn as a bar in its host's lane.
    struct Bar: Hashable {
        var vm: VMID
        var from: Double
        var to: Double
        /// Still running when the run ended.
        var open: Bool
        var endReason: VMEndReason
        var startedByHA: Bool
        /// Stretches during which another instance of the same VM was live too (split-brain).
        var overlaps: [Segment]
        var tip: String
    }

    /// What a marker stands for (its glyph and colour).
    enum MarkerKind: String, CaseIterable {
        case electionStarted, electionWon, isolationDeclared, isolationCleared
        case responseApplied, responseDeferred, restartIssued, restartFailed

        /// Legend text.
        var title: String {
            switch self {
            case .electionStarted: "election started"
            case .electionWon: "election won"
            case .isolationDeclared: "isolation declared"
            case .isolationCleared: "isolation cleared"
            case .responseApplied: "isolation response applied"
            case .responseDeferred: "isolation response deferred"
            case .restartIssued: "restart issued (on the target)"
            case .restartFailed: "restart failed (on the target)"
            }
        }
    }

    /// A point event in a lane: on the role strip (`vm == nil`) or on a VM's row.
    struct Marker: Hashable {
        var time: Double
        var kind: MarkerKind
        var vm: VMID?
        var tip: String
    }

    /// One host's lane: role strip, master's-view strip, one row per VM seen on the host.
    struct Lane {
        var host: HostID
        var roles: [Segment]
        var states: [Segment]
        var vms: [VMID]
        var bars: [Bar]
        var markers: [Marker]
    }

    /// A fault as journaled: a shaded band from injection to heal (a line when instantaneous).
    struct FaultBand: Hashable {
        var label: String
        var from: Double
        /// `nil`: still in force at the end of the run.
        var to: Double?
        var instantaneous: Bool
        var tip: String
    }

    /// A documented timing window (oracle §4 / §11) next to what the run showed.
    struct Window: Hashable {
        /// Short text, e.g. `host-2 dead [T17, T20]`.
        var label: String
        var from: Double
        var to: Double
        /// The fault's T0 (model seconds), for labels.
        var t0: Double
        /// When the run did it, if it did.
        var observed: Double?
        var tip: String
        /// A deadline only ("by T60"): anything before `to` is inside.
        var openStart = false
        /// Whether `observed` lies in the window (`nil`: nothing observed).
        var inside: Bool? { observed.map { (openStart || $0 >= from - 1e-9) && $0 <= to + 1e-9 } }
    }

    /// A check's finding placed on the time axis.
    struct CheckMark: Hashable {
        var id: String
        /// The HTML anchor (`check-INV-FS1`).
        var anchor: String
        var time: Double
        var passed: Bool?
        var tip: String
    }

    /// Two live instances of one VM at once.
    struct SplitBrain: Hashable {
        var vm: VMID
        var hosts: [HostID]
        var from: Double
        var to: Double
    }

    /// End of the run, model seconds.
    var end: Double
    var lanes: [Lane]
    var faults: [FaultBand]
    var windows: [Window]
    var checkMarks: [CheckMark]
    var splitBrains: [SplitBrain]

    /// Most markers drawn per lane (a runaway retry loop must not produce an unbounded page).
    static let markerLimitPerLane = 400

    init(history: History, checks: [CheckResult]) {
        let c = CheckContext(history)
        let m = { (run: Double) in c.model(run) }
        end = max(m(c.runEnd), 1)
        faults = c.faults.map { record in
            let label = Markup.truncated("\(record.fault.kind) \(record.fault.targets.joined(separator: " | "))", limit: 56)
            let until = record.fault.isInstantaneous ? nil : record.healedAt.map(m)
            let tip = "\(record.fault.kind) \(record.fault.targets.joined(separator: " ")): injected at model \(fmt(m(record.injectedAt))) s, "
                + (record.fault.isInstantaneous ? "instantaneous" : until.map { "healed at model \(fmt($0)) s" } ?? "not healed")
            return FaultBand(label: label, from: m(record.injectedAt), to: until, instantaneous: record.fault.isInstantaneous, tip: tip)
        }
        let (splitBrains, overlaps) = Self.splitBrains(c)
        self.splitBrains = splitBrains
        let hosts = c.hostIDs.sorted { naturalOrder($0.rawValue, $1.rawValue) }
        lanes = hosts.map { Self.lane($0, c, overlaps: overlaps) }
        windows = DocumentedWindows.of(c)
        checkMarks = checks.compactMap { check in
            guard let at = check.at, at.isFinite else { return nil }
            let outcome = check.passed.map { $0 ? "passed" : "FAILED" } ?? "inconclusive"
            return CheckMark(id: check.id, anchor: Self.anchor(check.id), time: m(at), passed: check.passed,
                             tip: "\(check.id) \(outcome) at model \(fmt(m(at))) s: \(Markup.truncated(check.observed, limit: 300))")
        }
    }

    /// The HTML anchor of a check's marker (`#check-INV-FS1`).
    static func anchor(_ id: String) -> String { "check-" + Markup.identifier(id) }

    // MARK: - Lanes

    static func lane(_ host: HostID, _ c: CheckContext, overlaps: [String: [Segment]]) -> Lane {
        let m = { (run: Double) in c.model(run) }
        let end = m(c.runEnd)
        // Roles, then powered-off stretches on the same strip.
        var roles = (c.roles[host] ?? []).map { r in
            Segment(from: m(r.from), to: m(r.to ?? c.runEnd), style: r.role.rawValue,
                    tip: "\(host) \(r.role.rawValue) from model \(fmt(m(r.from))) s" + (r.to.map { " to \(fmt(m($0))) s" } ?? " to the end"))
        }
        let power = c.history.hostPower.filter { $0.host == host }.sorted { $0.start < $1.start }
        if !power.isEmpty {
            var cursor = 0.0
            for record in power {
                if record.start > cursor + c.epsilon {
                    roles.append(Segment(from: m(cursor), to: m(record.start), style: "off", tip: "\(host) powered off from model \(fmt(m(cursor))) s to \(fmt(m(record.start))) s"))
                }
                cursor = max(cursor, record.end ?? c.runEnd)
            }
            if cursor < c.runEnd - c.epsilon {
                roles.append(Segment(from: m(cursor), to: end, style: "off", tip: "\(host) powered off from model \(fmt(m(cursor))) s"))
            }
        }
        // The host's state as a master classified it: reports from a host that was master then,
        // each in force until the next such report or until its observer stops being master.
        let reports = c.stateReports.filter { r in
            r.host == host && (!c.hasRoleEvidence || c.isMaster(r.observer, at: r.time, slack: c.run(model: 1)))
        }
        let reigns = c.masterIntervals
        var states: [Segment] = []
        for (i, r) in reports.enumerated() {
            var to = i + 1 < reports.count ? reports[i + 1].time : c.runEnd
            if c.hasRoleEvidence, let reign = reigns.first(where: { $0.host == r.observer && $0.from <= r.time + c.run(model: 1) && ($0.to ?? c.runEnd) >= r.time }) {
                to = min(to, reign.to ?? c.runEnd)
            }
            guard to > r.time else { continue }
            states.append(Segment(from: m(r.time), to: m(to), style: r.state.rawValue,
                                  tip: "\(host) \(r.state.rawValue) as seen by master \(r.observer), model \(fmt(m(r.time))) s – \(fmt(m(to))) s",
                                  label: "\(r.state.rawValue) · by \(r.observer)"))
        }
        // VM instances on this host.
        let instances = c.history.vmInstances.filter { $0.host == host }.sorted { $0.start < $1.start }
        let bars = instances.map { i in
            let to = i.end ?? c.runEnd
            var tip = "\(i.instance) on \(host): model \(fmt(m(i.start))) s – " + (i.end.map { "\(fmt(m($0))) s, \(i.endReason.rawValue)" } ?? "end of run (running)")
            if i.startedByHA { tip += "; started by HA" }
            let split = overlaps[i.instance] ?? []
            if !split.isEmpty { tip += "; SPLIT-BRAIN: another instance of \(i.vm) live at the same time" }
            return Bar(vm: i.vm, from: m(i.start), to: m(to), open: i.end == nil, endReason: i.endReason, startedByHA: i.startedByHA, overlaps: split, tip: tip)
        }
        let markers = self.markers(host, c)
        var vms = Set(bars.map(\.vm))
        for marker in markers { if let vm = marker.vm { vms.insert(vm) } }
        return Lane(host: host, roles: roles.sorted { $0.from < $1.from }, states: states,
                    vms: vms.sorted { naturalOrder($0.rawValue, $1.rawValue) }, bars: bars, markers: markers)
    }

    /// Point events in `host`'s lane: its elections and isolation, and restarts aimed at it.
    static func markers(_ host: HostID, _ c: CheckContext) -> [Marker] {
        var markers: [Marker] = []
        for e in c.events where markers.count < markerLimitPerLane {
            let t = c.model(e.time)
            let by = e.event.host
            let stamp = "model \(fmt(t)) s"
            switch e.event.kind {
            case .electionStarted where by == host:
                markers.append(Marker(time: t, kind: .electionStarted, vm: nil, tip: "\(host) started an election at \(stamp)"))
            case .electionWon(let count) where by == host:
                markers.append(Marker(time: t, kind: .electionWon, vm: nil, tip: "\(host) won the election (\(count) datastores) at \(stamp)"))
            case .isolationDeclared where by == host:
                markers.append(Marker(time: t, kind: .isolationDeclared, vm: nil, tip: "\(host) declared itself isolated at \(stamp)"))
            case .isolationCleared(let reason) where by == host:
                markers.append(Marker(time: t, kind: .isolationCleared, vm: nil, tip: "\(host) isolation cleared (\(reason)) at \(stamp)"))
            case .isolationResponseApplied(let vm, let response, let marker) where by == host:
                markers.append(Marker(time: t, kind: .responseApplied, vm: vm,
                                      tip: "\(host) applied \(response.rawValue) to \(vm) at \(stamp)" + (marker ? " (poweredoff marker written)" : "")))
            case .isolationResponseDeferred(let vm) where by == host:
                markers.append(Marker(time: t, kind: .responseDeferred, vm: vm, tip: "\(host) deferred the isolation response of \(vm) at \(stamp)"))
            case .restartIssued(let vm, let target, let attempt, let priority) where target == host:
                markers.append(Marker(time: t, kind: .restartIssued, vm: vm,
                                      tip: "master \(by) issued restart of \(vm) on \(host) (attempt \(attempt), \(priority.rawValue)) at \(stamp)"))
            case .restartFailed(let vm, let target, let attempt, let reason) where target == host:
                markers.append(Marker(time: t, kind: .restartFailed, vm: vm,
                                      tip: "restart of \(vm) on \(host) failed (attempt \(attempt), by \(by)) at \(stamp): \(reason)"))
            default:
                break
            }
        }
        return markers
    }

    // MARK: - Split-brain

    /// Overlapping live instances of one VM (the checker's INV-SB1/SB2 duplicates), as a list
    /// and per instance id.
    static func splitBrains(_ c: CheckContext) -> (list: [SplitBrain], byInstance: [String: [Segment]]) {
        var list: [SplitBrain] = []
        var byInstance: [String: [Segment]] = [:]
        for d in Invariants.duplicates(c) {
            let (from, to) = (c.model(d.from), c.model(d.to))
            let tip = "SPLIT-BRAIN: \(d.older.vm) live on \(d.older.host) (\(d.older.instance)) and \(d.newer.host) (\(d.newer.instance)) from model \(fmt(from)) s to \(fmt(to)) s"
            let segment = Segment(from: from, to: to, style: "split", tip: tip)
            byInstance[d.older.instance, default: []].append(segment)
            byInstance[d.newer.instance, default: []].append(segment)
            list.append(SplitBrain(vm: d.older.vm, hosts: [d.older.host, d.newer.host], from: from, to: to))
        }
        return (list, byInstance)
    }
}
