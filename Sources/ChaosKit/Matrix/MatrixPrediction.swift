import HACore

/// What the documented behaviour predicts for one protected VM of the isolated host in one
/// ``MatrixCell`` (oracle §5.5 decision table, §4.3 timelines, §7.1 split-brain).
///
/// Times are **model seconds after the fault** (T0). Where the oracle marks an outcome INFERRED
/// or leaves it open, the prediction follows the reading the checker uses (README "readings"):
/// slave isolation declared at T30 and the response at T30 + D; VM disk locks lapse after 35 s;
/// row 8 restarts a VM that vanished from the poweron file without a marker
/// (`restartIsolatedVMWithoutMarker`); lost-lock resolution within 60 s of the heal (INV-SB2).
public struct MatrixPrediction: Hashable, Sendable, Codable {
    /// The shape of the outcome.
    public enum Outcome: String, Hashable, Sendable, Codable {
        /// The VM keeps running on the isolated host and is never restarted.
        case staysUp
        /// The response is deferred (no master owns the datastore); the VM keeps running.
        case deferred
        /// The isolated copy is stopped and the VM runs again on another host, one copy at a time.
        case restarted
        /// The VM runs on another host while the isolated copy still runs (two live instances).
        case splitBrain
        /// The isolated copy is stopped and nothing restarts it.
        case down
    }

    /// When the VM must start again on another host.
    public enum RestartRule: Hashable, Sendable, Codable {
        /// No HA restart may start an instance.
        case never
        /// Within `within` seconds after the isolated copy stopped (master learns of it: ≤ 30 s, INV-I9).
        case afterStop(within: Double)
        /// At the first retry mark at or after the stop (the first attempt failed on the disk
        /// lock, oracle §6.2), or within `within` after the stop, whichever is later. `marks`
        /// are the latest times of the retries (T18 + lock expiry + 2, 6, 14, 30 min + 10 s each).
        case atRetryAfterStop(marks: [Double], within: Double)
        /// In `[notBefore, by]`, whether or not the isolated copy still runs.
        case window(notBefore: Double, by: Double)

        /// The latest restart time allowed when the isolated copy stopped at `stop` (`nil`: no deadline).
        public func deadline(stoppedAt stop: Double?) -> Double? {
            switch self {
            case .never: return nil
            case .afterStop(let within): return stop.map { $0 + within }
            case .atRetryAfterStop(let marks, let within):
                guard let stop else { return nil }
                let mark = marks.first { $0 >= stop } ?? stop
                return max(stop + within, mark + Times.powerOnSlack)
            case .window(_, let by): return by
            }
        }
    }

    /// Whether two live instances of the VM may exist.
    public enum SplitBrainRule: String, Hashable, Sendable, Codable {
        case never, allowed, required
    }

    /// The shape of the predicted outcome.
    public var outcome: Outcome
    /// When the isolated copy must end (`nil`: it must not end).
    public var stopWindow: ClosedRange<Double>?
    /// Why it ends (`isolation-response`, or `lost-lock` after the heal in row 3).
    public var stopReason: VMEndReason?
    /// When the VM must (or must not) start on another host.
    public var restart: RestartRule
    /// Whether two live instances may, must or must not exist.
    public var splitBrain: SplitBrainRule
    /// The latest time the prediction talks about; the run must last past it.
    public var horizon: Double
    /// The prediction in one sentence, for the table.
    public var summary: String
    /// Where it comes from (`oracle §5.5 row 7`).
    public var reference: String

    /// Row 3: the isolation heals this long after T0, so that the split-brain can resolve.
    public static let row3HealAfter = 140.0

    // MARK: - Timings

    /// The protocol timings a prediction needs, in model seconds (from scale-1 ``Settings``).
    public struct Times: Hashable, Sendable {
        /// Tolerance of heartbeat-driven isolation transitions (oracle §11: ±2 s).
        public static let tolerance = 2.0
        /// The master learns of an isolation power-off within 30 s (+2 s placement), INV-I9.
        public static let restartWindow = 32.0
        /// A power-on takes a moment to show up as a running instance on real nodes.
        public static let powerOnSlack = 10.0

