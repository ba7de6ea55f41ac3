import Foundation
import HACore

// MARK: - HeartbeatFile

/// A host's datastore heartbeat file `<host>-hb` (docs/NODES.md §3): `{"host":"host-3","counter":42}`.
///
/// The host MUST increment `counter` on every write; readers judge liveness by the counter
/// changing over their own time, never by timestamps.
public struct HeartbeatFile: Codable, Hashable, Sendable {
    /// The writing host.
    public var host: HostID
    /// Incremented on every write.
    public var counter: UInt64

    /// Creates a heartbeat value.
    public init(host: HostID, counter: UInt64) {
        self.host = host
        self.counter = counter
    }

    // MARK: - File format

    /// Parses the file content.
    ///
    /// - Parameter data: The bytes read from the datastore (untrusted).
    /// - Returns: The value.
    /// - Throws: ``DatastoreFileError`` on empty, oversized, malformed or invalid content.
    public static func parse(_ data: Data) throws(DatastoreFileError) -> HeartbeatFile {
        let file = try FileJSON.decode(HeartbeatFile.self, from: data)
        try FileJSON.requireID(file.host.rawValue, "host")
        return file
    }

    /// The file content (one JSON object, keys sorted).
    ///
    /// - Returns: The bytes to write atomically.
    /// - Throws: ``DatastoreFileError/Code-swift.enum/unencodable`` (not expected for valid values).
    public func serialized() throws(DatastoreFileError) -> Data {
        try FileJSON.encode(self)
    }
}
