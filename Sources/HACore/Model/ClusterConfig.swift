/// Which admission-control policy vCenter enforces (oracle §6.7). It never blocks HA restarts.
public enum AdmissionControlPolicy: Hashable, Sendable, Codable {
    /// No admission control.
    case disabled
    /// "Host failures cluster tolerates" with slot sizes (optional caps).
    case slots(hostFailuresToTolerate: Int, slotCPUCapMHz: Int?, slotMemoryCapMB: Int?)
    /// "Percentage of cluster resources reserved as failover capacity".
    case percentage(cpuPercent: Int, memoryPercent: Int)
    /// "Specify failover hosts": restart there first; no user power-on there.
    case failoverHosts([HostID])
}

/// How heartbeat datastores are chosen (oracle §2.4; API values).
public enum HeartbeatDatastorePolicy: Hashable, Sendable, Codable {
    /// vCenter picks among all feasible datastores.
    case allFeasible
    /// Only the user's list (may be empty: no datastore heartbeating at all).
    case userSelected([DatastoreID])
    /// The user's list first, completed from all feasible datastores.
    case allFeasibleWithUserPreference([DatastoreID])
}

/// APD/PDL response of VM component protection (oracle §7.3; 6.0-style, off by default).
public enum ComponentProtectionResponse: String, Hashable, Sendable, Codable, CaseIterable {
    case disabled
    case warning
    case restartConservative
    case restartAggressive
}

/// The cluster configuration that vCenter pushes to the master and the master to every slave
/// (`clusterconfig` + `hostlist` + `compatlist`, oracle §3.2).
public struct ClusterConfig: Hashable, Sendable, Codable {
    public var name: String
    /// Monotonic version; a higher version replaces a lower one.
    public var version: Int
    public var hosts: [HostConfig]
    public var vms: [VMConfig]
    /// Cluster-wide isolation response (5.0+ default: leave powered on).
    public var isolationResponse: IsolationResponse
    /// Isolation addresses (default: the management gateway).
    public var isolationAddresses: [String]
    public var heartbeatDatastorePolicy: HeartbeatDatastorePolicy
    /// `das.heartbeatDsPerHost`: 2…5, default 2.
    public var heartbeatDatastoresPerHost: Int
    public var admissionControl: AdmissionControlPolicy
    /// Host monitoring: without it there is no failure or isolation response (oracle §5.1).
    public var hostMonitoringEnabled: Bool
    /// `disk.terminateVMOnPDLDefault` on the hosts.
    public var terminateVMOnPDL: Bool
    /// `das.maskCleanShutdownEnabled` (false on 5.0U1, true on 5.1+: taken from the profile when nil).
    public var maskCleanShutdownEnabled: Bool?
    public var apdResponse: ComponentProtectionResponse
    public var pdlResponse: ComponentProtectionResponse

    public init(
        name: String = "cluster-1", version: Int = 1, hosts: [HostConfig], vms: [VMConfig],
        isolationResponse: IsolationResponse = .leavePoweredOn, isolationAddresses: [String] = ["gateway"],
        heartbeatDatastorePolicy: HeartbeatDatastorePolicy = .allFeasible, heartbeatDatastoresPerHost: Int = 2,
        admissionControl: AdmissionControlPolicy = .disabled, hostMonitoringEnabled: Bool = true,
        terminateVMOnPDL: Bool = false, maskCleanShutdownEnabled: Bool? = nil,
        apdResponse: ComponentProtectionResponse = .disabled, pdlResponse: ComponentProtectionResponse = .disabled
    ) {
        self.name = name
        self.version = version
        self.hosts = hosts
        self.vms = vms
        self.isolationResponse = isolationResponse
        self.isolationAddresses = isolationAddresses
        self.heartbeatDatastorePolicy = heartbeatDatastorePolicy
        self.heartbeatDatastoresPerHost = heartbeatDatastoresPerHost
        self.admissionControl = admissionControl
        self.hostMonitoringEnabled = hostMonitoringEnabled
        self.terminateVMOnPDL = terminateVMOnPDL
        self.maskCleanShutdownEnabled = maskCleanShutdownEnabled
        self.apdResponse = apdResponse
        self.pdlResponse = pdlResponse
    }

    public func host(_ id: HostID) -> HostConfig? { hosts.first { $0.id == id } }
    public func vm(_ id: VMID) -> VMConfig? { vms.first { $0.id == id } }

    /// The response that applies to `vm`: its override, or the cluster's.
    /// A VM with restart priority disabled gets none (oracle §5.1, INV-I10).
    public func effectiveIsolationResponse(for vm: VMConfig) -> IsolationResponse {
        if vm.restartPriority == .disabled { return .leavePoweredOn }
        let response = vm.isolationResponse == .clusterDefault ? isolationResponse : vm.isolationResponse
        return response == .clusterDefault ? .leavePoweredOn : response
    }

    /// How many hosts mount each datastore.
    public var mountCounts: [DatastoreID: Int] {
        var counts: [DatastoreID: Int] = [:]
        for host in hosts { for ds in Set(host.datastores) { counts[ds, default: 0] += 1 } }
        return counts
    }

    /// Datastores that may carry `host`'s heartbeats: mounted by it and by at least one other host
    /// (oracle §2.4), in preference order (user list first, then most hosts, then id).
    public func heartbeatCandidates(for host: HostID) -> [DatastoreID] {
        guard let config = self.host(host) else { return [] }
        let counts = mountCounts
        let feasible = Set(config.datastores).filter { (counts[$0] ?? 0) >= 2 }
        let byReach = feasible.sorted { (counts[$0]!, $1.rawValue) > (counts[$1]!, $0.rawValue) }
        switch heartbeatDatastorePolicy {
        case .allFeasible:
            return byReach
        case .userSelected(let list):
            return list.filter { feasible.contains($0) }
        case .allFeasibleWithUserPreference(let list):
            let preferred = list.filter { feasible.contains($0) }
            return preferred + byReach.filter { !preferred.contains($0) }
        }
    }

    /// The heartbeat datastores `host` uses now: the first ``heartbeatDatastoresPerHost``
    /// candidates that are `accessible` (reselection when one disappears, oracle §2.4).
    public func heartbeatDatastores(for host: HostID, accessible: Set<DatastoreID>) -> [DatastoreID] {
        let count = min(max(heartbeatDatastoresPerHost, 2), 5)
        return Array(heartbeatCandidates(for: host).filter { accessible.contains($0) }.prefix(count))
    }
}

extension ClusterConfig {
    /// A copy whose per-VM durations (VM monitoring) are multiplied by `factor` (time scale).
    public func scaled(by factor: Double) -> ClusterConfig {
        var copy = self
        copy.vms = vms.map { vm in
            var vm = vm
            vm.monitoring = vm.monitoring.scaled(by: factor)
            return vm
        }
        return copy
    }
}
