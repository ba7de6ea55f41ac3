import HACore
import HASim

/// Random fault schedules, swarm-style: every seed also draws which fault kinds it uses and how
/// hard (Groce et al., "Swarm testing"), so that no single mix dominates. Pure: seed → scenario.
public enum ScheduleGenerator {
    /// The fault kinds a schedule may draw from.
    public enum Kind: String, CaseIterable, Sendable {
        case powerOff, partition, isolate, isolateWithStorage, managementOutage, unmount, killAgent,
             killHostd, killVM, freeze, stopAgent, packetLoss, restartHost, controllerDown
    }

    /// The invariants that must hold in any random schedule (safety; timing checks assume one fault at a time).
    public static let safetyInvariants = ["INV-E1", "INV-E4", "INV-P2", "INV-SB1", "INV-I4", "INV-I10", "INV-R1", "INV-R4"]

    /// A scenario for `seed` with `hosts` hosts and `vms` VMs in total.
    public static func scenario(seed: UInt64, hosts hostCount: Int, vms vmCount: Int) -> Scenario {
        var rng = SeededGenerator(seed: seed)
        let hostIDs = (1...max(2, hostCount)).map { HostID("host-\($0)") }
        let datastores = [DatastoreSpec(id: "ds-1", kind: .nfs), DatastoreSpec(id: "ds-2", kind: .vmfs), DatastoreSpec(id: "ds-3", kind: .iscsi)]
        let hosts = hostIDs.map { HostConfig(id: $0, datastores: datastores.map(\.id)) }
        let responses: [IsolationResponse] = [.leavePoweredOn, .powerOff, .shutdown]
        let priorities: [RestartPriority] = [.high, .medium, .medium, .low, .disabled]
        var vms: [VMConfig] = []
        var placement: [VMID: HostID] = [:]
        for i in 0..<max(1, vmCount) {
            let id = VMID(i + 1 < 10 ? "vm-0\(i + 1)" : "vm-\(i + 1)")
            vms.append(VMConfig(
                id: id, homeDatastore: datastores[i % datastores.count].id,
                restartPriority: priorities[Int(rng.next() % UInt64(priorities.count))],
                hasTools: rng.unit() < 0.8
            ))
            placement[id] = hostIDs[i % hostIDs.count]
        }
        let profile: Profile = rng.unit() < 0.5 ? .v50 : .v51
        let cluster = ClusterConfig(hosts: hosts, vms: vms, isolationResponse: responses[Int(rng.next() % 3)])

        // Swarm: this seed's fault mix.
        var enabled = Kind.allCases.filter { _ in rng.unit() < 0.5 }
        if enabled.isEmpty { enabled = [Kind.allCases[Int(rng.next() % UInt64(Kind.allCases.count))]] }
        let stepCount = 1 + Int(rng.next() % 4)
        var steps: [FaultStep] = []
        var t = 40.0
        for _ in 0..<stepCount {
            t += 5 + rng.unit() * 60
            let kind = enabled[Int(rng.next() % UInt64(enabled.count))]
            let host = hostIDs[Int(rng.next() % UInt64(hostIDs.count))]
            let length = 20 + rng.unit() * 200
            let fault: Fault
            switch kind {
            case .powerOff: fault = .powerOffHost(host)
            case .partition:
                let cut = 1 + Int(rng.next() % UInt64(hostIDs.count - 1))
                fault = .partition(groups: [Array(hostIDs.prefix(cut)), Array(hostIDs.dropFirst(cut))])
            case .isolate: fault = .isolateHost(host, storageToo: false)
            case .isolateWithStorage: fault = .isolateHost(host, storageToo: true)
            case .managementOutage: fault = .managementNetworkOutage
            case .unmount: fault = .unmountDatastore(datastores[Int(rng.next() % 3)].id, hosts: [host])
            case .killAgent: fault = .killAgent(host, staysDown: false)
            case .killHostd: fault = .killHostd(host, staysDown: false)
            case .killVM: fault = .killVM(vms[Int(rng.next() % UInt64(vms.count))].id)
            case .freeze: fault = .freezeHost(host)
            case .stopAgent: fault = .stopAgent(host)
            case .packetLoss: fault = .packetLoss(host, probability: 0.1 + rng.unit() * 0.6)
            case .restartHost: fault = .restartHost(host)
            case .controllerDown: fault = .controllerDown
            }
            let heal: Double? = fault.isInstantaneous ? nil : (t + length).rounded()
            steps.append(FaultStep(at: t.rounded(), fault: fault, healAt: heal))
        }
        // A quiet period after the last heal so liveness can be judged.
        let lastEvent = steps.map { $0.healAt ?? $0.at }.max() ?? t
        let duration = (lastEvent + 180).rounded()
        return Scenario(
            name: "swarm-\(seed)", description: "random schedule for seed \(seed): \(enabled.map(\.rawValue).joined(separator: ","))",
            profile: profile, cluster: cluster, datastores: datastores, initialPlacement: placement,
            settings: Settings(profile: profile), steps: steps, duration: duration,
            expectations: safetyInvariants.map { .invariant($0) }
        )
    }
}
