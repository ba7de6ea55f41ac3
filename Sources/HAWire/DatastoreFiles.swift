import Foundation
import HACore

// MARK: - DatastoreFiles

/// File names and layout of the HA files on a datastore (docs/NODES.md §3).
///
/// ```
/// <root>/<ds>/.pdl                                   PDL sense code (emulated)
/// <root>/<ds>/.vSphere-HA/<cluster>/protectedlist    ProtectedListFile
/// <root>/<ds>/.vSphere-HA/<cluster>/<host>-hb        HeartbeatFile
/// <root>/<ds>/.vSphere-HA/<cluster>/<host>-poweron   PowerOnFileFormat
/// <root>/<ds>/.vSphere-HA/<cluster>/poweredoff/<vm>  empty marker
/// <root>/<ds>/<vm>/lock                              DiskLockFile
/// <root>/<ds>/<vm>/journal                           JournalRecord lines
/// ```
/// Host ids are used verbatim (`host-3` → `host-3-hb`). Every file except the journal MUST be
/// written atomically: ``temporaryName(for:pid:)``, fsync, rename, fsync the directory.
public enum DatastoreFiles {
    /// Where datastores are mounted on a node.
    public static let defaultRoot = "/vmfs/volumes"
    /// The HA directory at the datastore root; the cluster's files live in `<this>/<cluster>`.
    public static let haDirectoryName = ".vSphere-HA"
    /// The PDL "sense code" file at the datastore root.
    public static let pdlMarkerName = ".pdl"
    /// The protectedlist lease file.
    public static let protectedListName = "protectedlist"

    /// The claim of one protectedlist epoch: `protectedlist.claim-<epoch>`, created exclusively
    /// (hard link of a complete temporary file) by the one host that takes the lease to that
    /// epoch; it holds the same JSON as the protectedlist it publishes (docs/NODES.md §3).
    public static func protectedListClaimName(epoch: UInt64) -> String { "\(protectedListName).claim-\(epoch)" }
    /// The directory of poweredoff markers.
    public static let poweredOffDirectoryName = "poweredoff"
    /// A VM's disk lock file (in `<ds>/<vm>/`).
    public static let vmLockName = "lock"
    /// A VM's journal (in `<ds>/<vm>/`).
    public static let journalName = "journal"
    /// The largest file any parser accepts (1 MiB), except the journal.
    public static let maxFileBytes = 1 << 20

    /// The heartbeat file name of a host, e.g. `host-3-hb`.
    public static func heartbeatName(_ host: HostID) -> String { "\(host.rawValue)-hb" }

    /// The poweron file name of a host, e.g. `host-3-poweron`.
    public static func powerOnName(_ host: HostID) -> String { "\(host.rawValue)-poweron" }

    /// The temporary name an atomic write of `name` uses in the same directory: `.<name>.tmp-<pid>`.
    public static func temporaryName(for name: String, pid: Int32) -> String { ".\(name).tmp-\(pid)" }

    /// Whether `name` has the form of ``temporaryName(for:pid:)`` (`.<name>.tmp-<digits>`): a
    /// write in progress, or the leftover of a writer killed between create and rename.
    public static func isTemporaryName(_ name: String) -> Bool {
        guard name.hasPrefix("."), let range = name.range(of: ".tmp-", options: .backwards) else { return false }
        let digits = name[range.upperBound...]
        return range.lowerBound > name.index(after: name.startIndex) && !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// How old a temporary file must be before it counts as abandoned and is removed. No atomic
    /// write of these small files takes a minute; the check uses the file's own mtime against a
    /// fresh probe on the same datastore, so no clocks are compared across hosts.
    public static let abandonedTemporaryAge: Double = 60

    /// Whether `component` can be used as one path component: non-empty, at most 255 bytes, not
    /// `.` or `..`, no `/` and no control characters. Ids from the network MUST pass this check
    /// before they name a file.
    public static func isSafeComponent(_ component: String) -> Bool {
        guard !component.isEmpty, component.utf8.count <= 255, component != ".", component != ".." else { return false }
        return !component.unicodeScalars.contains { $0 == "/" || $0.value < 0x20 || $0.value == 0x7F }
    }
}

// MARK: - JSON helpers shared by the file types

/// JSON encoding and decoding with ``DatastoreFileError`` (deterministic: sorted keys).
enum FileJSON {
    static func decode<T: Decodable>(_ type: T.Type, from data: Data, limit: Int = DatastoreFiles.maxFileBytes) throws(DatastoreFileError) -> T {
        guard !data.isEmpty else { throw DatastoreFileError(.empty, "\(T.self)") }
        guard data.count <= limit else { throw DatastoreFileError(.tooLarge, "\(T.self): \(data.count) bytes > \(limit)") }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw DatastoreFileError(.malformed, "\(T.self): \(WireCodec.summary(of: error))")
        }
    }

    static func encode<T: Encodable>(_ value: T) throws(DatastoreFileError) -> Data {
        do {
            return try WireCodec.makeEncoder().encode(value)
        } catch {
            throw DatastoreFileError(.unencodable, "\(T.self): \(error)")
        }
    }

    /// Rejects empty or unsafe ids.
    static func requireID(_ value: String, _ field: String) throws(DatastoreFileError) {
        guard DatastoreFiles.isSafeComponent(value) else {
            throw DatastoreFileError(.invalidValue, "\(field) \(value.debugDescription)")
        }
    }
}
