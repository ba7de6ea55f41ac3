// MARK: - Admission control (oracle §6.7, §11 INV-AC1, INV-AC2, INV-R5)

/// vCenter's HA admission control: whether a **user** power-on may proceed without eating into
/// the failover capacity the cluster promises.
///
/// Admission control is a **vCenter** function. It MUST NEVER block an HA restart: restarts are
/// executed by the hosts' agents without vCenter (oracle §6.7, INV-R5). HA restart code
/// (``Placement``, the master in ``FDM/Instance``) therefore MUST NOT call anything in this type;
/// a VM HA cannot place goes onto the pending placement list instead (oracle §6.5).
///
/// Everything here is a pure function of its inputs: no clock, no randomness, no I/O. The
/// checker and the simulator's vCenter model use it to decide and to verify user power-ons.
///
/// Scope (oracle §6.7): hosts in maintenance mode or disconnected are left out of the capacity
/// calculation (pass them in `excludedHosts`); failed-but-not-removed hosts are still counted.
public enum AdmissionControl {
    /// `das.vmCpuMinMHz` default: the CPU a VM without a reservation counts for (32 MHz).
    public static let defaultMinCPUMHz = 32
    /// `das.vmMemoryMinMB` default: the memory a VM without a reservation counts for, before
    /// its overhead (0 MB).
    public static let defaultMinMemoryMB = 0

    // MARK: - Slot policy ("host failures cluster tolerates")

    /// The result of the slot calculation of the "host failures cluster tolerates" policy.
    ///
    /// Kept as a value so tests and reports can show every intermediate number of INV-AC1, not
    /// only the final verdict.
    public struct SlotAnalysis: Hashable, Sendable {
        /// Slot CPU size in MHz: the largest CPU reservation of a powered-on VM (at least
        /// `das.vmCpuMinMHz`), capped by `das.slotCpuInMHz`. Always at least 1 MHz.
        public var slotCPUMHz: Int
        /// Slot memory size in MB: the largest memory reservation plus overhead of a powered-on
        /// VM (reservation at least `das.vmMemoryMinMB`), capped by `das.slotMemInMB`.
        /// 0 means memory does not limit the slot count.
        public var slotMemoryMB: Int
        /// Slots each counted host holds: min(⌊CPU / slot CPU⌋, ⌊memory / slot memory⌋).
        public var slotsPerHost: [HostID: Int]
        /// The sum of ``slotsPerHost``.
        public var totalSlots: Int
        /// Slots the powered-on VMs take. A VM above a cap takes several slots (ceil).
        public var usedSlots: Int
        /// How many hosts, removing the ones with the most slots first, can fail while the
        /// remaining slots still hold ``usedSlots``. −1 when the powered-on VMs do not fit even
        /// with every counted host up.
        public var currentFailoverCapacity: Int

        /// Creates an analysis from its parts (normally produced by
        /// ``AdmissionControl/slotAnalysis(hosts:poweredOn:cpuCapMHz:memoryCapMB:minCPUMHz:minMemoryMB:)``).
        public init(
            slotCPUMHz: Int, slotMemoryMB: Int, slotsPerHost: [HostID: Int], totalSlots: Int, usedSlots: Int,
            currentFailoverCapacity: Int
        ) {
            self.slotCPUMHz = slotCPUMHz
            self.slotMemoryMB = slotMemoryMB
            self.slotsPerHost = slotsPerHost
            self.totalSlots = totalSlots
            self.usedSlots = usedSlots
            self.currentFailoverCapacity = currentFailoverCapacity
        }

        /// Slots left free with every counted host up (``totalSlots`` − ``usedSlots``; may be negative).
        public var spareSlots: Int { totalSlots - usedSlots }
    }

