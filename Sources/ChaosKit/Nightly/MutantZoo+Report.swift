import Foundation
import HACore

// MARK: - mutants.md, mutants.json, junit.xml

extension MutantZoo.Report {
    /// The table people read: one row per mutant, then the kill rate and median times.
    public var markdown: String {
        var lines: [String] = []
        lines.append("# Mutant zoo — \(backend), time scale \(formatSeconds(timeScale))")
        lines.append("")
        lines.append("Corpus: \(corpus.count) scenarios; nightly sample: \(sampleSeeds.count) seeds\(sampleSeeds.isEmpty ? "" : " (\(sampleSeeds.first!)…\(sampleSeeds.last!))").")
        lines.append("")
        lines.append("| mutant | what it breaks | caught | first caught by | on | model time to catch | wall time to catch | runs that caught it | checks that caught it |")
        lines.append("|---|---|---|---|---|---:|---:|---:|---|")
        for r in results {
            let first = r.first
            lines.append([
                "`\(r.bug)`", r.summary, r.caught ? "yes" : "**NO**", first.map { "\($0.check)" } ?? "—",
                first.map { $0.source == "corpus" ? $0.scenario : "\($0.scenario) (nightly)" } ?? "—",
                first.flatMap(\.modelSecondsToCatch).map { "T+\(fmt($0)) s" } ?? "—",
                first.map { NightlyReport.formatDuration($0.wallSecondsToCatch) } ?? "—",
                "\(r.catches.count)/\(r.runs)", r.checks.prefix(5).joined(separator: ", "),
            ].joined(separator: " | ").wrappedAsRow)
        }
        lines.append("")
        let caught = results.filter(\.caught).count
        lines.append("**Kill rate: \(caught)/\(results.count) = \(fmt(killRate * 100)) %**; median time to catch: "
            + (medianModelSecondsToCatch.map { "model T+\(fmt($0)) s after the first fault" } ?? "—") + ", "
            + (medianWallSecondsToCatch.map { NightlyReport.formatDuration($0) + " wall" } ?? "—") + ".")
        let survivors = results.filter { !$0.caught }.map(\.bug)
        if !survivors.isEmpty { lines.append("Survivors: \(survivors.joined(separator: ", ")).") }
        if !baselineFailures.isEmpty {
            lines.append("")
            lines.append("Checks already failing without a mutant (not counted as catches):")
            for name in baselineFailures.keys.sorted() { lines.append("- \(name): \(baselineFailures[name]!.joined(separator: ", "))") }
        }
        lines.append("")
        lines.append("Wall time: \(NightlyReport.formatDuration(wallSeconds)).")
        return lines.joined(separator: "\n") + "\n"
    }

    /// JUnit: one suite `mutants`, one test case per mutant (a survivor is a failure).
    public var junitSuite: JUnitReport.Suite {
        let checks = results.map { r in
            CheckResult(
                id: "MUT-\(r.bug)", name: r.summary, passed: r.caught,
                expected: "some check fails under mutant \(r.bug) that passes without it",
                observed: r.first.map { "caught by \($0.check) on \($0.scenario) (seed \($0.seed)): \($0.observed)" }
                    ?? "survived \(r.runs) run(s): no check failed that passes without the mutant",
                at: nil
            )
        }
        return JUnitReport.Suite(scenario: "mutants", backend: backend, timeScale: timeScale, seed: nil, duration: wallSeconds, checks: checks)
    }

    /// Writes `mutants.md`, `mutants.json` and `junit.xml` into `directory`.
    public func write(to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try RunWriter.save(encoder.encode(self), to: directory + "/mutants.json")
        try RunWriter.save(Data(markdown.utf8), to: directory + "/mutants.md")
        try RunWriter.writeCombinedJUnit([junitSuite], to: directory + "/junit.xml")
    }
}

extension String {
    /// `a | b` → `| a | b |`.
    var wrappedAsRow: String { "| " + self + " |" }
}
