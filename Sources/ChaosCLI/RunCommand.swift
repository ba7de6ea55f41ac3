import ArgumentParser
import ChaosKit
import Foundation
import HACore

/// Options shared by commands that run scenarios.
struct RunFlags: ParsableArguments {
    @Option(name: .long, help: "Backend: netns (the default: real nodes in Linux namespaces; root), compose (real nodes in Docker containers; root, a Docker daemon and the image from Scripts/node-image) or sim (virtual time, deterministic, any user).")
    var backend: String = "netns"

    @Option(name: .long, help: "The node image of the compose backend (default: $HACHAOS_NODE_IMAGE, else hachaos/node:latest).")
    var nodeImage: String = ComposeLayout.defaultImage

    @Option(name: .long, help: "Multiply every protocol duration and scenario time by this factor.")
    var timeScale: Double = 1.0

    @Option(name: .long, help: "Seed for the simulator's randomness (network latency, start-up stagger).")
    var seed: UInt64 = 1

    @Option(name: .long, help: "Break one HA rule on purpose in every agent (mutation testing), e.g. noOwnershipCheck.")
    var bug: [String] = []

    @Flag(name: .long, help: "Print only the final table.")
    var quiet = false

    @Flag(name: .long, help: "Print one JSON object per scenario instead of the table.")
    var json = false

