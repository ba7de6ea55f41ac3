import Foundation
import HACore

// MARK: - JournalRecord

/// One line of a VM's journal `<ds>/<vm>/journal` (docs/NODES.md §3):
/// `{"vm":"vm-01","instance":"vm-01#3","host":"host-2","seq":9,"wall":1714000000.25}`.
///
/// An instance MUST append a record (O_APPEND + fsync) only while it holds the VM's disk lock,
/// so two instances' records interleaving in one journal is a split-brain witness.
public struct JournalRecord: Codable, Hashable, Sendable {
    /// The VM.
    public var vm: VMID
    /// The writing instance, e.g. `vm-01#3`.
    public var instance: String
    /// The host running the instance.
    public var host: HostID
    /// The instance's record counter.
    public var seq: UInt64
    /// Unix time of the write, in seconds.
    public var wall: Double

    /// Creates a record.
    public init(vm: VMID, instance: String, host: HostID, seq: UInt64, wall: Double) {
        self.vm = vm
        self.instance = instance
        self.host = host
        self.seq = seq
        self.wall = wall
    }

    /// The longest journal line accepted (64 KiB).
    public static let maxLineBytes = 64 * 1024

    // MARK: - Line format

    /// Parses one journal line (a trailing newline is allowed).
    ///
    /// - Parameter line: The bytes of one line (untrusted).
    /// - Returns: The record.
    /// - Throws: ``DatastoreFileError`` on empty, oversized, malformed or invalid lines.
    public static func parse(line: Data) throws(DatastoreFileError) -> JournalRecord {
        let record = try FileJSON.decode(JournalRecord.self, from: line, limit: maxLineBytes)
        try FileJSON.requireID(record.vm.rawValue, "vm")
        try FileJSON.requireID(record.instance, "instance")
        try FileJSON.requireID(record.host.rawValue, "host")
        guard record.wall.isFinite else { throw DatastoreFileError(.invalidValue, "wall \(record.wall)") }
        return record
    }

    /// The record as one JSON line, ending in `\n`.
    ///
    /// - Returns: The bytes to append.
    /// - Throws: ``DatastoreFileError/Code-swift.enum/unencodable`` when `wall` is not finite.
    public func serializedLine() throws(DatastoreFileError) -> Data {
        guard wall.isFinite else { throw DatastoreFileError(.unencodable, "wall \(wall)") }
        var data = try FileJSON.encode(self)
        data.append(0x0A)
        return data
    }

    // MARK: - Whole journals

    /// The readable content of a journal file.
    public struct Contents: Hashable, Sendable {
        /// The records, in file order.
        public var records: [JournalRecord]
        /// Non-empty lines that did not parse (for example a line torn by a crash mid-append).
        public var rejectedLines: Int

        /// Creates journal contents.
        public init(records: [JournalRecord], rejectedLines: Int) {
            self.records = records
            self.rejectedLines = rejectedLines
        }
    }

    /// Parses a whole journal, keeping every valid line.
    ///
    /// - Parameter data: The journal file (untrusted).
    /// - Returns: The valid records and the count of rejected lines; never throws or traps.
    public static func parseJournal(_ data: Data) -> Contents {
        var contents = Contents(records: [], rejectedLines: 0)
        for line in data.split(separator: 0x0A, omittingEmptySubsequences: true) {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
            do {
                contents.records.append(try parse(line: Data(line)))
            } catch {
                contents.rejectedLines += 1
            }
        }
        return contents
    }
}
