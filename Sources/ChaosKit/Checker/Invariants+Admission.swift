import HACore

// MARK: - Admission control (oracle §6.7, §11 INV-AC1, INV-AC2)
//
// These checks recompute each recorded `.admissionControlDecision` from the oracle's formulas,
// independently of HACore's `AdmissionControl` (re-using the code under test would verify
// nothing). Powered-on VMs = the VMs with a live instance at the decision, plus the candidate;
// every cluster host counts (failed-but-not-removed hosts are still counted, §6.7).

extension Invariants {
    /// `das.vmCpuMinMHz` (32 MHz) and `das.vmMemoryMinMB` (0 MB) defaults.
    static let minCPUMHz = 32
    static let minMemoryMB = 0

    /// One recorded user power-on decision.
    struct AdmissionDecision {
        var time: Double
        var vm: VMID
        var host: HostID
        var admitted: Bool
        var reason: String
    }

    static func admissionDecisions(_ c: CheckContext) -> [AdmissionDecision] {
        c.events.compactMap { e in
            guard case .admissionControlDecision(let vm, let host, let admitted, let reason) = e.event.kind else { return nil }
            return AdmissionDecision(time: e.time, vm: vm, host: host, admitted: admitted, reason: reason)
        }
    }

    /// The VMs powered on just before `t`, plus `candidate`, each once.
    static func poweredOnWith(_ candidate: VMID, at t: Double, _ c: CheckContext) -> [VMConfig] {
        let running = Set(c.history.vmInstances.filter { $0.start < t && ($0.end.map { $0 > t } ?? true) }.map(\.vm))
        return c.history.cluster.vms.filter { running.contains($0.id) || $0.id == candidate }
    }

    static func cpuDemand(_ vm: VMConfig) -> Int { max(vm.cpuReservationMHz, minCPUMHz) }
    static func memoryDemand(_ vm: VMConfig) -> Int { max(vm.memoryReservationMB, minMemoryMB) + max(vm.memoryOverheadMB, 0) }

    /// The slot calculation of oracle §6.7 policy 1.
    struct SlotNumbers {
        var slotCPU: Int
        var slotMemory: Int
        var perHost: [(HostID, Int)]
        var used: Int
        var capacity: Int

        var total: Int { perHost.reduce(0) { $0 + $1.1 } }
        var text: String {
            "slot \(slotCPU) MHz/\(slotMemory) MB, slots [\(perHost.map { "\($0.0)=\($0.1)" }.joined(separator: ", "))], "
                + "\(used) of \(total) used, current failover capacity \(capacity)"
        }
    }

    /// slot = (max CPU reservation or 32 MHz, max memory reservation + overhead), capped;
    /// host slots = min(⌊CPU/slotCPU⌋, ⌊Mem/slotMem⌋); capacity = hosts removable, largest first.
    static func slotNumbers(hosts: [HostConfig], vms: [VMConfig], cpuCap: Int?, memoryCap: Int?) -> SlotNumbers {
        var slotCPU = vms.map(cpuDemand).max() ?? minCPUMHz
        var slotMemory = vms.map(memoryDemand).max() ?? minMemoryMB
        if let cpuCap { slotCPU = min(slotCPU, max(cpuCap, 1)) }
        if let memoryCap { slotMemory = min(slotMemory, max(memoryCap, 1)) }
        slotCPU = max(slotCPU, 1)
        let perHost = hosts.map { host -> (HostID, Int) in
            let byCPU = max(host.cpuMHz, 0) / slotCPU
            return (host.id, slotMemory > 0 ? min(byCPU, max(host.memoryMB, 0) / slotMemory) : byCPU)
        }
        let used = vms.reduce(0) { sum, vm in
            let cpu = (cpuDemand(vm) + slotCPU - 1) / slotCPU
            let memory = slotMemory > 0 ? (memoryDemand(vm) + slotMemory - 1) / slotMemory : 1
            return sum + max(1, cpu, memory)
        }
        var remaining = perHost.reduce(0) { $0 + $1.1 }
        var capacity = remaining >= used ? 0 : -1
        if capacity == 0 {
            for slots in perHost.map(\.1).sorted(by: >) {
                remaining -= slots
                if remaining < used { break }
                capacity += 1
            }
        }
        return SlotNumbers(slotCPU: slotCPU, slotMemory: slotMemory, perHost: perHost, used: used, capacity: capacity)
    }

