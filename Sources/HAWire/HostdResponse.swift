import HACore

// MARK: - HostdResponse

/// hostd's answer to one ``HostdRequest`` (docs/NODES.md §5):
/// `{"id":3,"ok":true,"reason":"..."}`, plus `"vms":[...]` for ``HostdRequest/Op/list``.
public struct HostdResponse: JSONLineCodable, Hashable {
    /// The request's id.
    public var id: UInt64
    /// Whether the operation succeeded.
    public var ok: Bool
    /// Why it failed, or a short confirmation; empty when the line omits it.
    public var reason: String
    /// The running VMs (answers to `list` only).
    public var vms: [VMID]?

    /// Creates a response.
    public init(id: UInt64, ok: Bool, reason: String = "", vms: [VMID]? = nil) {
        self.id = id
        self.ok = ok
        self.reason = reason
        self.vms = vms
    }

    enum CodingKeys: String, CodingKey { case id, ok, reason, vms }

    /// Decodes the flat JSON object of the contract.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(UInt64.self, forKey: .id)
        ok = try container.decode(Bool.self, forKey: .ok)
        reason = try container.decodeIfPresent(String.self, forKey: .reason) ?? ""
        vms = try container.decodeIfPresent([VMID].self, forKey: .vms)
    }
}
