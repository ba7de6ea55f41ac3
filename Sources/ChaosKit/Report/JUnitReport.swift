import HACore

/// `junit.xml` for CI systems (DESIGN §8): one `<testsuite>` per scenario, one `<testcase>` per check.
///
/// CI dashboards (Jenkins, GitLab) already know how to show, count and trend JUnit results, so
/// every check of a run becomes a test case named `<id> <name>` in class `hachaos.<scenario>`:
/// - a failed check is a `<failure>` whose type is the check id and whose text holds the
///   expectation, the observation and the model time of the finding;
/// - an inconclusive check is `<skipped message="inconclusive: …">`: it saw no data, so it is
///   **not** a pass, and CI must not count it as one;
/// - a run that produced no result (infrastructure failure) is one `<error>` test case.
///
/// The output stays inside the element and attribute set of the widely used Jenkins
/// `junit-10.xsd` (no `skipped` attribute on `<testsuites>`, `time` as a plain decimal), so CI
/// parsers and schema validators accept it. Pure: same input, same bytes (no clock, no host name).
public enum JUnitReport {
    /// One scenario's run, as the report needs it.
    public struct Suite: Hashable, Sendable {
        /// Scenario name (the suite name and the `hachaos.<scenario>` class name).
        public var scenario: String
        public var backend: String
        /// Run seconds per model second.
        public var timeScale: Double
        public var seed: UInt64?
        /// Run length in run seconds (the suite's `time`).
        public var duration: Double
        public var checks: [CheckResult]
        /// Why the run produced no result (an infrastructure failure), if it did not.
        public var error: String?
        /// ISO 8601 start time, when the caller knows it (left out otherwise: output stays reproducible).
        public var timestamp: String?

        public init(
            scenario: String, backend: String, timeScale: Double, seed: UInt64?, duration: Double,
            checks: [CheckResult], error: String? = nil, timestamp: String? = nil
        ) {
            self.scenario = scenario
            self.backend = backend
            self.timeScale = timeScale
            self.seed = seed
            self.duration = duration
            self.checks = checks
            self.error = error
            self.timestamp = timestamp
        }

        /// A judged run.
        public init(history: History, checks: [CheckResult], timestamp: String? = nil) {
            self.init(scenario: history.scenario, backend: history.backend, timeScale: history.timeScale, seed: history.seed,
                      duration: history.duration, checks: checks, timestamp: timestamp)
        }

        /// A run that produced no history (the suite holds one `<error>` test case).
        public static func infrastructureFailure(scenario: String, backend: String, message: String) -> Suite {
            Suite(scenario: scenario, backend: backend, timeScale: 1, seed: nil, duration: 0, checks: [], error: message)
        }

        /// Test cases in the suite.
        public var tests: Int { error == nil ? checks.count : checks.count + 1 }
        /// Checks that failed.
        public var failures: Int { checks.filter { $0.passed == false }.count }
        /// Inconclusive checks.
        public var skipped: Int { checks.filter { $0.passed == nil }.count }
        /// Infrastructure failures (0 or 1).
        public var errors: Int { error == nil ? 0 : 1 }
        /// The run's verdict; an infrastructure failure is inconclusive.
        public var verdict: Verdict { error == nil ? CheckResult.verdict(of: checks) : .inconclusive }
    }

    /// Longest `message` attribute written (the full text is in the element body).
    static let messageLimit = 400
    /// Longest element body written for one check.
    static let bodyLimit = 8_000

    /// The `junit.xml` of one judged run.
    /// - Parameters:
    ///   - history: the run (scenario name, backend, scale, duration).
    ///   - checks: the checker's verdicts on it.
    /// - Returns: a complete XML document with one `<testsuite>` inside `<testsuites>`.
    public static func xml(history: History, checks: [CheckResult]) -> String {
        xml([Suite(history: history, checks: checks)])
    }

