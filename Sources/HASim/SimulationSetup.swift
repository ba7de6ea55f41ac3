import HACore

/// Everything a simulation needs to start: the cluster, scaled settings, placement, seed.
public struct SimulationSetup: Sendable {
    public var cluster: ClusterConfig
    /// Protocol settings, already scaled.
    public var settings: Settings
    /// Datastores reached over IP (NFS/iSCSI): they vanish with a converged-network isolation.
    public var ipStorage: Set<DatastoreID>
    /// Where each VM runs at the start.
    public var initialPlacement: [VMID: HostID]
    public var seed: UInt64
    /// Rules broken on purpose in every agent (mutation testing).
    public var bugs: Set<FDM.Bug>
    /// How long a guest takes to shut down cleanly (when its I/O works).
    public var guestShutdownDuration: Duration
    /// How long the watchdog takes to restart a dead agent or hostd.
    public var watchdogDelay: Duration
    /// Network latency bounds (drawn per message from the seed).
    public var minLatency: Duration
    public var maxLatency: Duration
    /// Agents start within this span of t = 0 (drawn per host from the seed).
    public var startStagger: Duration
    /// VMware Tools heartbeat and I/O period of a healthy guest.
    public var guestHeartbeatInterval: Duration

    public init(
        cluster: ClusterConfig, settings: Settings, ipStorage: Set<DatastoreID>, initialPlacement: [VMID: HostID],
        seed: UInt64, bugs: Set<FDM.Bug> = []
    ) {
        self.cluster = cluster
        self.settings = settings
        self.ipStorage = ipStorage
        self.initialPlacement = initialPlacement
        self.seed = seed
        self.bugs = bugs
        let scale = settings.timeScale
        self.guestShutdownDuration = Duration.seconds(10).scaled(by: scale)
        self.watchdogDelay = Duration.seconds(2).scaled(by: scale)
        self.minLatency = .microseconds(200)
        self.maxLatency = .microseconds(1500)
        self.startStagger = Duration.milliseconds(500).scaled(by: scale)
        self.guestHeartbeatInterval = Duration.seconds(5).scaled(by: scale)
    }
}

/// What the simulator saw: agent evidence and ground truth, in run seconds.
public struct SimulationTrace: Sendable {
    public var events: [TimedEvent] = []
    public var vmInstances: [VMInstanceRecord] = []
    public var diskLocks: [DiskLockRecord] = []
    public var hostPower: [HostPowerRecord] = []
    public var protectedListLocks: [ProtectedListLockRecord] = []
    public var fileObservations: [FileObservation] = []
    /// Messages delivered and dropped (for speed figures and loss faults).
    public var messagesDelivered = 0
    public var messagesDropped = 0
    /// Events processed by the simulator.
    public var stepsExecuted = 0
    public init() {}
}

enum SimAction: Sendable {
    case tick(HostID, generation: Int)
    case deliver(HostID, FDM.Event, generation: Int)
    case startAgent(HostID, boot: Int)
    case startHostd(HostID, boot: Int)
    case vmRenew(String)
    case vmHeartbeat(String)
    case powerOnCheck(UInt64)
    case shutdownComplete(String)
    case controllerTick
    /// One round of a rogue node's forged datagrams (generation: the rogue fault's).
    case rogueBurst(generation: Int)
    case powerOnHost(HostID)
    case userPowerOffNow(VMID)
}
