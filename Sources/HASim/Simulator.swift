import HACore

/// A deterministic discrete-event simulator of a vSphere-HA-style cluster: N hosts each running an
/// ``FDM/Instance``, a management network that can partition and drop, datastores that can vanish,
/// disk locks with expiry, hosts, agents, hostd and VMs (DESIGN §3).
///
/// It never sleeps: ``run(until:)`` jumps from one scheduled event to the next. The same setup and
/// seed give the same trace byte for byte.
public struct Simulator: Sendable {
    public let setup: SimulationSetup
    public internal(set) var now: Instant = .zero
    public internal(set) var trace = SimulationTrace()
    /// The cluster configuration as the controller holds it (protection changes bump its version).
    public internal(set) var cluster: ClusterConfig

    var rng: SeededGenerator
    var queue = EventQueue()
    var sequence: UInt64 = 0
    var hosts: [HostID: SimHost] = [:]
    var hostOrder: [HostID]

    // Network
    var partitions: [Int: [[HostID]]] = [:]
    var oneWayCuts: [Int: (from: Set<HostID>, to: Set<HostID>)] = [:]
    var managementOutage = false

    // Storage: fault sets per (host, datastore)
    var unmounted: [HostDatastore: Int] = [:]
    var lostPermanently: [HostDatastore: Int] = [:]
    var readOnly: [HostDatastore: Int] = [:]
    var lastHealth: [HostDatastore: DatastoreHealth] = [:]

    // Files on datastores
    var heartbeatFiles: [HostDatastore: UInt64] = [:]
    var powerOnFiles: [HostDatastore: PowerOnFile] = [:]
    var markers: Set<DatastoreVM> = []
    var protectedLists: [DatastoreID: ProtectedListLock] = [:]
    var vmLocks: [VMID: DiskLock] = [:]

    // VMs
    var instances: [String: SimVM] = [:]
    var instanceCounter = 0
    var pendingPowerOns: [UInt64: PendingPowerOn] = [:]
    var powerOnCounter: UInt64 = 0

    // Controller (vCenter role)
    var controllerUp = true
    /// A rogue node sends forged datagrams (while `rogueGeneration` is odd) and when each host
    /// last logged dropping them.
    var rogueGeneration = 0
    var rogueDropLogged: [HostID: Instant] = [:]
    var vcenterMaster: HostID?

    public init(_ setup: SimulationSetup) {
        self.setup = setup
        self.cluster = setup.cluster
        self.rng = SeededGenerator(seed: setup.seed)
        self.hostOrder = setup.cluster.hosts.map(\.id).sorted()
        for host in setup.cluster.hosts {
            hosts[host.id] = SimHost(id: host.id, localConfig: setup.cluster)
            trace.hostPower.append(HostPowerRecord(host: host.id, start: 0, end: nil, cleanShutdown: false))
            hosts[host.id]?.powerRecord = trace.hostPower.count - 1
        }
        for vm in setup.cluster.vms.sorted(by: { $0.id < $1.id }) {
            guard let host = setup.initialPlacement[vm.id] else { continue }
            startInstance(vm.id, on: host, byHA: false, notify: false)
        }
        for host in hostOrder {
            let stagger = rng.duration(.zero, setup.startStagger)
            schedule(at: now + stagger, .startAgent(host, boot: 0))
        }
        schedule(at: now + setup.settings.heartbeatInterval, .controllerTick)
    }

    // MARK: - Running

    /// Processes every event scheduled up to and including `deadline`, then sets the clock to it.
    public mutating func run(until deadline: Instant) {
        while let next = queue.nextTime, next <= deadline, let item = queue.pop() {
            now = item.time
            trace.stepsExecuted += 1
            perform(item.action)
        }
        now = max(now, deadline)
    }

    /// Ends the run: closes every open interval at `now` (instances stay "running").
    public mutating func finish() -> SimulationTrace {
        var result = trace
        for i in result.diskLocks.indices where result.diskLocks[i].to == nil {
            if let lock = vmLocks[result.diskLocks[i].vm], lock.recordIndex == i, lock.lastRenew + setup.settings.vmDiskLockExpiry < now {
                result.diskLocks[i].to = (lock.lastRenew + setup.settings.vmDiskLockExpiry).seconds
            }
        }
        for i in result.protectedListLocks.indices where result.protectedListLocks[i].to == nil {
            let ds = result.protectedListLocks[i].datastore
            if let lock = protectedLists[ds], lock.recordIndex == i, lock.lastRenew + setup.settings.protectedListLockExpiry < now {
                result.protectedListLocks[i].to = (lock.lastRenew + setup.settings.protectedListLockExpiry).seconds
            }
        }
        return result
    }

