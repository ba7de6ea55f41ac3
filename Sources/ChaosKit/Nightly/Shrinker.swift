import Foundation
import HACore

/// Minimizes a failing fault schedule: delta debugging over its fault steps (Zeller's ddmin),
/// then time simplification — fewer, shorter, rounder, earlier — each candidate re-run and kept
/// only when the same check still fails (chaos-anchors §D.10: "fault timelines auto-shrunk").
///
/// The shrinker knows nothing about backends: the caller hands it an ``Oracle`` that runs a
/// candidate and answers "does it still fail?". ``oracle(backend:options:check:)`` builds one
/// from any ``ClusterBackend``; in the simulator a test costs milliseconds, on real nodes a
/// whole run, so every shrink is bounded by ``Limits``.
public enum Shrinker {
    /// Runs a candidate schedule and says whether it still shows the failure.
    public typealias Oracle = @Sendable (Scenario) async -> Bool

    /// Bounds on one shrink.
    public struct Limits: Sendable {
        /// At most this many candidate runs.
        public var maxTests: Int
        /// Stop testing at this instant (the nightly's budget), if any.
        public var deadline: ContinuousClock.Instant?
        /// How long one candidate run takes (real backends): none starts that would end after
        /// ``deadline``.
        public var estimatedTest: Duration

        public init(maxTests: Int = 400, deadline: ContinuousClock.Instant? = nil, estimatedTest: Duration = .zero) {
            self.maxTests = maxTests
            self.deadline = deadline
            self.estimatedTest = estimatedTest
        }
    }

    /// The outcome of a shrink.
    public struct Result: Sendable {
        /// The smallest schedule found that still fails (the input when nothing smaller did).
        public var scenario: Scenario
        /// Fault steps before shrinking.
        public var originalSteps: Int
        /// Candidate runs made (cached repeats not counted).
        public var tests: Int
        /// `false` when a limit stopped the search early (the result still fails, but may not be minimal).
        public var complete: Bool
        /// Fault steps after shrinking.
        public var steps: Int { scenario.steps.count }
    }

    /// An oracle that runs a candidate on `backend` with `options` and checks whether `check`
    /// (an invariant or outcome id, e.g. `INV-SB1`) fails.
    ///
    /// - Parameters:
    ///   - signature: When given, the check must fail *the same way* (``FindingSignature``), so the
    ///     shrink cannot slip to another failure of the same check (a VM down for another reason).
    ///   - workDirectory: A folder under which each candidate run of a real backend gets
    ///     a folder of its own (`nil`: the options' own, or the backend's temporary one).
    public static func oracle(
        backend: any ClusterBackend, options: RunOptions, check: String, signature: FindingSignature? = nil, workDirectory: String? = nil
    ) -> Oracle {
        { @Sendable candidate in
            var options = options
            options.progress = nil
            if let workDirectory {
                let key = String(UInt(bitPattern: candidate.hashValue), radix: 16)
                options.workDirectory = "\(workDirectory)/test-\(key)"
            }
            guard let history = try? await backend.run(candidate, options: options) else { return false }
            return Checker.check(history, expectations: candidate.expectations).contains { result in
                result.id == check && result.passed == false
                    && (signature.map { expected in FindingSignature(result, history: history) == expected } ?? true)
            }
        }
    }

    /// Shrinks `scenario`, which must fail per `stillFails`.
    ///
    /// - Parameters:
    ///   - scenario: The failing schedule.
    ///   - limits: How many candidate runs, and until when.
    ///   - stillFails: The oracle.
    /// - Returns: The smallest failing schedule found, named `<name>-shrunk`.
    public static func shrink(_ scenario: Scenario, limits: Limits = Limits(), stillFails: @escaping Oracle) async -> Result {
        var session = Session(limits: limits, oracle: stillFails)
        var best = scenario
        best.name = scenario.name.hasSuffix("-shrunk") ? scenario.name : scenario.name + "-shrunk"
        best.sourcePath = ""
        // 1. Fewer steps: ddmin.
        best = await ddmin(best, &session)
        // 2. One fault instead of the same fault twice back to back; then shorter, rounder, earlier times.
        best = await mergeRepeats(best, &session)
        best = await simplifyTimes(best, &session)
        // 3. A shorter run.
        best = await trimDuration(best, &session)
        best.description = "shrunk from \(scenario.name) (\(scenario.steps.count) → \(best.steps.count) fault steps, \(session.tests) test runs)"
        return Result(scenario: best, originalSteps: scenario.steps.count, tests: session.tests, complete: !session.exhausted)
    }

