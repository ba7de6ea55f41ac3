import HACore

/// Judges one run's ``History`` against the documented HA behaviour (oracle §11, DESIGN §4).
///
/// The checker is a pure function, `History → [CheckResult]`: no I/O, no clock, so `chaos report`
/// can re-check a stored history offline and get the same answer. Every check first looks for
/// its *trigger* (the situation the invariant talks about). Without one it is **inconclusive**
/// (`passed == nil`), never passed; with the trigger but without the expected evidence it
/// **fails**. All timings are compared in model seconds (`run seconds / timeScale`).
public enum Checker {
    /// The safety checks that run on every history, whatever the scenario expects:
    /// one master per partition (INV-E1), no unexplained split-brain (INV-SB1), and exclusive
    /// protectedlist ownership (INV-P2).
    public static let alwaysOn = ["INV-E1", "INV-SB1", "INV-P2"]

    /// Every invariant id the checker implements, in oracle order.
    public static var implemented: [String] { Invariants.ids }

    /// Checks a run.
    ///
    /// The checks run are, de-duplicated and in this order: every `.invariant(id)` expectation,
    /// every outcome expectation, then the ``alwaysOn`` set. An unknown invariant id yields an
    /// inconclusive result whose `observed` is "not implemented".
    /// - Parameters:
    ///   - history: the run's ground truth and agent evidence.
    ///   - expectations: the scenario's expectations.
    /// - Returns: one ``CheckResult`` per check.
    public static func check(_ history: History, expectations: [Expectation]) -> [CheckResult] {
        let context = CheckContext(history)
        var invariantIDs: [String] = []
        var outcomes: [Expectation] = []
        for expectation in expectations {
            if case .invariant(let id) = expectation {
                if !invariantIDs.contains(id) { invariantIDs.append(id) }
            } else if !outcomes.contains(expectation) {
                outcomes.append(expectation)
            }
        }
        var results: [CheckResult] = []
        for id in invariantIDs { results.append(Invariants.check(id, context)) }

        var seenIDs: [String: Int] = [:]
        for outcome in outcomes {
            var result = Outcomes.check(outcome, context)
            let count = seenIDs[result.id, default: 0] + 1
            seenIDs[result.id] = count
            if count > 1 { result.id += "#\(count)" }
            results.append(result)
        }
        for id in alwaysOn where !invariantIDs.contains(id) {
            results.append(Invariants.check(id, context))
        }
        return results
    }
}
