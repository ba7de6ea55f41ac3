import HACore

/// The paths of one node folder `N` (NODES.md §2), in one place.
public struct NodePaths: Sendable, Hashable {
    /// The node folder `N`.
    public let root: String

    /// The paths under `root`.
    public init(root: String) {
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
    }

    public var configDirectory: String { root + "/config" }
    public var controlDirectory: String { root + "/control" }
    public var runDirectory: String { root + "/run" }
    public var logsDirectory: String { root + "/logs" }
    /// `N/run/vms`: one ``VMRunRecord`` per running VM.
    public var vmsDirectory: String { runDirectory + "/vms" }

    /// `N/config/settings.json`: `HACore.Settings`, already scaled.
    public var settings: String { configDirectory + "/settings.json" }
    /// `N/config/clusterconfig.json`: `HACore.ClusterConfig`.
    public var clusterConfig: String { configDirectory + "/clusterconfig.json" }
    /// `N/run/hostd.sock`: the agent ↔ hostd socket (NODES.md §5).
    public var hostdSocket: String { runDirectory + "/hostd.sock" }
    /// `N/run/guest.sock`: the datagram socket on which VMs send guest heartbeats to hostd
    /// (HostKit's addition to NODES.md §2).
    public var guestSocket: String { runDirectory + "/guest.sock" }
    /// `N/logs/ground-truth.jsonl` (NODES.md §6).
    public var groundTruth: String { logsDirectory + "/ground-truth.jsonl" }

    /// `N/run/vms/<vm>.json`.
    public func runRecord(_ vm: VMID) -> String { vmsDirectory + "/\(vm.rawValue).json" }
    /// `N/run/vms/<vm>.exit`: the ``VMExitRecord`` a VM leaves behind.
    public func exitRecord(_ vm: VMID) -> String { vmsDirectory + "/\(vm.rawValue).exit" }
    /// `N/logs/vm-<vm>.log`: a VM process's stderr.
    public func vmLog(_ vm: VMID) -> String { logsDirectory + "/vm-\(vm.rawValue).log" }
    /// `N/run/<name>.pid` (`hostd`, `ha-agent`).
    public func pidFile(_ name: String) -> String { runDirectory + "/\(name).pid" }
    /// `N/logs/<name>.log`: a daemon's stdout and stderr.
    public func daemonLog(_ name: String) -> String { logsDirectory + "/\(name).log" }
    /// `N/control/<name>.down` (`agent`, `hostd`): present → the watchdog does not restart it.
    public func downFile(_ name: String) -> String { controlDirectory + "/\(name).down" }
}
