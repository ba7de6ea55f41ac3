/// An agent's role (results contract: master, slave, election, none).
public enum Role: String, Sendable, Codable, CaseIterable {
    case master
    case slave
    case election
    /// Not taking part (agent stopped, or waiting for hostd).
    case none
}

/// A host's state as a master classifies it (oracle §2.6; results contract).
public enum HostState: String, Sendable, Codable, CaseIterable {
    case alive
    /// No network heartbeats; classification in progress (or the agent is down while the host answers pings).
    case unreachable
    case dead
    case isolated
    case partitioned
}

/// What a datastore looks like from one host.
public enum DatastoreHealth: String, Sendable, Codable, CaseIterable {
    case accessible
    /// All paths down: I/O hangs/fails with no sense code (unmounted in the real backends).
    case allPathsDown
    /// Permanent device loss: the array answers "gone".
    case permanentDeviceLoss
    /// Mounted read-only: readable, not writable.
    case readOnly

    /// Whether files on it can be written (locks, heartbeats, markers).
    public var isWritable: Bool { self == .accessible }
    /// Whether files on it can be read.
    public var isReadable: Bool { self == .accessible || self == .readOnly }
}

/// Why a VM instance stopped (results contract `endReason`).
public enum VMEndReason: String, Sendable, Codable, CaseIterable {
    case running
    case hostFailed = "host-failed"
    case isolationResponse = "isolation-response"
    case lostLock = "lost-lock"
    case userPowerOff = "user-poweroff"
    case crashed
    case vmMonitoringReset = "vm-monitoring-reset"
    case pdl
}

/// The contents of a `host-N-poweron` file (oracle §3.1): line 1 the isolation flag, then VMs.
public struct PowerOnFile: Hashable, Sendable, Codable {
    public var isolated: Bool
    public var poweredOn: [VMID]
    public init(isolated: Bool, poweredOn: [VMID]) {
        self.isolated = isolated
        self.poweredOn = poweredOn
    }
}
