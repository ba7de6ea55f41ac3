/// What a nightly run found: written as `summary.json` (this type), `summary.md` and `junit.xml`
/// in the nightly folder (``NightlyReport``).
public struct NightlySummary: Sendable, Codable {
    /// `sim`, `netns` or `compose`.
    public var backend: String
    public var timeScale: Double
    public var startSeed: UInt64
    /// The last seed run (`startSeed + runs - 1`).
    public var lastSeed: UInt64?
    public var hosts: Int
    public var vms: Int
    /// Mutants in force (a nightly against a mutant shows what the checker would catch).
    public var bugs: [String]
    public var budgetSeconds: Double
    /// Wall time of the whole nightly (runs and triage).
    public var wallSeconds: Double
    /// Wall time of the generation phase (the runs themselves).
    public var runWallSeconds: Double
    /// Schedules run.
    public var runs: Int
    public var passed: Int
    public var failed: Int
    public var inconclusive: Int
    /// Runs whose backend failed (no history).
    public var errors: Int
    /// Runs per hour of generation wall time.
    public var seedsPerHour: Double
    /// Model seconds simulated or played, in total.
    public var modelSeconds: Double
    /// Faults injected per kind (`host.powerOff` → 123).
    public var faultsPerKind: [String: Int]
    /// Outcome per check id (outcome ids by family, `OUT-vmRunning`).
    public var checks: [String: CheckTally]
    /// Distinct findings, most frequent first.
    public var findings: [NightlyFinding]
    /// The first runs that ended in an infrastructure error.
    public var errorMessages: [String]
    /// The command that runs this nightly again.
    public var command: String

    /// Pass/fail/inconclusive counts of one check over every run.
    public struct CheckTally: Sendable, Codable, Hashable {
        public var passed = 0
        public var failed = 0
        public var inconclusive = 0
        public init() {}
    }

    /// The nightly's verdict: fail with a finding, inconclusive with errors only, else pass.
    public var verdict: Verdict {
        if !findings.isEmpty { return .fail }
        if errors > 0 || runs == 0 { return .inconclusive }
        return .pass
    }
}

/// One distinct failure of a nightly: every run whose failed check has the same ``FindingSignature``.
public struct NightlyFinding: Sendable, Codable {
    public var signature: FindingSignature
    /// ``FindingSignature/id``; the finding's folder is `findings/<id>/`.
    public var id: String
    /// The exact check id of the first occurrence (`OUT-vmRunning-vm-03`).
    public var check: String
    /// The check's short name.
    public var name: String
    /// Runs that showed it.
    public var count: Int
    /// Their seeds (the first 50).
    public var seeds: [UInt64]
    /// The first occurrence.
    public var firstSeed: UInt64
    /// Its run folder (`runs/swarm-<seed>/`), relative to the nightly folder.
    public var runFolder: String
    public var expected: String
    public var observed: String
    /// Model seconds from the first fault to the finding's moment (`CheckResult.at`).
    public var modelSecondsAfterFirstFault: Double?
    /// Fault steps of the failing schedule.
    public var steps: Int
    /// Deterministic or flaky (k of N); `nil` when the budget ran out first.
    public var flake: FlakeClassifier.Classification?
    /// The shrunk schedule; `nil` when not shrunk.
    public var shrunk: ShrunkFinding?
    /// Replays the failing run as it was (`chaos run <runFolder>/scenario.yaml …`).
    public var replayCommand: String
}

/// A finding's schedule after shrinking, and its replay.
public struct ShrunkFinding: Sendable, Codable {
    /// Where it was shrunk: `sim` when the failure reproduced there, else the nightly's backend.
    public var backend: String
    public var originalSteps: Int
    public var steps: Int
    /// Candidate runs made.
    public var tests: Int
    /// `false` when a limit (tests, budget) stopped it before a 1-minimal schedule.
    public var complete: Bool
    /// The scenario file, relative to the nightly folder (`findings/<id>/shrunk.yaml`).
    public var path: String
    /// The one command that replays it.
    public var replayCommand: String
    /// Whether the written file, parsed back and run as the command runs it, failed the same check.
    public var replayReproduced: Bool
    /// `true` when the replay was not run because it would have overrun the budget (real backends).
    public var replaySkipped: Bool?
    /// Whether the shrunk schedule also failed on the nightly's (real) backend, when it was tried there.
    public var reproducedOnBackend: Bool?
    /// The fault steps, one line each (`t=60 host.powerOff host-2, healed t=90`).
    public var timeline: [String]
}