    /// Computes slot size, slots per host and the current failover capacity (oracle §6.7 policy 1, INV-AC1).
    ///
    /// Why: the slot policy reduces heterogeneous reservations to a worst-case "slot", so the
    /// question "can N hosts fail?" becomes counting slots. Without caps every VM takes exactly
    /// one slot; with `das.slotCpuInMHz`/`das.slotMemInMB` a larger VM takes ⌈demand / slot⌉
    /// slots in its more demanding dimension (fragmentation is not checked, as in vSphere).
    ///
    /// Each VM counts for max(CPU reservation, `minCPUMHz`) and
    /// max(memory reservation, `minMemoryMB`) + overhead. The slot CPU size is kept at ≥ 1 MHz
    /// so slot counts stay finite; a slot memory size of 0 means memory does not limit.
    /// Non-positive caps are treated as 1.
    ///
    /// - Parameters:
    ///   - hosts: The hosts counted for capacity (leave maintenance and disconnected hosts out).
    ///   - poweredOn: The powered-on VMs.
    ///   - cpuCapMHz: `das.slotCpuInMHz`, or `nil` for no cap.
    ///   - memoryCapMB: `das.slotMemInMB`, or `nil` for no cap.
    ///   - minCPUMHz: `das.vmCpuMinMHz` (default 32 MHz).
    ///   - minMemoryMB: `das.vmMemoryMinMB` (default 0 MB).
    /// - Returns: Every number of the slot calculation.
    public static func slotAnalysis(
        hosts: [HostConfig], poweredOn: [VMConfig], cpuCapMHz: Int?, memoryCapMB: Int?,
        minCPUMHz: Int = defaultMinCPUMHz, minMemoryMB: Int = defaultMinMemoryMB
    ) -> SlotAnalysis {
        // Slot size: the worst powered-on VM, floored by the das.vm*Min defaults, then capped.
        var slotCPU = max(minCPUMHz, 1)
        var slotMemory = max(minMemoryMB, 0)
        for vm in poweredOn {
            slotCPU = max(slotCPU, cpuDemand(of: vm, minCPUMHz: minCPUMHz))
            slotMemory = max(slotMemory, memoryDemand(of: vm, minMemoryMB: minMemoryMB))
        }
        if let cap = cpuCapMHz { slotCPU = min(slotCPU, max(cap, 1)) }
        if let cap = memoryCapMB { slotMemory = min(slotMemory, max(cap, 1)) }

        // Slots per host.
        var slotsPerHost: [HostID: Int] = [:]
        var totalSlots = 0
        for host in hosts {
            let byCPU = max(host.cpuMHz, 0) / slotCPU
            let slots = slotMemory > 0 ? min(byCPU, max(host.memoryMB, 0) / slotMemory) : byCPU
            slotsPerHost[host.id, default: 0] += slots
            totalSlots += slots
        }

        // Slots used: one per VM, or several for a VM above a cap.
        var usedSlots = 0
        for vm in poweredOn {
            let cpuSlots = ceilDiv(cpuDemand(of: vm, minCPUMHz: minCPUMHz), slotCPU)
            let memorySlots = slotMemory > 0 ? ceilDiv(memoryDemand(of: vm, minMemoryMB: minMemoryMB), slotMemory) : 1
            usedSlots += max(1, cpuSlots, memorySlots)
        }

        // Current failover capacity: remove the largest hosts first.
        var capacity = -1
        var remaining = totalSlots
        if remaining >= usedSlots {
            capacity = 0
            for slots in slotsPerHost.values.sorted(by: >) {
                remaining -= slots
                guard remaining >= usedSlots else { break }
                capacity += 1
            }
        }

        return SlotAnalysis(
            slotCPUMHz: slotCPU, slotMemoryMB: slotMemory, slotsPerHost: slotsPerHost, totalSlots: totalSlots,
            usedSlots: usedSlots, currentFailoverCapacity: capacity
        )
    }

    // MARK: - Percentage policy ("percentage of cluster resources")

    /// The share of cluster CPU and memory left unreserved (oracle §6.7 policy 2, INV-AC2).
    ///
    /// Why: the percentage policy compares these two numbers, separately, with the configured
    /// failover percentages. A VM without a reservation still counts: 32 MHz
    /// (`das.vmCpuMinMHz`) and 0 MB (`das.vmMemoryMinMB`) plus its memory overhead.
    /// A cluster with no CPU (or no memory) has 0 % free in that dimension.
    ///
    /// - Parameters:
    ///   - hosts: The hosts counted for capacity (leave maintenance and disconnected hosts out).
    ///   - poweredOn: The powered-on VMs.
    ///   - minCPUMHz: `das.vmCpuMinMHz` (default 32 MHz).
    ///   - minMemoryMB: `das.vmMemoryMinMB` (default 0 MB).
    /// - Returns: Free CPU and free memory, each in percent (0…100; negative when overcommitted).
    public static func percentageAnalysis(
        hosts: [HostConfig], poweredOn: [VMConfig],
        minCPUMHz: Int = defaultMinCPUMHz, minMemoryMB: Int = defaultMinMemoryMB
    ) -> (cpuFreePercent: Double, memoryFreePercent: Double) {
        let totalCPU = hosts.reduce(0) { $0 + max($1.cpuMHz, 0) }
        let totalMemory = hosts.reduce(0) { $0 + max($1.memoryMB, 0) }
        let usedCPU = poweredOn.reduce(0) { $0 + cpuDemand(of: $1, minCPUMHz: minCPUMHz) }
        let usedMemory = poweredOn.reduce(0) { $0 + memoryDemand(of: $1, minMemoryMB: minMemoryMB) }
        return (freePercent(total: totalCPU, used: usedCPU), freePercent(total: totalMemory, used: usedMemory))
    }

    // MARK: - User power-on decision

    /// vCenter's verdict on a user power-on.
    public enum Decision: Hashable, Sendable {
        /// The power-on may proceed.
        case admitted
        /// The power-on is refused; `reason` says which policy and which numbers.
        case rejected(reason: String)

        /// Whether this is ``admitted``.
        public var isAdmitted: Bool { self == .admitted }
    }

