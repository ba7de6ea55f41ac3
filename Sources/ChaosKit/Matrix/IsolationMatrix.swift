import HACore

/// The isolation decision table (oracle §5.5) as runnable scenarios, generated from one topology.
///
/// For every ``MatrixCell`` the topology is copied; the cluster isolation response is set to the
/// cell's; the isolated host's protected VMs (the *subjects*) are given a home datastore the
/// isolation keeps (VMFS) or takes away (NFS/iSCSI, gone with a converged network); the heartbeat
/// datastores are chosen among the kept ones (the master still sees the host's heartbeats) or the
/// lost ones (it does not); and one fault is scheduled at ``faultAt``:
/// `network.isolate` when nothing is lost, `network.isolateWithStorage` otherwise, or
/// `network.managementOutage` for the all-hosts case — as `faults/isolation-row-NN.yaml` do.
///
/// Pure: no I/O. ``MatrixRunner`` runs the scenarios; ``MatrixPrediction`` says what the oracle
/// predicts; ``MatrixObservation`` says what happened.
public struct IsolationMatrix: Sendable {
    /// When the isolation starts, model seconds from the start of the run (as in the corpus rows).
    public static let faultAt = 60.0
    /// Shortest run, model seconds (the corpus rows run 400 s).
    static let minimumDuration = 400.0
    /// Model seconds observed after everything the prediction names has happened.
    static let trailingObservation = 60.0

    /// The topology the cells are generated from, after ``adjustments``.
    public let topology: Scenario
    /// The host the election rule makes master at the start (most datastores, then greatest id
    /// as a string; oracle §1.4).
    public let expectedMaster: HostID
    /// The slave that is isolated in every single-host cell.
    public let isolatedHost: HostID
    /// The protected, restartable VMs on ``isolatedHost`` whose fate each cell reports.
    public let subjects: [VMID]
    /// Shared non-IP datastores (VMFS) that the isolated host and the master both mount: an
    /// isolation keeps them.
    public let keptDatastores: [DatastoreID]
    /// Shared IP datastores (NFS/iSCSI) that the isolated host and the master both mount: an
    /// isolation with a converged network takes them away.
    public let lostDatastores: [DatastoreID]
    /// What had to be added to the topology so that every cell can be built (one sentence each).
    public let adjustments: [String]

    /// Plans the matrix on `topology` (its cluster, profile and HA settings; its faults and
    /// expectations are ignored).
    ///
    /// - Throws: ``MatrixError`` when the topology has fewer than two hosts or no slave running a
    ///   protected VM whose restart priority is not disabled.
    public init(topology: Scenario) throws(MatrixError) {
        var scenario = topology
        var adjustments: [String] = []
        guard scenario.cluster.hosts.count >= 2 else {
            throw MatrixError(code: .tooFewHosts, message: "the topology \(topology.name) has \(scenario.cluster.hosts.count) host(s); the matrix needs at least 2")
        }
        let master = Self.electionWinner(scenario.cluster)
        guard let isolated = Self.isolatableHost(scenario, master: master) else {
            throw MatrixError(
                code: .noIsolatableHost,
                message: "no slave of \(topology.name) (every host but the expected master \(master)) runs a protected VM with a restart priority other than disabled"
            )
        }
        var kept = Self.sharedDatastores(scenario, between: isolated, and: master, ipStorage: false)
        var lost = Self.sharedDatastores(scenario, between: isolated, and: master, ipStorage: true)
        if kept.isEmpty {
            kept = [Self.addDatastore(&scenario, kind: .vmfs)]
            adjustments.append("added VMFS datastore \(kept[0]) on every host: the topology has no shared VMFS datastore mounted by both \(isolated) and \(master)")
        }
        if lost.isEmpty {
            lost = [Self.addDatastore(&scenario, kind: .nfs)]
            adjustments.append("added NFS datastore \(lost[0]) on every host: the topology has no shared NFS/iSCSI datastore mounted by both \(isolated) and \(master)")
        }
        self.topology = scenario
        self.expectedMaster = master
        self.isolatedHost = isolated
        self.subjects = Self.subjects(of: scenario, on: isolated)
        self.keptDatastores = kept
        self.lostDatastores = lost
        self.adjustments = adjustments
    }

    /// The cells, in table order (``MatrixCell/all``).
    public var cells: [MatrixCell] { MatrixCell.all }

    // MARK: - Scenario generation

