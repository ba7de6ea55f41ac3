import HACore

/// Everything the checker believes about one run (DESIGN §4): ground truth plus agent evidence.
///
/// Times are **real seconds since the run's start** (`run time`); divide by ``timeScale`` for
/// model seconds. The same type comes out of every backend and is stored with the run so that
/// `chaos report` can re-check it offline.
public struct History: Hashable, Sendable, Codable {
    public var scenario: String
    public var backend: String
    public var timeScale: Double
    public var seed: UInt64?
    /// Settings as the agents ran them (already scaled).
    public var settings: Settings
    /// The cluster configuration at the start.
    public var cluster: ClusterConfig
    public var datastores: [DatastoreSpec]
    /// The fault journal: what was injected and healed, when (harness clock).
    public var faults: [FaultRecord]
    /// Agent evidence, merged from every host, in run-time order.
    public var events: [TimedEvent]
    /// Ground truth: every VM instance that ran, where, from when to when, and why it ended.
    public var vmInstances: [VMInstanceRecord]
    /// Ground truth: who held each VM's disk lock, when (from the datastores / storage model).
    public var diskLocks: [DiskLockRecord]
    /// Ground truth: host power intervals (a host is up between `start` and `end`).
    public var hostPower: [HostPowerRecord]
    /// Ground truth: protectedlist lock holders per datastore over time.
    public var protectedListLocks: [ProtectedListLockRecord]
    /// Files observed on the datastores (poweron files, markers) when they changed.
    public var fileObservations: [FileObservation]
    /// Run length in run seconds.
    public var duration: Double

    public init(
        scenario: String, backend: String, timeScale: Double, seed: UInt64?, settings: Settings,
        cluster: ClusterConfig, datastores: [DatastoreSpec], faults: [FaultRecord] = [], events: [TimedEvent] = [],
        vmInstances: [VMInstanceRecord] = [], diskLocks: [DiskLockRecord] = [], hostPower: [HostPowerRecord] = [],
        protectedListLocks: [ProtectedListLockRecord] = [], fileObservations: [FileObservation] = [], duration: Double
    ) {
        self.scenario = scenario
        self.backend = backend
        self.timeScale = timeScale
        self.seed = seed
        self.settings = settings
        self.cluster = cluster
        self.datastores = datastores
        self.faults = faults
        self.events = events
        self.vmInstances = vmInstances
        self.diskLocks = diskLocks
        self.hostPower = hostPower
        self.protectedListLocks = protectedListLocks
        self.fileObservations = fileObservations
        self.duration = duration
    }
}

/// One fault as journaled.
public struct FaultRecord: Hashable, Sendable, Codable {
    public var fault: Fault
    public var injectedAt: Double
    public var healedAt: Double?
    public init(fault: Fault, injectedAt: Double, healedAt: Double? = nil) {
        self.fault = fault
        self.injectedAt = injectedAt
        self.healedAt = healedAt
    }
}
