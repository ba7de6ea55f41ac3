import HACore

/// A typed fault (DESIGN §6): data first, journaled before it is applied, always with its heal.
public enum Fault: Hashable, Sendable, Codable {
    /// Cut management traffic between the groups (hosts not listed, the controller and the
    /// isolation gateway stay connected to every group).
    case partition(groups: [[HostID]])
    /// Drop traffic from `from` to `to` only (one-way partition).
    case partitionOneWay(from: [HostID], to: [HostID])
    /// Cut the host's management network: peers, controller and isolation addresses.
    /// With `storageToo`, its IP storage goes as well (converged network: every datastore APD).
    case isolateHost(HostID, storageToo: Bool)
    /// The host can no longer reach the isolation addresses (agent traffic unaffected).
    case dropIsolationAddress(HostID)
    /// Drop a fraction of the host's management packets (both directions).
    case packetLoss(HostID, probability: Double)
    /// Every host loses the management network at once (INV-I11).
    case managementNetworkOutage
    /// A rogue node on the management network, holding a wrong cluster key, claims mastership
    /// loudly and forges heartbeats and restart commands in every host's name until heal; the
    /// cluster's behaviour must not change (issue 7).
    case rogueHost
    /// All paths down on these hosts (unmount, I/O fails).
    case unmountDatastore(DatastoreID, hosts: [HostID])
    /// Permanent device loss on these hosts.
    case pdlDatastore(DatastoreID, hosts: [HostID])
    /// The datastore becomes read-only on these hosts.
    case readOnlyDatastore(DatastoreID, hosts: [HostID])
    /// `kill -9` of the host's agent; the watchdog restarts it unless `staysDown`.
    case killAgent(HostID, staysDown: Bool)
    /// `kill -9` of hostd; the watchdog restarts it unless `staysDown`.
    case killHostd(HostID, staysDown: Bool)
    /// `kill -9` of one VM's process (a VM crash).
    case killVM(VMID)
    /// SIGSTOP of the agent until heal (SIGCONT).
    case stopAgent(HostID)
    /// Power the host off (kill every process in its cgroup); heal powers it back on.
    case powerOffHost(HostID)
    /// Clean host shutdown (DCUI F12: `clnPwrOff=true`): VMs shut down, HA must not restart them.
    case shutdownHost(HostID)
    /// Freeze every process of the host (cgroup freezer) until heal.
    case freezeHost(HostID)
    /// Reboot the host: power off now, back on at once.
    case restartHost(HostID)
    /// The controller (vCenter role) is down until heal.
    case controllerDown
    /// The guest stops sending VMware Tools heartbeats and does no I/O (VM monitoring).
    case guestHang(VMID)
    /// A user powers the VM off through the controller (unprotect, then power off).
    case userPowerOff(VMID)
    /// A user powers the VM on through the controller on `host`: admission control decides
    /// (oracle §6.7), then the VM is protected.
    case userPowerOn(VMID, host: HostID)

    /// The kind string used in `faults.jsonl` and `result.json` (e.g. `host.powerOff`).
    public var kind: String {
        switch self {
        case .partition: "network.partition"
        case .partitionOneWay: "network.partitionOneWay"
        case .isolateHost(_, let storage): storage ? "network.isolateWithStorage" : "network.isolate"
        case .dropIsolationAddress: "network.dropIsolationAddress"
        case .packetLoss: "network.loss"
        case .managementNetworkOutage: "network.managementOutage"
        case .rogueHost: "network.rogueHost"
        case .unmountDatastore: "storage.unmount"
        case .pdlDatastore: "storage.pdl"
        case .readOnlyDatastore: "storage.readOnly"
        case .killAgent: "process.killAgent"
        case .killHostd: "process.killHostd"
        case .killVM: "process.killVM"
        case .stopAgent: "process.stopAgent"
        case .powerOffHost: "host.powerOff"
        case .shutdownHost: "host.shutdown"
        case .freezeHost: "host.freeze"
        case .restartHost: "host.restart"
        case .controllerDown: "control.controllerDown"
        case .guestHang: "vm.guestHang"
        case .userPowerOff: "vm.userPowerOff"
        case .userPowerOn: "vm.userPowerOn"
        }
    }

    /// The hosts, datastores or VMs the fault targets (for reports).
    public var targets: [String] {
        switch self {
        case .partition(let groups): groups.map { $0.map(\.rawValue).joined(separator: ",") }
        case .partitionOneWay(let from, let to): [from.map(\.rawValue).joined(separator: ","), to.map(\.rawValue).joined(separator: ",")]
        case .isolateHost(let h, _), .dropIsolationAddress(let h), .packetLoss(let h, _), .killAgent(let h, _),
             .killHostd(let h, _), .stopAgent(let h), .powerOffHost(let h), .shutdownHost(let h), .freezeHost(let h),
             .restartHost(let h):
            [h.rawValue]
        case .managementNetworkOutage: ["*"]
        case .rogueHost: ["rogue"]
        case .unmountDatastore(let ds, let hosts), .pdlDatastore(let ds, let hosts), .readOnlyDatastore(let ds, let hosts):
            [ds.rawValue] + hosts.map(\.rawValue)
        case .killVM(let vm), .guestHang(let vm), .userPowerOff(let vm): [vm.rawValue]
        case .userPowerOn(let vm, let host): [vm.rawValue, host.rawValue]
        case .controllerDown: ["controller"]
        }
    }

    /// Hosts named anywhere in the fault (validation).
    public var hostsNamed: [HostID] {
        switch self {
        case .partition(let groups): groups.flatMap { $0 }
        case .partitionOneWay(let from, let to): from + to
        case .isolateHost(let h, _), .dropIsolationAddress(let h), .packetLoss(let h, _), .killAgent(let h, _),
             .killHostd(let h, _), .stopAgent(let h), .powerOffHost(let h), .shutdownHost(let h), .freezeHost(let h),
             .restartHost(let h):
            [h]
        case .unmountDatastore(_, let hosts), .pdlDatastore(_, let hosts), .readOnlyDatastore(_, let hosts): hosts
        case .userPowerOn(_, let host): [host]
        case .managementNetworkOutage, .rogueHost, .killVM, .guestHang, .userPowerOff, .controllerDown: []
        }
    }

    /// Whether the fault is instantaneous (nothing to heal: kills, crashes, user operations).
    public var isInstantaneous: Bool {
        switch self {
        case .killVM, .userPowerOff, .userPowerOn, .restartHost: true
        case .killAgent(_, let staysDown), .killHostd(_, let staysDown): !staysDown
        default: false
        }
    }
}
