import Foundation
import HACore

/// `chaos nightly`: random schedules from a seed, one after another inside a wall-clock budget,
/// every check on every run, failures grouped by signature, then triage — each finding re-run
/// N times (deterministic or flaky) and shrunk to a small replayable scenario file.
///
/// Works with any ``ClusterBackend``. The budget is split: the runs stop when the next one would
/// not end in time — keeping ``Configuration/triageShare`` of the budget for triage once there
/// is a finding — and triage stops at the budget's end (findings it did not reach say so).
///
/// Folder layout (`outDirectory`):
/// ```
/// summary.md  summary.json  junit.xml
/// runs/swarm-<seed>/            run folders (every run on a real backend; failing runs in the simulator)
/// findings/<signature id>/      original.yaml, shrunk.yaml, replay/ (the replayed shrunk run), rerun-k/
/// ```
public struct NightlyRunner: Sendable {
    /// What to run and for how long.
    public struct Configuration: Sendable {
        /// Where the schedules run.
        public var backend: any ClusterBackend
        /// Wall-clock budget for the whole nightly (runs and triage).
        public var budget: Duration
        /// Run *i* uses seed `startSeed + i`.
        public var startSeed: UInt64
        /// What schedules may contain.
        public var generator: ScheduleGenerator.Options
        public var timeScale: Double
        /// Mutants in force in every run (a nightly against a mutant).
        public var bugs: Set<FDM.Bug>
        /// The nightly folder.
        public var outDirectory: String
        /// Re-runs per finding for the flake classification (N).
        public var reruns: Int
        /// Shrink each finding.
        public var shrink: Bool
        /// At most this many candidate runs per shrink (`nil`: 400 in the simulator, 40 on real nodes).
        public var shrinkTests: Int?
        /// Stop after this many runs (`nil`: the budget decides).
        public var maxRuns: Int?
        /// Share of the budget kept for triage once a finding exists.
        public var triageShare: Double
        /// Run folders kept per signature in the simulator (every run is kept on real backends).
        public var foldersPerSignature: Int
        /// The command-line prefix of replay commands (`chaos`).
        public var commandName: String
        /// Progress lines (one per finding, a status line now and then).
        public var progress: (@Sendable (String) -> Void)?

        public init(
            backend: any ClusterBackend, budget: Duration, startSeed: UInt64 = 1, generator: ScheduleGenerator.Options = .init(),
            timeScale: Double = 1, bugs: Set<FDM.Bug> = [], outDirectory: String, reruns: Int = 5, shrink: Bool = true,
            maxRuns: Int? = nil, triageShare: Double = 0.2, foldersPerSignature: Int = 3, commandName: String = "chaos",
            shrinkTests: Int? = nil, progress: (@Sendable (String) -> Void)? = nil
        ) {
            self.backend = backend
            self.budget = budget
            self.startSeed = startSeed
            self.generator = generator
            self.timeScale = timeScale
            self.bugs = bugs
            self.outDirectory = outDirectory
            self.reruns = reruns
            self.shrink = shrink
            self.shrinkTests = shrinkTests
            self.maxRuns = maxRuns
            self.triageShare = triageShare
            self.foldersPerSignature = foldersPerSignature
            self.commandName = commandName
            self.progress = progress
        }

        var isSimulator: Bool { backend.name == "sim" }
    }

    public let configuration: Configuration

    /// The runs stop after this many infrastructure failures in a row (a broken machine, not a finding).
    public static let maxConsecutiveErrors = 3

    public init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    /// A finding while the runs go on: its first occurrence kept in memory for triage.
    struct Pending {
        var finding: NightlyFinding
        var scenario: Scenario
        var options: RunOptions
        var folders = 0
    }

    // MARK: - Running

