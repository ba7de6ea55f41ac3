import Foundation
import HACore

/// `chaos mutants`: does the checker catch real HA bugs? Runs the scenario corpus and a short
/// nightly sample against each mutant (``FDM/Bug``: one broken rule in every agent, or in
/// every host's VM layer) and reports, per mutant, whether it was caught, by which check, and
/// after how long — the kill rate of the checker (mutation testing).
///
/// A check *catches* a mutant when it fails under the mutant on a scenario (and seed) on which
/// the unmutated build did not fail it: the same runs are made once without a mutant first
/// (the baseline), so a check that already fails there is no evidence. Time to catch is the
/// model time from the first fault to the moment of the first catching finding
/// (``CheckResult/at``), plus the wall time from the mutant's first run to the end of the run
/// that caught it.
public struct MutantZoo: Sendable {
    /// What to run.
    public struct Configuration: Sendable {
        public var backend: any ClusterBackend
        /// The corpus (`faults/`), run with each scenario's own expectations.
        public var corpus: [Scenario]
        /// Seeds of the nightly sample (generated schedules with the nightly invariant set).
        public var sampleSeeds: [UInt64]
        public var generator: ScheduleGenerator.Options
        public var timeScale: Double
        /// The simulator seed of corpus runs.
        public var seed: UInt64
        /// The mutants to try.
        public var bugs: [FDM.Bug]
        /// Stop a mutant's runs at its first catch (real backends: each run takes minutes).
        public var stopAtFirstCatch: Bool
        /// Where to write each mutant's first catching run (`<out>/<mutant>/<scenario>/`), if anywhere.
        public var outDirectory: String?
        /// Runs at once (real backends: clusters side by side). Results are judged in run order,
        /// so the first catch is the same as with one run at a time; with `stopAtFirstCatch` a
        /// mutant's runs go in batches of this size and stop after the batch that caught it.
        public var parallel: Int
        /// Per mutant (raw name), scenario names to run first: on a real backend, the scenarios
        /// that caught it in the simulator (test prioritisation; every other scenario follows in
        /// corpus order, so a mutant the simulator missed still meets the whole corpus).
        public var priority: [String: [String]]
        /// A line per run and per verdict.
        public var progress: (@Sendable (String) -> Void)?

        public init(
            backend: any ClusterBackend, corpus: [Scenario], sampleSeeds: [UInt64], generator: ScheduleGenerator.Options = .init(),
            timeScale: Double = 1, seed: UInt64 = 1, bugs: [FDM.Bug] = FDM.Bug.allCases, stopAtFirstCatch: Bool = false,
            outDirectory: String? = nil, parallel: Int = 1, priority: [String: [String]] = [:],
            progress: (@Sendable (String) -> Void)? = nil
        ) {
            self.backend = backend
            self.corpus = corpus
            self.sampleSeeds = sampleSeeds
            self.generator = generator
            self.timeScale = timeScale
            self.seed = seed
            self.bugs = bugs
            self.stopAtFirstCatch = stopAtFirstCatch
            self.outDirectory = outDirectory
            self.parallel = max(1, parallel)
            self.priority = priority
            self.progress = progress
        }
    }

    /// One catch: a check that failed under the mutant and not on the baseline.
    public struct Catch: Sendable, Codable, Hashable {
        /// `corpus` or `nightly`.
        public var source: String
        public var scenario: String
        /// The seed of the run (simulator seed for the corpus, schedule seed for the sample).
        public var seed: UInt64
        public var check: String
        public var observed: String
        /// Model seconds from the first fault to the finding (`nil` when the check gave no moment).
        public var modelSecondsToCatch: Double?
        /// Wall seconds from the mutant's first run to the end of this run.
        public var wallSecondsToCatch: Double
    }

    /// The verdict on one mutant.
    public struct MutantResult: Sendable, Codable, Hashable {
        public var bug: String
        public var summary: String
        public var caught: Bool
        /// The first catch in run order (corpus first, then the sample).
        public var first: Catch?
        /// Every run that caught it, with its earliest catching check.
        public var catches: [Catch]
        /// Check ids that caught it somewhere, most frequent first.
        public var checks: [String]
        public var runs: Int
        public var errors: Int
        public var wallSeconds: Double
    }