        /// T_resp of an isolated slave: T30 + D (D = 0 on 5.0, max(30, delay) on 5.1+; oracle §4.3).
        public var slaveResponse: Double
        /// A failed slave with heartbeat datastores is declared dead at T18 (oracle §4.1).
        public var declaredDead: Double
        /// No restart of a failed slave's VMs before T15 (INV-FS3), −1 s tolerance.
        public var earliestRestart: Double
        /// VM disk lock expiry (reading: 35 s, the NFSv3 default, for every datastore type).
        public var lockExpiry: Double
        /// `das.isolationShutdownTimeout` (300 s).
        public var shutdownTimeout: Double
        /// Waits between restart attempts (2, 4, 8, 16 min).
        public var retryDelays: [Double]
        /// Row 8 reading: restart a VM that left the poweron file without a poweredoff marker.
        public var restartIsolatedVMWithoutMarker: Bool

        /// The timings of `settings`, converted to model seconds.
        public init(settings: Settings) {
            let scale = settings.timeScale > 0 ? settings.timeScale : 1
            func seconds(_ d: Duration) -> Double { d.inSeconds / scale }
            let delay = settings.profile == .v50 ? 0 : max(30, seconds(settings.isolationPolicyDelay))
            slaveResponse = 30 + delay
            declaredDead = seconds(settings.deadWithHeartbeatDatastores)
            earliestRestart = seconds(settings.hostTimeout + settings.livenessPingWindow) - 1
            lockExpiry = seconds(settings.vmDiskLockExpiry)
            shutdownTimeout = seconds(settings.isolationShutdownTimeout)
            retryDelays = settings.restartRetryDelays.map(seconds)
            restartIsolatedVMWithoutMarker = settings.restartIsolatedVMWithoutMarker
        }

        /// The latest moment the first, failing restart attempt is known to have failed: dead at
        /// T18, and a power-on watches a held lock for at most the lock expiry.
        var firstFailure: Double { declaredDead + lockExpiry }

        /// Latest times of the retries after a first attempt that failed on the lock (+10 s each, INV-R3).
        var retryMarks: [Double] {
            var marks: [Double] = []
            var t = firstFailure
            for delay in retryDelays {
                t += delay + 10
                marks.append(t)
            }
            return marks
        }
    }

    // MARK: - The table

