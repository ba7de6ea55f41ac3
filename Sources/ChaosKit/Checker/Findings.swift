/// What one check saw, collected piece by piece, then turned into a ``CheckResult``.
///
/// The honesty rule (DESIGN §4) lives here: any failure fails the check; otherwise a check
/// with a part it could not judge (``unknown(_:)``), or with nothing judged at all, is
/// **inconclusive**; only a check that judged something and found it right passes.
struct Findings {
    private(set) var failures: [(text: String, at: Double?)] = []
    private(set) var passes: [(text: String, at: Double?)] = []
    private(set) var unknowns: [String] = []
    private(set) var notes: [String] = []
    /// Expected-behaviour clauses, one per trigger (joined in the result).
    private(set) var expectations: [String] = []

    /// Records what the oracle expects for one trigger.
    mutating func expect(_ text: String) {
        if !expectations.contains(text) { expectations.append(text) }
    }

    /// Records a violation.
    mutating func fail(_ text: String, at: Double?) { failures.append((text, at)) }

    /// Records a judged, correct observation.
    mutating func pass(_ text: String, at: Double? = nil) { passes.append((text, at)) }

    /// Records a required part that could not be judged (missing data, run too short).
    mutating func unknown(_ text: String) { unknowns.append(text) }

    /// Records context that neither passes nor fails (a trigger skipped, and why).
    mutating func note(_ text: String) { notes.append(text) }

    /// Whether anything at all was recorded (a trigger was found).
    var isEmpty: Bool { failures.isEmpty && passes.isEmpty && unknowns.isEmpty && notes.isEmpty }

    /// The verdict.
    /// - Parameters:
    ///   - id: the invariant id.
    ///   - name: the short name.
    ///   - noTrigger: what was missing when nothing was judged, e.g. "no power-off of a slave in this run".
    ///   - expected: the generic expectation, used when no trigger-specific one was recorded.
    /// - Returns: failed if any failure; inconclusive if any unknown or nothing passed; else passed.
    func result(id: String, name: String, noTrigger: String, expected: String) -> CheckResult {
        let expectedText = expectations.isEmpty ? expected : capped(expectations, limit: 4)
        if !failures.isEmpty {
            var observed = failures.map(\.text)
            if !passes.isEmpty { observed.append("(\(passes.count) other observation(s) as expected)") }
            return CheckResult(id: id, name: name, passed: false, expected: expectedText,
                               observed: capped(observed), at: failures.first?.at ?? nil)
        }
        if !unknowns.isEmpty || passes.isEmpty {
            var observed = unknowns + passes.map(\.text) + notes
            if passes.isEmpty && unknowns.isEmpty { observed.insert(noTrigger, at: 0) }
            return CheckResult(id: id, name: name, passed: nil, expected: expectedText,
                               observed: capped(observed), at: passes.first?.at ?? nil)
        }
        return CheckResult(id: id, name: name, passed: true, expected: expectedText,
                           observed: capped(passes.map(\.text) + notes), at: passes.first?.at ?? nil)
    }
}