    // MARK: - Session

    /// Counts candidate runs, caches their answers and enforces the limits.
    struct Session {
        var limits: Limits
        var oracle: Oracle
        var tests = 0
        var exhausted = false
        var cache: [Scenario: Bool] = [:]

        /// Whether `candidate` still fails (`false` once a limit is reached).
        mutating func fails(_ candidate: Scenario) async -> Bool {
            if let known = cache[candidate] { return known }
            if tests >= limits.maxTests || (limits.deadline.map { ContinuousClock.now + limits.estimatedTest >= $0 } ?? false) {
                exhausted = true
                return false
            }
            tests += 1
            let answer = await oracle(candidate)
            cache[candidate] = answer
            return answer
        }
    }

    // MARK: - ddmin over fault steps

    static func with(_ scenario: Scenario, steps: [FaultStep]) -> Scenario {
        var copy = scenario
        copy.steps = steps.sorted { $0.at < $1.at }
        return copy
    }

    /// Zeller & Hildebrandt's ddmin: the result is 1-minimal (removing any one step makes it pass)
    /// unless a limit stopped it.
    static func ddmin(_ scenario: Scenario, _ session: inout Session) async -> Scenario {
        var steps = scenario.steps
        // A failure with no fault at all (e.g. a wrong first election) needs no steps.
        if !steps.isEmpty, await session.fails(with(scenario, steps: [])) { return with(scenario, steps: []) }
        var n = 2
        while steps.count >= 2 {
            let chunks = split(steps, into: n)
            var reduced = false
            for chunk in chunks where chunk.count < steps.count {
                if await session.fails(with(scenario, steps: chunk)) {
                    steps = chunk
                    n = 2
                    reduced = true
                    break
                }
            }
            if !reduced {
                for index in chunks.indices {
                    let complement = chunks.enumerated().filter { $0.offset != index }.flatMap(\.element)
                    guard complement.count < steps.count else { continue }
                    if await session.fails(with(scenario, steps: complement)) {
                        steps = complement
                        n = max(n - 1, 2)
                        reduced = true
                        break
                    }
                }
            }
            if !reduced {
                if n >= steps.count { break }
                n = min(steps.count, n * 2)
            }
            if session.exhausted { break }
        }
        return with(scenario, steps: steps)
    }

    /// `items` in `n` contiguous chunks of near-equal size (none empty).
    static func split<T>(_ items: [T], into n: Int) -> [[T]] {
        let parts = max(1, min(n, items.count))
        var result: [[T]] = []
        var start = 0
        for part in 0..<parts {
            let end = start + (items.count - start) / (parts - part)
            result.append(Array(items[start..<end]))
            start = end
        }
        return result
    }

    // MARK: - Merging repeats

    /// Replaces a fault healed at the moment the same fault is injected again by one longer fault.
    static func mergeRepeats(_ scenario: Scenario, _ session: inout Session) async -> Scenario {
        var best = scenario
        var merged = true
        while merged, !session.exhausted {
            merged = false
            search: for i in best.steps.indices {
                for j in best.steps.indices where j != i {
                    let a = best.steps[i], b = best.steps[j]
                    guard a.fault == b.fault, let heal = a.healAt, b.at <= heal, b.at >= a.at else { continue }
                    var steps = best.steps
                    steps[i].healAt = max(heal, b.healAt ?? heal)
                    steps.remove(at: j)
                    let candidate = with(best, steps: steps)
                    if await session.fails(candidate) {
                        best = candidate
                        merged = true
                        break search
                    }
                }
            }
        }
        return best
    }