    /// The agent of `host`, if it runs (tests and the controller view).
    public func agent(_ host: HostID) -> FDM.Instance? { hosts[host]?.agent }

    /// Hosts whose agent is master now.
    public var masters: [HostID] { hostOrder.filter { hosts[$0]?.agent?.role == .master } }

    /// Live VM instances: VM → hosts running it.
    public var liveInstances: [VMID: [HostID]] {
        var result: [VMID: [HostID]] = [:]
        for (_, vm) in instances.sorted(by: { $0.key < $1.key }) { result[vm.vm, default: []].append(vm.host) }
        return result
    }

    // MARK: - Scheduling

    mutating func schedule(at time: Instant, _ action: SimAction) {
        sequence += 1
        queue.push(.init(time: time, sequence: sequence, action: action))
    }

    mutating func perform(_ action: SimAction) {
        switch action {
        case .tick(let host, let generation):
            guard let state = hosts[host], state.powered, state.agentGeneration == generation, state.agent != nil else { return }
            schedule(at: now + setup.settings.tickInterval, .tick(host, generation: generation))
            if state.agentRunnable { feed(host, .tick) }
        case .deliver(let host, let event, let generation):
            guard let state = hosts[host], state.agentGeneration == generation, state.agentRunnable else {
                if case .messageReceived = event {
                    trace.messagesDropped += 1
                } else if let state = hosts[host], state.powered, state.agentGeneration == generation {
                    // A stopped or frozen agent reads its hostd socket when it runs again: the
                    // local event waits (in order) instead of being lost.
                    schedule(at: now + setup.settings.tickInterval, .deliver(host, event, generation: generation))
                }
                return
            }
            if case .messageReceived = event { trace.messagesDelivered += 1 }
            feed(host, event)
        case .startAgent(let host, let boot):
            guard let state = hosts[host], state.powered, state.boot == boot, state.agent == nil else { return }
            startAgent(host)
        case .startHostd(let host, let boot):
            guard let state = hosts[host], state.powered, state.boot == boot, !state.hostdUp else { return }
            hosts[host]?.hostdUp = true
            notifyAgent(host, .hostdAvailabilityChanged(available: true))
            for vm in instancesOn(host) { notifyAgent(host, .vmPowerStateChanged(vm: vm.vm, poweredOn: true, reason: nil)) }
        case .vmRenew(let id):
            vmRenew(id)
        case .vmHeartbeat(let id):
            vmHeartbeat(id)
        case .powerOnCheck(let id):
            checkPowerOn(id)
        case .shutdownComplete(let id):
            if instances[id] != nil { stopInstance(id, reason: .isolationResponse, releaseLock: true, notify: true) }
        case .controllerTick:
            controllerTick()
            schedule(at: now + setup.settings.heartbeatInterval, .controllerTick)
        case .rogueBurst(let generation):
            guard generation == rogueGeneration else { break }
            rogueBurst()
            schedule(at: now + setup.settings.heartbeatInterval, .rogueBurst(generation: generation))
        case .powerOnHost(let host):
            bootHost(host)
        case .userPowerOffNow(let vm):
            for (id, instance) in instances.sorted(by: { $0.key < $1.key }) where instance.vm == vm {
                stopInstance(id, reason: .userPowerOff, releaseLock: true, notify: true)
            }
        }
    }

    /// Hands one event to a host's agent and carries out the directives.
    mutating func feed(_ host: HostID, _ event: FDM.Event) {
        // Move the agent out while it runs so its collections stay uniquely referenced (no CoW copies).
        guard var agent = hosts[host]?.agent else { return }
        hosts[host]?.agent = nil
        let directives = agent.handle(event, at: now)
        hosts[host]?.agent = agent
        for directive in directives { execute(directive, on: host) }
    }

