import HACore

/// What happened to one protected VM of the isolated host in one matrix run, read from the
/// run's ``History`` (ground truth for instances, agent evidence for decisions).
///
/// Times are **model seconds after the fault** (T0 = the isolation's injection).
public struct MatrixObservation: Hashable, Sendable, Codable {
    /// The shape of what happened (compared with ``MatrixPrediction/Outcome``).
    public enum Outcome: String, Hashable, Sendable, Codable {
        /// Still running on the isolated host at the end, never restarted, no deferral seen.
        case staysUp
        /// Still running on the isolated host at the end, its response deferred, never restarted.
        case deferred
        /// The isolated copy stopped, then the VM started on another host (one copy at a time).
        case restarted
        /// Two live instances at once.
        case splitBrain
        /// The isolated copy stopped and the VM did not start again.
        case down
        /// The run saw nothing to judge: the VM did not run on the host at T0, no fault was
        /// journaled, or the host never declared itself isolated.
        case notObserved
    }

    /// A stretch with two live instances of the VM.
    public struct Window: Hashable, Sendable, Codable {
        /// Start of the overlap, model seconds after T0.
        public var from: Double
        /// End of the overlap (the run's end when still open).
        public var to: Double
        /// Whether both copies were still live when the run ended.
        public var openAtEnd: Bool
        /// How long two copies ran at once, model seconds.
        public var length: Double { to - from }
    }

    /// The subject VM.
    public var vm: VMID
    /// The isolated host (the VM's host at T0).
    public var host: HostID
    /// The shape of what happened.
    public var outcome: Outcome
    /// Why the run saw nothing (for ``Outcome/notObserved``).
    public var unobservedReason: String?
    /// When the host declared itself isolated.
    public var isolationDeclaredAt: Double?
    /// When the isolated copy ended, and why.
    public var stoppedAt: Double?
    /// Why the isolated copy ended (`isolation-response`, `lost-lock`, …).
    public var stopReason: VMEndReason?
    /// The first isolation-response decision for the VM: when, which response, marker written.
    public var responseAppliedAt: Double?
    /// The response applied.
    public var response: IsolationResponse?
    /// Whether the poweredoff marker was written first.
    public var markerWritten: Bool?
    /// Whether a shutdown response ended in a forced power-off.
    public var shutdownForced: Bool
    /// The first deferral of the VM's response.
    public var deferredAt: Double?
    /// The first HA-started instance after T0: when and where.
    public var restartedAt: Double?
    /// Where the first HA restart ran.
    public var restartedOn: HostID?
    /// Restart attempts reported failed after T0 (e.g. on the disk lock).
    public var failedRestarts: Int
    /// The first stretch with two live instances, if any.
    public var splitBrain: Window?
    /// Hosts with a live instance of the VM when the run ended.
    public var liveAtEnd: [HostID]
    /// How long the run lasted after T0.
    public var observedUntil: Double

    // MARK: - Summariser

    /// Summarises `vm`'s fate from `history`.
    ///
    /// - Parameters:
    ///   - history: The cell's run.
    ///   - vm: A protected VM that ran on `host` when the isolation started.
    ///   - host: The isolated host whose VMs the matrix reports (for all hosts isolated: one of them).
    public static func observe(_ history: History, vm: VMID, host: HostID) -> MatrixObservation {
        let c = CheckContext(history)
        var o = MatrixObservation(vm: vm, host: host, outcome: .notObserved, shutdownForced: false, failedRestarts: 0, liveAtEnd: [], observedUntil: 0)
        let isolation = c.faults.first { f in
            switch f.fault {
            case .isolateHost(let h, _): h == host
            case .managementNetworkOutage: true
            default: false
            }
        }
        guard let isolation else {
            o.unobservedReason = "no isolation of \(host) in the fault journal"
            return o
        }
        let t0 = isolation.injectedAt
        func offset(_ t: Double) -> Double { c.model(t - t0) }
        o.observedUntil = offset(c.runEnd)
        o.liveAtEnd = c.liveInstances(of: vm, at: c.runEnd).map(\.host).sorted()
        guard let original = c.instances(on: host, justBefore: t0).first(where: { $0.vm == vm }) else {
            o.unobservedReason = "\(vm) was not running on \(host) when the isolation started"
            return o
        }
        o.isolationDeclaredAt = c.isolationDeclarations.first { $0.host == host && $0.time >= t0 }.map { offset($0.time) }
        if let end = original.end {
            o.stoppedAt = offset(end)
            o.stopReason = original.endReason
        }
        let decisions = c.decisions.filter { $0.host == host && $0.vm == vm && $0.time >= t0 }
        if let applied = decisions.first(where: \.applied) {
            o.responseAppliedAt = offset(applied.time)
            o.response = applied.response
            o.markerWritten = applied.markerWritten
        }
        o.deferredAt = decisions.first { !$0.applied }.map { offset($0.time) }
        o.shutdownForced = c.events.contains { e in
            guard e.event.host == host, e.time >= t0, case .isolationShutdownForced(let forced) = e.event.kind else { return false }
            return forced == vm
        }
        let restart = history.vmInstances
            .filter { $0.vm == vm && $0.startedByHA && $0.start > t0 && $0.instance != original.instance }
            .min { $0.start < $1.start }
        o.restartedAt = restart.map { offset($0.start) }
        o.restartedOn = restart?.host
        o.failedRestarts = c.restartOutcomes.filter { $0.vm == vm && !$0.succeeded && $0.time >= t0 }.count
        if let overlap = Invariants.duplicates(c).first(where: { $0.older.vm == vm && $0.to > t0 }) {
            let open = overlap.older.end == nil && overlap.newer.end == nil
            o.splitBrain = Window(from: offset(max(overlap.from, t0)), to: offset(overlap.to), openAtEnd: open)
        }

        if o.isolationDeclaredAt == nil {
            o.unobservedReason = "\(host) never declared itself isolated after the fault"
        } else if o.splitBrain != nil {
            o.outcome = .splitBrain
        } else if o.stoppedAt != nil {
            o.outcome = o.restartedAt == nil ? .down : .restarted
        } else if o.restartedAt != nil {
            // Started elsewhere with the original still live but no overlap: cannot happen; keep it visible.
            o.outcome = .splitBrain
        } else {
            o.outcome = o.deferredAt == nil ? .staysUp : .deferred
        }
        return o
    }

