import ArgumentParser
import ChaosKit
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `chaos-bench`: measures the harness itself (issue 8) — not part of the tests.
@main
struct ChaosBenchCommand: AsyncParsableCommand {
    static let sections = ["netns", "faults", "steady", "sim", "fidelity", "checker"]

    static let configuration = CommandConfiguration(
        commandName: "chaos-bench",
        abstract: "Measure the harness: netns bring-up/teardown, fault latency, simulator speed, steady state, timing fidelity, checker cost.",
        discussion: """
        Prints one table (median, min–max, repetitions, goal, met/missed) with nproc, the load
        averages at start and end and the commit, and writes the same as JSON. netns, faults,
        steady and fidelity need root. Everything created is journaled and removed; the end of
        the run checks that nothing of it is left.

        Sections: \(sections.joined(separator: ", ")).

        Examples:
          chaos-bench --quick
          chaos-bench --only sim,checker --reps 5
          chaos-bench --only fidelity --fidelity-sizes 32,64 --out bench.json
        """
    )

    @Flag(name: .long, help: "Fewer repetitions and smaller sizes (about 5 minutes).") var quick = false
    @Option(name: .long, help: "Comma-separated sections to run (default: all).") var only: String?
    @Option(name: .long, help: "Repetitions per figure (default 5, --quick 2).") var reps: Int?
    @Option(name: .long, help: "Repetitions of each timing-fidelity scenario (default 1: each lasts ~2 min at scale 1).") var fidelityReps: Int?
    @Option(name: .long, help: "Repetitions of each fault injection (default: max(reps, 5); --quick 3). A half-cluster partition of 32 hosts is one iptables-restore per namespace of one side (16) each way.") var faultReps: Int?
    @Option(name: .long, help: "Cluster sizes for bring-up/teardown and simulator speed (default 8,32,64; --quick 8,32).") var sizes: String?
    @Option(name: .long, help: "Cluster sizes for timing fidelity (default 32,64; --quick 32).") var fidelitySizes: String?
    @Option(name: .long, help: "Where to write the JSON result.") var out: String = "bench.json"
    @Option(name: .long, help: "Scratch folder for run folders (removed afterwards).") var work: String?
    @Option(name: .long, help: "Commit to record (default: git rev-parse --short HEAD).") var commit: String?

    func validate() throws {
        if let only {
            for s in only.split(separator: ",") where !Self.sections.contains(String(s)) {
                throw ValidationError("unknown section \"\(s)\" (known: \(Self.sections.joined(separator: ", ")))")
            }
        }
        if let reps, reps < 1 { throw ValidationError("--reps must be at least 1") }
    }

    static func parseSizes(_ text: String?, default value: [Int]) throws -> [Int] {
        guard let text else { return value }
        let sizes = text.split(separator: ",").compactMap { Int($0) }
        guard !sizes.isEmpty, sizes.allSatisfy({ (2...128).contains($0) }) else { throw ValidationError("sizes must be in 2...128") }
        return sizes
    }

