// MARK: - Restart placement (oracle §6.1, §6.4–§6.7, §11 INV-R5, INV-R6)

/// Where the master restarts failed VMs: a pure, deterministic placement over the hosts'
/// unreserved capacity.
///
/// Why: the master must pick a target host for every VM it restarts, honouring reservations
/// plus overhead, datastore access and VM-host "must" rules, giving higher restart priorities
/// first claim on resources and spreading restarts to avoid a boot storm (oracle §6.4). VMs that
/// fit nowhere are returned as unplaced so the caller can keep them on the pending placement
/// list (oracle §6.5).
///
/// Placement never consults ``AdmissionControl``: admission control never blocks an HA restart
/// (oracle §6.7, INV-R5). Hosts lacking required agent VMs are the caller's to leave out of
/// `hosts` (INV-R6); everything else in INV-R6 (the compatibility list) is enforced here.
public enum Placement {
    // MARK: - Inputs and outputs

    /// One candidate target host and what is already reserved on it.
    public struct HostCapacity: Hashable, Sendable {
        /// The host.
        public var host: HostID
        /// Total CPU in MHz.
        public var cpuMHz: Int
        /// Total memory in MB.
        public var memoryMB: Int
        /// CPU reserved by the VMs running (or being placed) there, in MHz.
        public var reservedCPUMHz: Int
        /// Memory reserved by the VMs running (or being placed) there, in MB, **including**
        /// their memory overheads.
        public var reservedMemoryMB: Int
        /// Datastores the host can access now: a VM is placed only where its home datastore is.
        public var accessibleDatastores: Set<DatastoreID>
        /// VMs running (or being placed) there: the spreading tie-break.
        public var vmCount: Int

        /// Creates a host's capacity.
        ///
        /// - Parameters:
        ///   - host: The host.
        ///   - cpuMHz: Total CPU in MHz.
        ///   - memoryMB: Total memory in MB.
        ///   - reservedCPUMHz: CPU already reserved there.
        ///   - reservedMemoryMB: Memory already reserved there, overheads included.
        ///   - accessibleDatastores: Datastores the host can access.
        ///   - vmCount: VMs already there.
        public init(
            host: HostID, cpuMHz: Int, memoryMB: Int, reservedCPUMHz: Int, reservedMemoryMB: Int,
            accessibleDatastores: Set<DatastoreID>, vmCount: Int
        ) {
            self.host = host
            self.cpuMHz = cpuMHz
            self.memoryMB = memoryMB
            self.reservedCPUMHz = reservedCPUMHz
            self.reservedMemoryMB = reservedMemoryMB
            self.accessibleDatastores = accessibleDatastores
            self.vmCount = vmCount
        }

        /// CPU not yet reserved, in MHz.
        public var unreservedCPUMHz: Int { cpuMHz - reservedCPUMHz }
        /// Memory not yet reserved, in MB.
        public var unreservedMemoryMB: Int { memoryMB - reservedMemoryMB }
    }

    /// One placement decision: restart `vm` on `host`.
    public struct Assignment: Hashable, Sendable {
        /// The VM to restart.
        public var vm: VMID
        /// The target host.
        public var host: HostID

        /// Creates an assignment.
        ///
        /// - Parameters:
        ///   - vm: The VM to restart.
        ///   - host: The target host.
        public init(vm: VMID, host: HostID) {
            self.vm = vm
            self.host = host
        }
    }

    /// The result of ``place(_:on:failoverHosts:)``.
    public struct Outcome: Hashable, Sendable {
        /// Assignments in decision order (restart priority, then VM id).
        public var placements: [Assignment]
        /// VMs that fit on no eligible host, in decision order: they belong on the pending
        /// placement list (oracle §6.5). Disabled-priority VMs never appear here.
        public var unplaced: [VMID]

        /// Creates an outcome.
        ///
        /// - Parameters:
        ///   - placements: Assignments in decision order.
        ///   - unplaced: VMs that could not be placed.
        public init(placements: [Assignment] = [], unplaced: [VMID] = []) {
            self.placements = placements
            self.unplaced = unplaced
        }

        /// The target host chosen for `vm`, if any.
        ///
        /// - Parameter vm: A VM id.
        /// - Returns: Its target host, or `nil` when it was not placed.
        public func host(for vm: VMID) -> HostID? {
            placements.first { $0.vm == vm }?.host
        }
    }

