import HACore

/// A cell's verdict: what happened against what the oracle predicts, and the checker's word.
public enum MatrixVerdict: String, Hashable, Sendable, Codable {
    /// Every subject VM's outcome and timing match the prediction and every check passed.
    case matches
    /// An outcome or timing differs from the prediction, or a check failed.
    case differs
    /// The run saw nothing to judge (or a check was inconclusive, or the run failed to start).
    case inconclusive
}

/// One subject VM in one cell: prediction, observation, verdict.
public struct MatrixVMResult: Hashable, Sendable, Codable {
    /// The subject VM.
    public var vm: VMID
    /// What the documented behaviour predicts for it.
    public var prediction: MatrixPrediction
    /// What the run recorded for it.
    public var observation: MatrixObservation
    /// The VM's verdict (before the checker is taken into account).
    public var verdict: MatrixVerdict
    /// Why the verdict is not `matches` (one sentence each).
    public var reasons: [String]
}

/// The judged result of one matrix cell (one row of the table).
public struct MatrixCellResult: Hashable, Sendable, Codable {
    /// The setting that ran.
    public var cell: MatrixCell
    /// The host whose protected VMs are reported.
    public var isolatedHost: HostID
    /// One entry per subject VM.
    public var vms: [MatrixVMResult]
    /// The checker's verdict over the cell's invariants (`nil`: the run did not complete).
    public var checkerVerdict: Verdict?
    /// `passed/total` of the cell's checks.
    public var checksPassed: Int
    /// How many checks ran.
    public var checksTotal: Int
    /// Checks that failed or were inconclusive: `INV-I9 FAILED: …`.
    public var checkProblems: [String]
    /// The cell's verdict: its VMs' verdicts combined with the checker's.
    public var verdict: MatrixVerdict
    /// Why the verdict is not `matches`.
    public var reasons: [String]
    /// The infrastructure failure that stopped the run, if any.
    public var error: String?

    /// Judges a completed run of `cell`.
    ///
    /// - Parameters:
    ///   - cell: The cell that ran.
    ///   - matrix: The matrix it belongs to (isolated host, subjects, predictions).
    ///   - history: What the run recorded.
    ///   - checks: The checker's results for the cell's invariants.
    public static func judge(_ cell: MatrixCell, matrix: IsolationMatrix, history: History, checks: [CheckResult]) -> MatrixCellResult {
        let predictions = matrix.predictions(for: cell)
        var vms: [MatrixVMResult] = []
        for vm in matrix.subjects {
            guard let prediction = predictions[vm] else { continue }
            let observation = MatrixObservation.observe(history, vm: vm, host: matrix.isolatedHost)
            let (verdict, reasons) = compare(prediction, observation)
            vms.append(MatrixVMResult(vm: vm, prediction: prediction, observation: observation, verdict: verdict, reasons: reasons))
        }
        let problems = checks.filter { $0.passed != true }.map {
            "\($0.id) \($0.passed == nil ? "INCONCLUSIVE" : "FAILED"): expected \($0.expected); observed \($0.observed)"
        }
        var result = MatrixCellResult(
            cell: cell, isolatedHost: matrix.isolatedHost, vms: vms, checkerVerdict: CheckResult.verdict(of: checks),
            checksPassed: checks.filter { $0.passed == true }.count, checksTotal: checks.count, checkProblems: problems,
            verdict: .inconclusive, reasons: [], error: nil
        )
        (result.verdict, result.reasons) = combine(vms, checks: checks)
        return result
    }

    /// A cell whose run failed before producing a history (infrastructure failure: inconclusive).
    public static func failed(_ cell: MatrixCell, matrix: IsolationMatrix, error: String) -> MatrixCellResult {
        MatrixCellResult(
            cell: cell, isolatedHost: matrix.isolatedHost, vms: [], checkerVerdict: nil, checksPassed: 0, checksTotal: 0,
            checkProblems: [], verdict: .inconclusive, reasons: ["infrastructure failure: \(error)"], error: error
        )
    }

    // MARK: - Comparison

