import HACore
import Testing

// MARK: - Fixtures

/// 1 GB in MB.
private let gb = 1024

private func host(_ id: HostID, ghz: Int, gbMemory: Int) -> HostConfig {
    HostConfig(id: id, datastores: ["ds-1"], cpuMHz: ghz * 1000, memoryMB: gbMemory * gb)
}

private func vm(_ id: VMID, cpuMHz: Int = 0, memoryMB: Int = 0, overheadMB: Int = 0) -> VMConfig {
    VMConfig(id: id, homeDatastore: "ds-1", cpuReservationMHz: cpuMHz, memoryReservationMB: memoryMB, memoryOverheadMB: overheadMB)
}

/// Oracle §6.7 worked example: H1 9 GHz/9 GB, H2 9 GHz/6 GB, H3 6 GHz/6 GB.
private let workedHosts = [host("H1", ghz: 9, gbMemory: 9), host("H2", ghz: 9, gbMemory: 6), host("H3", ghz: 6, gbMemory: 6)]

/// Oracle §6.7 worked example VMs: 2/1, 2/1, 1/2, 1/1, 1/1 GHz/GB (overhead 0 for this vector).
private let workedVMs = [
    vm("vm-1", cpuMHz: 2000, memoryMB: 1 * gb), vm("vm-2", cpuMHz: 2000, memoryMB: 1 * gb),
    vm("vm-3", cpuMHz: 1000, memoryMB: 2 * gb), vm("vm-4", cpuMHz: 1000, memoryMB: 1 * gb),
    vm("vm-5", cpuMHz: 1000, memoryMB: 1 * gb),
]

/// `count` one-slot VMs of 1 GHz / 1 GB.
private func oneSlotVMs(_ count: Int) -> [VMConfig] {
    (0..<count).map { vm(VMID("vm-\($0)"), cpuMHz: 1000, memoryMB: gb) }
}

/// Oracle §6.7 percentage example: 24 GHz / 21 GB in total.
private let percentageHosts = [host("H1", ghz: 8, gbMemory: 7), host("H2", ghz: 8, gbMemory: 7), host("H3", ghz: 8, gbMemory: 7)]

/// 7 GHz / 6 GB reserved in total.
private let percentageVMs = [vm("vm-a", cpuMHz: 4000, memoryMB: 3 * gb), vm("vm-b", cpuMHz: 3000, memoryMB: 3 * gb)]

private func cluster(_ hosts: [HostConfig], _ policy: AdmissionControlPolicy) -> ClusterConfig {
    ClusterConfig(hosts: hosts, vms: [], admissionControl: policy)
}

// MARK: - Tests

@Suite struct AdmissionControlTests {
    // MARK: - Slot policy (INV-AC1)

    @Test func slotAnalysis_whenWorkedExample_givesFourThreeThreeSlotsAndCapacityOne() {
        let analysis = AdmissionControl.slotAnalysis(hosts: workedHosts, poweredOn: workedVMs, cpuCapMHz: nil, memoryCapMB: nil)

        #expect(analysis.slotCPUMHz == 2000)
        #expect(analysis.slotMemoryMB == 2 * gb)
        #expect(analysis.slotsPerHost == ["H1": 4, "H2": 3, "H3": 3])
        #expect(analysis.totalSlots == 10)
        #expect(analysis.usedSlots == 5)
        #expect(analysis.currentFailoverCapacity == 1)
        #expect(analysis.spareSlots == 5)
    }

    @Test func slotAnalysis_whenUnbalancedSixteenSixteenThirtyTwo_thirtyTwoVMsTolerateOneFailure() {
        // 1 GHz / 1 GB slots: 16, 16 and 32 slots.
        let hosts = [host("H1", ghz: 16, gbMemory: 16), host("H2", ghz: 16, gbMemory: 16), host("H3", ghz: 32, gbMemory: 32)]

        let withThirtyTwo = AdmissionControl.slotAnalysis(hosts: hosts, poweredOn: oneSlotVMs(32), cpuCapMHz: nil, memoryCapMB: nil)
        let withThirtyThree = AdmissionControl.slotAnalysis(hosts: hosts, poweredOn: oneSlotVMs(33), cpuCapMHz: nil, memoryCapMB: nil)

        #expect(withThirtyTwo.slotsPerHost == ["H1": 16, "H2": 16, "H3": 32])
        #expect(withThirtyTwo.currentFailoverCapacity == 1)
        #expect(withThirtyThree.currentFailoverCapacity == 0)
    }

    @Test func slotAnalysis_whenUnbalancedSixteenSixteenThirtyTwo_sixteenVMsTolerateTwoFailures() {
        let hosts = [host("H1", ghz: 16, gbMemory: 16), host("H2", ghz: 16, gbMemory: 16), host("H3", ghz: 32, gbMemory: 32)]

        let withSixteen = AdmissionControl.slotAnalysis(hosts: hosts, poweredOn: oneSlotVMs(16), cpuCapMHz: nil, memoryCapMB: nil)
        let withSeventeen = AdmissionControl.slotAnalysis(hosts: hosts, poweredOn: oneSlotVMs(17), cpuCapMHz: nil, memoryCapMB: nil)

        #expect(withSixteen.currentFailoverCapacity == 2)
        #expect(withSeventeen.currentFailoverCapacity == 1)
    }

