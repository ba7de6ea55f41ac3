import Foundation
import HACore

/// Writes a nightly's folder summary: `summary.json` (``NightlySummary``), `summary.md` (for
/// people and CI job pages) and `junit.xml` (for CI dashboards).
///
/// `junit.xml` holds a `nightly` suite with one test case per check over all runs — failed when
/// any run failed it (the message lists its findings with counts, flake class and replay
/// command), skipped when no run could judge it — plus, per finding, the suite of its first
/// failing run (every check of that run).
public enum NightlyReport {
    /// Writes the three files into `directory`.
    public static func write(_ summary: NightlySummary, to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try RunWriter.save(encoder.encode(summary), to: directory + "/summary.json")
        try RunWriter.save(Data(markdown(summary).utf8), to: directory + "/summary.md")
        try RunWriter.writeCombinedJUnit(junitSuites(summary, directory: directory), to: directory + "/junit.xml")
    }

    // MARK: - JUnit

    static func junitSuites(_ summary: NightlySummary, directory: String) -> [JUnitReport.Suite] {
        var checks: [CheckResult] = []
        for id in summary.checks.keys.sorted(by: checkOrder) {
            let tally = summary.checks[id] ?? .init()
            let findings = summary.findings.filter { $0.signature.check == id }
            let counts = "\(tally.passed) passed, \(tally.failed) failed, \(tally.inconclusive) inconclusive over \(summary.runs) run(s)"
            let passed: Bool? = tally.failed > 0 ? false : (tally.passed > 0 ? true : nil)
            var observed = counts
            if !findings.isEmpty {
                observed += "; " + findings.map { f in
                    "[\(f.id)] \(f.signature.text) — \(f.count) run(s), first seed \(f.firstSeed)"
                        + (f.flake.map { ", \($0)" } ?? "") + ", replay: " + (f.shrunk?.replayCommand ?? f.replayCommand)
                }.joined(separator: "; ")
            }
            let name = findings.first?.name ?? id
            checks.append(CheckResult(id: id, name: name, passed: passed, expected: "no run fails \(id)", observed: observed, at: nil))
        }
        var suites = [JUnitReport.Suite(
            scenario: "nightly", backend: summary.backend, timeScale: summary.timeScale, seed: summary.startSeed,
            duration: summary.modelSeconds * summary.timeScale, checks: checks
        )]
        var seen = Set<String>()
        for finding in summary.findings where seen.insert(finding.runFolder).inserted {
            suites.append(RunWriter.junitSuite(from: directory + "/" + finding.runFolder))
        }
        return suites
    }

    /// Invariants in oracle order, then outcomes.
    static func checkOrder(_ a: String, _ b: String) -> Bool {
        let ids = Checker.implemented
        let ia = ids.firstIndex(of: a) ?? Int.max
        let ib = ids.firstIndex(of: b) ?? Int.max
        return (ia, a) < (ib, b)
    }

    // MARK: - Markdown