    /// Runs the nightly, writes its folder and returns the summary.
    public func run() async -> NightlySummary {
        let c = configuration
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + c.budget
        var summary = NightlySummary(
            backend: c.backend.name, timeScale: c.timeScale, startSeed: c.startSeed, lastSeed: nil, hosts: c.generator.hostCount,
            vms: c.generator.vmCount, bugs: c.bugs.map(\.rawValue).sorted(), budgetSeconds: c.budget.inSeconds, wallSeconds: 0,
            runWallSeconds: 0, runs: 0, passed: 0, failed: 0, inconclusive: 0, errors: 0, seedsPerHour: 0, modelSeconds: 0,
            faultsPerKind: [:], checks: [:], findings: [], errorMessages: [], command: ""
        )
        var pending: [String: Pending] = [:]
        var order: [String] = []
        // Wall time per run beyond the schedule's own length (set-up, tear-down), learnt as we go.
        var overhead: Double = c.isSimulator ? 0 : 20
        var meanWall: Double = 0
        var lastStatus = clock.now
        var index: UInt64 = 0
        var consecutiveErrors = 0
        while true {
            // SIGINT/SIGTERM to `chaos` cancels: the run in progress tears its cluster down and
            // is not counted; the summary covers the runs that ended.
            if Task.isCancelled { break }
            if let maxRuns = c.maxRuns, summary.runs >= maxRuns { break }
            let seed = c.startSeed &+ index
            let (scenario, _) = ScheduleGenerator.generate(seed: seed, options: c.generator)
            // Does the next run fit? Keep a share for triage once something was found.
            let reserve = pending.isEmpty ? 0 : c.budget.inSeconds * c.triageShare
            let estimate = c.isSimulator ? meanWall : scenario.duration * c.timeScale + overhead
            let elapsed = start.duration(to: clock.now).inSeconds
            if summary.runs > 0 || !c.isSimulator, elapsed + estimate > c.budget.inSeconds - reserve { break }
            if elapsed >= c.budget.inSeconds { break }
            index += 1

            let runFolder = "runs/\(scenario.name)"
            let options = RunOptions(
                timeScale: c.timeScale, seed: seed, bugs: c.bugs,
                workDirectory: c.isSimulator ? nil : "\(c.outDirectory)/\(runFolder)"
            )
            let runStart = clock.now
            let history: History
            do {
                history = try await c.backend.run(scenario, options: options)
            } catch {
                if Task.isCancelled { break }
                summary.runs += 1
                summary.errors += 1
                if summary.errorMessages.count < 20 { summary.errorMessages.append("seed \(seed): \(error)") }
                c.progress?("✗ seed \(seed): infrastructure failure: \(error)")
                consecutiveErrors += 1
                if consecutiveErrors >= Self.maxConsecutiveErrors {
                    summary.errorMessages.append("stopped after \(consecutiveErrors) infrastructure failures in a row")
                    break
                }
                continue
            }
            if Task.isCancelled { break }
            consecutiveErrors = 0
            let wall = runStart.duration(to: clock.now).inSeconds
            summary.runs += 1
            summary.lastSeed = seed
            meanWall += (wall - meanWall) / Double(summary.runs)
            if !c.isSimulator { overhead += (max(0, wall - scenario.duration * c.timeScale) - overhead) / Double(summary.runs) }
            summary.modelSeconds += history.duration / max(history.timeScale, 1e-9)
            for record in history.faults { summary.faultsPerKind[record.fault.kind, default: 0] += 1 }

            let checks = Checker.check(history, expectations: scenario.expectations)
            for check in checks {
                let family = FindingSignature.checkFamily(check.id)
                switch check.passed {
                case true?: summary.checks[family, default: .init()].passed += 1
                case false?: summary.checks[family, default: .init()].failed += 1
                case nil: summary.checks[family, default: .init()].inconclusive += 1
                }
            }
            switch CheckResult.verdict(of: checks) {
            case .pass: summary.passed += 1
            case .fail: summary.failed += 1
            case .inconclusive: summary.inconclusive += 1
            }
            let failed = checks.filter { $0.passed == false }
            var keepFolder = !c.isSimulator
            let firstFault = history.faults.map(\.injectedAt).min()
            var seenThisRun = Set<String>()
            for check in failed {
                let signature = FindingSignature(check, history: history)
                let id = signature.id
                // One run counts once per signature (two VMs down for the same reason are one finding).
                guard seenThisRun.insert(id).inserted else { continue }
                if var known = pending[id] {
                    known.finding.count += 1
                    if known.finding.seeds.count < 50 { known.finding.seeds.append(seed) }
                    if known.folders < c.foldersPerSignature { known.folders += 1; keepFolder = true }
                    pending[id] = known
                    continue
                }
                keepFolder = true
                var modelAfter: Double?
                if let at = check.at, let firstFault { modelAfter = (at - firstFault) / history.timeScale }
                let finding = NightlyFinding(
                    signature: signature, id: id, check: check.id, name: check.name, count: 1, seeds: [seed], firstSeed: seed,
                    runFolder: runFolder, expected: check.expected, observed: check.observed,
                    modelSecondsAfterFirstFault: modelAfter, steps: scenario.steps.count, flake: nil, shrunk: nil,
                    replayCommand: replayCommand(path: "\(c.outDirectory)/\(runFolder)/scenario.yaml", backend: c.backend.name, seed: seed)
                )
                pending[id] = Pending(finding: finding, scenario: scenario, options: options, folders: 1)
                order.append(id)
                c.progress?("✗ seed \(seed): \(check.id) \(signature.text)")
            }
            if keepFolder {
                let dir = "\(c.outDirectory)/\(runFolder)"
                do {
                    try RunWriter.write(history: history, checks: checks, to: dir)
                    try ScenarioWriter.yaml(scenario).write(toFile: "\(dir)/scenario.yaml", atomically: true, encoding: .utf8)
                } catch {
                    c.progress?("cannot write \(dir): \(error)")
                }
            }
            if !c.isSimulator || lastStatus.duration(to: clock.now) >= .seconds(30) {
                lastStatus = clock.now
                let rate = Double(summary.runs) / max(start.duration(to: clock.now).inSeconds, 1e-9) * 3600
                c.progress?("… \(summary.runs) runs (seed \(seed)), \(pending.count) finding(s), \(Int(rate)) seeds/hour")
            }
        }
        summary.runWallSeconds = start.duration(to: clock.now).inSeconds
        summary.seedsPerHour = summary.runWallSeconds > 0 ? Double(summary.runs) / summary.runWallSeconds * 3600 : 0

        // Triage: most frequent first, until the budget ends.
        // Each finding gets a fair share of what is left, so one long shrink cannot starve the rest.
        let ranked = order.sorted { (pending[$0]?.finding.count ?? 0, $1) > (pending[$1]?.finding.count ?? 0, $0) }
        for (position, id) in ranked.enumerated() {
            guard var item = pending[id] else { continue }
            let now = clock.now
            if now < deadline, !Task.isCancelled {
                let share = now.duration(to: deadline) / (ranked.count - position)
                c.progress?("triage \(id): \(item.finding.check) (\(item.finding.count) run(s))")
                item.finding = await triage(item, deadline: min(deadline, now + share), overhead: overhead)
                pending[id] = item
            }
            summary.findings.append(item.finding)
        }
        summary.wallSeconds = start.duration(to: clock.now).inSeconds
        return summary
    }