    /// The prediction for `vm` (a subject of the isolated host) in `cell`.
    public static func predict(_ cell: MatrixCell, vm: VMConfig, times t: Times) -> MatrixPrediction {
        let tol = Times.tolerance
        let r = t.slaveResponse
        let reference = cell.row.map { "oracle §5.5 row \($0)" } ?? "oracle §5.3, §5.5 row 5, INV-I11"
        let after = Times.restartWindow + Times.powerOnSlack
        let lockLapse = t.firstFailure
        if cell.isAllHosts {
            return MatrixPrediction(
                outcome: .deferred, stopWindow: nil, stopReason: nil, restart: .never, splitBrain: .never,
                horizon: r + tol + 30,
                summary: "no master owns the datastore: response deferred at \(mark(r)) and re-checked; stays up, no restart",
                reference: reference
            )
        }
        let kept = cell.storageKept
        let seen = cell.heartbeatsSeen
        if cell.response == .leavePoweredOn {
            switch (kept, seen) {
            case (true, true):
                return MatrixPrediction(outcome: .staysUp, stopWindow: nil, stopReason: nil, restart: .never, splitBrain: .never,
                                        horizon: r + tol + 30, summary: "stays up: no restart attempt, no downtime", reference: reference)
            case (true, false):
                return MatrixPrediction(
                    outcome: .staysUp, stopWindow: nil, stopReason: nil, restart: .never, splitBrain: .never,
                    horizon: (t.retryMarks.first ?? lockLapse) + Times.powerOnSlack,
                    summary: "stays up: declared failed at \(mark(t.declaredDead)), restart attempts fail on the disk lock; no split-brain",
                    reference: reference
                )
            case (false, true):
                return MatrixPrediction(
                    outcome: .staysUp, stopWindow: nil, stopReason: nil, restart: .never, splitBrain: .never, horizon: r + tol + 30,
                    summary: "stays up in memory with I/O stalled; still listed in the poweron file, so not restarted", reference: reference
                )
            case (false, false):
                let heal = row3HealAfter
                return MatrixPrediction(
                    outcome: .splitBrain, stopWindow: heal...(heal + Invariants.lostLockResolutionBound), stopReason: .lostLock,
                    restart: .window(notBefore: t.earliestRestart, by: lockLapse + after), splitBrain: .required,
                    horizon: heal + Invariants.lostLockResolutionBound,
                    summary: "restarted elsewhere once the disk lock lapses (by \(mark(lockLapse))): split-brain until storage and network return "
                        + "(heal \(mark(heal))), then the copy without the lock is powered off (≤ \(formatSeconds(Invariants.lostLockResolutionBound)) s)",
                    reference: reference
                )
            }
        }
        // Power off or shut down.
        let immediate = cell.response == .powerOff || !vm.hasTools
        // `verb` completes "the isolated copy is …".
        let stop: ClosedRange<Double>
        let verb: String
        if immediate {
            stop = (r - tol)...(r + tol)
            verb = cell.response == .powerOff ? "powered off at \(mark(r))" : "powered off at \(mark(r)) (no VMware Tools)"
        } else if kept {
            stop = (r - tol)...(r + t.shutdownTimeout + tol)
            verb = "shut down from \(mark(r)) (forced off by \(mark(r + t.shutdownTimeout)) at the latest)"
        } else {
            stop = (r + t.shutdownTimeout - tol)...(r + t.shutdownTimeout + tol)
            verb = "forced off at \(mark(r + t.shutdownTimeout)) (its guest shutdown from \(mark(r)) stalls without storage)"
        }
        switch (kept, seen) {
        case (true, true):
            return MatrixPrediction(
                outcome: .restarted, stopWindow: stop, stopReason: .isolationResponse, restart: .afterStop(within: after), splitBrain: .never,
                horizon: stop.upperBound + after,
                summary: "\(verb) with a poweredoff marker, then restarted elsewhere within 30 s; no split-brain", reference: reference
            )
        case (true, false):
            let rule = RestartRule.atRetryAfterStop(marks: t.retryMarks, within: after)
            return MatrixPrediction(
                outcome: .restarted, stopWindow: stop, stopReason: .isolationResponse, restart: rule, splitBrain: .never,
                horizon: rule.deadline(stoppedAt: stop.upperBound) ?? stop.upperBound,
                summary: "declared failed at \(mark(t.declaredDead)), the first restart fails on the disk lock; \(verb); "
                    + "the next retry (T+2 min, by \(mark(t.retryMarks.first ?? lockLapse))) restarts it elsewhere; no split-brain",
                reference: reference
            )
        case (false, false):
            let required = stop.lowerBound > lockLapse + tol
            return MatrixPrediction(
                outcome: required ? .splitBrain : .restarted, stopWindow: stop, stopReason: .isolationResponse,
                restart: .window(notBefore: t.earliestRestart, by: lockLapse + after), splitBrain: required ? .required : .allowed,
                horizon: max(stop.upperBound, lockLapse + after),
                summary: required
                    ? "restarted elsewhere once the disk lock lapses (by \(mark(lockLapse))) while the isolated copy runs on: "
                        + "split-brain until it is \(verb), no marker"
                    : "\(verb), no marker; restarted elsewhere once the disk lock lapses (by \(mark(lockLapse))); "
                        + "a split-brain until the power-off if the restart comes first",
                reference: reference
            )
        case (false, true):
            guard t.restartIsolatedVMWithoutMarker else {
                return MatrixPrediction(
                    outcome: .down, stopWindow: stop, stopReason: .isolationResponse, restart: .never, splitBrain: .never,
                    horizon: stop.upperBound + after,
                    summary: "\(verb) without a poweredoff marker; not restarted (restartIsolatedVMWithoutMarker off)", reference: reference
                )
            }
            return MatrixPrediction(
                outcome: .restarted, stopWindow: stop, stopReason: .isolationResponse, restart: .afterStop(within: after), splitBrain: .never,
                horizon: stop.upperBound + after,
                summary: "\(verb) without a poweredoff marker (datastore unreachable), restarted elsewhere once the master reads "
                    + "the poweron file; no split-brain",
                reference: reference
            )
        }
    }

    /// `T60`: a model offset after the fault.
    static func mark(_ offset: Double) -> String { "T\(formatSeconds((offset * 10).rounded() / 10))" }
}
