extension FDM {
    /// The FDM agent algorithm for one host: election, heartbeats, isolation, ownership, restarts.
    ///
    /// A value type that performs no I/O and never reads a clock: every input carries `now`,
    /// every output is a ``FDM/Directive`` that a shell MUST carry out in order. The same
    /// instance runs inside the real `ha-agent`, the simulator and unit tests (DESIGN §3).
    ///
    /// - SeeAlso: `shared/reference/vsphere-ha-behaviour.md` §1–§8 for the behaviour implemented.
    public struct Instance: Sendable {
        /// This host.
        public let myself: HostID
        /// Protocol timings, already scaled.
        public internal(set) var settings: Settings
        /// The cluster configuration this agent knows (local `clusterconfig`).
        public internal(set) var config: ClusterConfig
        /// The current role.
        public internal(set) var role: Role = .none
        /// Deliberately broken rules, for mutation testing of the checker (empty in production).
        public var bugs: Set<Bug>
        /// Unique per agent start; slave heartbeats carry it (a restarted agent is told apart).
        public let incarnation: UInt64

        // MARK: - Local state
        var started = false
        var hostdAvailable = true
        var vcenterConnected = false
        var datastoreHealth: [DatastoreID: DatastoreHealth] = [:]
        var apdSince: [DatastoreID: Instant] = [:]
        var apdTimeoutRecorded: Set<DatastoreID> = []
        var localVMs: [VMID: LocalVM] = [:]
        /// VM failures not yet reported to a master (kept across elections: INV-E4).
        var unreportedFailures: [VMID] = []
        var heartbeatCounter: UInt64 = 0
        var nextHeartbeatFileWrite: Instant = .zero
        var heartbeatDatastores: [DatastoreID] = []
        var lastWrittenPowerOnFile: PowerOnFile?
        var lastHeardAnyPeer: Instant
        /// The previous tick (a long gap since it: the agent did not run, see ``onTick``).
        var lastTickAt: Instant?
        /// Until when, after such a gap, the agent only gathers evidence (no timer verdicts).
        var resumeGraceUntil: Instant?
        /// Whether this tick is in that grace (set at the top of ``onTick``).
        var inResumeGrace = false
        var lastIsolationAnswer: Instant?
        var nextAttemptID: UInt64 = 1
        /// Restart attempts this host is carrying out for a master: VM → (attempt id, master).
        var localRestartAttempts: [VMID: (id: UInt64, master: HostID)] = [:]

        // MARK: - Role state
        var election: ElectionState?
        var slave: SlaveState?
        var master: MasterState?
        var isolation: IsolationState = .connected
        var monitoring: [VMID: MonitoringState] = [:]

        /// Creates an agent that starts (enters its first election) on the first ``FDM/Event/tick``.
        ///
        /// - Parameters:
        ///   - myself: This host's id; MUST appear in `config.hosts`.
        ///   - settings: Scaled protocol timings.
        ///   - config: The locally stored cluster configuration.
        ///   - now: The local time of creation.
        ///   - bugs: Rules to break on purpose (mutation testing); empty in production.
        ///   - incarnation: Unique per agent start (the shell's epoch); sent in slave heartbeats.
        public init(myself: HostID, settings: Settings, config: ClusterConfig, startedAt now: Instant, bugs: Set<Bug> = [], incarnation: UInt64 = 0) {
            self.incarnation = incarnation
            self.myself = myself
            self.settings = settings
            self.config = config
            self.bugs = bugs
            self.lastHeardAnyPeer = now
            for ds in config.host(myself)?.datastores ?? [] { datastoreHealth[ds] = .accessible }
        }

