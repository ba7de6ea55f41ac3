import HACore
import HASim

/// Ready-made clusters for tests.
public enum Fixtures {
    /// `hosts` hosts (`host-1`…), `datastores` shared NFS datastores (`ds-1`…) mounted everywhere,
    /// `vmsPerHost` VMs per host (`vm-01`…) homed round-robin on the datastores.
    public static func cluster(
        hosts: Int = 4, datastores: Int = 2, vmsPerHost: Int = 2, isolationResponse: IsolationResponse = .leavePoweredOn
    ) -> (config: ClusterConfig, placement: [VMID: HostID]) {
        let dsIDs = (1...datastores).map { DatastoreID("ds-\($0)") }
        let hostConfigs = (1...hosts).map { HostConfig(id: HostID("host-\($0)"), datastores: dsIDs) }
        var vms: [VMConfig] = []
        var placement: [VMID: HostID] = [:]
        var index = 0
        for host in hostConfigs {
            for _ in 0..<vmsPerHost {
                index += 1
                let id = VMID(index < 10 ? "vm-0\(index)" : "vm-\(index)")
                vms.append(VMConfig(id: id, homeDatastore: dsIDs[(index - 1) % dsIDs.count]))
                placement[id] = host.id
            }
        }
        return (ClusterConfig(hosts: hostConfigs, vms: vms, isolationResponse: isolationResponse), placement)
    }

    /// A simulator over ``cluster(hosts:datastores:vmsPerHost:isolationResponse:)``.
    public static func simulator(
        hosts: Int = 4, vmsPerHost: Int = 2, settings: Settings = .v51, seed: UInt64 = 1,
        isolationResponse: IsolationResponse = .leavePoweredOn, bugs: Set<FDM.Bug> = []
    ) -> Simulator {
        let (config, placement) = cluster(hosts: hosts, vmsPerHost: vmsPerHost, isolationResponse: isolationResponse)
        let setup = SimulationSetup(
            cluster: config, settings: settings, ipStorage: Set(config.hosts.first?.datastores ?? []),
            initialPlacement: placement, seed: seed, bugs: bugs
        )
        return Simulator(setup)
    }
}
