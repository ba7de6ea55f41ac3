import ChaosKit
import HACore

/// Builds small hand-made ``History`` values for checker tests.
///
/// Every time given to the builder is in **model seconds**; the builder multiplies by the time
/// scale, so the same test can run at scale 1 and at a small scale. Hosts are powered on from 0
/// to the end unless a power record says otherwise.
public struct HistoryBuilder {
    /// The history built so far (events unsorted until ``build()``).
    public private(set) var history: History

    /// Run seconds per model second.
    public var scale: Double { history.timeScale }

    /// A cluster where every host mounts every datastore unless `mounts` says otherwise.
    /// - Parameters:
    ///   - hosts: host ids.
    ///   - datastores: datastores and their kinds.
    ///   - mounts: per-host datastore lists (default: all of them).
    ///   - vms: VM configurations.
    ///   - isolationResponse: the cluster isolation response.
    ///   - heartbeatPolicy: how heartbeat datastores are chosen (`.userSelected([])` for none).
    ///   - profile: 5.0 or 5.1.
    ///   - timeScale: the run's time scale.
    ///   - duration: run length in model seconds.
    public init(
        hosts: [HostID] = ["host-1", "host-2", "host-3"],
        datastores: [DatastoreSpec] = [DatastoreSpec(id: "ds-1", kind: .vmfs), DatastoreSpec(id: "ds-2", kind: .vmfs)],
        mounts: [HostID: [DatastoreID]] = [:],
        vms: [VMConfig] = [],
        isolationResponse: IsolationResponse = .leavePoweredOn,
        heartbeatPolicy: HeartbeatDatastorePolicy = .allFeasible,
        profile: Profile = .v51,
        timeScale: Double = 1,
        duration: Double = 600
    ) {
        let hostConfigs = hosts.map { HostConfig(id: $0, datastores: mounts[$0] ?? datastores.map(\.id)) }
        let cluster = ClusterConfig(hosts: hostConfigs, vms: vms, isolationResponse: isolationResponse,
                                    heartbeatDatastorePolicy: heartbeatPolicy)
        // Like the backends: settings and per-VM durations scaled to run seconds.
        history = History(scenario: "test", backend: "hand-built", timeScale: timeScale, seed: nil,
                          settings: Settings(profile: profile).scaled(by: timeScale), cluster: cluster.scaled(by: timeScale),
                          datastores: datastores, duration: duration * timeScale)
    }

    /// Edits the cluster configuration (advanced settings, admission control…). Durations in it
    /// are run seconds (already scaled).
    public mutating func cluster(_ edit: (inout ClusterConfig) -> Void) {
        edit(&history.cluster)
    }

    /// A VM configuration with the fields checker tests vary.
    public static func vm(
        _ id: VMID, home: DatastoreID = "ds-1", priority: RestartPriority = .medium,
        response: IsolationResponse = .clusterDefault, tools: Bool = true, compatible: [HostID] = [],
        monitoring: VMMonitoringSettings = VMMonitoringSettings()
    ) -> VMConfig {
        VMConfig(id: id, homeDatastore: home, restartPriority: priority, isolationResponse: response,
                 hasTools: tools, compatibleHosts: compatible, monitoring: monitoring)
    }

    private func run(_ model: Double) -> Double { model * history.timeScale }

    /// The emitters' local instant at model time `model` (events carry `.seconds(run time)`).
    public func instant(_ model: Double) -> Instant { .seconds(run(model)) }

    // MARK: - Evidence

    /// Appends `host`'s evidence `kind` decided at model time `at` and written `writtenLate`
    /// model seconds later (a real agent's evidence time is the wall clock at the write).
    public mutating func event(_ host: HostID, _ kind: HAEvent.Kind, at: Double, writtenLate: Double = 0) {
        let t = run(at)
        history.events.append(TimedEvent(time: t + run(writtenLate), event: HAEvent(host: host, at: .seconds(t), kind: kind)))
    }

