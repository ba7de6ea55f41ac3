import Foundation
import HACore

#if canImport(Glibc)
import Glibc
#endif

/// The phases of ``NetnsBackend/run(_:options:)``, public so that a tool can time them apart
/// (`chaos-bench`, issue 8): network plumbing (namespaces, links, mounts, cgroups, chains, the
/// controller), node start (node files, `ha-node` per host, initial VMs placed), the scenario's
/// timeline, and teardown (nodes stopped, then everything the journal lists removed).
///
/// `run` is exactly `bringUpNetwork` → `startNodes` → play → `tearDown`.
extension NetnsBackend {
    /// One cluster between ``NetnsBackend/bringUpNetwork(_:options:)`` and ``NetnsBackend/tearDown(_:)``.
    public final class Session: @unchecked Sendable {
        // @unchecked: set up once by bringUpNetwork; `controller` is only read afterwards.
        public let scenario: Scenario
        public let network: NetnsNetwork
        public let cluster: NodeCluster
        public let workDirectory: String
        /// What the start of the run reaped of dead runs.
        public let reaped: ReaperReport
        /// `ha-controller` (vCenter role), when it started.
        public internal(set) var controller: ChildProcess?
        /// Duration of `NetnsNetwork.bringUp()` alone (without the reaper, subnet choice, controller).
        public internal(set) var plumbing: Duration = .zero
        public var layout: NetnsLayout { network.layout }

        init(scenario: Scenario, network: NetnsNetwork, cluster: NodeCluster, workDirectory: String, reaped: ReaperReport) {
            self.scenario = scenario
            self.network = network
            self.cluster = cluster
            self.workDirectory = workDirectory
            self.reaped = reaped
        }
    }

    /// Phase 1: reaps dead runs (unless disabled), journals and builds the run's namespaces,
    /// links, mounts, cgroups and chains, and starts the controller. On failure everything
    /// built is torn down before the error is thrown.
    public func bringUpNetwork(_ scenario: Scenario, options: RunOptions) async throws -> Session {
        guard binaries.missing.isEmpty else {
            throw NodeClusterError(message: "node binaries missing: \(binaries.missing.joined(separator: ", ")) (build them with `swift build`)")
        }
        let scale = options.timeScale
        let workDirectory = options.workDirectory ?? FileManager.default.temporaryDirectory.appendingPathComponent("hachaos-\(UUID().uuidString.prefix(8))").path
        // A run starts from empty node and datastore folders (a reused --out must not mix evidence).
        for leftover in ["nodes", "datastores"] { try? FileManager.default.removeItem(atPath: workDirectory + "/" + leftover) }
        let ipStorage = Set(scenario.datastores.filter(\.isIPStorage).map(\.id))
        let (network, reaped) = try await NetnsNetwork.prepare(
            hosts: scenario.cluster.hosts.map { ($0.id, $0.datastores) }, datastores: scenario.datastores.map(\.id),
            ipStorage: ipStorage, runDirectory: workDirectory, journalDirectory: journalDirectory, runner: runner,
            reapDeadRuns: reapDeadRuns
        )
        if !reaped.removed.isEmpty { options.progress?("reaped \(reaped.removed.count) leftovers of dead runs") }
        let layout = network.layout
        // Recorded with the results: tools and tests can tell this run's resources from others'.
        try? layout.runID.rawValue.write(toFile: workDirectory + "/run-id", atomically: true, encoding: .utf8)
        options.progress?("run \(layout.runID.rawValue): bringing up \(layout.hosts.count) hosts on \(layout.subnet)")
        let plumbing: Duration
        do {
            plumbing = try await network.bringUp().duration
        } catch {
            _ = await Task { await network.tearDown() }.value
            throw error
        }
        var placements: [HostID: NodeCluster.Placement] = [:]
        var extra: [HostID: [String]] = [:]
        for host in layout.hosts {
            placements[host.id] = .init(address: host.address, commandPrefix: layout.nodeCommandPrefix(host), datastoreRoot: NetnsLayout.datastoreRoot)
            extra[host.id] = NetnsPlanner.cgroupControllers.flatMap { ["--join-cgroup", layout.cgroup($0, node: host.id.rawValue)] }
        }
        let cluster = NodeCluster(
            runDirectory: workDirectory, scenario: scenario, settings: scenario.settings.scaled(by: scale),
            placements: placements, gateway: layout.gateway.address, binaries: binaries
        )
        cluster.extraNodeArguments = extra
        let controllerDir = workDirectory + "/controller"
        cluster.controllerEndpoint = "\(layout.controller.address):\(Self.controllerAgentPort)"
        cluster.extraEventFiles = [controllerDir + "/events.jsonl"]
        cluster.rogueCommandPrefix = layout.controllerCommandPrefix
        cluster.rogueAddress = layout.controller.address
        let session = Session(scenario: scenario, network: network, cluster: cluster, workDirectory: workDirectory, reaped: reaped)
        session.plumbing = plumbing
        do {
            session.controller = try startController(layout: layout, cluster: cluster, directory: controllerDir)
        } catch {
            _ = await Task { await tearDown(session) }.value
            throw error
        }
        return session
    }

    /// Phase 2: node files, one `ha-node` per host, initial VMs placed.
    ///
    /// - Returns: the run's time 0 (node start), against which the timeline is played.
    public func startNodes(_ session: Session, options: RunOptions) async throws -> ContinuousClock.Instant {
        let cluster = session.cluster
        try cluster.prepareFiles(bugs: options.bugs)
        cluster.markStart()
        let clock = ContinuousClock()
        let start = clock.now
        for host in session.scenario.cluster.hosts.map(\.id) { try cluster.startNode(host) }
        try await cluster.placeInitialVMs(timeout: .seconds(30))
        options.progress?("nodes up, initial VMs placed after \(formatSeconds(start.duration(to: clock.now).inSeconds)) s")
        return start
    }

    /// Teardown phase 1: the controller, a rogue node and every node stopped.
    public func stopNodes(_ session: Session) async {
        if let controllerProcess = session.controller, controllerProcess.isRunning {
            controllerProcess.signal(SIGCONT)
            controllerProcess.signal(SIGTERM)
            if await controllerProcess.wait(timeout: .seconds(5)) == nil { controllerProcess.signal(SIGKILL); _ = await controllerProcess.wait(timeout: .seconds(5)) }
        }
        if let rogue = session.cluster.rogueProcess { rogue.signal(SIGKILL); _ = await rogue.wait(timeout: .seconds(5)) }
        await session.cluster.stopAll(grace: .seconds(5))
    }

    /// Teardown: ``stopNodes(_:)``, then `NetnsNetwork.tearDown()` (unhealed faults healed,
    /// everything journaled removed). Never throws.
    @discardableResult
    public func tearDown(_ session: Session) async -> NetnsNetwork.Stats {
        await stopNodes(session)
        return await session.network.tearDown()
    }

    /// The PIDs of the session's nodes, agents, hostd and VMs (as the fault planner needs them).
    public func runtime(of session: Session) -> NodeRuntime {
        var nodes = runtime(session.cluster)
        nodes.controllerPID = session.controller?.pid
        return nodes
    }
}
