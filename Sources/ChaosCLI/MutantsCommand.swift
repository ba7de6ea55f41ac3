import ArgumentParser
import ChaosKit
import Foundation
import HACore

extension Chaos {
    struct Mutants: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the corpus and a short nightly sample against each known HA bug; report which check caught it, and how fast.",
            discussion: """
            Each mutant (--bug NAME of ha-agent, hostd and the simulator) breaks one rule in \
            every host. A mutant is caught when a check fails under it on a scenario where the \
            unmutated build passes that check (the same runs are made once without a mutant \
            first). Prints one row per mutant — caught, by which check, model time from the first \
            fault to the finding, wall time — then the kill rate and median time to catch. Writes \
            mutants.md, mutants.json, junit.xml and each mutant's first catching run. Exit 0 when \
            the kill rate reaches --min-kill-rate, 1 otherwise.

            Mutants: \(FDM.Bug.allCases.map(\.rawValue).joined(separator: ", ")).

            Examples (netns needs root, stops each mutant at its first catch):
              chaos mutants --backend sim
              chaos mutants --backend sim --bug lostLockNeverPoweredOff --bug noAbdication
              chaos mutants --backend netns --time-scale 0.2 --parallel 3

            On a real backend the simulator zoo runs first (seconds) and each mutant meets the \
            scenarios that caught it there first, then the rest of the corpus (--no-sim-priority: \
            corpus order only). Catches are judged on the real runs alone.
            """
        )

        @Option(name: .long, help: "Backend: sim, netns (root) or compose (root, Docker).") var backend: String = "sim"
        @Option(name: .long, help: "Multiply every protocol duration and scenario time by this factor.") var timeScale: Double = 1.0
        @Option(name: .long, help: "Scenario files or folders of the corpus.") var corpus: [String] = ["faults"]
        @Option(name: .long, help: "Nightly sample: how many generated schedules per mutant (default: 20 on sim, 0 on real nodes).") var sample: Int?
        @Option(name: .long, help: "First seed of the nightly sample (and the simulator seed of corpus runs).") var seed: UInt64 = 1
        @Option(name: .long, help: "Hosts per generated cluster.") var hosts: Int = 4
        @Option(name: .long, help: "Only these mutants (repeatable; default: all).") var bug: [String] = []
        @Flag(name: .long, help: "Stop each mutant at its first catch (default on real nodes).") var firstCatch = false
        @Option(name: .long, help: "Exit 1 below this kill rate (percent).") var minKillRate: Double = 95
        @Option(name: .long, help: "Output folder (default: runs/<timestamp>-mutants).") var out: String?
        @Option(name: .long, help: "Runs at once (real nodes: clusters side by side, 1...8).") var parallel: Int = 1
        @Flag(name: .long, inversion: .prefixedNo, help: "On a real backend, run each mutant's simulator-catching scenarios first.") var simPriority = true
        @Flag(name: .long, help: "Print only the table.") var quiet = false

        func validate() throws {
            guard ["sim", "netns", "compose"].contains(backend) else { throw ValidationError("unknown backend \"\(backend)\"; available: sim, netns, compose") }
            if backend != "sim", geteuid() != 0 { throw ValidationError("the \(backend) backend needs root; run as root, or pass --backend sim") }
            guard timeScale > 0, timeScale <= 100 else { throw ValidationError("--time-scale must be in (0, 100], got \(timeScale)") }
            for name in bug where FDM.Bug(rawValue: name) == nil {
                throw ValidationError("unknown --bug \"\(name)\"; known: \(FDM.Bug.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard (1...8).contains(parallel) else { throw ValidationError("--parallel must be in 1...8") }
            if let sample { guard (0...10_000).contains(sample) else { throw ValidationError("--sample must be in 0...10000") } }
        }

        func run() async throws {
            let command = self
            try await Interruption.runReportingInterruption { try await command.body() }
        }

        func body() async throws {
            let scenarios = try ScenarioLoader.load(paths: corpus)
            let onSim = backend == "sim"
            let sampleCount = sample ?? (onSim ? 20 : 0)
            let outDir = out ?? RunStore.defaultDirectory(scenarios: ["mutants"])
            let bugs = bug.isEmpty ? FDM.Bug.allCases : bug.compactMap(FDM.Bug.init(rawValue:))
            let quiet = self.quiet
            if !quiet {
                print("▶ mutants [\(backend), scale \(formatSeconds(timeScale))]: \(bugs.count) mutants × (\(scenarios.count) corpus scenarios + \(sampleCount) nightly seeds) → \(outDir)")
                fflush(nil)
            }
            var priority: [String: [String]] = [:]
            if !onSim, simPriority {
                // The simulator zoo on the same corpus: which scenarios catch each mutant there.
                let simZoo = MutantZoo(MutantZoo.Configuration(
                    backend: SimBackend(), corpus: scenarios, sampleSeeds: [], timeScale: 1, seed: seed, bugs: bugs
                ))
                let simReport = await simZoo.run()
                for result in simReport.results {
                    var names: [String] = []
                    for c in result.catches where c.source == "corpus" && !names.contains(c.scenario) { names.append(c.scenario) }
                    priority[result.bug] = names
                }
                if !quiet {
                    print("  simulator zoo: \(simReport.results.filter(\.caught).count)/\(simReport.results.count) caught; each mutant runs its simulator-catching scenarios first")
                    fflush(nil)
                }
            }
            if !onSim, parallel > 1 {
                // Reap dead runs once, before the parallel runs start (they skip their own reaping).
                _ = await Reaper.clean(runID: nil, journalDir: RunJournal.defaultDirectory, runner: ProcessCommandRunner())
            }
            let configuration = MutantZoo.Configuration(
                backend: onSim ? SimBackend() : (backend == "compose" ? ComposeBackend(reapDeadRuns: parallel == 1) as any ClusterBackend : NetnsBackend(reapDeadRuns: parallel == 1)), corpus: scenarios,
                sampleSeeds: (0..<UInt64(sampleCount)).map { seed &+ $0 }, generator: ScheduleGenerator.Options(hosts: hosts),
                timeScale: timeScale, seed: seed, bugs: bugs, stopAtFirstCatch: firstCatch || !onSim, outDirectory: outDir,
                parallel: parallel, priority: priority,
                progress: quiet ? nil : { @Sendable line in print("  " + line); fflush(nil) }
            )
            let report = await MutantZoo(configuration).run()
            do {
                try report.write(to: outDir)
            } catch {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
            }
            if out == nil { RunStore.pointLatest(at: outDir) }
            print("")
            print(report.markdown)
            print("results: \(outDir)/mutants.md, \(outDir)/mutants.json, \(outDir)/junit.xml")
            throw ExitCode(report.killRate * 100 + 1e-9 >= minKillRate ? Exit.valid : Exit.invalid)
        }
    }
}
