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

/// An agent's ``HAEvent`` placed on the run's time line.
public struct TimedEvent: Hashable, Sendable, Codable {
    /// Run seconds.
    public var time: Double
    public var event: HAEvent
    public init(time: Double, event: HAEvent) {
        self.time = time
        self.event = event
    }
}

/// One VM instance (one process / one power-on) as ground truth saw it.
public struct VMInstanceRecord: Hashable, Sendable, Codable {
    public var vm: VMID
    /// Unique per run, e.g. `vm-07#3`.
    public var instance: String
    public var host: HostID
    public var start: Double
    public var end: Double?
    public var endReason: VMEndReason
    /// Whether the power-on was issued by HA (a restart) rather than by the initial placement or a user.
    public var startedByHA: Bool
    public init(vm: VMID, instance: String, host: HostID, start: Double, end: Double?, endReason: VMEndReason, startedByHA: Bool) {
        self.vm = vm
        self.instance = instance
        self.host = host
        self.start = start
        self.end = end
        self.endReason = endReason
        self.startedByHA = startedByHA
    }
}

/// An interval during which one VM instance held its disk lock.
public struct DiskLockRecord: Hashable, Sendable, Codable {
    public var vm: VMID
    public var instance: String
    public var host: HostID
    public var from: Double
    public var to: Double?
    public init(vm: VMID, instance: String, host: HostID, from: Double, to: Double?) {
        self.vm = vm
        self.instance = instance
        self.host = host
        self.from = from
        self.to = to
    }
}

/// An interval during which a host was powered on.
public struct HostPowerRecord: Hashable, Sendable, Codable {
    public var host: HostID
    public var start: Double
    public var end: Double?
    /// True when the power-off was a clean shutdown (`clnPwrOff=true`).
    public var cleanShutdown: Bool
    public init(host: HostID, start: Double, end: Double?, cleanShutdown: Bool) {
        self.host = host
        self.start = start
        self.end = end
        self.cleanShutdown = cleanShutdown
    }
}

/// An interval during which a host held a datastore's protectedlist lock.
public struct ProtectedListLockRecord: Hashable, Sendable, Codable {
    public var datastore: DatastoreID
    public var holder: HostID
    public var from: Double
    public var to: Double?
    public init(datastore: DatastoreID, holder: HostID, from: Double, to: Double?) {
        self.datastore = datastore
        self.holder = holder
        self.from = from
        self.to = to
    }
}

/// A datastore file's content at a time (poweron files and poweredoff markers).
public struct FileObservation: Hashable, Sendable, Codable {
    public enum Content: Hashable, Sendable, Codable {
        case powerOn(host: HostID, file: PowerOnFile)
        case poweredOffMarker(vm: VMID, present: Bool)
    }
    public var time: Double
    public var datastore: DatastoreID
    public var content: Content
    public init(time: Double, datastore: DatastoreID, content: Content) {
        self.time = time
        self.datastore = datastore
        self.content = content
    }
}
