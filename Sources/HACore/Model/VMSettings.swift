/// Restart priority of a VM (oracle §6.1). Lower ``rank`` restarts first.
public enum RestartPriority: String, Sendable, Codable, CaseIterable, Comparable {
    /// Agent VMs (for example virtual storage appliances): first of all.
    case agent
    /// Fault-tolerance secondaries: right after agent VMs.
    case ftSecondary
    case high
    case medium
    case low
    /// Never restarted by HA and never given an isolation response (§5.1, §6.1).
    case disabled

    /// Issue order: agent VMs → FT secondaries → high → medium → low.
    public var rank: Int {
        switch self {
        case .agent: 0
        case .ftSecondary: 1
        case .high: 2
        case .medium: 3
        case .low: 4
        case .disabled: 5
        }
    }

    public static func < (lhs: RestartPriority, rhs: RestartPriority) -> Bool { lhs.rank < rhs.rank }
}

/// The isolation response (oracle §5.1). `clusterDefault` exists only as a per-VM override value.
public enum IsolationResponse: String, Sendable, Codable, CaseIterable {
    case leavePoweredOn
    case powerOff
    case shutdown
    case clusterDefault
}

/// VM and application monitoring sensitivity (oracle §8).
public struct VMMonitoringSettings: Hashable, Sendable, Codable {
    /// Whether VMware-Tools heartbeat monitoring is on for this VM.
    public var enabled: Bool
    /// Whether application heartbeats are monitored too.
    public var applicationMonitoring: Bool
    /// Failure interval: how long hostd's status must be red before HA declares a failure.
    public var failureInterval: Duration
    /// No reset within this span after power-on.
    public var minUptime: Duration
    /// At most this many resets inside ``maxFailureWindow``.
    public var maxFailures: Int
    /// The window for ``maxFailures``; `nil` means no window (an absolute count).
    public var maxFailureWindow: Duration?
    /// A reset needs no disk or network I/O for this long (`das.iostatsInterval`).
    public var ioStatsInterval: Duration

    public init(
        enabled: Bool = false, applicationMonitoring: Bool = false,
        failureInterval: Duration = .seconds(30), minUptime: Duration = .seconds(120),
        maxFailures: Int = 3, maxFailureWindow: Duration? = nil, ioStatsInterval: Duration = .seconds(120)
    ) {
        self.enabled = enabled
        self.applicationMonitoring = applicationMonitoring
        self.failureInterval = failureInterval
        self.minUptime = minUptime
        self.maxFailures = maxFailures
        self.maxFailureWindow = maxFailureWindow
        self.ioStatsInterval = ioStatsInterval
    }

    /// The documented presets (oracle §8). Min uptime presets are unconfirmed there; we use
    /// 120/240/480 s as the oracle's table lists them.
    public enum Preset: String, Sendable, Codable, CaseIterable { case high, medium, low }

    public static func preset(_ preset: Preset, applicationMonitoring: Bool = false) -> VMMonitoringSettings {
        switch preset {
        case .high:
            VMMonitoringSettings(enabled: true, applicationMonitoring: applicationMonitoring, failureInterval: .seconds(30),
                                 minUptime: .seconds(120), maxFailures: 3, maxFailureWindow: .seconds(3600))
        case .medium:
            VMMonitoringSettings(enabled: true, applicationMonitoring: applicationMonitoring, failureInterval: .seconds(60),
                                 minUptime: .seconds(240), maxFailures: 3, maxFailureWindow: .seconds(86_400))
        case .low:
            VMMonitoringSettings(enabled: true, applicationMonitoring: applicationMonitoring, failureInterval: .seconds(120),
                                 minUptime: .seconds(480), maxFailures: 3, maxFailureWindow: .seconds(604_800))
        }
    }
}

/// One VM as the cluster configuration describes it.
public struct VMConfig: Hashable, Sendable, Codable {
    public var id: VMID
    /// The datastore holding the VM's .vmx: decides ownership (oracle §3.1).
    public var homeDatastore: DatastoreID
    public var restartPriority: RestartPriority
    /// Per-VM isolation response; `.clusterDefault` uses the cluster setting.
    public var isolationResponse: IsolationResponse
    /// CPU reservation in MHz (0 = none).
    public var cpuReservationMHz: Int
    /// Memory reservation in MB (0 = none).
    public var memoryReservationMB: Int
    /// Memory overhead in MB, counted by admission control and placement.
    public var memoryOverheadMB: Int
    /// Whether the guest runs VMware Tools (clean shutdown possible).
    public var hasTools: Bool
    /// Hosts the VM may run on (VM-host "must" rules, compatibility list); empty = any.
    public var compatibleHosts: [HostID]
    /// Whether HA protects the VM (vCenter asked the master to protect it).
    public var isProtected: Bool
    public var monitoring: VMMonitoringSettings

    public init(
        id: VMID, homeDatastore: DatastoreID, restartPriority: RestartPriority = .medium,
        isolationResponse: IsolationResponse = .clusterDefault, cpuReservationMHz: Int = 0,
        memoryReservationMB: Int = 0, memoryOverheadMB: Int = 100, hasTools: Bool = true,
        compatibleHosts: [HostID] = [], isProtected: Bool = true, monitoring: VMMonitoringSettings = VMMonitoringSettings()
    ) {
        self.id = id
        self.homeDatastore = homeDatastore
        self.restartPriority = restartPriority
        self.isolationResponse = isolationResponse
        self.cpuReservationMHz = cpuReservationMHz
        self.memoryReservationMB = memoryReservationMB
        self.memoryOverheadMB = memoryOverheadMB
        self.hasTools = hasTools
        self.compatibleHosts = compatibleHosts
        self.isProtected = isProtected
        self.monitoring = monitoring
    }
}

/// One host as the cluster configuration describes it (the `hostlist` entry).
public struct HostConfig: Hashable, Sendable, Codable {
    public var id: HostID
    /// Datastores this host mounts.
    public var datastores: [DatastoreID]
    public var cpuMHz: Int
    public var memoryMB: Int
    /// Management address (used by the real backends; informational in the core).
    public var managementAddress: String

    public init(id: HostID, datastores: [DatastoreID], cpuMHz: Int = 20_000, memoryMB: Int = 65_536, managementAddress: String = "") {
        self.id = id
        self.datastores = datastores
        self.cpuMHz = cpuMHz
        self.memoryMB = memoryMB
        self.managementAddress = managementAddress
    }
}

extension VMMonitoringSettings {
    /// A copy with every duration multiplied by `factor` (time scale).
    public func scaled(by factor: Double) -> VMMonitoringSettings {
        var copy = self
        copy.failureInterval = failureInterval.scaled(by: factor)
        copy.minUptime = minUptime.scaled(by: factor)
        copy.maxFailureWindow = maxFailureWindow?.scaled(by: factor)
        copy.ioStatsInterval = ioStatsInterval.scaled(by: factor)
        return copy
    }
}
