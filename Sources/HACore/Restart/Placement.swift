// TEMPORARY stub until the real Placement lands (same API).
public enum Placement {
    public struct HostCapacity: Hashable, Sendable {
        public var host: HostID; public var cpuMHz: Int; public var memoryMB: Int; public var reservedCPUMHz: Int; public var reservedMemoryMB: Int
        public var accessibleDatastores: Set<DatastoreID>; public var vmCount: Int
        public init(host: HostID, cpuMHz: Int, memoryMB: Int, reservedCPUMHz: Int, reservedMemoryMB: Int, accessibleDatastores: Set<DatastoreID>, vmCount: Int) {
            self.host = host; self.cpuMHz = cpuMHz; self.memoryMB = memoryMB; self.reservedCPUMHz = reservedCPUMHz; self.reservedMemoryMB = reservedMemoryMB; self.accessibleDatastores = accessibleDatastores; self.vmCount = vmCount
        }
    }
    public struct Assignment: Hashable, Sendable { public var vm: VMID; public var host: HostID }
    public struct Outcome: Hashable, Sendable { public var placements: [Assignment]; public var unplaced: [VMID] }
    public static func place(_ vms: [VMConfig], on hosts: [HostCapacity], failoverHosts: [HostID] = []) -> Outcome {
        var hosts = hosts
        var out = Outcome(placements: [], unplaced: [])
        for vm in vms.sorted(by: { ($0.restartPriority.rank, $0.id) < ($1.restartPriority.rank, $1.id) }) where vm.restartPriority != .disabled {
            let eligible = hosts.indices.filter { i in
                let h = hosts[i]
                return h.accessibleDatastores.contains(vm.homeDatastore) && (vm.compatibleHosts.isEmpty || vm.compatibleHosts.contains(h.host))
                    && h.cpuMHz - h.reservedCPUMHz >= vm.cpuReservationMHz && h.memoryMB - h.reservedMemoryMB >= vm.memoryReservationMB + vm.memoryOverheadMB
            }
            guard let best = eligible.max(by: { (hosts[$0].memoryMB - hosts[$0].reservedMemoryMB, -hosts[$0].vmCount) < (hosts[$1].memoryMB - hosts[$1].reservedMemoryMB, -hosts[$1].vmCount) }) else { out.unplaced.append(vm.id); continue }
            hosts[best].reservedCPUMHz += vm.cpuReservationMHz; hosts[best].reservedMemoryMB += vm.memoryReservationMB + vm.memoryOverheadMB; hosts[best].vmCount += 1
            out.placements.append(Assignment(vm: vm.id, host: hosts[best].host))
        }
        return out
    }
}