    /// The whole zoo.
    public struct Report: Sendable, Codable {
        public var backend: String
        public var timeScale: Double
        public var corpus: [String]
        public var sampleSeeds: [UInt64]
        public var results: [MutantResult]
        /// Checks that already failed without a mutant, per scenario (not counted as catches).
        public var baselineFailures: [String: [String]]
        public var wallSeconds: Double

        /// Caught mutants / mutants.
        public var killRate: Double { results.isEmpty ? 0 : Double(results.filter(\.caught).count) / Double(results.count) }
        /// Median model seconds from the first fault to the first catch, over caught mutants.
        public var medianModelSecondsToCatch: Double? { median(results.compactMap { $0.first?.modelSecondsToCatch }) }
        /// Median wall seconds to the first catch, over caught mutants.
        public var medianWallSecondsToCatch: Double? { median(results.compactMap { $0.first?.wallSecondsToCatch }) }
    }

    public let configuration: Configuration

    public init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    /// One scenario run of the zoo.
    struct Job: Sendable {
        var source: String
        var scenario: Scenario
        var seed: UInt64
    }

    var jobs: [Job] {
        let c = configuration
        return c.corpus.map { Job(source: "corpus", scenario: $0, seed: c.seed) }
            + c.sampleSeeds.map { Job(source: "nightly", scenario: ScheduleGenerator.scenario(seed: $0, options: c.generator), seed: $0) }
    }

    // MARK: - Running

    /// Runs the baseline, then every mutant.
    public func run() async -> Report {
        let c = configuration
        let clock = ContinuousClock()
        let start = clock.now
        let jobs = self.jobs
        // Baseline: what fails without any mutant.
        var baseline: [Int: Set<String>] = [:]
        for (index, history) in await runAll(Array(jobs.indices), jobs: jobs, bugs: [], label: "baseline") {
            let checks = history.map { Checker.check($0, expectations: jobs[index].scenario.expectations) } ?? []
            baseline[index] = Set(checks.filter { $0.passed == false }.map(\.id))
            if let failed = baseline[index], !failed.isEmpty {
                c.progress?("baseline \(jobs[index].scenario.name): already fails \(failed.sorted().joined(separator: ", ")) (not counted)")
            }
        }
        var results: [MutantResult] = []
        for bug in c.bugs where !Task.isCancelled {
            let mutantStart = clock.now
            var result = MutantResult(bug: bug.rawValue, summary: bug.summary, caught: false, first: nil, catches: [], checks: [],
                                      runs: 0, errors: 0, wallSeconds: 0)
            var counts: [String: Int] = [:]
            let order = Self.order(jobs: jobs, first: c.priority[bug.rawValue] ?? [])
            let batchSize = c.stopAtFirstCatch ? c.parallel : max(order.count, 1)
            var batchStart = 0
            batches: while batchStart < order.count, !Task.isCancelled {
                let batch = Array(order[batchStart..<min(batchStart + batchSize, order.count)])
                batchStart += batch.count
                let histories = await runAll(batch, jobs: jobs, bugs: [bug], label: bug.rawValue)
                if Task.isCancelled { break batches }  // runs cut short by SIGINT/SIGTERM are not judged
                for (index, history) in histories {
                    let job = jobs[index]
                    result.runs += 1
                    guard let history else {
                        result.errors += 1
                        continue
                    }
                    let checks = Checker.check(history, expectations: job.scenario.expectations)
                    let new = checks.filter { $0.passed == false && !(baseline[index] ?? []).contains($0.id) }
                    guard !new.isEmpty else { continue }
                    for check in new { counts[check.id, default: 0] += 1 }
                    let firstFault = history.faults.map(\.injectedAt).min()
                    func modelTime(_ check: CheckResult) -> Double? {
                        guard let at = check.at else { return nil }
                        return max(0, at - (firstFault ?? 0)) / history.timeScale
                    }
                    let earliest = new.min { (modelTime($0) ?? .infinity) < (modelTime($1) ?? .infinity) } ?? new[0]
                    let caught = Catch(
                        source: job.source, scenario: job.scenario.name, seed: job.seed, check: earliest.id, observed: earliest.observed,
                        modelSecondsToCatch: modelTime(earliest), wallSecondsToCatch: mutantStart.duration(to: clock.now).inSeconds
                    )
                    result.catches.append(caught)
                    if result.first == nil {
                        result.first = caught
                        result.caught = true
                        if let out = c.outDirectory {
                            let dir = "\(out)/\(bug.rawValue)/\(job.scenario.name)"
                            _ = try? RunWriter.write(history: history, checks: checks, to: dir)
                            try? ScenarioWriter.yaml(job.scenario).write(toFile: "\(dir)/scenario.yaml", atomically: true, encoding: .utf8)
                        }
                    }
                }
                if c.stopAtFirstCatch, result.caught { break batches }
            }
            result.checks = counts.keys.sorted { (counts[$0] ?? 0, $1) > (counts[$1] ?? 0, $0) }
            result.wallSeconds = mutantStart.duration(to: clock.now).inSeconds
            let verdict = result.first.map { "caught by \($0.check) on \($0.scenario)" } ?? "SURVIVED"
            c.progress?("\(bug.rawValue): \(verdict) (\(result.catches.count) of \(result.runs) runs)")
            results.append(result)
        }
        var failures: [String: [String]] = [:]
        for (index, job) in jobs.enumerated() where !(baseline[index] ?? []).isEmpty {
            failures[job.scenario.name] = (baseline[index] ?? []).sorted()
        }
        return Report(
            backend: c.backend.name, timeScale: c.timeScale, corpus: c.corpus.map(\.name), sampleSeeds: c.sampleSeeds,
            results: results, baselineFailures: failures, wallSeconds: start.duration(to: clock.now).inSeconds
        )
    }