        /// Feeds one input into the state machine.
        ///
        /// - Parameters:
        ///   - event: What happened (a message, a tick, a probe result, a file observation).
        ///   - now: The shell's monotonic time when the event was observed; never compared across hosts.
        /// - Returns: Directives, in the order they MUST be carried out.
        public mutating func handle(_ event: Event, at now: Instant) -> [Directive] {
            var directives: [Directive] = []
            if case .hostdAvailabilityChanged(let available) = event {
                onHostdAvailability(available, now, into: &directives)
                return directives
            }
            if case .datastoreHealthChanged(let ds, let health) = event {
                onDatastoreHealth(ds, health, now, into: &directives)
                return directives
            }
            if case .vmPowerStateChanged(let vm, let on, let reason) = event {
                onVMPowerState(vm, poweredOn: on, reason: reason, now, into: &directives)
                return directives
            }
            // FDM halts all functions while hostd is down (oracle §1.1).
            guard hostdAvailable else { return directives }
            switch event {
            case .tick:
                onTick(now, into: &directives)
            case .messageReceived(let message, let from):
                onMessage(message, from: from, now, into: &directives)
            case .isolationProbeCompleted(let answered):
                onIsolationProbe(answered: answered, now, into: &directives)
            case .livenessPingCompleted(let host, let answered):
                onLivenessPing(host: host, answered: answered, now, into: &directives)
            case .heartbeatFileRead(let host, let ds, let counter):
                onHeartbeatFileRead(host: host, datastore: ds, counter: counter, now, into: &directives)
            case .powerOnFileRead(let host, let file, let markers):
                onPowerOnFileRead(host: host, file: file, markers: markers, now, into: &directives)
            case .protectedListLockCompleted(let ds, let acquired, let vms):
                onProtectedListLock(ds, acquired: acquired, vms: vms, now, into: &directives)
            case .protectedListRenewCompleted(let ds, let held):
                onProtectedListRenew(ds, stillHeld: held, now, into: &directives)
            case .protectedListOwnerChecked(let ds, let owned):
                onOwnerChecked(ds, owned: owned, now, into: &directives)
            case .powerOnCompleted(let vm, let succeeded, let reason):
                onPowerOnCompleted(vm, succeeded: succeeded, reason: reason, now, into: &directives)
            case .configurationPushed(let newConfig):
                onConfigurationPushed(newConfig, now, into: &directives)
            case .vcenterConnectionChanged(let connected):
                vcenterConnected = connected
            case .vmProtectionChanged(let vm, let protected):
                if let index = config.vms.firstIndex(where: { $0.id == vm }) {
                    config.vms[index].isProtected = protected
                    if !protected { master?.restarts.removeValue(forKey: vm) }
                    directives.append(.saveLocalConfig(config))
                }
            case .guestHeartbeat(let vm):
                monitoring[vm]?.lastGuestHeartbeat = now
            case .applicationHeartbeat(let vm):
                monitoring[vm]?.lastApplicationHeartbeat = now
            case .vmIOObserved(let vm):
                monitoring[vm]?.lastIO = now
            case .hostdAvailabilityChanged, .datastoreHealthChanged, .vmPowerStateChanged:
                preconditionFailure("handled above: \(event)")
            }
            return directives
        }

        // MARK: - Read-only views (shells, simulator, tests)

        /// Whether this host currently declares itself isolated.
        public var isIsolated: Bool {
            if case .isolated = isolation { return true }
            return false
        }

        /// The master this host follows (itself when master).
        public var currentMaster: HostID? {
            switch role {
            case .master: myself
            case .slave: slave?.master
            default: nil
            }
        }

        /// The datastores whose protectedlist lock this master holds.
        public var ownedDatastores: Set<DatastoreID> { master?.owned ?? [] }

        /// The heartbeat datastores in use.
        public var selectedHeartbeatDatastores: [DatastoreID] { heartbeatDatastores }

        /// The master's classification of `host`, if this host is master.
        public func hostState(of host: HostID) -> HostState? { master?.members[host]?.state }

        /// VMs this agent believes are powered on locally.
        public var poweredOnVMs: [VMID] { localVMs.keys.sorted() }

        /// Where this agent believes each VM runs: its own VMs, and (as master) what its slaves
        /// and the poweron files of partitioned or isolated hosts report.
        public var vmLocations: [VMID: HostID] {
            var result: [VMID: HostID] = [:]
            for (host, member) in (master?.members ?? [:]).sorted(by: { $0.key < $1.key }) where member.state != .dead {
                for vm in member.reportedVMs { result[vm] = host }
            }
            for vm in localVMs.keys { result[vm] = myself }
            return result
        }

        /// VMs queued for restart by this master.
        public var pendingRestarts: [VMID] { master?.restarts.keys.sorted() ?? [] }

        // MARK: - Shared helpers

        func record(_ kind: HAEvent.Kind, _ now: Instant, into directives: inout [Directive]) {
            directives.append(.record(HAEvent(host: myself, at: now, kind: kind)))
        }

        mutating func setRole(_ newRole: Role, _ now: Instant, into directives: inout [Directive]) {
            guard newRole != role else { return }
            role = newRole
            record(.roleChanged(newRole), now, into: &directives)
        }

        /// Datastores this host can write now.
        var writableDatastores: Set<DatastoreID> {
            Set(datastoreHealth.filter { $0.value.isWritable }.keys)
        }

        /// Datastores this host can read now.
        var readableDatastores: Set<DatastoreID> {
            Set(datastoreHealth.filter { $0.value.isReadable }.keys)
        }

        var myCandidate: PeerMessage.Candidate {
            PeerMessage.Candidate(host: myself, connectedDatastores: writableDatastores.count)
        }

        func vmConfig(_ vm: VMID) -> VMConfig? { config.vm(vm) }

        mutating func allocateAttemptID() -> UInt64 {
            defer { nextAttemptID += 1 }
            return (stableHash(myself.rawValue) & 0xFFFF) << 48 | nextAttemptID
        }
    }
}

// MARK: - Role and bookkeeping state

