import Foundation
import HACore

/// Writes one scenario's run folder (DESIGN §8): result.json, junit.xml, timeline.html,
/// events.jsonl, faults.jsonl, history.json (everything `chaos report` needs to re-check offline).
public enum RunWriter {
    public struct WriteError: Error, CustomStringConvertible {
        public var path: String
        public var underlying: String
        public var description: String { "cannot write \(path): \(underlying)" }
    }

    static func encoder(pretty: Bool) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
        return encoder
    }

    /// Writes every file for `history` judged by `checks` into `directory` (created if needed).
    @discardableResult
    public static func write(history: History, checks: [CheckResult], to directory: String) throws -> ResultDocument {
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw WriteError(path: directory, underlying: "\(error)")
        }
        let document = ResultDocument(history: history, checks: checks)
        try save(encoder(pretty: true).encode(document), to: directory + "/result.json")
        let lineEncoder = encoder(pretty: false)
        var events = Data()
        for timed in history.events {
            events.append(try lineEncoder.encode(timed))
            events.append(0x0A)
        }
        try save(events, to: directory + "/events.jsonl")
        var faults = Data()
        for record in history.faults {
            faults.append(try lineEncoder.encode(ResultDocument.FaultEntry(kind: record.fault.kind, targets: record.fault.targets, injectedAt: record.injectedAt, healedAt: record.healedAt)))
            faults.append(0x0A)
        }
        try save(faults, to: directory + "/faults.jsonl")
        try save(lineEncoder.encode(history), to: directory + "/history.json")
        try save(Data(JUnitReport.xml(history: history, checks: checks).utf8), to: directory + "/junit.xml")
        try save(Data(TimelineHTML.html(history: history, checks: checks).utf8), to: directory + "/timeline.html")
        return document
    }

    /// Writes a combined `junit.xml` (one `<testsuite>` per scenario) for a multi-scenario run.
    ///
    /// Each suite is rebuilt from the scenario folder's `result.json` (checks, scale, seed) and
    /// `history.json` (run length); a folder without a result becomes a suite with one `<error>`
    /// (the run failed before it could be judged).
    /// - Parameters:
    ///   - scenarioDirectories: the scenario folders, in report order.
    ///   - path: where to write the file (e.g. `<out>/junit.xml`).
    public static func writeCombinedJUnit(scenarioDirectories: [String], to path: String) throws {
        try writeCombinedJUnit(scenarioDirectories.map(junitSuite(from:)), to: path)
    }

    /// Writes a combined `junit.xml` from suites the caller already has (``JUnitReport/xml(_:)``).
    /// - Parameters:
    ///   - suites: one per scenario, in report order.
    ///   - path: where to write the file.
    public static func writeCombinedJUnit(_ suites: [JUnitReport.Suite], to path: String) throws {
        try save(Data(JUnitReport.xml(suites).utf8), to: path)
    }

    /// The JUnit suite of one stored scenario folder (see ``writeCombinedJUnit(scenarioDirectories:to:)``).
    public static func junitSuite(from directory: String) -> JUnitReport.Suite {
        let name = URL(fileURLWithPath: directory).lastPathComponent
        guard let data = FileManager.default.contents(atPath: directory + "/result.json"),
              let document = try? JSONDecoder().decode(ResultDocument.self, from: data)
        else {
            return .infrastructureFailure(scenario: name, backend: "unknown", message: "no result.json in \(directory): the run failed before it could be judged")
        }
        let checks = document.checks.map {
            CheckResult(id: $0.id, name: $0.name, passed: $0.passed, expected: $0.expected, observed: $0.observed, at: $0.at)
        }
        let duration = (try? readHistory(from: directory))?.duration ?? 0
        return JUnitReport.Suite(scenario: document.scenario, backend: document.backend, timeScale: document.timeScale,
                                 seed: document.seed, duration: duration, checks: checks)
    }

    /// Reads a stored history back (for `chaos report`).
    public static func readHistory(from directory: String) throws -> History {
        let path = directory + "/history.json"
        guard let data = FileManager.default.contents(atPath: path) else { throw WriteError(path: path, underlying: "missing") }
        return try JSONDecoder().decode(History.self, from: data)
    }

    static func save(_ data: Data, to path: String) throws {
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw WriteError(path: path, underlying: "\(error)")
        }
    }
}
