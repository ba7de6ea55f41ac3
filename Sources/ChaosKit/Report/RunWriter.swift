import Foundation
import HACore

/// Writes one scenario's run folder (DESIGN §8): result.json, events.jsonl, faults.jsonl,
/// history.json (everything `chaos report` needs to re-check offline).
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
        return document
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