    // MARK: - Text

    /// One sentence for the table: `vm-1: powered off at T+60.0 (isolation response, marker), restarted on host-3 at T+60.6`.
    public var summary: String {
        let on = "\(vm) on \(host)"
        switch outcome {
        case .notObserved:
            return "\(on): nothing observed (\(unobservedReason ?? "no data"))"
        case .staysUp:
            let attempts = failedRestarts > 0 ? "; \(failedRestarts) restart attempt(s) failed" : ""
            let applied = responseAppliedAt.map { "; \(response?.rawValue ?? "?") response applied at \(Self.mark($0)) yet still running" } ?? ""
            return "\(on): stayed up to \(Self.mark(observedUntil)), no HA power-off, no restart\(attempts)\(applied)"
        case .deferred:
            return "\(on): stayed up to \(Self.mark(observedUntil)); response deferred at \(deferredAt.map(Self.mark) ?? "?"), no restart"
        case .down:
            return "\(on): \(stopText), not restarted (observed to \(Self.mark(observedUntil)))"
        case .restarted:
            let gap = both(stoppedAt, restartedAt).map { "(+\(Self.seconds($0.1 - $0.0)) s after)" }
            let attempts = failedRestarts > 0 ? "; \(failedRestarts) restart attempt(s) failed before" : ""
            return "\(on): \(stopText), restarted on \(restartedOn?.rawValue ?? "?") at \(restartedAt.map(Self.mark) ?? "?") \(gap ?? "")\(attempts)"
        case .splitBrain:
            let start = "restarted on \(restartedOn?.rawValue ?? "?") at \(restartedAt.map(Self.mark) ?? "?") while still running on \(host)"
            guard let w = splitBrain else { return "\(on): \(start)" }
            let window = "split-brain \(Self.mark(w.from))–\(Self.mark(w.to)) (\(Self.seconds(w.length)) s\(w.openAtEnd ? ", still open at the end" : ""))"
            let end = stoppedAt == nil ? "" : "; isolated copy \(stopText)"
            return "\(vm): \(start): \(window)\(end)"
        }
    }

    /// How the isolated copy ended, in words.
    var stopText: String {
        guard let stoppedAt else { return "still running" }
        let at = Self.mark(stoppedAt)
        switch stopReason {
        case .isolationResponse?:
            let marker = markerWritten.map { $0 ? ", marker" : ", no marker" } ?? ""
            if response == .shutdown {
                let from = responseAppliedAt.map { " from \(Self.mark($0))" } ?? ""
                return (shutdownForced ? "shut down\(from), forced off at \(at)" : "shut down\(from), off at \(at)") + " (isolation response\(marker))"
            }
            return "powered off at \(at) (isolation response\(marker))"
        case .lostLock?: return "powered off at \(at) (lost its disk lock)"
        case let reason?: return "ended at \(at) (\(reason.rawValue))"
        case nil: return "ended at \(at)"
        }
    }

    /// `T+60.1`.
    static func mark(_ offset: Double) -> String { "T+\(seconds(offset))" }

    /// Seconds with one decimal.
    static func seconds(_ value: Double) -> String { formatSeconds((value * 10).rounded() / 10) }
}

/// Both values, when both exist.
private func both(_ a: Double?, _ b: Double?) -> (Double, Double)? {
    guard let a, let b else { return nil }
    return (a, b)
}
