/// One fact an agent emits as evidence for the harness (DESIGN §4), written as a JSON line.
///
/// The simulator and the real agent emit the same values, so one checker judges both.
public struct HAEvent: Hashable, Sendable, Codable {
    /// The emitting host.
    public var host: HostID
    /// The emitter's local time (the harness maps it to run time).
    public var at: Instant
    public var kind: Kind

    public init(host: HostID, at: Instant, kind: Kind) {
        self.host = host
        self.at = at
        self.kind = kind
    }

    /// The facts (past tense; names from the oracle).
    public enum Kind: Hashable, Sendable, Codable {
        case agentStarted
        /// The agent ran again after not running for `pausedSeconds` (stopped, frozen or
        /// stalled); for ``Settings/resumeGrace`` it gathers fresh evidence before judging by timers.
        case agentResumed(pausedSeconds: Double)
        case agentStopped(reason: String)
        case roleChanged(Role)
        case electionStarted
        case electionWon(datastores: Int)
        case joinedMaster(HostID)
        case abdicated(to: HostID)
        case hostStateChanged(host: HostID, state: HostState)
        /// `lastHeard`: the master's instant of the last network heartbeat it received from `host`
        /// (the oracle's timelines run from it; INV-H1, INV-FS1/FS2 anchor on it where present).
        case datastoreHeartbeatMonitoringStarted(host: HostID, lastHeard: Instant)
        case livenessPingStarted(host: HostID, lastHeard: Instant)
        case heartbeatDatastoresSelected([DatastoreID])
        case isolationProbeStarted
        case isolationDeclared
        case isolationCleared(reason: String)
        case isolationResponseApplied(vm: VMID, response: IsolationResponse, markerWritten: Bool)
        case isolationResponseDeferred(vm: VMID)
        case isolationShutdownForced(vm: VMID)
        case lockAcquired(DatastoreID)
        case lockReleased(DatastoreID, reason: String)
        case lockLost(DatastoreID)
        case protectedVMsRead(datastore: DatastoreID, count: Int)
        case vmFailureDetected(vm: VMID, host: HostID, reason: String)
        case restartIssued(vm: VMID, target: HostID, attempt: Int, priority: RestartPriority)
        case restartSucceeded(vm: VMID, target: HostID, attempt: Int)
        case restartFailed(vm: VMID, target: HostID, attempt: Int, reason: String)
        case restartGaveUp(vm: VMID, attempts: Int)
        case restartPendingPlacement(vm: VMID)
        case vmPoweredOnLocally(vm: VMID)
        case vmMonitoringReset(vm: VMID, count: Int)
        case apdTimeout(DatastoreID)
        case componentProtectionKill(vm: VMID, datastore: DatastoreID)
        case hostdUnavailable
        case hostdAvailable
        case configApplied(version: Int)
        case messageDropped(from: String, reason: String)
        /// The controller (vCenter role, emitted as host `vcenter`) admitted or rejected a user power-on.
        case admissionControlDecision(vm: VMID, host: HostID, admitted: Bool, reason: String)
    }
}
