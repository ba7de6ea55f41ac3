import Foundation

// MARK: - EvidenceLines

/// The evidence files of a node folder (docs/NODES.md §6) and a tolerant reader for them.
public enum EvidenceLines {
    /// ``EventLine`` file, relative to the node folder `N`; appended by ha-agent.
    public static let eventsPath = "logs/events.jsonl"
    /// ``GroundTruthLine`` file, relative to the node folder `N`; appended by hostd.
    public static let groundTruthPath = "logs/ground-truth.jsonl"

    /// The readable content of an evidence file.
    public struct Contents<Line: JSONLineCodable>: Sendable {
        /// The valid lines, in file order.
        public var lines: [Line]
        /// Non-empty lines that did not decode (a line torn by a crash, say).
        public var rejectedLines: Int

        /// Creates file contents.
        public init(lines: [Line], rejectedLines: Int) {
            self.lines = lines
            self.rejectedLines = rejectedLines
        }
    }

    /// Decodes every line of an evidence file, skipping (and counting) bad ones.
    ///
    /// - Parameters:
    ///   - data: The file content (untrusted).
    ///   - type: The line type.
    /// - Returns: The valid lines and the rejected count; never throws or traps.
    public static func decodeAll<Line: JSONLineCodable>(_ data: Data, as type: Line.Type) -> Contents<Line> {
        var contents = Contents<Line>(lines: [], rejectedLines: 0)
        var framer = JSONLineFramer()
        framer.append(data)
        while true {
            do {
                guard let line = try framer.nextLine() ?? framer.finish() else { break }
                contents.lines.append(try Line.decode(line: line))
            } catch {
                contents.rejectedLines += 1
            }
        }
        return contents
    }
}