    /// The scenario that puts the topology in `cell`'s setting (see the type's description).
    public func scenario(for cell: MatrixCell) -> Scenario {
        var scenario = topology
        scenario.name = cell.name
        scenario.sourcePath = ""
        let row = cell.row.map { "decision table row \($0)" } ?? "all hosts isolated"
        scenario.description = "Isolation matrix, \(row): \(cell.settingText); \(isolatedHost) isolated at \(formatSeconds(Self.faultAt)) s (topology \(topology.name))."
        var cluster = scenario.cluster
        cluster.isolationResponse = cell.response
        let heartbeatCount = min(max(cluster.heartbeatDatastoresPerHost, 2), 5)
        let heartbeats = cell.heartbeatsSeen ? keptDatastores : lostDatastores
        cluster.heartbeatDatastorePolicy = .userSelected(Array(heartbeats.prefix(heartbeatCount)))
        let home = cell.storageKept ? keptDatastores[0] : lostDatastores[0]
        for index in cluster.vms.indices where subjects.contains(cluster.vms[index].id) {
            cluster.vms[index].homeDatastore = home
            cluster.vms[index].isolationResponse = .clusterDefault
        }
        scenario.cluster = cluster

        let times = MatrixPrediction.Times(settings: topology.settings)
        let fault: Fault
        var healAt: Double?
        var horizon = 0.0
        switch cell.isolation {
        case .allHosts:
            fault = .managementNetworkOutage
            // Past every host's response time (a slave's T30 + D), with room for deferrals.
            let heal = Self.faultAt + max(180, times.slaveResponse + 60)
            healAt = heal
            horizon = heal - Self.faultAt + 60
        case .singleHost(let kept, let seen):
            fault = .isolateHost(isolatedHost, storageToo: !(kept && seen))
            if cell.response == .leavePoweredOn && !kept && !seen {
                // Row 3: the split-brain lasts until storage and network return.
                healAt = Self.faultAt + MatrixPrediction.row3HealAfter
            }
        }
        for vm in subjects {
            guard let config = cluster.vm(vm) else { continue }
            horizon = max(horizon, MatrixPrediction.predict(cell, vm: config, times: times).horizon)
        }
        scenario.steps = [FaultStep(at: Self.faultAt, fault: fault, healAt: healAt)]
        let wanted = Self.faultAt + horizon + Self.trailingObservation
        scenario.duration = max(Self.minimumDuration, (wanted / 20).rounded(.up) * 20)
        scenario.expectations = cell.invariants.map(Expectation.invariant)
        return scenario
    }

    /// What the oracle predicts for each subject VM in `cell`.
    public func predictions(for cell: MatrixCell) -> [VMID: MatrixPrediction] {
        let generated = scenario(for: cell)
        let times = MatrixPrediction.Times(settings: topology.settings)
        var result: [VMID: MatrixPrediction] = [:]
        for vm in subjects {
            guard let config = generated.cluster.vm(vm) else { continue }
            result[vm] = MatrixPrediction.predict(cell, vm: config, times: times)
        }
        return result
    }

    // MARK: - Topology analysis

    /// The election winner at the start: most mounted datastores, then the greatest id compared
    /// as a string (oracle §1.4).
    static func electionWinner(_ cluster: ClusterConfig) -> HostID {
        var best = cluster.hosts[0]
        for host in cluster.hosts.dropFirst() {
            let (a, b) = (Set(host.datastores).count, Set(best.datastores).count)
            if a > b || (a == b && host.id > best.id) { best = host }
        }
        return best.id
    }

    /// The slave with the most subject VMs (ties: the smallest id).
    static func isolatableHost(_ scenario: Scenario, master: HostID) -> HostID? {
        let counts = scenario.cluster.hosts.map(\.id).filter { $0 != master }.map { ($0, subjects(of: scenario, on: $0).count) }
        let best = counts.filter { $0.1 > 0 }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
        return best.first?.0
    }

    /// Protected, powered-on VMs on `host` whose restart priority is not disabled, by id.
    static func subjects(of scenario: Scenario, on host: HostID) -> [VMID] {
        scenario.cluster.vms
            .filter { scenario.initialPlacement[$0.id] == host && $0.isProtected && $0.restartPriority != .disabled }
            .map(\.id).sorted()
    }

    /// Datastores of one storage class mounted by both hosts (so by at least two hosts), by id.
    static func sharedDatastores(_ scenario: Scenario, between a: HostID, and b: HostID, ipStorage: Bool) -> [DatastoreID] {
        let mountsA = Set(scenario.cluster.host(a)?.datastores ?? [])
        let mountsB = Set(scenario.cluster.host(b)?.datastores ?? [])
        return scenario.datastores
            .filter { $0.kind != .local && $0.isIPStorage == ipStorage && mountsA.contains($0.id) && mountsB.contains($0.id) }
            .map(\.id).sorted()
    }

    /// Adds a datastore of `kind` mounted by every host (an unused `matrix-<kind>-N` id).
    static func addDatastore(_ scenario: inout Scenario, kind: DatastoreSpec.Kind) -> DatastoreID {
        var n = 1
        var id = DatastoreID("matrix-\(kind.rawValue)-\(n)")
        while scenario.datastores.contains(where: { $0.id == id }) {
            n += 1
            id = DatastoreID("matrix-\(kind.rawValue)-\(n)")
        }
        scenario.datastores.append(DatastoreSpec(id: id, kind: kind))
        for index in scenario.cluster.hosts.indices { scenario.cluster.hosts[index].datastores.append(id) }
        return id
    }
}