    func run() async throws {
        let selected = Set(only.map { $0.split(separator: ",").map(String.init) } ?? Self.sections)
        let reps = reps ?? (quick ? 2 : 5)
        let sizes = try Self.parseSizes(sizes, default: quick ? [8, 32] : [8, 32, 64])
        let fidelitySizes = try Self.parseSizes(fidelitySizes, default: quick ? [32] : [32, 64])
        let work = work ?? FileManager.default.temporaryDirectory.appendingPathComponent("hachaos-bench-\(getpid())").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let clock = ContinuousClock()
        let started = clock.now
        let stamp = ISO8601DateFormatter().string(from: Date())
        let args = CommandLine.arguments.dropFirst().joined(separator: " ")
        let report = BenchReport(environment: Environment(
            nproc: ProcessInfo.processInfo.activeProcessorCount, loadStart: Environment.loadAverage(), loadEnd: [],
            commit: commit ?? Self.gitCommit(), startedAt: stamp, wallSeconds: 0, options: args.isEmpty ? "(defaults)" : args,
            leftovers: [], othersSeen: []
        ))
        print("chaos-bench: sections \(Self.sections.filter(selected.contains).joined(separator: ",")), reps \(reps), sizes \(sizes), fidelity sizes \(fidelitySizes), nproc \(report.environment.nproc), load \(report.environment.loadStart)")
        let root = geteuid() == 0
        var runIDs: [RunID] = []

        if selected.contains("sim") { SimBench.speed(report: report, sizes: sizes, reps: reps) }
        if selected.contains("checker") { SimBench.checker(report: report, reps: reps) }
        let real = ["netns", "faults", "steady"].filter(selected.contains)
        if !real.isEmpty {
            if root {
                var bench = NetnsBench(
                    report: report, reps: reps, sizes: sizes, measureBringUp: selected.contains("netns"),
                    measureFaults: selected.contains("faults"), measureSteady: selected.contains("steady"),
                    steadySettle: quick ? 5 : 10, steadyWindow: quick ? 10 : 20, faultReps: faultReps ?? (quick ? 3 : max(reps, 5)), workRoot: work
                )
                await bench.run()
                runIDs += bench.runIDs
            } else {
                for s in real { report.add(section: s, what: "(all rows)", unit: "", samples: [], note: "not measured: needs root") }
            }
        }
        if selected.contains("fidelity") {
            if root {
                var bench = FidelityBench(report: report, sizes: fidelitySizes, reps: fidelityReps ?? 1, workRoot: work)
                await bench.run()
                runIDs += bench.runIDs
            } else {
                report.add(section: "fidelity", what: "(all rows)", unit: "", samples: [], note: "not measured: needs root")
            }
        }
        try? FileManager.default.removeItem(atPath: work)

        let (leftovers, others) = await Self.leftovers(of: runIDs)
        report.environment.leftovers = leftovers
        report.environment.othersSeen = others
        report.environment.loadEnd = Environment.loadAverage()
        report.environment.wallSeconds = Stopwatch.seconds(started.duration(to: clock.now))
        report.printTable()
        try report.write(to: out)
        print("wrote \(out)")
        if !leftovers.isEmpty { throw ExitCode(2) }
    }

    static func gitCommit() -> String {
        let pipe = Pipe()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "rev-parse", "--short", "HEAD"]
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return "unknown" }
        process.waitUntilExit()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "unknown" : text
    }

    /// What is left of the bench's runs (namespaces, links, mounts, cgroups, journals), and
    /// the hac-* resources of other runs (informational: other runs may be alive).
    static func leftovers(of runIDs: [RunID]) async -> ([String], [String]) {
        let runner = ProcessCommandRunner()
        var found: [String] = []
        if let netns = try? await runner.run(["ip", "netns", "list"], timeout: .seconds(10), input: nil) {
            found += netns.stdout.split(separator: "\n").map { "netns " + ($0.split(separator: " ").first.map(String.init) ?? "") }.filter { $0.contains("hac-") }
        }
        if let links = try? await runner.run(["ip", "-br", "link"], timeout: .seconds(10), input: nil) {
            found += links.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").first.map { "link \($0)" } }.filter { $0.hasPrefix("link hac") }
        }
        if let mounts = SystemPaths.readWholeFile("/proc/mounts") {
            found += mounts.split(separator: "\n").filter { $0.contains("hachaos") || $0.contains("hac-") }.map { "mount \($0.split(separator: " ").prefix(2).joined(separator: " "))" }
        }
        for controller in ["freezer", "pids", "memory"] {
            let base = "/sys/fs/cgroup/\(controller)/hachaos"
            for child in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] where !child.contains(".") {
                found.append("cgroup \(base)/\(child)")
            }
            if FileManager.default.fileExists(atPath: base) { found.append("cgroup \(base)") }
        }
        for file in (try? FileManager.default.contentsOfDirectory(atPath: RunJournal.defaultDirectory)) ?? [] where file.hasSuffix(".jsonl") {
            found.append("journal \(file)")
        }
        let mine = found.filter { item in runIDs.contains { item.contains($0.rawValue) } }
        return (mine, found.filter { !mine.contains($0) })
    }
}