    /// One run; a real backend keeps its files in `<out>/<label>/<scenario>/`.
    func runHistory(_ job: Job, bugs: Set<FDM.Bug>, label: String) async -> History? {
        let c = configuration
        var options = RunOptions(timeScale: c.timeScale, seed: job.seed, bugs: bugs)
        if c.backend.name != "sim", let out = c.outDirectory { options.workDirectory = "\(out)/\(label)/\(job.scenario.name)" }
        return try? await c.backend.run(job.scenario, options: options)
    }

    /// Runs `indices` of `jobs`, at most ``Configuration/parallel`` at once, and returns their
    /// histories in the order of `indices` (`nil`: the run failed to produce one).
    func runAll(_ indices: [Int], jobs: [Job], bugs: Set<FDM.Bug>, label: String) async -> [(Int, History?)] {
        let width = max(1, configuration.parallel)
        var histories: [Int: History?] = [:]
        await withTaskGroup(of: (Int, History?).self) { group in
            var next = 0
            while next < min(width, indices.count) {
                let index = indices[next]
                next += 1
                group.addTask { (index, await self.runHistory(jobs[index], bugs: bugs, label: label)) }
            }
            while let (index, history) = await group.next() {
                histories[index] = history
                if next < indices.count {
                    let following = indices[next]
                    next += 1
                    group.addTask { (following, await self.runHistory(jobs[following], bugs: bugs, label: label)) }
                }
            }
        }
        return indices.map { ($0, histories[$0] ?? nil) }
    }

    /// Job indices with the corpus scenarios named in `first` first (in that order), then every
    /// other job in its own order.
    static func order(jobs: [Job], first: [String]) -> [Int] {
        var chosen: [Int] = []
        for name in first {
            if let index = jobs.indices.first(where: { jobs[$0].source == "corpus" && jobs[$0].scenario.name == name && !chosen.contains($0) }) {
                chosen.append(index)
            }
        }
        return chosen + jobs.indices.filter { !chosen.contains($0) }
    }
}

/// The median of `values` (`nil` when empty).
func median(_ values: [Double]) -> Double? {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted()
    let mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
