import Foundation
import HACore
import HAWire
import HostKit

/// Live evidence for terminal progress: the lines agents appended since the last call.
///
/// Reads each node's `events.jsonl` from where the previous call stopped (a byte offset per
/// file), so a long run costs one small read per file per call. A line still being written is
/// kept for the next call. The history itself is still built from whole files at the end
/// (``NodeCluster/collectHistory(backend:seed:faults:hostPower:duration:)``): this is display only.
final class EvidenceTail: @unchecked Sendable {
    // @unchecked: the state is guarded by `lock`.
    private let lock = NSLock()
    private var offsets: [String: UInt64] = [:]
    private var partial: [String: Data] = [:]
    /// The most read per file per call (a burst is shown on the following calls).
    static let maxChunk = 1 << 20

    /// New complete event lines of `files`, mapped to run time against `startWall`, in time order.
    func newEvents(files: [String], startWall: Double) -> [TimedEvent] {
        lock.withLock {
            var events: [TimedEvent] = []
            for file in files {
                guard let handle = FileHandle(forReadingAtPath: file) else { continue }
                defer { try? handle.close() }
                let offset = offsets[file] ?? 0
                guard (try? handle.seek(toOffset: offset)) != nil,
                      let chunk = try? handle.read(upToCount: Self.maxChunk), !chunk.isEmpty else { continue }
                offsets[file] = offset + UInt64(chunk.count)
                var data = partial[file] ?? Data()
                data.append(chunk)
                // Keep an unterminated last line for the next call.
                if let lastNewline = data.lastIndex(of: 0x0A) {
                    let complete = data[data.startIndex...lastNewline]
                    partial[file] = Data(data[data.index(after: lastNewline)...])
                    for line in EvidenceLines.decodeAll(Data(complete), as: EventLine.self).lines {
                        events.append(TimedEvent(time: line.wall - startWall, event: line.event))
                    }
                } else {
                    partial[file] = data.count > Self.maxChunk ? Data() : data
                }
            }
            return events.sorted { $0.time < $1.time }
        }
    }
}

extension NodeCluster {
    /// Evidence appended since the previous call (every node, plus the extra event files).
    public func newEvents() -> [TimedEvent] {
        let files = cluster.hosts.map { paths($0.id).logsDirectory + "/events.jsonl" } + extraEventFiles
        return tail.newEvents(files: files, startWall: startWall)
    }
}
