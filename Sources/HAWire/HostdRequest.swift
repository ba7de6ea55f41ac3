import HACore

// MARK: - HostdRequest

/// A request from the agent to hostd on `N/run/hostd.sock` (docs/NODES.md §5).
///
/// Flat JSON, e.g. `{"id":3,"op":"powerOn","vm":"vm-01","reason":"restart"}`. hostd MUST
/// answer every request with exactly one ``HostdResponse`` carrying the same `id`.
public struct HostdRequest: JSONLineCodable, Hashable {
    /// The operation.
    public enum Op: String, Codable, Hashable, Sendable, CaseIterable {
        /// Power the VM on; answered once it holds its disk lock and runs, or failed.
        case powerOn
        /// Hard power-off.
        case powerOff
        /// Guest shutdown; answered at once, completion arrives as ``HostdEvent/vmPowerState(vm:on:reason:)``.
        case shutdown
        /// Reset (VM monitoring).
        case reset
        /// List the running VMs; the answer carries ``HostdResponse/vms``.
        case list
    }

    /// Correlates the request with its response; unique per connection.
    public var id: UInt64
    /// The operation.
    public var op: Op
    /// The VM; required by every op except ``Op/list``.
    public var vm: VMID?
    /// Why (e.g. `restart`, `isolation-response`); free text, optional.
    public var reason: String?

    /// Creates a request.
    public init(id: UInt64, op: Op, vm: VMID? = nil, reason: String? = nil) {
        self.id = id
        self.op = op
        self.vm = vm
        self.reason = reason
    }

    /// Every op except ``Op/list`` MUST name a VM with a safe id.
    public func validate() throws(JSONLineError) {
        switch op {
        case .list:
            break
        case .powerOn, .powerOff, .shutdown, .reset:
            guard let vm else { throw JSONLineError(.invalidValue, "\(op.rawValue) without vm") }
            guard DatastoreFiles.isSafeComponent(vm.rawValue) else {
                throw JSONLineError(.invalidValue, "vm \(vm.rawValue.debugDescription)")
            }
        }
    }
}