    func validate() throws {
        guard timeScale > 0, timeScale <= 100 else { throw ValidationError("--time-scale must be in (0, 100], got \(timeScale)") }
        guard ["sim", "netns", "compose"].contains(backend) else { throw ValidationError("unknown backend \"\(backend)\"; available: sim, netns, compose") }
        if backend == "netns", geteuid() != 0 {
            throw ValidationError("the netns backend (the default) builds namespaces, mounts and iptables rules and needs root; run as root, or pass --backend sim for the simulator")
        }
        if backend == "compose", geteuid() != 0 {
            throw ValidationError("the compose backend enters containers' namespaces (iptables, mounts) and needs root; run as root, or pass --backend sim for the simulator")
        }
        for name in bug where FDM.Bug(rawValue: name) == nil {
            throw ValidationError("unknown --bug \"\(name)\"; known: \(FDM.Bug.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    var bugs: Set<FDM.Bug> { Set(bug.compactMap(FDM.Bug.init(rawValue:))) }

    func makeBackend(parallel: Int = 1) -> any ClusterBackend {
        switch backend {
        case "netns": NetnsBackend(reapDeadRuns: parallel == 1)
        case "compose": ComposeBackend(image: nodeImage, reapDeadRuns: parallel == 1)
        default: SimBackend()
        }
    }
}

extension Chaos {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run scenario files (or folders of them) and check every expectation.",
            discussion: """
            Writes DIR/<scenario>/ with result.json, junit.xml, timeline.html, events.jsonl, \
            faults.jsonl, history.json and scenario.yaml. Without --out, one scenario goes to \
            runs/<timestamp>-<scenario>/ and several to runs/<timestamp>/<scenario>/; runs/latest \
            points at the newest.

            Examples:
              chaos run faults/ --time-scale 0.2 --parallel 4          # the corpus on real nodes (root)
              chaos run faults/host-failure.yaml --backend sim --seed 7
              chaos run faults/isolation-row-05.yaml --backend sim --bug noOwnershipCheck   # must fail
              chaos run faults/host-failure.yaml --backend compose --time-scale 0.2    # Docker containers (Scripts/node-image first)
            """
        )

        @Argument(help: "Scenario files or folders.")
        var paths: [String]

        @OptionGroup var flags: RunFlags

        @Option(name: .long, help: "Output folder (default: runs/<timestamp>).")
        var out: String?

        @Option(name: .long, help: "Run up to N scenarios at once (real backends: each gets its own run id and subnet).")
        var parallel: Int = 1

        func validate() throws {
            guard (1...16).contains(parallel) else { throw ValidationError("--parallel must be in 1...16") }
        }

        func run() async throws {
            let command = self
            let code = try await Interruption.cancellingOnSignals { try await command.runScenarios() }
            if Interruption.wasInterrupted { FileHandle.standardError.write(Data("chaos: interrupted; clusters torn down\n".utf8)) }
            throw ExitCode(Interruption.wasInterrupted ? Exit.unknown : code)
        }

        /// Runs every scenario; returns the exit code.
        func runScenarios() async throws -> Int32 {
            let scenarios = try ScenarioLoader.load(paths: paths)
            guard !scenarios.isEmpty else { throw ValidationError("no scenario files found in \(paths.joined(separator: " "))") }
            let outDir = out ?? RunStore.defaultDirectory(scenarios: scenarios.map(\.name))
            // One scenario in the default store: its folder is the run folder itself.
            let flat = out == nil && scenarios.count == 1
            if flags.backend != "sim", parallel > 1 {
                // Reap dead runs once, before the parallel runs start (they skip their own reaping).
                let report = await Reaper.clean(runID: nil, journalDir: RunJournal.defaultDirectory, runner: ProcessCommandRunner())
                if !report.removed.isEmpty, !flags.quiet { print("reaped \(report.removed.count) leftovers of dead runs") }
            }
            let backend = flags.makeBackend(parallel: parallel)
            let flags = self.flags
            let verbose = !flags.quiet && !flags.json && parallel == 1
            var rows: [Int: SummaryRow] = [:]
            // Longest first (LPT): with N slots the batch ends near max(longest, total / N)
            // instead of waiting for a long scenario started last. Results keep the input order.
            let launchOrder = parallel > 1
                ? scenarios.indices.sorted { (-scenarios[$0].duration, $0) < (-scenarios[$1].duration, $1) }
                : Array(scenarios.indices)
            try await withThrowingTaskGroup(of: (Int, SummaryRow, ResultDocument?).self) { group in
                var next = 0
                func launch() {
                    let index = launchOrder[next]
                    let scenario = scenarios[index]
                    next += 1
                    group.addTask {
                        try await Self.runOne(scenario, backend: backend, flags: flags, outDir: outDir, flat: flat, verbose: verbose, index: index)
                    }
                }
                while next < min(parallel, scenarios.count) { launch() }
                while let (index, row, document) = try await group.next() {
                    rows[index] = row
                    if flags.json, let document {
                        print(String(decoding: try JSONEncoder().encode(document), as: UTF8.self))
                    } else if !flags.quiet && !flags.json {
                        if !verbose { print("■ \(row.name)") }
                        row.printDetail()
                    }
                    fflush(nil)
                    if next < scenarios.count, !Task.isCancelled { launch() }
                }
            }
            let ordered = rows.keys.sorted().compactMap { rows[$0] }
            if out == nil { RunStore.pointLatest(at: outDir) }
            if !flags.json { SummaryRow.printTable(ordered, outDir: outDir) }
            if !flat {
                // <out>/junit.xml: every scenario of the run, one <testsuite> each (DESIGN §8).
                let suites = scenarios.indices.map { index in
                    let name = scenarios[index].name
                    guard let row = rows[index], row.verdict != nil else {
                        let message = rows[index]?.failures.joined(separator: "\n") ?? "no result"
                        return JUnitReport.Suite.infrastructureFailure(scenario: name, backend: flags.backend, message: message)
                    }
                    return RunWriter.junitSuite(from: RunStore.scenarioDirectory(outDir: outDir, scenario: name, flat: false))
                }
                do {
                    try RunWriter.writeCombinedJUnit(suites, to: "\(outDir)/junit.xml")
                } catch {
                    FileHandle.standardError.write(Data("\(error)\n".utf8))
                }
            }
            return SummaryRow.exitCode(ordered)
        }

        static func runOne(
            _ scenario: Scenario, backend: any ClusterBackend, flags: RunFlags, outDir: String, flat: Bool = false, verbose: Bool, index: Int
        ) async throws -> (Int, SummaryRow, ResultDocument?) {
            if verbose { print("▶ \(scenario.name) [\(backend.name), scale \(flags.timeScale), seed \(flags.seed)]") }
            // Flushed per line: into a file or a pipe (`| tee`, CI logs) progress is for now, not for exit.
            let printer: (@Sendable (String) -> Void)? = verbose ? { @Sendable line in print("  " + line); fflush(nil) } : nil
            let workDirectory = RunStore.scenarioDirectory(outDir: outDir, scenario: scenario.name, flat: flat)
            try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
            let options = RunOptions(timeScale: flags.timeScale, seed: flags.seed, bugs: flags.bugs, workDirectory: workDirectory, progress: printer)
            let history: History
            do {
                history = try await backend.run(scenario, options: options)
            } catch {
                FileHandle.standardError.write(Data("\(scenario.name): infrastructure failure: \(error)\n".utf8))
                return (index, SummaryRow(name: scenario.name, verdict: nil, passed: 0, total: 0, transitions: [:], failures: ["\(error)"]), nil)
            }
            let checks = Checker.check(history, expectations: scenario.expectations)
            let document = try RunWriter.write(history: history, checks: checks, to: workDirectory)
            try ScenarioWriter.yaml(scenario).write(toFile: "\(workDirectory)/scenario.yaml", atomically: true, encoding: .utf8)
            return (index, SummaryRow(history: history, checks: checks, document: document), document)
        }
    }
}

/// One line of the final table.
struct SummaryRow {
    var name: String
    var verdict: Verdict?
    var passed: Int
    var total: Int
    var transitions: [String: Double]
    var failures: [String]
    /// Split-brain windows (two live instances of one VM), described for people.
    var splitBrain: [String] = []