    /// `summary.md`.
    public static func markdown(_ summary: NightlySummary) -> String {
        var lines: [String] = []
        let verdict = summary.verdict.rawValue.uppercased()
        lines.append("# Nightly chaos — \(verdict)")
        lines.append("")
        lines.append("`\(summary.command)`")
        lines.append("")
        lines.append("| | |")
        lines.append("|---|---|")
        lines.append("| backend | \(summary.backend), time scale \(formatSeconds(summary.timeScale)) |")
        lines.append("| cluster | \(summary.hosts) hosts, \(summary.vms) VMs |")
        if !summary.bugs.isEmpty { lines.append("| mutants in force | \(summary.bugs.joined(separator: ", ")) |") }
        lines.append("| seeds | \(summary.startSeed)…\(summary.lastSeed.map(String.init) ?? "—") |")
        lines.append("| runs | \(summary.runs): \(summary.passed) passed, \(summary.failed) failed, \(summary.inconclusive) inconclusive, \(summary.errors) infrastructure errors |")
        lines.append("| wall time | \(formatDuration(summary.wallSeconds)) of a \(formatDuration(summary.budgetSeconds)) budget (runs \(formatDuration(summary.runWallSeconds)), triage \(formatDuration(summary.wallSeconds - summary.runWallSeconds))) |")
        lines.append("| throughput | \(Int(summary.seedsPerHour.rounded())) seeds/hour; \(Int(summary.modelSeconds)) model seconds played |")
        lines.append("| findings | \(summary.findings.count) distinct |")
        lines.append("")
        lines.append("## Faults exercised")
        lines.append("")
        lines.append("| kind | injected |")
        lines.append("|---|---:|")
        for kind in summary.faultsPerKind.keys.sorted() { lines.append("| \(kind) | \(summary.faultsPerKind[kind] ?? 0) |") }
        lines.append("")
        lines.append("## Checks")
        lines.append("")
        lines.append("| check | passed | failed | inconclusive |")
        lines.append("|---|---:|---:|---:|")
        for id in summary.checks.keys.sorted(by: checkOrder) {
            let t = summary.checks[id] ?? .init()
            lines.append("| \(id) | \(t.passed) | \(t.failed) | \(t.inconclusive) |")
        }
        lines.append("")
        lines.append("## Findings")
        lines.append("")
        if summary.findings.isEmpty { lines.append("None.") }
        let byCheck = Dictionary(grouping: summary.findings, by: \.signature.check)
        for check in byCheck.keys.sorted(by: checkOrder) {
            lines.append("### \(check)")
            lines.append("")
            for f in byCheck[check] ?? [] {
                lines.append("- **[\(f.id)]** \(f.signature.text)")
                lines.append("  - \(f.count) run(s); seeds \(f.seeds.prefix(10).map(String.init).joined(separator: ", "))\(f.seeds.count > 10 ? ", …" : ""); first at model T+\(f.modelSecondsAfterFirstFault.map(fmt) ?? "?") s after the first fault")
                lines.append("  - observed: \(f.observed)")
                lines.append("  - reproducibility: \(f.flake.map(\.description) ?? "not re-run (budget)")")
                lines.append("  - failing run: `\(f.runFolder)/`; as it ran: `\(f.replayCommand)`")
                if let s = f.shrunk {
                    lines.append("  - shrunk on \(s.backend): \(s.originalSteps) → \(s.steps) fault step(s) in \(s.tests) test run(s)\(s.complete ? "" : " (stopped by a limit)"): `\(s.path)`")
                    for step in s.timeline { lines.append("    - \(step)") }
                    let verdict = s.replaySkipped == true ? "not replayed (budget)" : s.replayReproduced ? "reproduces \(f.check)" : "did NOT reproduce"
                    lines.append("  - replay: `\(s.replayCommand)` — \(verdict)")
                    if let real = s.reproducedOnBackend { lines.append("  - on \(summary.backend): \(real ? "reproduces" : "does not reproduce")") }
                } else {
                    lines.append("  - not shrunk\(f.flake == nil || summary.backend != "sim" ? " (budget: a real-node shrink needs several runs of this schedule)" : "")")
                }
            }
            lines.append("")
        }
        if !summary.errorMessages.isEmpty {
            lines.append("## Infrastructure errors")
            lines.append("")
            for message in summary.errorMessages { lines.append("- \(message)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `1h 02m 03s`, `4m 05s`, `12.3 s`.
    public static func formatDuration(_ seconds: Double) -> String {
        if seconds < 60 { return "\(formatSeconds((seconds * 10).rounded() / 10)) s" }
        let total = Int(seconds.rounded())
        let h = total / 3600, m = (total % 3600) / 60, s = total % 60
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return h > 0 ? "\(h)h \(two(m))m \(two(s))s" : "\(m)m \(two(s))s"
    }
}
