import HACore

/// Drives one ``FDM/Instance`` at virtual time with a scripted world that answers every I/O
/// directive at once. Tick-exact: ticks land on multiples of `settings.tickInterval`.
public struct AgentHarness {
    public var instance: FDM.Instance
    public private(set) var now: Instant = .zero
    /// Evidence the agent recorded, in order.
    public private(set) var events: [HAEvent] = []
    /// Messages the agent sent (unicast target or nil for broadcast).
    public private(set) var sent: [(message: PeerMessage, to: HostID?, at: Instant)] = []
    /// Every directive, with its time.
    public private(set) var directives: [(directive: FDM.Directive, at: Instant)] = []

    // The scripted world.
    public var heartbeatCounters: [HostID: UInt64] = [:]
    public var pingAnswers: [HostID: Bool] = [:]
    public var isolationAddressAnswers = true
    public var protectedListAvailable = true
    public var ownerCheckAnswer: Bool? = true
    public var powerOnFiles: [HostID: PowerOnFile] = [:]
    public var markers: Set<VMID> = []
    /// nil: power-on succeeds; otherwise the failure reason.
    public var powerOnFailure: String?

    public init(myself: HostID, settings: Settings = .v51, config: ClusterConfig, bugs: Set<FDM.Bug> = []) {
        instance = FDM.Instance(myself: myself, settings: settings, config: config, startedAt: .zero, bugs: bugs)
    }

    /// Feeds `event` now and answers every I/O directive (recursively, at the same instant).
    public mutating func handle(_ event: FDM.Event) {
        var pending = [event]
        while !pending.isEmpty {
            let next = pending.removeFirst()
            for directive in instance.handle(next, at: now) {
                directives.append((directive, now))
                pending.append(contentsOf: answer(directive))
            }
        }
    }

    mutating func answer(_ directive: FDM.Directive) -> [FDM.Event] {
        switch directive {
        case .record(let event):
            events.append(event)
        case .send(let message, let to):
            sent.append((message, to, now))
        case .broadcast(let message):
            sent.append((message, nil, now))
        case .readHeartbeatFile(let host, let ds):
            return [.heartbeatFileRead(host: host, datastore: ds, counter: heartbeatCounters[host])]
        case .readPowerOnFile(let host, _):
            return [.powerOnFileRead(host: host, file: powerOnFiles[host], poweredOffMarkers: markers)]
        case .acquireProtectedList(let ds, let vms):
            return [.protectedListLockCompleted(datastore: ds, acquired: protectedListAvailable, protectedVMs: vms)]
        case .renewProtectedList(let ds, _):
            return [.protectedListRenewCompleted(datastore: ds, stillHeld: protectedListAvailable)]
        case .checkProtectedListOwner(let ds):
            return [.protectedListOwnerChecked(datastore: ds, ownedByAMaster: ownerCheckAnswer)]
        case .probeIsolationAddresses:
            return [.isolationProbeCompleted(anyAnswered: isolationAddressAnswers)]
        case .pingHost(let host):
            return [.livenessPingCompleted(host: host, answered: pingAnswers[host] ?? false)]
        case .powerOnVM(let vm):
            if let reason = powerOnFailure { return [.powerOnCompleted(vm: vm, succeeded: false, reason: reason)] }
            return [.vmPowerStateChanged(vm: vm, poweredOn: true, reason: nil), .powerOnCompleted(vm: vm, succeeded: true, reason: "ok")]
        case .powerOffVM(let vm, let reason):
            return [.vmPowerStateChanged(vm: vm, poweredOn: false, reason: reason)]
        default:
            break
        }
        return []
    }

    /// Ticks until `deadline` (inclusive), calling `between` before each tick (to inject traffic).
    public mutating func advance(to deadline: Instant, between: (inout AgentHarness) -> Void = { _ in }) {
        let step = instance.settings.tickInterval
        while now + step <= deadline {
            now = now + step
            between(&self)
            handle(.tick)
        }
    }

    /// The agent does not run until `deadline` (SIGSTOP, a frozen cgroup): time passes with no
    /// tick and nothing delivered; the next ``advance(to:between:)`` resumes it.
    public mutating func pause(until deadline: Instant) {
        let step = instance.settings.tickInterval
        while now + step <= deadline { now = now + step }
    }

    /// Delivers a message from `sender` now.
    public mutating func receive(_ message: PeerMessage, from sender: HostID) {
        handle(.messageReceived(message, from: sender))
    }

    /// The first recorded event matching `predicate`, and its time.
    public func first(_ predicate: (HAEvent.Kind) -> Bool) -> HAEvent? {
        events.first { predicate($0.kind) }
    }

    /// All recorded events matching `predicate`.
    public func all(_ predicate: (HAEvent.Kind) -> Bool) -> [HAEvent] {
        events.filter { predicate($0.kind) }
    }

    /// Whether "now" is on a whole multiple of `interval` (for periodic traffic injection).
    public func isMultiple(of interval: Duration) -> Bool {
        now.nanoseconds % interval.nanoseconds == 0
    }
}
