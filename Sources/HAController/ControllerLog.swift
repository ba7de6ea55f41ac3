import Foundation

// MARK: - ControllerLog

/// Structured diagnostics on stderr: constant message text, data in dotted metadata keys.
///
/// Why not swift-log: the HAController target does not depend on it (yet); the call sites use
/// swift-log's shape (`info(_:metadata:)`), so switching is a type change. HA facts go to
/// `events.jsonl` and `decisions.jsonl`, never only here.
struct ControllerLog: Sendable {
    /// Severity, lowest first.
    enum Level: Int, Sendable, Comparable {
        case debug, info, warning, error

        static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// The label printed on each line.
    var label: String
    /// Lines below this level are dropped.
    var logLevel: Level = .info

    func debug(_ message: String, metadata: [String: String] = [:]) { log(.debug, message, metadata) }
    func info(_ message: String, metadata: [String: String] = [:]) { log(.info, message, metadata) }
    func warning(_ message: String, metadata: [String: String] = [:]) { log(.warning, message, metadata) }
    func error(_ message: String, metadata: [String: String] = [:]) { log(.error, message, metadata) }

    private func log(_ level: Level, _ message: String, _ metadata: [String: String]) {
        guard level >= logLevel else { return }
        let fields = metadata.keys.sorted().map { "\($0)=\(metadata[$0] ?? "")" }.joined(separator: " ")
        let time = Date().formatted(.iso8601)
        let line = "\(time) \(level) \(label): \(fields.isEmpty ? "" : fields + " ")\(message)\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}