    /// A combined `junit.xml` for several scenarios (`<out>/junit.xml` of a multi-scenario run).
    /// - Parameter suites: one per scenario, in the order they should appear.
    /// - Returns: a complete XML document; totals on `<testsuites>` add up the suites.
    public static func xml(_ suites: [Suite]) -> String {
        let tests = suites.reduce(0) { $0 + $1.tests }
        let failures = suites.reduce(0) { $0 + $1.failures }
        let errors = suites.reduce(0) { $0 + $1.errors }
        let time = suites.reduce(0.0) { $0 + max(0, $1.duration.isFinite ? $1.duration : 0) }
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<testsuites name=\"hachaos\" tests=\"\(tests)\" failures=\"\(failures)\" errors=\"\(errors)\" time=\"\(Markup.seconds(time))\">\n"
        for (index, suite) in suites.enumerated() { out += testsuite(suite, id: index) }
        out += "</testsuites>\n"
        return out
    }

    // MARK: - Elements

    static func testsuite(_ suite: Suite, id: Int) -> String {
        let name = Markup.attribute(suite.scenario)
        var attributes = "name=\"\(name)\" tests=\"\(suite.tests)\" failures=\"\(suite.failures)\" errors=\"\(suite.errors)\""
        attributes += " skipped=\"\(suite.skipped)\" time=\"\(Markup.seconds(suite.duration))\" id=\"\(id)\" package=\"hachaos\""
        if let timestamp = suite.timestamp { attributes += " timestamp=\"\(Markup.attribute(timestamp))\"" }
        var out = "  <testsuite \(attributes)>\n"
        out += "    <properties>\n"
        var properties: [(String, String)] = [
            ("backend", suite.backend), ("timeScale", formatSeconds(suite.timeScale)), ("verdict", suite.verdict.rawValue),
        ]
        if let seed = suite.seed { properties.append(("seed", String(seed))) }
        for (key, value) in properties {
            out += "      <property name=\"\(Markup.attribute(key))\" value=\"\(Markup.attribute(value))\"/>\n"
        }
        out += "    </properties>\n"
        let classname = Markup.attribute("hachaos.\(suite.scenario)")
        for check in suite.checks { out += testcase(check, classname: classname, timeScale: suite.timeScale) }
        if let error = suite.error {
            out += "    <testcase classname=\"\(classname)\" name=\"run\">\n"
            out += "      <error message=\"\(Markup.attribute(Markup.truncated(error, limit: messageLimit)))\" type=\"infrastructure\">"
            out += Markup.text(Markup.truncated(error, limit: bodyLimit)) + "</error>\n"
            out += "    </testcase>\n"
        }
        out += "  </testsuite>\n"
        return out
    }

    static func testcase(_ check: CheckResult, classname: String, timeScale: Double) -> String {
        let name = Markup.attribute(check.name.isEmpty ? check.id : "\(check.id) \(check.name)")
        let open = "    <testcase classname=\"\(classname)\" name=\"\(name)\""
        switch check.passed {
        case .some(true):
            return open + "/>\n"
        case .some(false):
            let when = modelTime(check.at, timeScale: timeScale)
            let message = "\(check.id) failed" + (when.map { " at model \($0) s" } ?? "") + ": \(check.observed)"
            return open + ">\n"
                + "      <failure message=\"\(Markup.attribute(Markup.truncated(message, limit: messageLimit)))\" type=\"\(Markup.attribute(check.id))\">"
                + Markup.text(Markup.truncated(body(check, when: when), limit: bodyLimit)) + "</failure>\n"
                + "    </testcase>\n"
        case .none:
            let message = "inconclusive: \(check.observed)"
            return open + ">\n"
                + "      <skipped message=\"\(Markup.attribute(Markup.truncated(message, limit: messageLimit)))\">"
                + Markup.text(Markup.truncated(body(check, when: modelTime(check.at, timeScale: timeScale)), limit: bodyLimit)) + "</skipped>\n"
                + "    </testcase>\n"
        }
    }

    /// The element body: what the oracle expects, what the run showed, and when.
    static func body(_ check: CheckResult, when: String?) -> String {
        var lines = ["expected: \(check.expected)", "observed: \(check.observed)"]
        if let when { lines.append("at: model \(when) s after the run started") }
        return lines.joined(separator: "\n")
    }

    /// A finding's run time as model seconds (`at / timeScale`).
    static func modelTime(_ at: Double?, timeScale: Double) -> String? {
        guard let at, at.isFinite else { return nil }
        let scale = timeScale.isFinite && timeScale > 0 ? timeScale : 1
        return formatSeconds(((at / scale) * 1000).rounded() / 1000)
    }
}
