/// The verdict of one check (results contract `checks[]`).
public struct CheckResult: Hashable, Sendable, Codable {
    /// Invariant id (`INV-FS1`) or outcome id (`OUT-vmRunning-vm-3`).
    public var id: String
    /// Short human name.
    public var name: String
    /// `true` passed, `false` failed, `nil` inconclusive (the check saw no data).
    public var passed: Bool?
    public var expected: String
    public var observed: String
    /// Run seconds of the moment the check points at (the violation, or the key observation).
    public var at: Double?

    public init(id: String, name: String, passed: Bool?, expected: String, observed: String, at: Double? = nil) {
        self.id = id
        self.name = name
        self.passed = passed
        self.expected = expected
        self.observed = observed
        self.at = at
    }

    /// The overall verdict of a set of checks: fail if any failed, else inconclusive if any was, else pass.
    public static func verdict(of checks: [CheckResult]) -> Verdict {
        if checks.isEmpty { return .inconclusive }
        if checks.contains(where: { $0.passed == false }) { return .fail }
        if checks.contains(where: { $0.passed == nil }) { return .inconclusive }
        return .pass
    }
}

/// A run's verdict (results contract).
public enum Verdict: String, Hashable, Sendable, Codable {
    case pass, fail, inconclusive
}
