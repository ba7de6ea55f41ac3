/// What changed between a stored `result.json` and a re-check of the same history
/// (`chaos report`): the verdict, and each check's outcome by id.
///
/// Observed texts are not compared: they hold floating-point times whose formatting is not
/// part of the contract. Verdicts and per-check pass/fail/inconclusive are.
public enum ReportComparison {
    /// Human-readable differences; empty when the re-check reproduced the stored result.
    public static func differences(stored: ResultDocument, rechecked: ResultDocument) -> [String] {
        var out: [String] = []
        if stored.verdict != rechecked.verdict { out.append("verdict: stored \(stored.verdict), re-checked \(rechecked.verdict)") }
        func outcome(_ passed: Bool?) -> String { passed.map { $0 ? "passed" : "failed" } ?? "inconclusive" }
        let before = Dictionary(stored.checks.map { ($0.id, $0.passed) }, uniquingKeysWith: { first, _ in first })
        let after = Dictionary(rechecked.checks.map { ($0.id, $0.passed) }, uniquingKeysWith: { first, _ in first })
        for id in Set(before.keys).union(after.keys).sorted() {
            switch (before[id], after[id]) {
            case (.some(let b), .some(let a)) where b != a: out.append("\(id): stored \(outcome(b)), re-checked \(outcome(a))")
            case (.some, .none): out.append("\(id): stored, missing from the re-check")
            case (.none, .some(let a)): out.append("\(id): new in the re-check (\(outcome(a)))")
            default: break
            }
        }
        return out
    }
}