    init(name: String, verdict: Verdict?, passed: Int, total: Int, transitions: [String: Double], failures: [String]) {
        self.name = name
        self.verdict = verdict
        self.passed = passed
        self.total = total
        self.transitions = transitions
        self.failures = failures
    }

    init(history: History, checks: [CheckResult], document: ResultDocument) {
        name = history.scenario
        verdict = CheckResult.verdict(of: checks)
        passed = checks.filter { $0.passed == true }.count
        total = checks.count
        transitions = document.transitions
        splitBrain = SplitBrainWindow.of(history).map(\.summary)
        failures = checks.filter { $0.passed != true }.map {
            "\($0.id) \($0.passed == nil ? "INCONCLUSIVE" : "FAILED"): expected \($0.expected); observed \($0.observed)"
        }
    }

    static let transitionOrder = ["declaredDead", "electionStarted", "newMaster", "isolationDeclared", "responseApplied", "firstRestart"]

    var transitionText: String {
        Self.transitionOrder.compactMap { key in transitions[key].map { "\(key)=T\(formatSeconds($0))" } }.joined(separator: " ")
    }

    func printDetail() {
        let mark = verdict.map { $0 == .pass ? "PASS" : $0 == .fail ? "FAIL" : "INCONCLUSIVE" } ?? "ERROR"
        print("  \(Terminal.verdict(verdict, mark)) \(passed)/\(total) checks  \(transitionText)")
        for window in splitBrain { print("    " + Terminal.paint("⚠ split-brain: \(window)", .yellow)) }
        for failure in failures { print("    " + Terminal.paint("✗", .red) + " \(failure)") }
    }

    static func printTable(_ rows: [SummaryRow], outDir: String) {
        let width = max(24, rows.map(\.name.count).max() ?? 0)
        print("")
        print("scenario".padding(toLength: width, withPad: " ", startingAt: 0) + "  verdict       checks  key transitions (model s after first fault)")
        for row in rows {
            let verdict = Terminal.verdict(row.verdict, (row.verdict?.rawValue ?? "error").padding(toLength: 12, withPad: " ", startingAt: 0))
            let checks = "\(row.passed)/\(row.total)".padding(toLength: 7, withPad: " ", startingAt: 0)
            print(row.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + verdict + "  " + checks + " " + row.transitionText)
        }
        let pass = rows.filter { $0.verdict == .pass }.count
        let fail = rows.filter { $0.verdict == .fail }.count
        let other = rows.count - pass - fail
        print("\(rows.count) scenarios: \(pass) passed, \(fail) failed, \(other) inconclusive or errors — results in \(outDir)")
    }

    static func exitCode(_ rows: [SummaryRow]) -> Int32 {
        if rows.contains(where: { $0.verdict == .fail }) { return Exit.invalid }
        if rows.contains(where: { $0.verdict != .pass }) { return Exit.unknown }
        return Exit.valid
    }
}

/// ANSI colours, only on a terminal (and never with `NO_COLOR` set, per no-color.org).
enum Terminal {
    static let enabled: Bool = isatty(STDOUT_FILENO) != 0 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil

    enum Colour: String { case red = "31", green = "32", yellow = "33", bold = "1" }

    static func paint(_ text: String, _ colour: Colour) -> String {
        enabled ? "\u{1B}[\(colour.rawValue)m\(text)\u{1B}[0m" : text
    }

    /// A verdict word in its colour.
    static func verdict(_ verdict: Verdict?, _ text: String) -> String {
        switch verdict {
        case .pass: paint(text, .green)
        case .fail: paint(text, .red)
        default: paint(text, .yellow)
        }
    }
}