    /// (total − Σ demand) / total in percent, for CPU and memory.
    static func freePercent(hosts: [HostConfig], vms: [VMConfig]) -> (cpu: Double, memory: Double) {
        let cpu = hosts.reduce(0) { $0 + max($1.cpuMHz, 0) }
        let memory = hosts.reduce(0) { $0 + max($1.memoryMB, 0) }
        let usedCPU = vms.reduce(0) { $0 + cpuDemand($1) }
        let usedMemory = vms.reduce(0) { $0 + memoryDemand($1) }
        func percent(_ total: Int, _ used: Int) -> Double { total > 0 ? Double(total - used) * 100 / Double(total) : 0 }
        return (percent(cpu, usedCPU), percent(memory, usedMemory))
    }

    /// INV-AC1: each user power-on under the slot policy is admitted iff the current failover
    /// capacity with the VM powered on stays ≥ the configured host failures.
    static func ac1(_ c: CheckContext) -> CheckResult {
        let id = "INV-AC1"
        var f = Findings()
        let expected = "slot policy: a user power-on is admitted iff the current failover capacity (largest hosts removed first) with the VM on stays ≥ the configured host failures"
        f.expect(expected)
        guard case .slots(let tolerate, let cpuCap, let memoryCap) = c.history.cluster.admissionControl else {
            return finish(f, id, noTrigger: "the cluster does not use the slot policy (\(describe(c.history.cluster.admissionControl)))", expected: expected)
        }
        for d in admissionDecisions(c) {
            let numbers = slotNumbers(hosts: c.history.cluster.hosts, vms: poweredOnWith(d.vm, at: d.time, c), cpuCap: cpuCap, memoryCap: memoryCap)
            let should = numbers.capacity >= tolerate
            let text = "\(d.vm) on \(d.host) at \(c.at(d.time)) \(d.admitted ? "admitted" : "rejected"); recomputed \(numbers.text) vs \(tolerate) configured"
            if should == d.admitted { f.pass(text, at: d.time) } else { f.fail(text, at: d.time) }
        }
        return finish(f, id, noTrigger: "no user power-on admission decision (admissionControlDecision) in this run", expected: expected)
    }

    /// INV-AC2: each user power-on under the percentage policy is rejected iff free CPU or free
    /// memory after it would fall below the configured percentage.
    static func ac2(_ c: CheckContext) -> CheckResult {
        let id = "INV-AC2"
        var f = Findings()
        let expected = "percentage policy: a user power-on is rejected iff (total − Σ reservations, 32 MHz / 0 MB + overhead minimum) / total falls below the configured % for CPU or memory"
        f.expect(expected)
        guard case .percentage(let cpuPercent, let memoryPercent) = c.history.cluster.admissionControl else {
            return finish(f, id, noTrigger: "the cluster does not use the percentage policy (\(describe(c.history.cluster.admissionControl)))", expected: expected)
        }
        for d in admissionDecisions(c) {
            let free = freePercent(hosts: c.history.cluster.hosts, vms: poweredOnWith(d.vm, at: d.time, c))
            let should = free.cpu >= Double(cpuPercent) && free.memory >= Double(memoryPercent)
            let text = "\(d.vm) on \(d.host) at \(c.at(d.time)) \(d.admitted ? "admitted" : "rejected"); recomputed free \(fmt(free.cpu)) % CPU / \(fmt(free.memory)) % memory vs \(cpuPercent) % / \(memoryPercent) %"
            if should == d.admitted { f.pass(text, at: d.time) } else { f.fail(text, at: d.time) }
        }
        return finish(f, id, noTrigger: "no user power-on admission decision (admissionControlDecision) in this run", expected: expected)
    }

    static func describe(_ policy: AdmissionControlPolicy) -> String {
        switch policy {
        case .disabled: "admission control disabled"
        case .slots(let n, _, _): "slots, \(n) host failure(s)"
        case .percentage(let cpu, let mem): "percentage, \(cpu) % CPU / \(mem) % memory"
        case .failoverHosts(let hosts): "failover hosts \(hosts.map(\.rawValue).joined(separator: ","))"
        }
    }
}
