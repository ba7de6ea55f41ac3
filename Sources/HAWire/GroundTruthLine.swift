import HACore

// MARK: - GroundTruthLine

/// One line of `N/logs/ground-truth.jsonl`, written by hostd (docs/NODES.md §6):
/// `{"wall":1714000000.25,"vm":"vm-01","instance":"vm-01#3","host":"host-2","event":"stop","reason":"crashed"}`.
public struct GroundTruthLine: JSONLineCodable, Hashable {
    /// Whether the instance started or stopped.
    public enum Kind: String, Codable, Hashable, Sendable, CaseIterable {
        case start
        case stop
    }

    /// Unix time, in seconds.
    public var wall: Double
    /// The VM.
    public var vm: VMID
    /// The instance, e.g. `vm-01#3`.
    public var instance: String
    /// The host running the instance.
    public var host: HostID
    /// Start or stop.
    public var event: Kind
    /// Why: the power-on reason for starts, a ``HACore/VMEndReason`` raw value for stops.
    public var reason: String?

    /// Creates a line.
    public init(wall: Double, vm: VMID, instance: String, host: HostID, event: Kind, reason: String? = nil) {
        self.wall = wall
        self.vm = vm
        self.instance = instance
        self.host = host
        self.event = event
        self.reason = reason
    }

    /// ``reason`` as an end reason (stops only; nil when absent or not a known value).
    public var endReason: VMEndReason? {
        guard event == .stop, let reason else { return nil }
        return VMEndReason(rawValue: reason)
    }

    /// `wall` MUST be finite and the ids non-empty.
    public func validate() throws(JSONLineError) {
        guard wall.isFinite else { throw JSONLineError(.invalidValue, "wall \(wall)") }
        guard !vm.rawValue.isEmpty, !instance.isEmpty, !host.rawValue.isEmpty else {
            throw JSONLineError(.invalidValue, "empty vm, instance or host")
        }
    }
}
