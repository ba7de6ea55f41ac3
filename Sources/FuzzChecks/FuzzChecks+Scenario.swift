import ChaosKit
import HACore

// MARK: - Scenario files (DESIGN §7)

extension FuzzChecks {
    /// One input as a scenario file (inputs that are not UTF-8 or larger than 64 KiB are
    /// skipped: ``ChaosKit/ScenarioLoader`` refuses the first before parsing, and scenario files
    /// are a page of YAML).
    ///
    /// ``ChaosKit/ScenarioParser/parse(yaml:path:)`` returns a scenario or throws a
    /// ``ChaosKit/ScenarioError`` at a 1-based line and column with a message. An accepted
    /// scenario written back by ``ChaosKit/ScenarioWriter`` (as `chaos run` and `chaos simulate`
    /// do for every run) parses again, and writing that gives the same file: nothing is lost
    /// or changed on the way (beyond the file format's millisecond precision, which writing
    /// twice does not change).
    public static func scenarioParser(_ bytes: [UInt8]) -> [String] {
        guard bytes.count <= 64 * 1024, let yaml = String(validating: bytes, as: UTF8.self) else { return [] }
        let path = "fuzz/input.yaml"
        let scenario: Scenario
        do {
            scenario = try ScenarioParser.parse(yaml: yaml, path: path)
        } catch {
            var violations: [String] = []
            if error.location.line < 1 || error.location.column < 1 { violations.append("error at \(error.location)") }
            if error.message.isEmpty { violations.append("empty message for \(error.code)") }
            return violations
        }
        let written = ScenarioWriter.yaml(scenario)
        do {
            let rewritten = ScenarioWriter.yaml(try ScenarioParser.parse(yaml: written, path: path))
            guard rewritten != written else { return [] }
            let a = written.split(separator: "\n", omittingEmptySubsequences: false)
            let b = rewritten.split(separator: "\n", omittingEmptySubsequences: false)
            let line = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
            let first = line < a.count ? String(a[line]) : "(end)", second = line < b.count ? String(b[line]) : "(end)"
            return ["ScenarioWriter output changes when read and written again, line \(line + 1): "
                + "\(first.debugDescription) → \(second.debugDescription)"]
        } catch {
            return ["ScenarioWriter output of an accepted scenario does not parse: \(error)"]
        }
    }
}
