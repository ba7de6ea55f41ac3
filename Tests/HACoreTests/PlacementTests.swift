import HACore
import Testing

// MARK: - Fixtures

private func capacity(
    _ id: HostID, cpuMHz: Int = 10_000, memoryMB: Int = 8192, reservedCPUMHz: Int = 0, reservedMemoryMB: Int = 0,
    datastores: Set<DatastoreID> = ["ds-1"], vmCount: Int = 0
) -> Placement.HostCapacity {
    Placement.HostCapacity(
        host: id, cpuMHz: cpuMHz, memoryMB: memoryMB, reservedCPUMHz: reservedCPUMHz, reservedMemoryMB: reservedMemoryMB,
        accessibleDatastores: datastores, vmCount: vmCount
    )
}

private func vm(
    _ id: VMID, priority: RestartPriority = .medium, cpuMHz: Int = 0, memoryMB: Int = 0, overheadMB: Int = 0,
    datastore: DatastoreID = "ds-1", compatibleHosts: [HostID] = []
) -> VMConfig {
    VMConfig(
        id: id, homeDatastore: datastore, restartPriority: priority, cpuReservationMHz: cpuMHz, memoryReservationMB: memoryMB,
        memoryOverheadMB: overheadMB, compatibleHosts: compatibleHosts
    )
}

// MARK: - Tests

@Suite struct PlacementTests {
    // MARK: - Priority

    @Test func place_whenCapacityShort_higherPriorityGetsFirstClaimAndLowIsUnplaced() {
        let host = capacity("H1", cpuMHz: 4000, memoryMB: 4096)
        let vms = [
            vm("vm-a", priority: .low, cpuMHz: 2000, memoryMB: 2048),
            vm("vm-m", priority: .medium, cpuMHz: 2000, memoryMB: 2048),
            vm("vm-z", priority: .high, cpuMHz: 2000, memoryMB: 2048),
        ]

        let outcome = Placement.place(vms, on: [host])

        #expect(outcome.placements.map(\.vm) == ["vm-z", "vm-m"])
        #expect(outcome.unplaced == ["vm-a"])
    }

    @Test func place_whenAllPrioritiesPresent_decidesAgentFTSecondaryHighMediumLowThenByVMID() {
        let vms = [
            vm("vm-1", priority: .low), vm("vm-2", priority: .medium), vm("vm-3", priority: .high),
            vm("vm-4", priority: .ftSecondary), vm("vm-5", priority: .agent), vm("vm-0", priority: .high),
        ]

        let outcome = Placement.place(vms, on: [capacity("H1")])

        #expect(outcome.placements.map(\.vm) == ["vm-5", "vm-4", "vm-0", "vm-3", "vm-2", "vm-1"])
        #expect(outcome.unplaced.isEmpty)
    }

    @Test func place_whenVMHasDisabledPriority_neverPlacesNorListsIt() {
        let vms = [vm("vm-off", priority: .disabled), vm("vm-big", priority: .disabled, memoryMB: 1_000_000), vm("vm-on")]

        let outcome = Placement.place(vms, on: [capacity("H1")])

        #expect(outcome.placements == [Placement.Assignment(vm: "vm-on", host: "H1")])
        #expect(outcome.unplaced.isEmpty)
    }

    // MARK: - Eligibility

    @Test func place_whenCompatibilityListNamesOneHost_placesOnlyThere() {
        let hosts = [capacity("H1", memoryMB: 65_536), capacity("H2", memoryMB: 4096)]
        let vms = [vm("vm-1", compatibleHosts: ["H2"])]

        let outcome = Placement.place(vms, on: hosts)

        #expect(outcome.host(for: "vm-1") == "H2")
    }

    @Test func place_whenOnlyCompatibleHostLacksCapacity_leavesVMUnplacedRatherThanBreakRule() {
        let hosts = [capacity("H1", memoryMB: 65_536), capacity("H2", memoryMB: 1024)]
        let vms = [vm("vm-1", memoryMB: 2048, compatibleHosts: ["H2"])]

        let outcome = Placement.place(vms, on: hosts)

        #expect(outcome.placements.isEmpty)
        #expect(outcome.unplaced == ["vm-1"])
    }