    /// Compares one VM's observation with its prediction.
    ///
    /// - Returns: `matches`, `differs` with what differs, or `inconclusive` when the run saw
    ///   nothing (no isolation, VM not on the host) or ended before the prediction could play out.
    public static func compare(_ p: MatrixPrediction, _ o: MatrixObservation) -> (MatrixVerdict, [String]) {
        if o.outcome == .notObserved { return (.inconclusive, [o.unobservedReason ?? "nothing observed"]) }
        let epsilon = 1e-6
        var differs: [String] = []
        let shapeMatches = p.outcome.rawValue == o.outcome.rawValue
            || (p.outcome == .restarted && p.splitBrain == .allowed && o.outcome == .splitBrain)
        guard shapeMatches else {
            if o.observedUntil + epsilon < p.horizon {
                return (.inconclusive, ["the run ended at \(MatrixObservation.mark(o.observedUntil)), before \(MatrixObservation.mark(p.horizon)); observed \(o.outcome.rawValue) so far"])
            }
            return (.differs, ["predicted \(p.outcome.rawValue), observed \(o.outcome.rawValue)"])
        }
        // The isolated copy's end.
        if let window = p.stopWindow, let stop = o.stoppedAt {
            if !window.contains(stop) {
                differs.append("isolated copy stopped at \(MatrixObservation.mark(stop)), predicted in [\(MatrixObservation.mark(window.lowerBound)), \(MatrixObservation.mark(window.upperBound))]")
            }
            if let reason = p.stopReason, o.stopReason != reason {
                differs.append("isolated copy ended by \(o.stopReason?.rawValue ?? "?"), predicted \(reason.rawValue)")
            }
        } else if let window = p.stopWindow, o.observedUntil + epsilon < window.upperBound {
            return (.inconclusive, ["the run ended at \(MatrixObservation.mark(o.observedUntil)), before the isolated copy's predicted end"])
        }
        // The restart.
        if let restart = o.restartedAt {
            switch p.restart {
            case .never:
                differs.append("restarted on \(o.restartedOn?.rawValue ?? "?") at \(MatrixObservation.mark(restart)), predicted no restart")
            case .window(let notBefore, let by):
                if restart < notBefore - epsilon || restart > by + epsilon {
                    differs.append("restarted at \(MatrixObservation.mark(restart)), predicted in [\(MatrixObservation.mark(notBefore)), \(MatrixObservation.mark(by))]")
                }
            case .afterStop, .atRetryAfterStop:
                if let stop = o.stoppedAt, restart < stop - epsilon {
                    differs.append("restarted at \(MatrixObservation.mark(restart)), before the isolated copy stopped at \(MatrixObservation.mark(stop))")
                }
                if let deadline = p.restart.deadline(stoppedAt: o.stoppedAt), restart > deadline + epsilon {
                    differs.append("restarted at \(MatrixObservation.mark(restart)), predicted by \(MatrixObservation.mark(deadline))")
                }
            }
        }
        // Two copies at once.
        switch (p.splitBrain, o.splitBrain) {
        case (.never, let window?):
            differs.append("split-brain \(MatrixObservation.mark(window.from))–\(MatrixObservation.mark(window.to)), predicted none")
        case (_, let window?):
            if window.openAtEnd {
                differs.append("split-brain from \(MatrixObservation.mark(window.from)) still open when the run ended")
            } else if let end = p.stopWindow?.upperBound, window.to > end + epsilon {
                differs.append("split-brain lasted until \(MatrixObservation.mark(window.to)), predicted over by \(MatrixObservation.mark(end))")
            }
        default:
            break
        }
        return differs.isEmpty ? (.matches, []) : (.differs, differs)
    }

    /// The cell's verdict from its VMs and its checks: a failed check or a differing VM →
    /// `differs`; else an inconclusive VM or check → `inconclusive`; else `matches`.
    static func combine(_ vms: [MatrixVMResult], checks: [CheckResult]) -> (MatrixVerdict, [String]) {
        let failed = checks.filter { $0.passed == false }.map(\.id)
        let unknown = checks.filter { $0.passed == nil }.map(\.id)
        var reasons: [String] = vms.flatMap { r in r.reasons.map { "\(r.vm): \($0)" } }
        if !failed.isEmpty { reasons.append("checker: \(failed.joined(separator: ", ")) failed") }
        if !unknown.isEmpty { reasons.append("checker: \(unknown.joined(separator: ", ")) inconclusive") }
        if vms.isEmpty { reasons.append("no subject VM to judge") }
        if !failed.isEmpty || vms.contains(where: { $0.verdict == .differs }) { return (.differs, reasons) }
        if !unknown.isEmpty || checks.isEmpty || vms.isEmpty || vms.contains(where: { $0.verdict == .inconclusive }) {
            return (.inconclusive, reasons)
        }
        return (.matches, reasons)
    }
}
