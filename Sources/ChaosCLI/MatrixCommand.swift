import ArgumentParser
import ChaosKit
import Foundation
import HACore

extension Chaos {
    /// `chaos matrix`: the isolation decision table (oracle §5.5) run cell by cell on one
    /// topology, each outcome printed next to the documented prediction with a verdict.
    struct Matrix: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the isolation decision table (response × storage × heartbeat datastores, plus all hosts isolated) and compare each cell with the documented behaviour.",
            discussion: """
            From one topology (a scenario file's cluster and HA settings; default: the cluster of \
            the corpus's isolation rows) the matrix generates 14 scenarios: the 12 rows of oracle \
            §5.5 (leave powered on / power off / shut down × the isolated host keeps or loses the \
            VM's storage × the master sees its datastore heartbeats or not) and the whole \
            management network down with power off and with shut down. Each runs on the backend, \
            is checked like `chaos run`, and its isolated host's protected VMs are summarised: \
            stayed up, powered off and restarted where and when, split-brain window and length, \
            deferred. Each cell gets a verdict: matches, differs or inconclusive.

            Writes DIR/<cell>/ (result.json, events.jsonl, faults.jsonl, history.json, \
            scenario.yaml) for every cell, and DIR/matrix.md, DIR/matrix.html and DIR/matrix.json. \
            Prints the markdown table. Exit codes: 0 every cell matches, 1 a cell differs, 2 a cell \
            is inconclusive or a run failed, 254 bad arguments or topology.

            Examples:
              chaos matrix --backend sim                                   # default topology, simulator
              chaos matrix --backend sim --time-scale 0.1 --seed 7 --out /tmp/m
              chaos matrix --time-scale 0.2 --parallel 3                   # real nodes in namespaces (root)
              chaos matrix --topology faults/partition-2-2.yaml --backend sim
              chaos matrix --backend sim --bug noOwnershipCheck            # must differ (exit 1)
            """
        )

        @Option(name: .long, help: "Scenario file whose cluster and HA settings are the topology (default: the isolation rows' 4-host cluster).")
        var topology: String?

        @Option(name: .long, help: "Backend: netns (the default: real nodes in Linux namespaces; root), compose (Docker containers; root) or sim (virtual time, deterministic, any user).")
        var backend: String = "netns"

        @Option(name: .long, help: "Multiply every protocol duration and scenario time by this factor.")
        var timeScale: Double = 1.0

        @Option(name: .long, help: "Seed for the simulator's randomness.")
        var seed: UInt64 = 1

        @Option(name: .long, help: "Output folder (default: runs/<timestamp>-matrix; runs/latest points at it).")
        var out: String?

        @Option(name: .long, help: "Run up to N cells at once (real backends: each gets its own run id and subnet).")
        var parallel: Int = 1

        @Option(name: .long, help: "Break one HA rule on purpose in every agent (mutation testing), e.g. noOwnershipCheck.")
        var bug: [String] = []

        @Flag(name: .long, help: "Print only the final table.")
        var quiet = false

        func validate() throws {
            guard timeScale > 0, timeScale <= 100 else { throw ValidationError("--time-scale must be in (0, 100], got \(timeScale)") }
            guard ["sim", "netns", "compose"].contains(backend) else { throw ValidationError("unknown backend \"\(backend)\"; available: sim, netns, compose") }
            if backend == "compose", geteuid() != 0 { throw ValidationError("the compose backend needs root; run as root, or pass --backend sim") }
            guard (1...16).contains(parallel) else { throw ValidationError("--parallel must be in 1...16") }
            if backend == "netns", geteuid() != 0 {
                throw ValidationError("the netns backend (the default) builds namespaces, mounts and iptables rules and needs root; run as root, or pass --backend sim for the simulator")
            }
            for name in bug where FDM.Bug(rawValue: name) == nil {
                throw ValidationError("unknown --bug \"\(name)\"; known: \(FDM.Bug.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        func run() async throws {
            let command = self
            try await Interruption.runReportingInterruption { try await command.body() }
        }

        func body() async throws {
            let matrix = try plan()
            let outDir = out ?? RunStore.defaultDirectory(scenarios: ["matrix"])
            if backend != "sim", parallel > 1 {
                // Reap dead runs once, before the parallel runs start (they skip their own reaping).
                let report = await Reaper.clean(runID: nil, journalDir: RunJournal.defaultDirectory, runner: ProcessCommandRunner())
                if !report.removed.isEmpty, !quiet { print("reaped \(report.removed.count) leftovers of dead runs") }
            }
            let clusterBackend: any ClusterBackend = switch backend {
            case "netns": NetnsBackend(reapDeadRuns: parallel == 1)
            case "compose": ComposeBackend(reapDeadRuns: parallel == 1)
            default: SimBackend()
            }
            let runner = MatrixRunner(
                matrix: matrix, backend: clusterBackend, timeScale: timeScale, seed: seed,
                bugs: Set(bug.compactMap(FDM.Bug.init(rawValue:))), outDirectory: outDir, parallel: parallel,
                // Real nodes run in real time: show each cell's story as it happens (one cell at a time only).
                progress: !quiet && parallel == 1 && backend != "sim" ? { @Sendable _, line in print("  " + line) } : nil
            )
            let verbose = !quiet
            if verbose {
                print("isolation matrix: \(matrix.cells.count) cells on \(matrix.topology.name), \(matrix.isolatedHost) isolated, "
                      + "backend \(backend), scale \(formatSeconds(timeScale)), seed \(seed) → \(outDir)")
                for note in matrix.adjustments { print("  note: \(note)") }
            }
            let results = await runner.run(
                onStart: { cell in if verbose { print("▶ \(cell.name)") } },
                onFinish: { result in
                    guard verbose else { return }
                    print("■ \(result.cell.name): \(result.verdict.rawValue.uppercased())")
                    for vm in result.vms { print("    \(vm.observation.summary)") }
                    for reason in result.reasons { print("    ✗ \(reason)") }
                }
            )
            let report = MatrixReport(matrix: matrix, backend: backend, timeScale: timeScale, seed: seed, bugs: bug, results: results)
            let markdown = report.markdown()
            do {
                try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
                try markdown.write(toFile: "\(outDir)/matrix.md", atomically: true, encoding: .utf8)
                try report.html().write(toFile: "\(outDir)/matrix.html", atomically: true, encoding: .utf8)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try encoder.encode(report).write(to: URL(fileURLWithPath: "\(outDir)/matrix.json"), options: .atomic)
            } catch {
                FileHandle.standardError.write(Data("matrix: cannot write the report to \(outDir): \(error)\n".utf8))
                print(markdown)
                throw ExitCode(Exit.unknown)
            }
            if out == nil { RunStore.pointLatest(at: outDir) }
            print("")
            print(markdown)
            print("\(report.tally) — \(outDir)/matrix.md, \(outDir)/matrix.html")
            throw ExitCode(report.exitCode)
        }

        /// The matrix on `--topology` (its first scenario) or on the default topology.
        func plan() throws -> IsolationMatrix {
            let topologyScenario: Scenario
            if let topology {
                let scenarios = try ScenarioLoader.load(paths: [topology])
                guard let first = scenarios.first else { throw ValidationError("no scenario file found at \(topology)") }
                topologyScenario = first
            } else {
                topologyScenario = IsolationMatrix.defaultTopology()
            }
            do {
                return try IsolationMatrix(topology: topologyScenario)
            } catch {
                throw ValidationError(error.description)
            }
        }
    }
}