    // MARK: - Triage

    /// Classifies and shrinks one finding.
    func triage(_ item: Pending, deadline: ContinuousClock.Instant, overhead: Double) async -> NightlyFinding {
        let c = configuration
        var finding = item.finding
        let folder = "findings/\(finding.id)"
        let dir = "\(c.outDirectory)/\(folder)"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try? ScenarioWriter.yaml(item.scenario).write(toFile: "\(dir)/original.yaml", atomically: true, encoding: .utf8)

        let estimate: Duration = c.isSimulator ? .zero : .seconds(item.scenario.duration * c.timeScale + overhead)
        finding.flake = await FlakeClassifier.classify(
            item.scenario, check: finding.check, backend: c.backend, options: item.options, runs: c.reruns,
            deadline: deadline, workDirectory: c.isSimulator ? nil : dir, estimatedRun: estimate, signature: finding.signature
        )
        if finding.flake?.runs == 0 { finding.flake = nil }
        guard c.shrink, ContinuousClock.now < deadline else { return finding }

        // Shrink in the simulator when the failure reproduces there; else on the backend itself.
        let simulator = SimBackend()
        var shrinkBackend: any ClusterBackend = c.backend
        if !c.isSimulator {
            let inSim = Shrinker.oracle(backend: simulator, options: item.options, check: finding.check, signature: finding.signature)
            if await inSim(item.scenario) { shrinkBackend = simulator }
        }
        let onSimulator = shrinkBackend.name == "sim"
        let oracle = Shrinker.oracle(
            backend: shrinkBackend, options: item.options, check: finding.check, signature: finding.signature,
            workDirectory: onSimulator ? nil : "\(dir)/shrink"
        )
        // On a real backend every candidate is a run of minutes: none may start that would end
        // after the budget, and a shrink that could not run a single candidate is no shrink.
        let limits = Shrinker.Limits(maxTests: c.shrinkTests ?? (onSimulator ? 400 : 40), deadline: deadline,
                                     estimatedTest: onSimulator ? .zero : estimate)
        if !onSimulator, ContinuousClock.now + estimate * 2 >= deadline { return finding }
        let result = await Shrinker.shrink(item.scenario, limits: limits, stillFails: oracle)
        if !onSimulator, result.tests == 0 { return finding }
        let path = "\(folder)/shrunk.yaml"
        let fullPath = "\(c.outDirectory)/\(path)"
        do {
            try ScenarioWriter.yaml(result.scenario).write(toFile: fullPath, atomically: true, encoding: .utf8)
        } catch {
            c.progress?("cannot write \(fullPath): \(error)")
            return finding
        }
        // Replay exactly as the printed command does: parse the file back, run, check.
        let command = replayCommand(path: fullPath, backend: shrinkBackend.name, seed: item.options.seed)
        var reproduced = false
        var replaySkipped = false
        // (On a real backend the replay may end up to a minute past the budget, no more.)
        if let replayed = try? ScenarioLoader.load(paths: [fullPath]).first {
            if !onSimulator, ContinuousClock.now + .seconds(replayed.duration * c.timeScale + overhead) >= deadline + .seconds(60) {
                replaySkipped = true
            } else {
                var options = item.options
                options.workDirectory = onSimulator ? nil : "\(dir)/replay"
                if let history = try? await shrinkBackend.run(replayed, options: options) {
                    let checks = Checker.check(history, expectations: replayed.expectations)
                    reproduced = checks.contains { $0.id == finding.check && $0.passed == false && FindingSignature($0, history: history) == finding.signature }
                    _ = try? RunWriter.write(history: history, checks: checks, to: "\(dir)/replay")
                }
            }
        }
        var shrunk = ShrunkFinding(
            backend: shrinkBackend.name, originalSteps: result.originalSteps, steps: result.steps, tests: result.tests,
            complete: result.complete, path: path, replayCommand: command, replayReproduced: reproduced, replaySkipped: replaySkipped ? true : nil,
            reproducedOnBackend: nil, timeline: result.scenario.steps.map(Self.describe)
        )
        // Shrunk in the simulator for a real backend: confirm on the backend if time is left.
        if onSimulator, !c.isSimulator, ContinuousClock.now + .seconds(result.scenario.duration * c.timeScale + 30) < deadline {
            var options = item.options
            options.workDirectory = "\(dir)/confirm"
            let confirm = Shrinker.oracle(backend: c.backend, options: options, check: finding.check, signature: finding.signature)
            shrunk.reproducedOnBackend = await confirm(result.scenario)
        }
        finding.shrunk = shrunk
        c.progress?("  shrunk \(result.originalSteps) → \(result.steps) step(s) in \(result.tests) test run(s) on \(shrinkBackend.name); replay: \(command)")
        return finding
    }

