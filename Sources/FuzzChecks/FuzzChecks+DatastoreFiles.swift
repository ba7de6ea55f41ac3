import Foundation
import HACore
import HAWire

// MARK: - Datastore files (docs/NODES.md §3)

extension FuzzChecks {
    /// One input read as every datastore file kind: `protectedlist` (and its claims),
    /// `<host>-hb`, `<host>-poweron` (bytes and text), a VM `lock`, one journal line and a
    /// whole journal.
    ///
    /// Each parser returns a value or throws ``HAWire/DatastoreFileError``; what it accepts
    /// serializes and parses back to itself (what an agent reads it can write again); the text
    /// and byte poweron parsers agree; a journal never counts more lines than it has.
    public static func datastoreFiles(_ bytes: [UInt8]) -> [String] {
        var violations: [String] = []
        let data = Data(bytes)
        if let file = try? ProtectedListFile.parse(data) {
            roundTrip(file, "protectedlist", &violations) { try $0.serialized() } parse: { try ProtectedListFile.parse($0) }
        }
        if let file = try? HeartbeatFile.parse(data) {
            roundTrip(file, "heartbeat", &violations) { try $0.serialized() } parse: { try HeartbeatFile.parse($0) }
        }
        if let file = try? DiskLockFile.parse(data) {
            roundTrip(file, "lock", &violations) { try $0.serialized() } parse: { try DiskLockFile.parse($0) }
        }
        if let file = try? PowerOnFileFormat.parse(data) {
            roundTrip(file, "poweron", &violations) { Data(PowerOnFileFormat.serialize($0).utf8) } parse: { try PowerOnFileFormat.parse($0) }
        }
        if let text = String(validating: bytes, as: UTF8.self), (try? PowerOnFileFormat.parse(text)) != (try? PowerOnFileFormat.parse(data)) {
            violations.append("poweron text and byte parsers disagree")
        }
        if let record = try? JournalRecord.parse(line: data) {
            roundTrip(record, "journal line", &violations) { try $0.serializedLine() } parse: { try JournalRecord.parse(line: $0) }
        }
        let journal = JournalRecord.parseJournal(data)
        let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: true).count
        if journal.records.count + journal.rejectedLines > lines {
            violations.append("journal counts \(journal.records.count + journal.rejectedLines) lines of \(lines)")
        }
        return violations
    }

    /// Serializes an accepted value and parses it again; both MUST succeed and agree.
    private static func roundTrip<Value: Equatable>(
        _ value: Value, _ kind: String, _ violations: inout [String],
        serialize: (Value) throws -> Data, parse: (Data) throws -> Value
    ) {
        do {
            let again = try parse(try serialize(value))
            if again != value { violations.append("\(kind) round trip changed \(value) → \(again)") }
        } catch {
            violations.append("\(kind) accepted \(value) but cannot write it back: \(error)")
        }
    }
}