extension FDM {
    /// A deliberately broken rule (mutant) used to prove the checker catches real HA bugs.
    public enum Bug: String, Hashable, Sendable, Codable, CaseIterable {
        /// Compare host ids numerically in the election ("host-100" beats "host-99").
        case numericHostIDs
        /// Apply the isolation response without the ownership check (§5.3).
        case noOwnershipCheck
        /// An isolated master keeps its protectedlist locks.
        case isolatedMasterKeepsLocks
        /// Ignore datastore heartbeats: partitioned/isolated hosts are declared dead.
        case ignoreDatastoreHeartbeats
        /// Restart VMs without regard to priority.
        case ignoreRestartPriority
        /// Retry every 10 s instead of 2/4/8/16 min.
        case shortRetrySchedule
        /// Never abdicate when another master shows up.
        case noAbdication
        /// Election traffic does not cancel isolation.
        case isolationNotCancelledByElection
        /// Never force a power-off after the shutdown timeout.
        case shutdownNeverForced
        /// Issue restarts while an election is running (restart without being master).
        case restartDuringElection
        /// Declare a slave dead at T10 (hostTimeout) without liveness ping or datastore heartbeats.
        case earlyDeadDeclaration
        /// No isolation policy delay on 5.1.
        case noIsolationPolicyDelay
        /// A power-on breaks a disk lock its holder still renews (instead of failing "file is
        /// locked"): a second live copy of a running VM. Honoured by hostd/vm-workload and the
        /// simulator's storage model, not by the agent (``isHonouredByHost``).
        case powerOnIgnoresLiveDiskLock
        /// A VM copy that finds its disk lock taken keeps running instead of powering itself off
        /// (oracle §7.1): split-brain is never resolved. Honoured by vm-workload and the simulator.
        case lostLockNeverPoweredOff

        /// Whether hostd/vm-workload (the host's VM layer) honour this bug rather than the
        /// agent's core: `ha-agent` ignores these, `hostd` passes them to `vm-workload`.
        public var isHonouredByHost: Bool {
            switch self {
            case .powerOnIgnoresLiveDiskLock, .lostLockNeverPoweredOff: true
            default: false
            }
        }

        /// One line on what the mutant breaks (reports, `--help`).
        public var summary: String {
            switch self {
            case .numericHostIDs: "host ids compared numerically in the election"
            case .noOwnershipCheck: "isolation response without the protectedlist ownership check"
            case .isolatedMasterKeepsLocks: "an isolated master keeps its protectedlist locks"
            case .ignoreDatastoreHeartbeats: "datastore heartbeats ignored (partitioned hosts declared dead)"
            case .ignoreRestartPriority: "restarts ignore priority"
            case .shortRetrySchedule: "restart retry schedule shortened to 10 s"
            case .noAbdication: "no abdication after a partition heals"
            case .isolationNotCancelledByElection: "isolation not cancelled by election traffic"
            case .shutdownNeverForced: "shutdown timeout never forces a power-off"
            case .restartDuringElection: "restarts issued during an election"
            case .earlyDeadDeclaration: "slave declared dead at T10 without pings or datastore heartbeats"
            case .noIsolationPolicyDelay: "no isolation policy delay on 5.1"
            case .powerOnIgnoresLiveDiskLock: "power-on ignores a live disk lock"
            case .lostLockNeverPoweredOff: "lost-lock copy never powered off"
            }
        }
    }

    struct LocalVM: Sendable {
        var since: Instant
    }

    struct ElectionState: Sendable {
        var startedAt: Instant
        var candidates: [HostID: PeerMessage.Candidate] = [:]
        var heardAt: [HostID: Instant] = [:]
        var nextBroadcast: Instant
        /// Set when the election period ended and another host won: waiting for its announcement.
        var awaitingWinner: HostID?
    }

    struct SlaveState: Sendable {
        var master: HostID
        var lastMasterHeartbeat: Instant
        var nextHeartbeat: Instant
        var masterConfigVersion: Int
        var datastoreReach: [DatastoreID: Int] = [:]
    }

    enum IsolationState: Sendable {
        case connected
        case probing(since: Instant, nextProbe: Instant)
        case isolated(Isolated)

        struct Isolated: Sendable {
            var declaredAt: Instant
            var responseAt: Instant
            var nextProbe: Instant
            /// VMs waiting for an ownership answer, by datastore.
            var awaitingOwnership: [DatastoreID: [VMID]] = [:]
            /// VMs whose response was deferred: recheck time.
            var deferredUntil: [VMID: Instant] = [:]
            /// VMs already handled (applied or not applicable).
            var handled: Set<VMID> = []
            /// Guest shutdowns in progress: VM → forced power-off deadline.
            var shutdownDeadlines: [VMID: Instant] = [:]
            var responseStarted = false
        }
    }

    struct MonitoringState: Sendable {
        var poweredOnAt: Instant
        var lastGuestHeartbeat: Instant
        var lastApplicationHeartbeat: Instant
        var lastIO: Instant
        var resets: [Instant] = []
    }
}

/// FNV-1a over the UTF-8 bytes: a hash that is the same in every process (unlike `hashValue`).
func stableHash(_ text: String) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 {
        hash ^= UInt64(byte)
        hash = hash &* 0x100_0000_01b3
    }
    return hash
}
