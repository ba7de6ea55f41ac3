// Ground truth and evidence records: pure values shared by the simulator, the real backends and the checker.

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
