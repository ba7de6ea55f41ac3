import ChaosKit
import Foundation
import HACore
import Testing

/// Issue 6: the nightly generator, the shrinker and replay, flake classification, the budget,
/// and the mutant zoo on the simulator.
@Suite struct NightlyTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func corpus(_ names: [String]) throws -> [Scenario] {
        try ScenarioLoader.load(paths: names.map { root.appendingPathComponent("faults/\($0)").path })
    }

    static func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("hac-nightly-\(UUID().uuidString.prefix(8))").path
    }

    /// Small, quick schedules for tests that run many of them.
    static let quick = ScheduleGenerator.Options(hosts: 3, episodes: 1...2, faultsPerEpisode: 1...3, quietPeriod: 120, finalQuietPeriod: 300)

    // MARK: - Generator

    @Test func generator_sameSeed_sameSchedule_otherSeedOtherSchedule() {
        let options = ScheduleGenerator.Options()
        for seed: UInt64 in [1, 2, 77, 123_456_789] {
            #expect(ScheduleGenerator.scenario(seed: seed, options: options) == ScheduleGenerator.scenario(seed: seed, options: options),
                    "seed \(seed) must give the same schedule twice")
        }
        let distinct = Set((1...50).map { ScheduleGenerator.scenario(seed: UInt64($0), options: options).steps })
        #expect(distinct.count >= 45, "50 seeds gave only \(distinct.count) distinct schedules")
    }

    /// Gating and quiet periods over many seeds: every heal follows its own injection, no two
    /// network-wide faults (partitions, one-way cuts, outages) overlap, a host carries one fault
    /// at a time, at most half the hosts are faulted, the schedule ends with its quiet period,
    /// and the written file parses back to the same steps.
    @Test func generator_gatesFaultsOnTheStateInForce() throws {
        var kindsSeen = Set<String>()
        for seed in UInt64(1)...400 {
            let options = ScheduleGenerator.Options(hosts: 2 + Int(seed % 5))
            let scenario = ScheduleGenerator.scenario(seed: seed, options: options)
            let replay = "chaos run <scenario> (seed \(seed))"
            let hosts = scenario.cluster.hosts.map(\.id)
            #expect(scenario.steps.map(\.at) == scenario.steps.map(\.at).sorted(), "\(replay): steps not in time order")
            func end(_ s: FaultStep) -> Double { s.healAt ?? (s.fault.isInstantaneous ? s.at + ScheduleGenerator.settleTime : scenario.duration) }
            for (i, step) in scenario.steps.enumerated() {
                kindsSeen.insert(step.fault.kind)
                if let heal = step.healAt {
                    #expect(heal > step.at, "\(replay): step \(i) healed at \(heal) before its injection at \(step.at)")
                    #expect(!step.fault.isInstantaneous, "\(replay): instantaneous \(step.fault.kind) has a heal")
                } else {
                    #expect(step.fault.isInstantaneous, "\(replay): \(step.fault.kind) at \(step.at) is never healed")
                }
                let inForce = scenario.steps.enumerated().filter { $0.offset != i && $0.element.at <= step.at && step.at < end($0.element) }.map(\.element)
                let networkWide: (Fault) -> Bool = {
                    switch $0 {
                    case .partition, .partitionOneWay, .managementNetworkOutage: true
                    default: false
                    }
                }
                if networkWide(step.fault) {
                    #expect(!inForce.contains { networkWide($0.fault) }, "\(replay): overlapping partitions at \(step.at)")
                }
                let busy = Set(inForce.filter { !networkWide($0.fault) }.flatMap(\.fault.hostsNamed))
                if !networkWide(step.fault) {
                    #expect(busy.isDisjoint(with: step.fault.hostsNamed), "\(replay): \(step.fault.kind) at \(step.at) on a host already faulted")
                    if !step.fault.hostsNamed.isEmpty {
                        #expect(busy.count < max(1, hosts.count / 2), "\(replay): more than half the hosts faulted at \(step.at)")
                    }
                }
            }
            let lastEvent = scenario.steps.map { $0.healAt ?? $0.at }.max() ?? 0
            #expect(scenario.duration - lastEvent >= options.finalQuietPeriod - 1, "\(replay): no final quiet period")
            let parsed = try ScenarioParser.parse(yaml: ScenarioWriter.yaml(scenario), path: "swarm-\(seed).yaml")
            #expect(parsed.steps.map(\.fault) == scenario.steps.map(\.fault) && parsed.steps.map(\.at) == scenario.steps.map(\.at)
                    && parsed.steps.map(\.healAt) == scenario.steps.map(\.healAt), "\(replay): the written file does not parse back to the same steps")
            #expect(parsed.expectations == scenario.expectations)
        }
        #expect(kindsSeen.count >= 15, "400 seeds exercised only \(kindsSeen.sorted())")
    }

    @Test func generator_availability_respectsTheState() {
        let hosts = (1...4).map { HostID("host-\($0)") }
        var state = ScheduleGenerator.FaultState(hosts: hosts)
        #expect(ScheduleGenerator.isAvailable(.partition, in: state))
        #expect(ScheduleGenerator.isAvailable(.managementOutage, in: state))
        state.networkWide = true
        #expect(!ScheduleGenerator.isAvailable(.partition, in: state), "no second partition while one is in force")
        #expect(!ScheduleGenerator.isAvailable(.partitionOneWay, in: state))
        #expect(!ScheduleGenerator.isAvailable(.isolate, in: state))
        #expect(ScheduleGenerator.isAvailable(.powerOff, in: state))
        state.networkWide = false
        state.faultedHosts = ["host-1", "host-2"]
        #expect(!ScheduleGenerator.isAvailable(.powerOff, in: state), "at most half the hosts faulted")
        #expect(!ScheduleGenerator.isAvailable(.managementOutage, in: state))
        #expect(ScheduleGenerator.isAvailable(.killVM, in: state))
        state.controllerDown = true
        #expect(!ScheduleGenerator.isAvailable(.controllerDown, in: state))
        #expect(ScheduleGenerator.isAvailable(.rogueHost, in: state))
        state.rogueHost = true
        #expect(!ScheduleGenerator.isAvailable(.rogueHost, in: state), "one rogue at a time")
    }

    /// `rogueHost` is drawn on a stream of its own: with it allowed, every seed's other steps
    /// are exactly those drawn without it; about ``ScheduleGenerator/rogueChance`` of the seeds
    /// get one rogue, injected with one of the drawn faults and healed when that fault heals or
    /// settles (inside its episode, so no quiet period has a rogue, and the schedule still ends
    /// with its full final quiet period); `rogueHost` alone always
    /// gets one, at the first fault time.
    @Test func generator_rogueHost_joinsOneFault_andLeavesTheRestOfTheScheduleAsItWas() throws {
        let others = ScheduleGenerator.Kind.allCases.filter { $0 != .rogueHost }
        var withRogue = 0
        let seeds = UInt64(1)...400
        for seed in seeds {
            let options = ScheduleGenerator.Options(hosts: 2 + Int(seed % 5))
            var withoutOptions = options
            withoutOptions.kinds = others
            let all = ScheduleGenerator.scenario(seed: seed, options: options)
            let without = ScheduleGenerator.scenario(seed: seed, options: withoutOptions)
            let rogues = all.steps.filter { $0.fault == .rogueHost }
            #expect(all.steps.filter { $0.fault != .rogueHost } == without.steps, "seed \(seed): the rogue changed the other steps")
            #expect(rogues.count <= 1, "seed \(seed): \(rogues.count) rogues")
            guard let rogue = rogues.first else {
                #expect(all == without, "seed \(seed): no rogue, yet the scenario differs")
                continue
            }
            withRogue += 1
            let heal = try #require(rogue.healAt, "seed \(seed): the rogue is never healed")
            #expect(without.steps.contains { $0.at == rogue.at && ($0.healAt ?? $0.at + ScheduleGenerator.settleTime) == heal },
                    "seed \(seed): the rogue over [\(rogue.at), \(heal)) matches no drawn fault")
            // Joined to a kill or reboot at the end, it heals when that one settles: the final
            // quiet period starts after it.
            #expect(all.duration >= without.duration && all.duration - heal >= options.finalQuietPeriod - 1,
                    "seed \(seed): the rogue healed at \(heal) in a \(all.duration) s schedule")
            #expect(all.description.contains("rogueHost"))
        }
        // 30 % of 400 seeds is 120; the binomial standard deviation is about 9.
        #expect((85...155).contains(withRogue), "\(withRogue) of \(seeds.count) seeds have a rogue")
        for seed in UInt64(1)...20 {
            let options = ScheduleGenerator.Options(kinds: [.rogueHost])
            let alone = ScheduleGenerator.scenario(seed: seed, options: options)
            #expect(alone.steps.map(\.fault) == [.rogueHost], "seed \(seed): \(alone.steps.map(\.fault))")
            #expect(alone.steps.first?.at == options.firstFaultAt)
            #expect((alone.steps.first?.healAt ?? 0) > options.firstFaultAt)
        }
    }

    // MARK: - Signatures

    @Test func signature_normalisesNamesAndNumbers() {
        let a = CheckResult(id: "INV-SB1", name: "", passed: false, expected: "",
                            observed: "vm-03 ran twice, vm-03#4 on host-2 and vm-03#9 on host-100, over model 61.5–120 s; other")
        let b = CheckResult(id: "INV-SB1", name: "", passed: false, expected: "",
                            observed: "vm-11 ran twice, vm-11#host-2-1733000000123 on host-99 and vm-11#12 on host-3, over model 7–9.25 s")
        #expect(FindingSignature(a) == FindingSignature(b))
        #expect(FindingSignature(a).text == "vm-* ran twice, vm-*#* on host-* and vm-*#* on host-*, over model #–# s")
        #expect(FindingSignature(a).id.count == 8)
        let outcome = CheckResult(id: "OUT-vmRunning-vm-03", name: "", passed: false, expected: "", observed: "vm-03 at model 900 s: no live instance")
        #expect(FindingSignature(outcome).check == "OUT-vmRunning")
    }

    @Test func budget_parsesHoursMinutesSeconds() {
        #expect(NightlyRunner.parseBudget("30m") == 1800)
        #expect(NightlyRunner.parseBudget("90s") == 90)
        #expect(NightlyRunner.parseBudget("2h") == 7200)
        #expect(NightlyRunner.parseBudget("1h30m") == 5400)
        #expect(NightlyRunner.parseBudget("45") == 45)
        #expect(NightlyRunner.parseBudget("10x") == nil)
        #expect(NightlyRunner.parseBudget("m") == nil)
    }

    // MARK: - Shrinking and replay

    /// The split-brain corpus scenario buried in noise: seven unrelated faults around the one
    /// that matters. Under `lostLockNeverPoweredOff` the lock-less copy is never powered off
    /// (INV-SB2); the shrinker must find the isolation alone, and the written file must replay.
    static func noisySplitBrain() throws -> Scenario {
        var scenario = try #require(try corpus(["split-brain-leave-powered-on-ip-storage.yaml"]).first)
        let hosts = scenario.cluster.hosts.map(\.id)
        let vms = scenario.cluster.vms.map(\.id)
        let noise: [FaultStep] = [
            FaultStep(at: 20, fault: .controllerDown, healAt: 45),
            FaultStep(at: 30, fault: .killVM(try #require(vms.last))),
            FaultStep(at: 75, fault: .packetLoss(try #require(hosts.last), probability: 0.2), healAt: 95),
            FaultStep(at: 110, fault: .killHostd(hosts[0], staysDown: false)),
            FaultStep(at: 230, fault: .stopAgent(hosts[0]), healAt: 250),
            FaultStep(at: 260, fault: .readOnlyDatastore("ds-2", hosts: [try #require(hosts.last)]), healAt: 280),
            FaultStep(at: 300, fault: .controllerDown, healAt: 330),
        ]
        scenario.steps = (scenario.steps + noise).sorted { $0.at < $1.at }
        scenario.name = "noisy-split-brain"
        scenario.expectations = ScheduleGenerator.nightlyInvariants.map { .invariant($0) }
        return scenario
    }

    @Test(.timeLimit(.minutes(5)))
    func shrinker_mutantWithManySteps_shrinksToAtMostThreeThatStillFail_andTheFileReplays() async throws {
        let scenario = try Self.noisySplitBrain()
        #expect(scenario.steps.count == 8)
        let options = RunOptions(timeScale: 1, seed: 5, bugs: [.lostLockNeverPoweredOff])
        let clean = try await SimBackend().run(scenario, options: RunOptions(timeScale: 1, seed: 5))
        #expect(Checker.check(clean, expectations: scenario.expectations).first { $0.id == "INV-SB2" }?.passed == true,
                "without the mutant the noisy schedule resolves its split-brain")
        let mutated = try await SimBackend().run(scenario, options: options)
        #expect(Checker.check(mutated, expectations: scenario.expectations).first { $0.id == "INV-SB2" }?.passed == false,
                "replay: chaos run <noisy> --backend sim --seed 5 --bug lostLockNeverPoweredOff")

        let oracle = Shrinker.oracle(backend: SimBackend(), options: options, check: "INV-SB2")
        let result = await Shrinker.shrink(scenario, stillFails: oracle)
        #expect(result.originalSteps == 8)
        #expect(result.steps <= 3, "shrunk only to \(result.scenario.steps)")
        #expect(result.scenario.steps.contains { if case .isolateHost(_, true) = $0.fault { true } else { false } })
        #expect(result.scenario.duration < scenario.duration)
        #expect(await oracle(result.scenario), "the shrunk schedule must still fail INV-SB2")

        // The file and the command: write, parse back, run as `chaos run <file> --backend sim --seed 5 --bug …` does.
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/shrunk.yaml"
        try ScenarioWriter.yaml(result.scenario).write(toFile: path, atomically: true, encoding: .utf8)
        let replayed = try #require(try ScenarioLoader.load(paths: [path]).first)
        #expect(replayed.steps.count == result.steps)
        let history = try await SimBackend().run(replayed, options: options)
        let checks = Checker.check(history, expectations: replayed.expectations)
        #expect(checks.first { $0.id == "INV-SB2" }?.passed == false, "replay of \(path) did not reproduce INV-SB2")
    }

    @Test func shrinker_ddminAloneFindsTheMinimalPair() async {
        // A synthetic oracle: "fails" iff steps at t=30 and t=70 are both present.
        var scenario = ScheduleGenerator.scenario(seed: 3, options: Self.quick)
        scenario.steps = (1...9).map { FaultStep(at: Double($0 * 10), fault: .killVM("vm-01")) }
        let result = await Shrinker.shrink(scenario) { candidate in
            let times = Set(candidate.steps.map(\.at))
            return times.contains(30) && times.contains(70)
        }
        #expect(result.scenario.steps.map(\.at) == [30, 70] || result.scenario.steps.count == 2)
        #expect(result.complete)
    }

    // MARK: - Flake classification

    /// A backend whose mutant is in force only on even seeds: a "flaky" failure.
    struct EvenSeedMutantBackend: ClusterBackend {
        let name = "sim"
        let bug: FDM.Bug
        func run(_ scenario: Scenario, options: RunOptions) async throws -> History {
            var options = options
            options.bugs = options.seed % 2 == 0 ? [bug] : []
            return try await SimBackend().run(scenario, options: options)
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func flake_deterministicAndFlakyFindingsAreTold() async throws {
        let scenario = try #require(try Self.corpus(["split-brain-leave-powered-on-ip-storage.yaml"]).first)
        let options = RunOptions(timeScale: 1, seed: 10, bugs: [.lostLockNeverPoweredOff])
        let always = await FlakeClassifier.classify(scenario, check: "INV-SB2", backend: SimBackend(), options: options, runs: 5)
        #expect(always == FlakeClassifier.Classification(runs: 5, failed: 5))
        #expect(always.description == "deterministic (5/5)")
        // Seeds 10…14: the mutant is in force on 10, 12, 14.
        let sometimes = await FlakeClassifier.classify(
            scenario, check: "INV-SB2", backend: EvenSeedMutantBackend(bug: .lostLockNeverPoweredOff), options: options, runs: 5
        )
        #expect(sometimes.failed == 3 && sometimes.runs == 5)
        #expect(sometimes.description == "flaky (3/5)")
        let never = await FlakeClassifier.classify(scenario, check: "INV-SB2", backend: SimBackend(), options: RunOptions(seed: 10), runs: 2)
        #expect(never.description == "not reproduced (0/2)")
        #expect(FlakeClassifier.seeds(from: 7, runs: 3, vary: true) == [7, 8, 9])
        #expect(FlakeClassifier.seeds(from: 7, runs: 3, vary: false) == [7, 7, 7])
    }

    // MARK: - Budget and the nightly folder

    @Test(.timeLimit(.minutes(3)))
    func nightly_respectsItsBudget_andWritesTheSummary() async throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let budget = 3.0
        let clock = ContinuousClock()
        let start = clock.now
        let summary = await NightlyRunner(.init(
            backend: SimBackend(), budget: .seconds(budget), startSeed: 1, generator: Self.quick, outDirectory: dir, reruns: 2
        )).run()
        let wall = start.duration(to: clock.now).inSeconds
        #expect(summary.runs >= 1)
        let perRun = summary.runWallSeconds / Double(max(1, summary.runs))
        // The runs stop before the budget (a run that would not end in time is not started);
        // triage stops at it (one re-run or shrink test may be under way).
        #expect(summary.runWallSeconds <= budget + perRun + 0.5, "runs took \(summary.runWallSeconds) s of a \(budget) s budget")
        #expect(wall <= budget + 4 * perRun + 2, "the nightly took \(wall) s of a \(budget) s budget")
        #expect(summary.seedsPerHour > 0)
        #expect(summary.faultsPerKind.values.reduce(0, +) > 0)
        try NightlyReport.write(summary, to: dir)
        for file in ["summary.md", "summary.json", "junit.xml"] {
            #expect(FileManager.default.fileExists(atPath: "\(dir)/\(file)"), "\(file) missing")
        }
        let decoded = try JSONDecoder().decode(NightlySummary.self, from: Data(contentsOf: URL(fileURLWithPath: "\(dir)/summary.json")))
        #expect(decoded.runs == summary.runs)
        let junit = try String(contentsOfFile: "\(dir)/junit.xml", encoding: .utf8)
        #expect(junit.contains("<testsuite name=\"nightly\""))
    }

    @Test(.timeLimit(.minutes(3)))
    func nightly_withAMutant_findsShrinksAndReplays() async throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Only the split-brain checks, so triage spends its time on the mutant's finding.
        var generator = Self.quick
        generator.livenessExpectations = false
        generator.invariants = ["INV-SB1", "INV-SB2"]
        let summary = await NightlyRunner(.init(
            backend: SimBackend(), budget: .seconds(120), startSeed: 1, generator: generator, bugs: [.lostLockNeverPoweredOff],
            outDirectory: dir, reruns: 2, maxRuns: 40, shrinkTests: 80
        )).run()
        let finding = try #require(summary.findings.first { ["INV-SB1", "INV-SB2"].contains($0.signature.check) },
                                   "40 schedules under lostLockNeverPoweredOff never failed INV-SB1/SB2: \(summary.findings.map(\.signature))")
        #expect(finding.flake?.isDeterministic == true)
        let shrunk = try #require(finding.shrunk)
        #expect(shrunk.steps <= 3 && shrunk.steps <= shrunk.originalSteps)
        #expect(shrunk.replayReproduced)
        #expect(shrunk.replayCommand.contains("--bug lostLockNeverPoweredOff"))
        #expect(FileManager.default.fileExists(atPath: "\(dir)/\(shrunk.path)"))
    }

    // MARK: - Mutant zoo

    /// Every mutant is caught on the simulator by the scenario `chaos mutants --backend sim`
    /// first caught it with (a subset of the corpus, so the test stays quick).
    @Test(.timeLimit(.minutes(5)))
    func mutantZoo_onTheSimulator_catchesEveryMutant() async throws {
        let corpus = try Self.corpus(MutantZooCatalogue.files)
        let report = await MutantZoo(.init(
            backend: SimBackend(), corpus: corpus, sampleSeeds: [], stopAtFirstCatch: true
        )).run()
        #expect(report.results.count == FDM.Bug.allCases.count)
        #expect(FDM.Bug.allCases.count >= 14)
        for result in report.results {
            #expect(result.caught, "mutant \(result.bug) survived; replay: chaos mutants --backend sim --bug \(result.bug)")
        }
        #expect(report.killRate == 1)
        #expect(report.baselineFailures.isEmpty, "the unmutated core fails \(report.baselineFailures)")
        #expect(report.medianModelSecondsToCatch != nil)
    }
}

/// The corpus files that catch each mutant first (from `chaos mutants --backend sim`).
enum MutantZooCatalogue {
    static let files = [
        "election-string-order.yaml", "management-network-outage-5.0.yaml", "isolated-master.yaml", "restart-priority.yaml",
        "isolation-row-02.yaml", "isolation-row-03.yaml", "isolation-row-11.yaml", "isolation-cancelled-by-election.yaml",
        "vm-crash-during-election.yaml",
    ]
}