    // MARK: - Placement

    /// Places `vms` on `hosts`, deterministically (oracle §6.1, §6.4, §6.5, INV-R6).
    ///
    /// Why the order matters: priority guarantees that higher priorities get first claim on
    /// resources (oracle §6.1), so VMs are decided in ``RestartPriority/rank`` order (agent,
    /// FT secondary, high, medium, low), ties by ``VMID``; input order does not matter.
    ///
    /// A host is eligible for a VM when it can access the VM's home datastore, the VM's
    /// ``VMConfig/compatibleHosts`` is empty or lists the host (VM-host "must" rules, never
    /// violated), and its unreserved CPU and memory cover the VM's CPU reservation and memory
    /// reservation plus overhead. Among eligible hosts, designated failover hosts come first
    /// (policy 3: restart there first, fall back to the others); then the host with the most
    /// unreserved memory after placement wins, ties by fewest VMs, then by ``HostID``. Each
    /// placement updates the chosen host's reservations and VM count before the next decision.
    ///
    /// VMs with restart priority ``RestartPriority/disabled`` are never restarted by HA
    /// (INV-R4): they are dropped, appearing neither in ``Outcome/placements`` nor in
    /// ``Outcome/unplaced`` (they do not belong on the pending placement list either).
    ///
    /// - Parameters:
    ///   - vms: The VMs to restart, in any order.
    ///   - hosts: Candidate target hosts with their current reservations.
    ///   - failoverHosts: Designated failover hosts (admission-control policy 3), preferred.
    /// - Returns: The assignments and the VMs left unplaced.
    public static func place(_ vms: [VMConfig], on hosts: [HostCapacity], failoverHosts: [HostID] = []) -> Outcome {
        var hosts = hosts
        let preferred = Set(failoverHosts)
        var outcome = Outcome()

        let ordered = vms
            .filter { $0.restartPriority != .disabled }
            .sorted { ($0.restartPriority.rank, $0.id) < ($1.restartPriority.rank, $1.id) }

        for vm in ordered {
            let eligible = hosts.indices.filter { isEligible(hosts[$0], for: vm) }
            let pool = eligible.contains { preferred.contains(hosts[$0].host) }
                ? eligible.filter { preferred.contains(hosts[$0].host) }
                : eligible
            guard let chosen = pool.min(by: { isBetter(hosts[$0], than: hosts[$1]) }) else {
                outcome.unplaced.append(vm.id)
                continue
            }
            hosts[chosen].reservedCPUMHz += cpuDemand(of: vm)
            hosts[chosen].reservedMemoryMB += memoryDemand(of: vm)
            hosts[chosen].vmCount += 1
            outcome.placements.append(Assignment(vm: vm.id, host: hosts[chosen].host))
        }
        return outcome
    }

    // MARK: - Helpers

    /// Whether `vm` may go to `host`: datastore access, compatibility list, unreserved capacity.
    static func isEligible(_ host: HostCapacity, for vm: VMConfig) -> Bool {
        host.accessibleDatastores.contains(vm.homeDatastore)
            && (vm.compatibleHosts.isEmpty || vm.compatibleHosts.contains(host.host))
            && host.unreservedCPUMHz >= cpuDemand(of: vm)
            && host.unreservedMemoryMB >= memoryDemand(of: vm)
    }

    /// Spreading order: more unreserved memory first, then fewer VMs, then lower ``HostID``.
    ///
    /// Every candidate receives the same VM, so "most unreserved memory after placement" orders
    /// hosts exactly as "most unreserved memory now".
    static func isBetter(_ lhs: HostCapacity, than rhs: HostCapacity) -> Bool {
        if lhs.unreservedMemoryMB != rhs.unreservedMemoryMB { return lhs.unreservedMemoryMB > rhs.unreservedMemoryMB }
        if lhs.vmCount != rhs.vmCount { return lhs.vmCount < rhs.vmCount }
        return lhs.host < rhs.host
    }

    /// CPU a restart reserves: the VM's CPU reservation.
    static func cpuDemand(of vm: VMConfig) -> Int { max(vm.cpuReservationMHz, 0) }

    /// Memory a restart reserves: the VM's memory reservation plus its overhead.
    static func memoryDemand(of vm: VMConfig) -> Int { max(vm.memoryReservationMB, 0) + max(vm.memoryOverheadMB, 0) }
}
