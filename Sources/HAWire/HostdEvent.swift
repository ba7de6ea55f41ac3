import HACore

// MARK: - HostdEvent

/// An unsolicited notification from hostd to the agent (docs/NODES.md §5).
///
/// Flat JSON with an `event` discriminator:
/// `{"event":"vmPowerState","vm":"vm-01","on":false,"reason":"crashed"}`,
/// `{"event":"guestHeartbeat","vm":"vm-01"}`, `{"event":"vmIO","vm":"vm-01"}`.
public enum HostdEvent: JSONLineCodable, Hashable {
    /// A VM was powered on or off; `reason` says why it stopped (nil for power-on).
    ///
    /// Decoding keeps the event when `reason` is not a ``HACore/VMEndReason`` raw value (it
    /// becomes nil, which HA treats like a crash) and ignores `reason` when `on` is true.
    case vmPowerState(vm: VMID, on: Bool, reason: VMEndReason?)
    /// The VM's guest heartbeat (VMware Tools) ticked.
    case guestHeartbeat(vm: VMID)
    /// The VM did disk or network I/O (VM monitoring's I/O check).
    case vmIO(vm: VMID)

    /// The `event` field values.
    public enum Name: String, Codable, Hashable, Sendable, CaseIterable {
        case vmPowerState, guestHeartbeat, vmIO
    }

    /// This event's `event` field.
    public var name: Name {
        switch self {
        case .vmPowerState: .vmPowerState
        case .guestHeartbeat: .guestHeartbeat
        case .vmIO: .vmIO
        }
    }

    /// The VM the event is about.
    public var vm: VMID {
        switch self {
        case .vmPowerState(let vm, _, _), .guestHeartbeat(let vm), .vmIO(let vm): vm
        }
    }

    enum CodingKeys: String, CodingKey { case event, vm, on, reason }

    /// Decodes the flat JSON object of the contract.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let name = try container.decode(Name.self, forKey: .event)
        let vm = try container.decode(VMID.self, forKey: .vm)
        switch name {
        case .vmPowerState:
            // Lenient on `reason`: hostd also sends the power-on reason (`restart`) with `on:true`,
            // and losing a power-state change is worse than losing an unknown stop reason.
            let on = try container.decode(Bool.self, forKey: .on)
            let reason = try container.decodeIfPresent(String.self, forKey: .reason)
            self = .vmPowerState(vm: vm, on: on, reason: on ? nil : reason.flatMap { VMEndReason(rawValue: $0) })
        case .guestHeartbeat:
            self = .guestHeartbeat(vm: vm)
        case .vmIO:
            self = .vmIO(vm: vm)
        }
    }

    /// Encodes the flat JSON object of the contract.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .event)
        try container.encode(vm, forKey: .vm)
        if case .vmPowerState(_, let on, let reason) = self {
            try container.encode(on, forKey: .on)
            try container.encodeIfPresent(reason, forKey: .reason)
        }
    }

    /// The VM id MUST be a safe path component.
    public func validate() throws(JSONLineError) {
        guard DatastoreFiles.isSafeComponent(vm.rawValue) else {
            throw JSONLineError(.invalidValue, "vm \(vm.rawValue.debugDescription)")
        }
    }
}
