import HACore

/// A parsed scenario file (DESIGN §7): cluster, HA settings, fault timeline, expectations.
///
/// Times in a scenario are **model seconds** (scale 1); backends multiply them by the time scale.
public struct Scenario: Hashable, Sendable {
    /// The scenario's name (defaults to the file name without extension).
    public var name: String
    public var description: String
    /// The file it came from (for messages).
    public var sourcePath: String
    public var profile: Profile
    /// The cluster as HACore sees it (hosts, datastores, VMs, HA settings).
    public var cluster: ClusterConfig
    /// Datastores declared by the scenario, with their type.
    public var datastores: [DatastoreSpec]
    /// Where each VM is powered on at the start.
    public var initialPlacement: [VMID: HostID]
    /// Settings overrides at scale 1 (isolation policy delay etc.); the backend scales them.
    public var settings: Settings
    /// Fault steps in time order.
    public var steps: [FaultStep]
    /// How long the run lasts in model seconds.
    public var duration: Double
    /// Expectations: named invariants and scenario-specific outcomes.
    public var expectations: [Expectation]
    public init(
        name: String, description: String = "", sourcePath: String = "", profile: Profile = .v51,
        cluster: ClusterConfig, datastores: [DatastoreSpec], initialPlacement: [VMID: HostID], settings: Settings = .v51,
        steps: [FaultStep], duration: Double, expectations: [Expectation]
    ) {
        self.name = name
        self.description = description
        self.sourcePath = sourcePath
        self.profile = profile
        self.cluster = cluster
        self.datastores = datastores
        self.initialPlacement = initialPlacement
        self.settings = settings
        self.steps = steps
        self.duration = duration
        self.expectations = expectations
    }
}

/// A datastore and how it is reached.
public struct DatastoreSpec: Hashable, Sendable, Codable {
    public enum Kind: String, Hashable, Sendable, Codable, CaseIterable { case vmfs, nfs, iscsi, local }
    public var id: DatastoreID
    public var kind: Kind
    public init(id: DatastoreID, kind: Kind) {
        self.id = id
        self.kind = kind
    }
    /// IP storage goes down with a converged management network (isolation with storage).
    public var isIPStorage: Bool { kind == .nfs || kind == .iscsi }
}

/// One step of the fault timeline.
public struct FaultStep: Hashable, Sendable {
    /// Injection time, model seconds from the start of the run.
    public var at: Double
    public var fault: Fault
    /// Heal time, model seconds from the start of the run (`nil`: never healed, or instantaneous).
    public var healAt: Double?
    /// Where the step was written (file:line:column), for messages.
    public var location: SourceLocation?
    public init(at: Double, fault: Fault, healAt: Double? = nil, location: SourceLocation? = nil) {
        self.at = at
        self.fault = fault
        self.healAt = healAt
        self.location = location
    }
}

/// A position in a scenario file (1-based line and column).
public struct SourceLocation: Hashable, Sendable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }
    public var description: String { "\(file):\(line):\(column)" }
}

/// What the scenario expects.
public enum Expectation: Hashable, Sendable {
    /// A named invariant of oracle §11 (e.g. `INV-FS1`).
    case invariant(String)
    /// The VM is running (exactly one instance) on a host matching `on` / not `notOn` by model time `by`.
    case vmRunning(vm: VMID, on: HostID?, notOn: HostID?, by: Double)
    /// The VM is never restarted (no second instance ever starts) during the run.
    case vmNeverRestarted(VMID)
    /// The VM is not running at model time `at` (e.g. powered off by the isolation response).
    case vmDown(vm: VMID, at: Double)
    /// A split-brain window (two live instances) happens for the VM, and it is resolved by the end.
    case splitBrainResolved(VMID)
    /// No VM instance is ever stopped by HA (isolation response, monitoring) during the run.
    case noHAPowerOff
    /// `observer` (or the master, when nil) reports `host` in `state` within [from, to] model seconds.
    case hostState(observer: HostID?, host: HostID, state: HostState, from: Double, to: Double)
    /// The cluster has this master at model time `at`.
    case master(HostID, at: Double)
    /// Every host up during a fault that sends forged traffic dropped some with this reason
    /// (`badMAC`, `unknownHost`, `replayed`…): proof the attack reached the agents and failed.
    case messagesDropped(reason: String)
}