    /// `host` changes role at model time `at`.
    public mutating func role(_ host: HostID, _ role: Role, at: Double) {
        event(host, .roleChanged(role), at: at)
    }

    /// Every host a slave and `master` the master from model time `at`.
    public mutating func steadyRoles(master: HostID, at: Double = 0) {
        for host in history.cluster.hosts.map(\.id) {
            role(host, host == master ? .master : .slave, at: at)
        }
    }

    /// `observer` classifies `host` as `state` at model time `at`.
    public mutating func hostState(_ observer: HostID, _ host: HostID, _ state: HostState, at: Double) {
        event(observer, .hostStateChanged(host: host, state: state), at: at)
    }

    /// `master` issues a restart of `vm` to `target` at model time `at`.
    public mutating func restart(_ master: HostID, _ vm: VMID, to target: HostID, at: Double, attempt: Int = 1, priority: RestartPriority = .medium) {
        event(master, .restartIssued(vm: vm, target: target, attempt: attempt, priority: priority), at: at)
    }

    // MARK: - Faults and ground truth

    /// Journals a fault injected at model time `at`, healed at `healed`.
    public mutating func fault(_ fault: Fault, at: Double, healed: Double? = nil) {
        history.faults.append(FaultRecord(fault: fault, injectedAt: run(at), healedAt: healed.map(run)))
        switch fault {
        case .powerOffHost(let h), .shutdownHost(let h):
            // Ground truth follows the journal: down from the fault to the heal.
            if case .shutdownHost = fault { power(h, from: 0, to: at, clean: true) } else { power(h, from: 0, to: at) }
            if let healed { power(h, from: healed, to: nil) }
        default:
            break
        }
    }

    /// One VM instance on `host` from `from` to `to` (model seconds; `nil`: still running).
    public mutating func instance(_ vm: VMID, on host: HostID, from: Double, to: Double? = nil,
                                  reason: VMEndReason = .running, byHA: Bool = false, id: String? = nil) {
        let count = history.vmInstances.filter { $0.vm == vm }.count + 1
        history.vmInstances.append(VMInstanceRecord(vm: vm, instance: id ?? "\(vm)#\(count)", host: host, start: run(from),
                                                    end: to.map(run), endReason: to == nil ? .running : reason, startedByHA: byHA))
    }

    /// A disk-lock interval of `instance`.
    public mutating func diskLock(_ vm: VMID, instance: String, on host: HostID, from: Double, to: Double? = nil) {
        history.diskLocks.append(DiskLockRecord(vm: vm, instance: instance, host: host, from: run(from), to: to.map(run)))
    }

    /// A power interval of `host`.
    public mutating func power(_ host: HostID, from: Double, to: Double?, clean: Bool = false) {
        history.hostPower.append(HostPowerRecord(host: host, start: run(from), end: to.map(run), cleanShutdown: clean))
    }

    /// A protectedlist lock interval.
    public mutating func protectedListLock(_ ds: DatastoreID, holder: HostID, from: Double, to: Double? = nil) {
        history.protectedListLocks.append(ProtectedListLockRecord(datastore: ds, holder: holder, from: run(from), to: to.map(run)))
    }

    /// A datastore file observation.
    public mutating func file(_ ds: DatastoreID, _ content: FileObservation.Content, at: Double) {
        history.fileObservations.append(FileObservation(time: run(at), datastore: ds, content: content))
    }

    /// The history, events in time order, with a power record for every host that has none.
    public func build() -> History {
        var h = history
        for host in h.cluster.hosts.map(\.id) where !h.hostPower.contains(where: { $0.host == host }) {
            h.hostPower.append(HostPowerRecord(host: host, start: 0, end: nil, cleanShutdown: false))
        }
        h.events = h.events.enumerated().sorted { a, b in
            a.element.time != b.element.time ? a.element.time < b.element.time : a.offset < b.offset
        }.map(\.element)
        return h
    }
}
