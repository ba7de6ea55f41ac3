import ArgumentParser
import ChaosKit
import Foundation
import HACore

/// A wall-clock budget on the command line: `90s`, `30m`, `2h`, `1h30m`, or plain seconds.
struct BudgetDuration: ExpressibleByArgument, Sendable {
    var seconds: Double

    init?(argument: String) {
        guard let seconds = Self.parse(argument), seconds > 0 else { return nil }
        self.seconds = seconds
    }

    static func parse(_ text: String) -> Double? { NightlyRunner.parseBudget(text) }

    var duration: Duration { .milliseconds(Int64((seconds * 1000).rounded())) }

    var defaultValueDescription: String { compact }

    /// `2h`, `30m`, `90s`, `1h30m`.
    var compact: String {
        let total = Int(seconds.rounded())
        let h = total / 3600, m = (total % 3600) / 60, s = total % 60
        return (h > 0 ? "\(h)h" : "") + (m > 0 ? "\(m)m" : "") + (s > 0 || total == 0 ? "\(s)s" : "")
    }
}

extension Chaos {
    struct Nightly: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run random fault schedules inside a time budget, check every invariant, shrink and classify what fails.",
            discussion: """
            Each run's schedule comes from its seed (run i: seed S+i): weighted fault kinds gated \
            on the faults in force, intensities drawn per seed, and quiet periods after which a \
            healed cluster must have converged. Failures are grouped by invariant and signature; \
            each finding is re-run N times (deterministic or flaky, k of N) and shrunk by delta \
            debugging — in the simulator when it reproduces there — into a scenario file with the \
            one command that replays it. Writes summary.md, summary.json and junit.xml into the \
            nightly folder (default runs/<timestamp>-nightly). Exit 0 no finding, 1 findings, 2 \
            only infrastructure errors, 254 bad arguments.

            Examples (netns needs root; --bug runs the nightly against a mutant):
              chaos nightly --backend sim --budget 10m --seed 1
              chaos nightly --backend netns --budget 30m --time-scale 0.2
              chaos nightly --backend sim --budget 2m --bug noAbdication
              chaos nightly --backend sim --budget 1h --invariants all
            """
        )

        @Option(name: .long, help: "Backend: sim (virtual time, any user), netns (real nodes in namespaces, root) or compose (real nodes in Docker containers, root; Scripts/node-image).")
        var backend: String = "sim"

        @Option(name: .long, help: "Wall-clock budget for runs and triage: 90s, 30m, 2h, 1h30m.")
        var budget: BudgetDuration = BudgetDuration(argument: "30m")!

        @Option(name: .long, help: "First seed (run i uses seed+i). Default: today's date × 10⁶, so every night draws new schedules.")
        var seed: UInt64?

        @Option(name: .long, help: "Hosts per cluster.") var hosts: Int = 4
        @Option(name: .long, help: "VMs per cluster (default: 2 per host).") var vms: Int?
        @Option(name: .long, help: "Multiply every protocol duration and scenario time by this factor (real backends: 0.2 is 5× faster).")
        var timeScale: Double = 1.0
        @Option(name: .long, help: "Break one HA rule on purpose in every run (mutation testing; repeatable).") var bug: [String] = []
        @Option(name: .long, help: "Re-runs per finding to classify it deterministic or flaky.") var reruns: Int = 5
        @Flag(name: .long, help: "Do not shrink findings.") var noShrink = false
        @Option(name: .long, help: "Stop after this many runs (the budget still applies).") var maxRuns: Int?
        @Option(name: .long, help: "Invariants to check, comma-separated, or \"all\" (default: the nightly set).") var invariants: String?
        @Option(name: .long, help: "Fault kinds a seed may draw from, comma-separated (default: all).") var kinds: String?
        @Option(name: .long, help: "Share of the budget kept for triage (re-runs, shrinking) once there is a finding.") var triageShare: Double = 0.2
        @Option(name: .long, help: "Model seconds without faults at the end of each schedule; liveness is judged at its end.") var finalQuiet: Double = 600
        @Option(name: .long, help: "Nightly folder (default: runs/<timestamp>-nightly).") var out: String?
        @Flag(name: .long, help: "Print only the summary.") var quiet = false

        func validate() throws {
            switch backend {
            case "sim", "netns", "compose": break
            default: throw ValidationError("unknown backend \"\(backend)\"; available: sim, netns, compose")
            }
            if backend != "sim", geteuid() != 0 { throw ValidationError("the \(backend) backend needs root; run as root, or pass --backend sim") }
            guard timeScale > 0, timeScale <= 100 else { throw ValidationError("--time-scale must be in (0, 100], got \(timeScale)") }
            guard (2...64).contains(hosts) else { throw ValidationError("--hosts must be in 2...64") }
            guard (1...100).contains(reruns) else { throw ValidationError("--reruns must be in 1...100") }
            guard (0...0.9).contains(triageShare) else { throw ValidationError("--triage-share must be in 0...0.9") }
            guard (60...7200).contains(finalQuiet) else { throw ValidationError("--final-quiet must be in 60...7200 model seconds") }
            for name in bug where FDM.Bug(rawValue: name) == nil {
                throw ValidationError("unknown --bug \"\(name)\"; known: \(FDM.Bug.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            _ = try invariantList()
            _ = try kindList()
        }

        func invariantList() throws -> [String] {
            guard let invariants else { return ScheduleGenerator.nightlyInvariants }
            if invariants == "all" { return Checker.implemented }
            let list = invariants.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
            for id in list where !Checker.implemented.contains(id) { throw ValidationError("unknown invariant \"\(id)\" in --invariants") }
            return list
        }

        func kindList() throws -> [ScheduleGenerator.Kind] {
            guard let kinds else { return ScheduleGenerator.Kind.allCases }
            return try kinds.split(separator: ",").map { name in
                guard let kind = ScheduleGenerator.Kind(rawValue: String(name)) else {
                    throw ValidationError("unknown fault kind \"\(name)\"; known: \(ScheduleGenerator.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return kind
            }
        }

        static func defaultSeed() -> UInt64 {
            let formatter = DateFormatter()
            formatter.dateFormat = "yyyyMMdd"
            formatter.timeZone = TimeZone(identifier: "UTC")
            return (UInt64(formatter.string(from: Date())) ?? 1) * 1_000_000
        }

        func run() async throws {
            let command = self
            try await Interruption.runReportingInterruption { try await command.body() }
        }

        func body() async throws {
            let startSeed = seed ?? Self.defaultSeed()
            let outDir = out ?? RunStore.defaultDirectory(scenarios: ["nightly"])
            let backendImpl: any ClusterBackend = switch backend {
            case "netns": NetnsBackend(reapDeadRuns: true)
            case "compose": ComposeBackend(reapDeadRuns: true)
            default: SimBackend()
            }
            var generator = ScheduleGenerator.Options(hosts: hosts, vms: vms, finalQuietPeriod: finalQuiet, invariants: try invariantList())
            generator.kinds = try kindList()
            let quiet = self.quiet
            var command = "chaos nightly --backend \(backend) --budget \(budget.compact) --seed \(startSeed) --hosts \(hosts)"
            if let vms { command += " --vms \(vms)" }
            if timeScale != 1 { command += " --time-scale \(formatSeconds(timeScale))" }
            for b in bug { command += " --bug \(b)" }
            if let invariants { command += " --invariants \(invariants)" }
            if let kinds { command += " --kinds \(kinds)" }
            if finalQuiet != 600 { command += " --final-quiet \(formatSeconds(finalQuiet))" }
            if !quiet {
                print("▶ nightly [\(backend), scale \(formatSeconds(timeScale)), budget \(NightlyReport.formatDuration(budget.seconds)), seeds from \(startSeed), \(hosts) hosts] → \(outDir)")
                fflush(nil)
            }
            let configuration = NightlyRunner.Configuration(
                backend: backendImpl, budget: budget.duration, startSeed: startSeed, generator: generator, timeScale: timeScale,
                bugs: Set(bug.compactMap(FDM.Bug.init(rawValue:))), outDirectory: outDir, reruns: reruns, shrink: !noShrink,
                maxRuns: maxRuns, triageShare: triageShare,
                progress: quiet ? nil : { @Sendable line in print("  " + line); fflush(nil) }
            )
            var summary = await NightlyRunner(configuration).run()
            summary.command = command
            do {
                try NightlyReport.write(summary, to: outDir)
            } catch {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
            }
            if out == nil { RunStore.pointLatest(at: outDir) }
            print("")
            print(NightlyReport.markdown(summary))
            print("summary: \(outDir)/summary.md, \(outDir)/summary.json, \(outDir)/junit.xml")
            switch summary.verdict {
            case .fail: throw ExitCode(Exit.invalid)
            case .inconclusive: throw ExitCode(Exit.unknown)
            case .pass: throw ExitCode(Exit.valid)
            }
        }
    }
}
