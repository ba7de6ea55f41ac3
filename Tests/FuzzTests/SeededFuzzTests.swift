import Foundation
import FuzzChecks
import Testing

/// The in-suite fuzz run (issue 7, item 2): each decoder gets its corpus (`Fuzz/corpus/<target>`)
/// and a seeded stream of mutations of it, through the same ``FuzzChecks`` the libFuzzer
/// targets use (`Scripts/fuzz` runs those, coverage-guided and much longer).
///
/// A decoder that traps kills the test process (a failure by itself); the checks add what a
/// decoder must never accept. Decoding errors are typed (`throws(WireError)`, …), so no other
/// error can escape them. Replay: `HACHAOS_SEED=<seed> swift test --filter SeededFuzzTests`;
/// more inputs: `HACHAOS_FUZZ_RUNS=<n>`.
@Suite(.timeLimit(.minutes(5))) struct SeededFuzzTests {
    /// Inputs per target in the suite (kept so that the four together stay well under a minute).
    static func runs(_ target: FuzzChecks.Target) -> Int {
        if let override = ProcessInfo.processInfo.environment["HACHAOS_FUZZ_RUNS"].flatMap({ Int($0) }) { return override }
        switch target {
        case .wireDecoder: return 30_000
        case .datastoreFiles: return 30_000
        case .jsonLines: return 20_000
        case .scenarioParser: return 20_000
        }
    }

    static func maxLength(_ target: FuzzChecks.Target) -> Int {
        target == .wireDecoder ? 16 * 1024 + 64 : 8 * 1024
    }

    @Test(arguments: FuzzChecks.Target.allCases)
    func decoders_whenCorpusIsMutatedSeeded_neverTrapAndKeepEveryProperty(_ target: FuzzChecks.Target) async throws {
        let seed = ProcessInfo.processInfo.environment["HACHAOS_SEED"].flatMap { UInt64($0) } ?? 0xF022_0007
        let corpus = FuzzCorpus.inputs(target)
        try #require(!corpus.isEmpty, "no seeds in Fuzz/corpus/\(target.rawValue)")
        var mutator = SeededMutator(seed: seed, corpus: corpus, dictionary: FuzzCorpus.dictionary(target), maxLength: Self.maxLength(target))
        let runs = Self.runs(target)
        var findings: [String] = []
        for seedInput in corpus {
            findings += FuzzChecks.check(target, seedInput).map { "\($0) [seed input]" }
        }
        let clock = ContinuousClock()
        let start = clock.now
        for run in 0..<runs where findings.count < 10 {
            // Let other tests' continuations run on the shared cooperative pool (2 threads on 2 cores).
            if run % 50 == 0 { await Task.yield() }
            let input = mutator.next()
            findings += FuzzChecks.check(target, input).map { "\($0) [input #\(run), hex \(Self.hex(input))]" }
        }
        print("SeededFuzzTests \(target.rawValue): \(corpus.count) seeds + \(runs) mutated inputs executed in \(start.duration(to: clock.now)), "
            + "findings: \(findings.count); replay: HACHAOS_SEED=\(seed) swift test --filter SeededFuzzTests")
        #expect(findings.isEmpty, "\(findings.joined(separator: "\n"))")
    }

    /// The input as hex (at most 512 bytes), to save it as a libFuzzer reproducer.
    static func hex(_ bytes: [UInt8]) -> String {
        bytes.prefix(512).map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}