    @Test func slotAnalysis_whenMemoryCapped_largeVMTakesSeveralSlots() {
        let analysis = AdmissionControl.slotAnalysis(hosts: workedHosts, poweredOn: workedVMs, cpuCapMHz: nil, memoryCapMB: gb)

        #expect(analysis.slotMemoryMB == gb)
        #expect(analysis.slotsPerHost == ["H1": 4, "H2": 4, "H3": 3])
        // vm-3 (2 GB) takes two 1 GB slots.
        #expect(analysis.usedSlots == 6)
        #expect(analysis.currentFailoverCapacity == 1)
    }

    @Test func slotAnalysis_whenNoReservations_usesThirtyTwoMHzAndLargestOverhead() {
        let vms = [vm("vm-1", overheadMB: 100), vm("vm-2", overheadMB: 250)]

        let analysis = AdmissionControl.slotAnalysis(hosts: workedHosts, poweredOn: vms, cpuCapMHz: nil, memoryCapMB: nil)

        #expect(analysis.slotCPUMHz == 32)
        #expect(analysis.slotMemoryMB == 250)
        #expect(analysis.slotsPerHost["H3"] == min(6000 / 32, 6 * gb / 250))
        #expect(analysis.usedSlots == 2)
    }

    @Test func slotAnalysis_whenSlotMemoryIsZero_memoryDoesNotLimit() {
        let analysis = AdmissionControl.slotAnalysis(hosts: workedHosts, poweredOn: [vm("vm-1")], cpuCapMHz: nil, memoryCapMB: nil)

        #expect(analysis.slotMemoryMB == 0)
        #expect(analysis.slotsPerHost == ["H1": 9000 / 32, "H2": 9000 / 32, "H3": 6000 / 32])
        #expect(analysis.usedSlots == 1)
    }

    @Test func slotAnalysis_whenVMsDoNotFitWithAllHostsUp_capacityIsMinusOne() {
        let analysis = AdmissionControl.slotAnalysis(
            hosts: [host("H1", ghz: 2, gbMemory: 2)], poweredOn: oneSlotVMs(3), cpuCapMHz: nil, memoryCapMB: nil
        )

        #expect(analysis.totalSlots == 2)
        #expect(analysis.currentFailoverCapacity == -1)
    }

    // MARK: - Percentage policy (INV-AC2)

    @Test func percentageAnalysis_whenWorkedExample_givesSeventyPointEightCPUAndSeventyOnePointFourMemoryFree() {
        let free = AdmissionControl.percentageAnalysis(hosts: percentageHosts, poweredOn: percentageVMs)

        #expect(abs(free.cpuFreePercent - 17.0 / 24.0 * 100) < 0.001)
        #expect(abs(free.memoryFreePercent - 15.0 / 21.0 * 100) < 0.001)
        #expect(free.cpuFreePercent > 70.8 && free.cpuFreePercent < 70.9)
        #expect(free.memoryFreePercent > 71.4 && free.memoryFreePercent < 71.5)
    }

    @Test func percentageAnalysis_whenVMHasNoReservation_countsThirtyTwoMHzAndOverhead() {
        let hosts = [HostConfig(id: "H1", datastores: ["ds-1"], cpuMHz: 1000, memoryMB: 1000)]

        let free = AdmissionControl.percentageAnalysis(hosts: hosts, poweredOn: [vm("vm-1", overheadMB: 50)])

        #expect(abs(free.cpuFreePercent - 96.8) < 0.001)
        #expect(abs(free.memoryFreePercent - 95.0) < 0.001)
    }

    // MARK: - User power-on decisions

    @Test func admitsUserPowerOn_whenPolicyDisabled_admitsEvenWithoutCapacity() {
        let huge = vm("vm-huge", cpuMHz: 1_000_000, memoryMB: 1_000_000)

        let decision = AdmissionControl.admitsUserPowerOn(
            of: huge, on: "H1", cluster: cluster(workedHosts, .disabled), poweredOn: workedVMs
        )

        #expect(decision == .admitted)
    }

    @Test func admitsUserPowerOn_whenSlotPolicyHasSpareSlot_admits() {
        let policy = AdmissionControlPolicy.slots(hostFailuresToTolerate: 1, slotCPUCapMHz: nil, slotMemoryCapMB: nil)

        let decision = AdmissionControl.admitsUserPowerOn(
            of: vm("vm-6", cpuMHz: 1000, memoryMB: gb), on: "H3", cluster: cluster(workedHosts, policy), poweredOn: workedVMs
        )

        #expect(decision == .admitted)
    }

