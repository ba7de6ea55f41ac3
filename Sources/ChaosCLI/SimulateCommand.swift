import ArgumentParser
import ChaosKit
import Foundation
import HACore

extension Chaos {
    struct Simulate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run random fault schedules in the simulator, one per seed, and check safety invariants.",
            discussion: """
            Swarm testing: every seed draws its own fault mix and intensities. On a violation the \
            schedule is written as a scenario file and the exact replay command is printed.

            Examples:
              chaos simulate --seeds 2000 --hosts 8
              chaos simulate --seeds 1 --start-seed 1234 --hosts 8 --vms 16   # replay one seed
            """
        )

        @Option(name: .long, help: "How many seeds to run.") var seeds: Int = 100
        @Option(name: .long, help: "First seed.") var startSeed: UInt64 = 1
        @Option(name: .long, help: "Hosts per cluster.") var hosts: Int = 8
        @Option(name: .long, help: "VMs per cluster (default: 2 per host).") var vms: Int?
        @Option(name: .long, help: "Break one HA rule on purpose (mutation testing).") var bug: [String] = []
        @Option(name: .long, help: "Folder for failing schedules (default: runs/simulate-<timestamp>).") var out: String?

        func validate() throws {
            guard seeds > 0 else { throw ValidationError("--seeds must be positive") }
            guard (2...128).contains(hosts) else { throw ValidationError("--hosts must be in 2...128") }
            for name in bug where FDM.Bug(rawValue: name) == nil { throw ValidationError("unknown --bug \"\(name)\"") }
        }

        func run() async throws {
            let vmCount = vms ?? hosts * 2
            let bugs = Set(bug.compactMap(FDM.Bug.init(rawValue:)))
            let outDir = out ?? "runs/simulate-\(RunStore.stamp())"
            let backend = SimBackend()
            let clock = ContinuousClock()
            let started = clock.now
            var simulated = 0.0
            var violations = 0
            var inconclusive = 0
            for offset in 0..<seeds {
                let seed = startSeed &+ UInt64(offset)
                let scenario = ScheduleGenerator.scenario(seed: seed, hosts: hosts, vms: vmCount)
                let history = backend.runSynchronously(scenario, options: RunOptions(timeScale: 1, seed: seed, bugs: bugs))
                simulated += history.duration
                let checks = Checker.check(history, expectations: scenario.expectations)
                if checks.contains(where: { $0.passed == nil }) { inconclusive += 1 }
                let failed = checks.filter { $0.passed == false }
                guard !failed.isEmpty else { continue }
                violations += 1
                let dir = "\(outDir)/\(scenario.name)"
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                try ScenarioWriter.yaml(scenario).write(toFile: "\(dir)/scenario.yaml", atomically: true, encoding: .utf8)
                try RunWriter.write(history: history, checks: checks, to: dir)
                print("✗ seed \(seed): \(failed.map(\.id).joined(separator: ", "))")
                for check in failed { print("    \(check.id): expected \(check.expected); observed \(check.observed)") }
                let bugFlags = bug.map { " --bug \($0)" }.joined()
                print("  replay: chaos simulate --seeds 1 --start-seed \(seed) --hosts \(hosts) --vms \(vmCount)\(bugFlags)")
                print("      or: chaos run \(dir)/scenario.yaml --seed \(seed)\(bugFlags)")
            }
            let wall = started.duration(to: clock.now).inSeconds
            let speed = wall > 0 ? simulated / wall : 0
            print("\(seeds) seeds, \(hosts) hosts, \(vmCount) VMs: \(violations) with violations, \(inconclusive) with an inconclusive check")
            print("simulated \(Int(simulated)) s in \(formatSeconds(wall)) s wall: \(Int(speed))× real time")
            throw ExitCode(violations > 0 ? Exit.invalid : Exit.valid)
        }
    }

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Parse and check scenario files without running anything.",
            discussion: """
            Prints file:line:column and a sentence for the first error in a file; exit 254 on any error.

            Example:
              chaos validate faults/
            """
        )
        @Argument(help: "Scenario files or folders.") var paths: [String]

        func run() throws {
            let scenarios = try ScenarioLoader.load(paths: paths)
            for scenario in scenarios { print("ok  \(scenario.name)  (\(scenario.sourcePath))") }
            print("\(scenarios.count) scenarios valid")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List scenarios with their one-line descriptions.",
            discussion: "Example:\n  chaos list faults/"
        )
        @Argument(help: "Scenario files or folders (default: faults/).") var paths: [String] = ["faults"]

        func run() throws {
            let scenarios = try ScenarioLoader.load(paths: paths)
            let width = scenarios.map(\.name.count).max() ?? 0
            for scenario in scenarios {
                print(scenario.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + scenario.description)
            }
        }
    }

    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-check a stored run offline and rewrite its report (no cluster is started).",
            discussion: "Example:\n  chaos report runs/20261124-101500/host-failure"
        )
        @Argument(help: "Run folders (each holding history.json), or folders of them (e.g. runs/latest).") var runs: [String]
        @Option(name: .long, help: "Scenario file whose expectations to check (default: the scenario.yaml stored in the run).") var scenario: String?

        /// Scenario run folders under `path`: itself when it holds history.json, else its children that do.
        static func runFolders(_ path: String) throws -> [String] {
            let fm = FileManager.default
            if fm.fileExists(atPath: path + "/history.json") { return [path] }
            guard let children = try? fm.contentsOfDirectory(atPath: path) else {
                throw ValidationError("\(path): not a run folder (no history.json) and not a folder of runs")
            }
            let found = children.sorted().map { path + "/" + $0 }.filter { fm.fileExists(atPath: $0 + "/history.json") }
            guard !found.isEmpty else { throw ValidationError("\(path): no run folder (holding history.json) in it") }
            return found
        }

        func run() throws {
            var rows: [SummaryRow] = []
            var differing = 0
            for dir in try runs.flatMap(Self.runFolders) {
                let history = try RunWriter.readHistory(from: dir)
                let stored = try? JSONDecoder().decode(ResultDocument.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/result.json")))
                // The scenario as it ran is stored beside the history.
                let source = scenario ?? dir + "/scenario.yaml"
                let expectations = try ScenarioLoader.load(paths: [source]).first?.expectations ?? []
                let checks = Checker.check(history, expectations: expectations)
                let document = try RunWriter.write(history: history, checks: checks, to: dir)
                let row = SummaryRow(history: history, checks: checks, document: document)
                print("■ \(dir)")
                row.printDetail()
                if let stored {
                    let differences = ReportComparison.differences(stored: stored, rechecked: document)
                    if differences.isEmpty {
                        print("  reproduced: verdict \(document.verdict) and all \(document.checks.count) check results as stored")
                    } else {
                        differing += 1
                        print("  DIFFERS from the stored result:")
                        for d in differences { print("    ≠ \(d)") }
                    }
                } else {
                    print("  (no readable stored result.json to compare with)")
                }
                rows.append(row)
            }
            if differing > 0 { print("\(differing) run(s) re-checked to a different result than stored (checker or expectations changed since)") }
            SummaryRow.printTable(rows, outDir: runs.joined(separator: " "))
            throw ExitCode(SummaryRow.exitCode(rows))
        }
    }
}