    // MARK: - Time simplification

    /// Shortens each fault (halving its length down to 5 s), then rounds times to tens, then
    /// moves the whole schedule so its first fault is at 60 s.
    static func simplifyTimes(_ scenario: Scenario, _ session: inout Session) async -> Scenario {
        var best = scenario
        // Shorter faults.
        for index in best.steps.indices {
            while let heal = best.steps[index].healAt, heal - best.steps[index].at > 5, !session.exhausted {
                let at = best.steps[index].at
                let shorter = at + max(5, ((heal - at) / 2).rounded())
                var steps = best.steps
                steps[index].healAt = shorter
                let candidate = with(best, steps: steps)
                guard await session.fails(candidate) else { break }
                best = candidate
            }
        }
        // Rounder times: injections and heals on multiples of 10 (then 5).
        for grain in [10.0, 5.0] {
            for index in best.steps.indices {
                var step = best.steps[index]
                let at = (step.at / grain).rounded() * grain
                let heal = step.healAt.map { max(at + 5, ($0 / grain).rounded() * grain) }
                guard at != step.at || heal != step.healAt, at >= 0, heal.map({ $0 <= best.duration }) ?? true else { continue }
                step.at = at
                step.healAt = heal
                var steps = best.steps
                steps[index] = step
                let candidate = with(best, steps: steps)
                if await session.fails(candidate) { best = candidate }
            }
        }
        // Earlier: the first fault at 60 s (after the first election settled).
        if let first = best.steps.map(\.at).min(), first > 60 {
            let shift = first - 60
            let steps = best.steps.map { step -> FaultStep in
                var moved = step
                moved.at -= shift
                moved.healAt = step.healAt.map { $0 - shift }
                return moved
            }
            let candidate = with(best, steps: steps)
            if await session.fails(candidate) { best = candidate }
        }
        return best
    }

    /// Tries shorter runs: the last injection or heal plus 120, 240, 480 s; expectations that
    /// looked at the old end (`vmRunning … by: <duration>`) follow the new end.
    ///
    /// A VM expected running at the end is judged after a quiet tail of at least the nightly's
    /// final quiet period (600 s): a shorter tail turns HA's own retry schedule (an unanswered
    /// attempt fails after 45 s, the next comes 2 min later) into a finding that is not one. A
    /// shrink of 33f46782 cut 882 s to 400 s and so "reproduced" a VM whose second, successful
    /// attempt was due at 438 s.
    static func trimDuration(_ scenario: Scenario, _ session: inout Session) async -> Scenario {
        let last = scenario.steps.map { $0.healAt ?? $0.at }.max() ?? 0
        let livenessAtEnd = scenario.expectations.contains { expectation in
            if case .vmRunning(_, _, _, let by) = expectation { by == scenario.duration } else { false }
        }
        for tail in livenessAtEnd ? [minimumLivenessTail] : [120.0, 240, 480] {
            let duration = (last + tail).rounded()
            guard duration < scenario.duration else { break }
            let candidate = withDuration(scenario, duration)
            if await session.fails(candidate) { return candidate }
        }
        return scenario
    }

    /// The shortest quiet tail before an end-of-run `vmRunning` is judged (the nightly's default
    /// final quiet period).
    static let minimumLivenessTail = 600.0

    /// `scenario` ending at `duration`; expectations timed at the old end move to the new one.
    static func withDuration(_ scenario: Scenario, _ duration: Double) -> Scenario {
        var copy = scenario
        copy.duration = duration
        copy.expectations = scenario.expectations.map { expectation in
            switch expectation {
            case .vmRunning(let vm, let on, let notOn, let by) where by == scenario.duration:
                .vmRunning(vm: vm, on: on, notOn: notOn, by: duration)
            case .vmDown(let vm, let at) where at == scenario.duration:
                .vmDown(vm: vm, at: duration)
            default:
                expectation
            }
        }
        return copy
    }
}
