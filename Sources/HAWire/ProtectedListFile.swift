import Foundation
import HACore

// MARK: - ProtectedListFile

/// The `protectedlist` lease file of a datastore (docs/NODES.md §3).
///
/// `{"owner":"host-4","epoch":7,"renewedCounter":123,"vms":["vm-01"]}`. The owner MUST rewrite
/// it (incrementing `renewedCounter`) every `protectedListRenewInterval`. Another host MAY take
/// it over only when `owner` is null (released) or after observing `renewedCounter` unchanged
/// for `protectedListLockExpiry` of its own time. `epoch` counts ownership changes (a fencing
/// token). `owner` is always written, as `null` when released.
public struct ProtectedListFile: Codable, Hashable, Sendable {
    /// The master holding the lease; nil when released.
    public var owner: HostID?
    /// Incremented on every change of owner.
    public var epoch: UInt64
    /// Incremented on every write.
    public var renewedCounter: UInt64
    /// The VMs protected by the owner whose home is this datastore.
    public var vms: [VMID]

    /// Creates a protectedlist value.
    public init(owner: HostID?, epoch: UInt64, renewedCounter: UInt64, vms: [VMID]) {
        self.owner = owner
        self.epoch = epoch
        self.renewedCounter = renewedCounter
        self.vms = vms
    }

    enum CodingKeys: String, CodingKey { case owner, epoch, renewedCounter, vms }

    /// Decodes the flat JSON object of the contract.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        owner = try container.decodeIfPresent(HostID.self, forKey: .owner)
        epoch = try container.decode(UInt64.self, forKey: .epoch)
        renewedCounter = try container.decode(UInt64.self, forKey: .renewedCounter)
        vms = try container.decode([VMID].self, forKey: .vms)
    }

    /// Encodes the flat JSON object of the contract.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if let owner { try container.encode(owner, forKey: .owner) } else { try container.encodeNil(forKey: .owner) }
        try container.encode(epoch, forKey: .epoch)
        try container.encode(renewedCounter, forKey: .renewedCounter)
        try container.encode(vms, forKey: .vms)
    }

    // MARK: - File format

    /// Parses the file content.
    ///
    /// - Parameter data: The bytes read from the datastore (untrusted).
    /// - Returns: The value.
    /// - Throws: ``DatastoreFileError`` on empty, oversized, malformed or invalid content.
    public static func parse(_ data: Data) throws(DatastoreFileError) -> ProtectedListFile {
        let file = try FileJSON.decode(ProtectedListFile.self, from: data)
        if let owner = file.owner { try FileJSON.requireID(owner.rawValue, "owner") }
        for vm in file.vms { try FileJSON.requireID(vm.rawValue, "vm") }
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