    /// Seconds in a budget written `90s`, `30m`, `2h`, `1h30m` or as plain seconds; `nil` when it
    /// is none of these.
    public static func parseBudget(_ text: String) -> Double? {
        if let plain = Double(text) { return plain }
        var total = 0.0
        var number = ""
        var sawUnit = false
        for c in text.lowercased() {
            if c.isNumber || c == "." {
                number.append(c)
                continue
            }
            guard let value = Double(number) else { return nil }
            switch c {
            case "h": total += value * 3600
            case "m": total += value * 60
            case "s": total += value
            default: return nil
            }
            number = ""
            sawUnit = true
        }
        return sawUnit && number.isEmpty ? total : nil
    }

    /// `chaos run <path> --backend B --seed S [--time-scale F] [--bug X]…`.
    func replayCommand(path: String, backend: String, seed: UInt64) -> String {
        let c = configuration
        var parts = [c.commandName, "run", path, "--backend", backend, "--seed", String(seed)]
        if c.timeScale != 1 { parts += ["--time-scale", formatSeconds(c.timeScale)] }
        for bug in c.bugs.map(\.rawValue).sorted() { parts += ["--bug", bug] }
        return parts.joined(separator: " ")
    }

    /// `t=60 host.powerOff host-2 → healed t=90`.
    static func describe(_ step: FaultStep) -> String {
        var text = "t=\(formatSeconds(step.at)) \(step.fault.kind) \(step.fault.targets.joined(separator: " "))"
        if let heal = step.healAt { text += " → healed t=\(formatSeconds(heal))" }
        return text
    }
}
