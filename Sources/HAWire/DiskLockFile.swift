import Foundation
import HACore

// MARK: - DiskLockFile

/// A VM's disk lock lease `<ds>/<vm>/lock` (docs/NODES.md §3):
/// `{"instance":"vm-01#3","host":"host-2","counter":17}`.
///
/// The holder MUST renew it (counter + 1) every `vmDiskLockRenewInterval`; another instance MAY
/// break it only after observing the counter unchanged for `vmDiskLockExpiry` of its own time.
public struct DiskLockFile: Codable, Hashable, Sendable {
    /// The VM instance holding the lock, e.g. `vm-01#3`.
    public var instance: String
    /// The host running that instance.
    public var host: HostID
    /// Incremented on every renewal.
    public var counter: UInt64

    /// Creates a disk lock value.
    public init(instance: String, host: HostID, counter: UInt64) {
        self.instance = instance
        self.host = host
        self.counter = counter
    }

    /// Whether nobody holds the lock: an empty `instance` (writers SHOULD delete the file instead).
    public var isReleased: Bool { instance.isEmpty }

    // MARK: - File format

    /// Parses the file content.
    ///
    /// - Parameter data: The bytes read from the datastore (untrusted).
    /// - Returns: The value.
    /// - Throws: ``DatastoreFileError`` on empty, oversized, malformed or invalid content
    ///   (an unsafe instance or host id unless the lock is released).
    public static func parse(_ data: Data) throws(DatastoreFileError) -> DiskLockFile {
        let file = try FileJSON.decode(DiskLockFile.self, from: data)
        guard !file.isReleased else { return file }
        try FileJSON.requireID(file.instance, "instance")
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
