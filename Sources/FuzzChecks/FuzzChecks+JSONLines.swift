import Foundation
import HACore
import HAWire

// MARK: - JSON-line streams (docs/NODES.md §5, §6)

extension FuzzChecks {
    /// One input as a byte stream of the agent ↔ hostd socket, the agent ↔ controller socket
    /// and the evidence files `events.jsonl` / `ground-truth.jsonl`.
    ///
    /// The stream is fed to ``HAWire/JSONLineFramer`` in chunks sized by the input itself (the
    /// first byte also picks a small line limit, so overlong lines are reachable). The framer
    /// throws only `lineTooLong`, returns lines without newlines within its limit, and is empty
    /// after `finish()`; each line decoder throws only decoding codes, and what it accepts
    /// encodes and decodes to itself.
    public static func jsonLines(_ bytes: [UInt8]) -> [String] {
        var violations: [String] = []
        var framer = JSONLineFramer(maxLineBytes: bytes.first.map { $0 & 1 == 0 ? 512 : jsonLineMaxBytes } ?? jsonLineMaxBytes)
        var lines: [[UInt8]] = []
        func drain() {
            while true {
                do {
                    guard let line = try framer.nextLine() else { return }
                    if line.count > framer.maxLineBytes || line.contains(0x0A) { violations.append("framer returned a bad line (\(line.count) bytes)") }
                    lines.append(line)
                } catch {
                    if error.code != .lineTooLong { violations.append("framer threw \(error)") }
                }
            }
        }
        var offset = 0
        var chunk = 1
        while offset < bytes.count {
            let end = min(bytes.count, offset + chunk)
            framer.append(bytes[offset..<end])
            drain()
            chunk = Int(bytes[offset] % 64) + 1
            offset = end
        }
        do {
            if let last = try framer.finish() { lines.append(last) }
        } catch {
            if error.code != .lineTooLong { violations.append("finish threw \(error)") }
        }
        if framer.bufferedByteCount != 0 { violations.append("framer kept \(framer.bufferedByteCount) bytes after finish") }

        for line in lines.prefix(64) {
            decode(line, as: HostdRequest.self, &violations)
            decode(line, as: EventLine.self, &violations)
            decode(line, as: GroundTruthLine.self, &violations)
            decode(line, as: ControllerProtocol.AgentMessage.self, &violations)
            decode(line, as: ControllerProtocol.ControllerMessage.self, &violations)
            do {
                _ = try HostdProtocol.decodeInbound(line: line)
            } catch {
                if error.code == .unencodable { violations.append("decodeInbound threw \(error)") }
            }
        }
        let events = EvidenceLines.decodeAll(Data(bytes), as: EventLine.self)
        let truths = EvidenceLines.decodeAll(Data(bytes), as: GroundTruthLine.self)
        let most = bytes.split(separator: 0x0A).count + 1
        if events.lines.count + events.rejectedLines > most || truths.lines.count + truths.rejectedLines > most {
            violations.append("evidence reader counts more lines than the file has")
        }
        return violations
    }

    /// Decodes one line; an accepted value MUST encode and decode back to itself.
    private static func decode<Line: JSONLineCodable & Equatable>(_ line: [UInt8], as type: Line.Type, _ violations: inout [String]) {
        let value: Line
        do {
            value = try Line.decode(line: line)
        } catch {
            if error.code == .unencodable { violations.append("\(Line.self) decode threw \(error)") }
            return
        }
        do {
            let again = try Line.decode(line: try value.encodeLine())
            if again != value { violations.append("\(Line.self) round trip changed \(value) → \(again)") }
        } catch where error.code == .lineTooLong {
        } catch {
            violations.append("\(Line.self) accepted \(value) but cannot write it back: \(error)")
        }
    }
}