    /// Delivers an I/O outcome or local observation to the agent after a small latency.
    mutating func notifyAgent(_ host: HostID, _ event: FDM.Event, after delay: Duration = .microseconds(100)) {
        guard let state = hosts[host], state.agent != nil else { return }
        schedule(at: now + delay, .deliver(host, event, generation: state.agentGeneration))
    }

    mutating func startAgent(_ host: HostID) {
        guard var state = hosts[host] else { return }
        state.agentGeneration += 1
        state.agent = FDM.Instance(myself: host, settings: setup.settings, config: state.localConfig, startedAt: now, bugs: setup.bugs,
                                    incarnation: UInt64(state.boot) << 32 | UInt64(state.agentGeneration))
        hosts[host] = state
        for ds in (cluster.host(host)?.datastores ?? []).sorted() {
            let health = self.health(host, ds)
            lastHealth[HostDatastore(host: host, datastore: ds)] = health
            if health != .accessible { notifyAgent(host, .datastoreHealthChanged(ds, health), after: .zero) }
        }
        if !state.hostdUp { notifyAgent(host, .hostdAvailabilityChanged(available: false), after: .zero) }
        for vm in instancesOn(host) { notifyAgent(host, .vmPowerStateChanged(vm: vm.vm, poweredOn: true, reason: nil), after: .zero) }
        if controllerUp, vcenterMaster == host { vcenterMaster = nil }
        schedule(at: now + .microseconds(1), .tick(host, generation: state.agentGeneration))
    }

    func instancesOn(_ host: HostID) -> [SimVM] {
        instances.values.filter { $0.host == host }.sorted { $0.id < $1.id }
    }

    // MARK: - Controller (vCenter role)

    /// vCenter talks to one master: it keeps the one it has while reachable, else picks one.
    mutating func controllerTick() {
        guard controllerUp else { return }
        let candidates = masters.filter { controllerReaches($0) && hosts[$0]?.agent?.isIsolated == false }
        if let current = vcenterMaster, candidates.contains(current) { return }
        if let previous = vcenterMaster { notifyAgent(previous, .vcenterConnectionChanged(connected: false)) }
        vcenterMaster = candidates.max()
        if let chosen = vcenterMaster { notifyAgent(chosen, .vcenterConnectionChanged(connected: true)) }
    }

    func controllerReaches(_ host: HostID) -> Bool {
        guard let state = hosts[host], state.powered, !managementOutage, !state.isolated else { return false }
        return true
    }
}

// MARK: - World state types

struct HostDatastore: Hashable, Sendable, Comparable {
    var host: HostID
    var datastore: DatastoreID
    static func < (a: HostDatastore, b: HostDatastore) -> Bool { (a.host, a.datastore) < (b.host, b.datastore) }
}

struct DatastoreVM: Hashable, Sendable {
    var datastore: DatastoreID
    var vm: VMID
}

struct SimHost: Sendable {
    var id: HostID
    var powered = true
    var boot = 0
    var agent: FDM.Instance?
    var agentGeneration = 0
    var agentStopped = false
    var frozen = false
    var agentStaysDown = false
    var hostdUp = true
    var hostdStaysDown = false
    var localConfig: ClusterConfig
    var isolated = false
    var storageCut = false
    var isolationAddressDropped = false
    var loss: Double = 0
    var powerRecord = 0

    init(id: HostID, localConfig: ClusterConfig) {
        self.id = id
        self.localConfig = localConfig
    }

    /// Whether the agent process can run code now.
    var agentRunnable: Bool { powered && agent != nil && !agentStopped && !frozen }
}

struct ProtectedListLock: Sendable {
    var holder: HostID?
    var lastRenew: Instant
    var vms: Set<VMID>
    var recordIndex: Int?
}

struct DiskLock: Sendable {
    var holder: String?
    var lastRenew: Instant
    var recordIndex: Int?
}

struct SimVM: Sendable {
    var id: String
    var vm: VMID
    var host: HostID
    var hung = false
    var shuttingDown = false
    /// A disk-lock renewal came due while the host was frozen: it happens at the thaw.
    var renewMissed = false
    var recordIndex: Int
}

struct PendingPowerOn: Sendable {
    var vm: VMID
    var host: HostID
    var startedAt: Instant
    var byHA: Bool
}