    @Test func admitsUserPowerOn_whenSlotPolicyWouldDropCapacityBelowConfigured_rejects() {
        let policy = AdmissionControlPolicy.slots(hostFailuresToTolerate: 1, slotCPUCapMHz: nil, slotMemoryCapMB: nil)
        let poweredOn = workedVMs + [vm("vm-6", cpuMHz: 1000, memoryMB: gb)]

        let decision = AdmissionControl.admitsUserPowerOn(
            of: vm("vm-7", cpuMHz: 1000, memoryMB: gb), on: "H3", cluster: cluster(workedHosts, policy), poweredOn: poweredOn
        )

        #expect(!decision.isAdmitted)
        guard case .rejected(let reason) = decision else { return }
        #expect(reason.contains("slot policy"))
    }

    @Test func admitsUserPowerOn_whenSlotPolicyHostExcluded_leavesItOutOfCapacityAndRejects() {
        let policy = AdmissionControlPolicy.slots(hostFailuresToTolerate: 1, slotCPUCapMHz: nil, slotMemoryCapMB: nil)
        let sixth = vm("vm-6", cpuMHz: 1000, memoryMB: gb)

        let allUp = AdmissionControl.admitsUserPowerOn(
            of: sixth, on: "H3", cluster: cluster(workedHosts, policy), poweredOn: workedVMs
        )
        let h1InMaintenance = AdmissionControl.admitsUserPowerOn(
            of: sixth, on: "H3", cluster: cluster(workedHosts, policy), poweredOn: workedVMs, excludedHosts: ["H1"]
        )

        #expect(allUp == .admitted)
        #expect(!h1InMaintenance.isAdmitted)
    }

    @Test func admitsUserPowerOn_whenVMAlreadyListedAsPoweredOn_countsItOnce() {
        let policy = AdmissionControlPolicy.slots(hostFailuresToTolerate: 1, slotCPUCapMHz: nil, slotMemoryCapMB: nil)
        let poweredOn = workedVMs + [vm("vm-6", cpuMHz: 1000, memoryMB: gb)]

        let decision = AdmissionControl.admitsUserPowerOn(
            of: vm("vm-6", cpuMHz: 1000, memoryMB: gb), on: "H3", cluster: cluster(workedHosts, policy), poweredOn: poweredOn
        )

        #expect(decision == .admitted)
    }

    @Test func admitsUserPowerOn_whenPercentagePolicyStaysAboveConfigured_admits() {
        let policy = AdmissionControlPolicy.percentage(cpuPercent: 25, memoryPercent: 25)

        let decision = AdmissionControl.admitsUserPowerOn(
            of: vm("vm-c", cpuMHz: 1000, memoryMB: gb), on: "H1", cluster: cluster(percentageHosts, policy),
            poweredOn: percentageVMs
        )

        #expect(decision == .admitted)
    }

    @Test func admitsUserPowerOn_whenPercentagePolicyCPUWouldDropBelowConfigured_rejects() {
        let policy = AdmissionControlPolicy.percentage(cpuPercent: 25, memoryPercent: 25)

        // 24 − 7 − 12 = 5 GHz free: 20.8 % < 25 %; memory stays at 66.7 %.
        let decision = AdmissionControl.admitsUserPowerOn(
            of: vm("vm-c", cpuMHz: 12_000, memoryMB: gb), on: "H1", cluster: cluster(percentageHosts, policy),
            poweredOn: percentageVMs
        )

        guard case .rejected(let reason) = decision else {
            Issue.record("expected a rejection, got \(decision)")
            return
        }
        #expect(reason.contains("CPU"))
    }

    @Test func admitsUserPowerOn_whenPercentagePolicyMemoryWouldDropBelowConfigured_rejects() {
        let policy = AdmissionControlPolicy.percentage(cpuPercent: 25, memoryPercent: 25)

        // 21 − 6 − 10 = 5 GB free: 23.8 % < 25 %; CPU stays at ~70.7 % (32 MHz default).
        let decision = AdmissionControl.admitsUserPowerOn(
            of: vm("vm-c", memoryMB: 10 * gb), on: "H1", cluster: cluster(percentageHosts, policy), poweredOn: percentageVMs
        )

        guard case .rejected(let reason) = decision else {
            Issue.record("expected a rejection, got \(decision)")
            return
        }
        #expect(reason.contains("memory"))
    }

    @Test func admitsUserPowerOn_whenFailoverHostsPolicyTargetsFailoverHost_rejects() {
        let policy = AdmissionControlPolicy.failoverHosts(["H3"])

        let decision = AdmissionControl.admitsUserPowerOn(
            of: vm("vm-6", cpuMHz: 1000, memoryMB: gb), on: "H3", cluster: cluster(workedHosts, policy), poweredOn: workedVMs
        )

        #expect(!decision.isAdmitted)
    }

    @Test func admitsUserPowerOn_whenFailoverHostsPolicyTargetsOtherHost_admitsWithoutCapacityCheck() {
        let policy = AdmissionControlPolicy.failoverHosts(["H3"])
        let huge = vm("vm-huge", cpuMHz: 1_000_000, memoryMB: 1_000_000)

        let decision = AdmissionControl.admitsUserPowerOn(
            of: huge, on: "H1", cluster: cluster(workedHosts, policy), poweredOn: workedVMs
        )

        #expect(decision == .admitted)
    }
}