    /// Whether vCenter admits a **user** power-on of `vm` on `host` under the cluster's
    /// ``ClusterConfig/admissionControl`` policy (oracle §6.7, INV-AC1, INV-AC2).
    ///
    /// Why: this is the only place where admission control can say no, and it applies only to
    /// user (vCenter) power-ons. HA restarts MUST NOT call this function: admission control
    /// never blocks an HA restart (oracle §6.7, INV-R5).
    ///
    /// Per policy:
    /// - ``AdmissionControlPolicy/disabled``: always admitted.
    /// - ``AdmissionControlPolicy/slots(hostFailuresToTolerate:slotCPUCapMHz:slotMemoryCapMB:)``:
    ///   rejected if the current failover capacity with `vm` added is below the configured host
    ///   failures to tolerate. The target host does not matter (fragmentation is not checked).
    /// - ``AdmissionControlPolicy/percentage(cpuPercent:memoryPercent:)``: rejected if, after the
    ///   power-on, free CPU or free memory is below its configured percentage.
    /// - ``AdmissionControlPolicy/failoverHosts(_:)``: rejected if `host` is a designated failover
    ///   host; nothing else is checked.
    ///
    /// A VM already listed in `poweredOn` with the same id is counted once.
    ///
    /// - Parameters:
    ///   - vm: The VM the user powers on.
    ///   - host: The host it would run on.
    ///   - cluster: The cluster configuration (its hosts and policy).
    ///   - poweredOn: The VMs powered on now.
    ///   - excludedHosts: Hosts in maintenance mode or disconnected: left out of capacity.
    /// - Returns: ``Decision/admitted`` or ``Decision/rejected(reason:)``.
    public static func admitsUserPowerOn(
        of vm: VMConfig, on host: HostID, cluster: ClusterConfig, poweredOn: [VMConfig],
        excludedHosts: Set<HostID> = []
    ) -> Decision {
        let hosts = cluster.hosts.filter { !excludedHosts.contains($0.id) }
        let after = poweredOn.filter { $0.id != vm.id } + [vm]

        switch cluster.admissionControl {
        case .disabled:
            return .admitted

        case .slots(let tolerate, let cpuCap, let memoryCap):
            let analysis = slotAnalysis(hosts: hosts, poweredOn: after, cpuCapMHz: cpuCap, memoryCapMB: memoryCap)
            guard analysis.currentFailoverCapacity >= tolerate else {
                return .rejected(
                    reason: "slot policy: powering on \(vm.id) leaves current failover capacity "
                        + "\(analysis.currentFailoverCapacity) below the configured \(tolerate) "
                        + "(slot \(analysis.slotCPUMHz) MHz/\(analysis.slotMemoryMB) MB, "
                        + "\(analysis.usedSlots) of \(analysis.totalSlots) slots used)"
                )
            }
            return .admitted

        case .percentage(let cpuPercent, let memoryPercent):
            let free = percentageAnalysis(hosts: hosts, poweredOn: after)
            if free.cpuFreePercent < Double(cpuPercent) {
                return .rejected(
                    reason: "percentage policy: powering on \(vm.id) leaves \(rounded(free.cpuFreePercent)) % CPU free, "
                        + "below the configured \(cpuPercent) %"
                )
            }
            if free.memoryFreePercent < Double(memoryPercent) {
                return .rejected(
                    reason: "percentage policy: powering on \(vm.id) leaves \(rounded(free.memoryFreePercent)) % memory free, "
                        + "below the configured \(memoryPercent) %"
                )
            }
            return .admitted

        case .failoverHosts(let failoverHosts):
            guard !failoverHosts.contains(host) else {
                return .rejected(reason: "failover-hosts policy: \(host) is a designated failover host; no user power-on there")
            }
            return .admitted
        }
    }

    // MARK: - Helpers

    /// CPU a VM counts for: its reservation, at least `das.vmCpuMinMHz`.
    static func cpuDemand(of vm: VMConfig, minCPUMHz: Int) -> Int {
        max(vm.cpuReservationMHz, minCPUMHz, 0)
    }

    /// Memory a VM counts for: its reservation (at least `das.vmMemoryMinMB`) plus overhead.
    static func memoryDemand(of vm: VMConfig, minMemoryMB: Int) -> Int {
        max(vm.memoryReservationMB, minMemoryMB, 0) + max(vm.memoryOverheadMB, 0)
    }

    /// ⌈value / divisor⌉ for a non-negative value and a positive divisor.
    private static func ceilDiv(_ value: Int, _ divisor: Int) -> Int {
        (value + divisor - 1) / divisor
    }

    /// (total − used) / total in percent; 0 when there is no capacity at all.
    private static func freePercent(total: Int, used: Int) -> Double {
        guard total > 0 else { return 0 }
        return Double(total - used) / Double(total) * 100
    }

    /// A percentage rounded to one decimal, for reasons only.
    private static func rounded(_ percent: Double) -> Double {
        (percent * 10).rounded() / 10
    }
}