    @Test func place_whenHomeDatastoreReachableFromOneHost_placesOnlyThereOrNowhere() {
        let hosts = [capacity("H1", memoryMB: 65_536, datastores: ["ds-1"]), capacity("H2", datastores: ["ds-1", "ds-2"])]
        let vms = [vm("vm-2", datastore: "ds-2"), vm("vm-3", datastore: "ds-3")]

        let outcome = Placement.place(vms, on: hosts)

        #expect(outcome.placements == [Placement.Assignment(vm: "vm-2", host: "H2")])
        #expect(outcome.unplaced == ["vm-3"])
    }

    @Test func place_whenReservationPlusOverheadExceedsUnreservedMemory_leavesVMUnplaced() {
        let host = capacity("H1", memoryMB: 4096, reservedMemoryMB: 2048)
        let vms = [vm("vm-1", memoryMB: 2000, overheadMB: 100)]

        let outcome = Placement.place(vms, on: [host])

        #expect(outcome.unplaced == ["vm-1"])
    }

    @Test func place_whenCPUReservationExceedsUnreservedCPU_leavesVMUnplaced() {
        let host = capacity("H1", cpuMHz: 4000, reservedCPUMHz: 3000)
        let vms = [vm("vm-1", cpuMHz: 1001)]

        let outcome = Placement.place(vms, on: [host])

        #expect(outcome.unplaced == ["vm-1"])
    }

    @Test func place_whenPlacingSeveralVMs_consumesCapacityAsItGoes() {
        let host = capacity("H1", memoryMB: 4096)
        let vms = [vm("vm-1", memoryMB: 2000, overheadMB: 48), vm("vm-2", memoryMB: 2000, overheadMB: 48), vm("vm-3", memoryMB: 1)]

        let outcome = Placement.place(vms, on: [host])

        #expect(outcome.placements.map(\.vm) == ["vm-1", "vm-2"])
        #expect(outcome.unplaced == ["vm-3"])
    }

    // MARK: - Failover hosts

    @Test func place_whenFailoverHostDesignated_prefersItOverRoomierHost() {
        let hosts = [capacity("H1", memoryMB: 65_536), capacity("H9", memoryMB: 4096)]

        let outcome = Placement.place([vm("vm-1", memoryMB: 1024)], on: hosts, failoverHosts: ["H9"])

        #expect(outcome.host(for: "vm-1") == "H9")
    }

    @Test func place_whenFailoverHostFull_fallsBackToOtherHosts() {
        let hosts = [capacity("H1", memoryMB: 65_536), capacity("H9", memoryMB: 4096)]
        let vms = [vm("vm-1", memoryMB: 3072), vm("vm-2", memoryMB: 3072)]

        let outcome = Placement.place(vms, on: hosts, failoverHosts: ["H9"])

        #expect(outcome.placements == [
            Placement.Assignment(vm: "vm-1", host: "H9"), Placement.Assignment(vm: "vm-2", host: "H1"),
        ])
        #expect(outcome.unplaced.isEmpty)
    }

    // MARK: - Spreading

    @Test func place_whenHostsDifferInUnreservedMemory_picksMostUnreservedMemory() {
        let hosts = [capacity("H1", memoryMB: 8192, reservedMemoryMB: 6144), capacity("H2", memoryMB: 4096)]

        let outcome = Placement.place([vm("vm-1")], on: hosts)

        #expect(outcome.host(for: "vm-1") == "H2")
    }

    @Test func place_whenUnreservedMemoryTies_picksFewestVMsThenLowestHostID() {
        let byCount = Placement.place([vm("vm-1")], on: [capacity("H1", vmCount: 3), capacity("H2", vmCount: 1)])
        let byID = Placement.place([vm("vm-1")], on: [capacity("H2"), capacity("H1")])

        #expect(byCount.host(for: "vm-1") == "H2")
        #expect(byID.host(for: "vm-1") == "H1")
    }

    @Test func place_whenEqualHostsAndVMs_alternatesHostsDeterministically() {
        let hosts = [capacity("H1"), capacity("H2")]
        let vms = [vm("vm-1", memoryMB: 512), vm("vm-2", memoryMB: 512), vm("vm-3", memoryMB: 512), vm("vm-4", memoryMB: 512)]

        let outcome = Placement.place(vms, on: hosts)
        let shuffled = Placement.place(vms.reversed(), on: hosts.reversed())

        #expect(outcome.placements.map(\.host) == ["H1", "H2", "H1", "H2"])
        #expect(outcome.placements.map(\.vm) == ["vm-1", "vm-2", "vm-3", "vm-4"])
        #expect(shuffled == outcome)
    }
}
