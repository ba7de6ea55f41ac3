import HACore

/// Re-runs a finding N times and says whether it is deterministic or flaky (k of N)
/// (chaos-anchors §D.10: "failing seeds re-run N times to classify them as flaky or deterministic").
///
/// On a real backend the re-runs repeat the same schedule; timing noise does the rest. In the
/// simulator an identical re-run reproduces bit for bit, so re-run *k* keeps the schedule and
/// draws the simulator's own randomness (message latencies, agent start stagger) from seed
/// `seed + k`: the same kind of variance a real cluster adds.
public enum FlakeClassifier {
    /// How often a finding reproduced.
    public struct Classification: Sendable, Hashable, Codable, CustomStringConvertible {
        /// Runs made.
        public var runs: Int
        /// Runs in which the check failed again.
        public var failed: Int
        /// Runs whose backend failed (not counted as either).
        public var errors: Int

        public init(runs: Int, failed: Int, errors: Int = 0) {
            self.runs = runs
            self.failed = failed
            self.errors = errors
        }

        /// Failed in every run.
        public var isDeterministic: Bool { runs > 0 && failed == runs }

        /// `deterministic (5/5)`, `flaky (2/5)` or `not reproduced (0/5)`.
        public var description: String {
            let ratio = "\(failed)/\(runs)"
            if isDeterministic { return "deterministic (\(ratio))" }
            return failed == 0 ? "not reproduced (\(ratio))" : "flaky (\(ratio))"
        }
    }

    /// The seeds of the re-runs of a finding first seen with `seed`.
    ///
    /// - Parameters:
    ///   - seed: The seed of the failing run.
    ///   - runs: N.
    ///   - vary: Draw a new simulator seed per re-run (the simulator), or repeat `seed` (real nodes).
    public static func seeds(from seed: UInt64, runs: Int, vary: Bool) -> [UInt64] {
        (0..<max(0, runs)).map { vary ? seed &+ UInt64($0) : seed }
    }

    /// Runs `scenario` `runs` times and counts the runs in which `check` fails.
    ///
    /// - Parameters:
    ///   - scenario: The failing schedule.
    ///   - check: The check id that failed (`INV-SB1`).
    ///   - backend: Where to re-run.
    ///   - options: The failing run's options (time scale, seed, bugs).
    ///   - runs: N (default 5).
    ///   - deadline: Stop early at this instant (fewer runs are then reported).
    ///   - workDirectory: A folder under which re-run *k* of a real backend keeps its files in `rerun-<k>`.
    ///   - estimatedRun: How long one re-run takes: none is started that would end after `deadline`.
    ///   - signature: When given, a re-run counts only if the check fails the same way.
    public static func classify(
        _ scenario: Scenario, check: String, backend: any ClusterBackend, options: RunOptions, runs: Int = 5,
        deadline: ContinuousClock.Instant? = nil, workDirectory: String? = nil, estimatedRun: Duration = .zero,
        signature: FindingSignature? = nil
    ) async -> Classification {
        var result = Classification(runs: 0, failed: 0)
        for (k, seed) in seeds(from: options.seed, runs: runs, vary: backend.name == "sim").enumerated() {
            if let deadline, ContinuousClock.now + estimatedRun >= deadline, result.runs > 0 || estimatedRun > .zero { break }
            var rerun = options
            rerun.seed = seed
            rerun.progress = nil
            if let workDirectory { rerun.workDirectory = "\(workDirectory)/rerun-\(k + 1)" }
            do {
                let history = try await backend.run(scenario, options: rerun)
                let checks = Checker.check(history, expectations: scenario.expectations)
                result.runs += 1
                let again = checks.contains { result in
                    result.id == check && result.passed == false
                        && (signature.map { expected in FindingSignature(result, history: history) == expected } ?? true)
                }
                if again { result.failed += 1 }
            } catch {
                result.errors += 1
            }
        }
        return result
    }
}
