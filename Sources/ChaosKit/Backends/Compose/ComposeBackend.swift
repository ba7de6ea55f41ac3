import Foundation
import HACore
import HAWire
import HostKit

/// Runs scenarios on real nodes in Docker containers (issue 5): one container per host with
/// `ha-node` as PID 1, the isolation gateway and the controller in containers of their own, on
/// an `internal` network with a subnet from 198.18.0.0/15, all created through the Engine API
/// (``DockerEngine``) from the same model that renders the run's `docker-compose.yml`.
///
/// Faults: network faults are iptables rules in each container's network namespace (through a
/// `/run/netns` handle, in the chains the harness owns), storage faults act in the container's
/// mount namespace, process faults signal machine PIDs, power-off is a container kill, freeze a
/// pause, and a reboot a kill and a start. Everything is journaled; the ``Reaper`` removes
/// containers and networks by journal and by the `hachaos.run` label after a crash.
public struct ComposeBackend: ClusterBackend {
    public let name = "compose"
    public var image: String
    public var engine: DockerEngine
    public var journalDirectory: String
    public var runner: any CommandRunner
    /// Whether each run first reaps dead runs (`chaos run --parallel` reaps once, before).
    public var reapDeadRuns: Bool
    public var limits: NetnsLayout.Limits

    public init(
        image: String = ComposeLayout.defaultImage, engine: DockerEngine = DockerEngine(), journalDirectory: String = RunJournal.defaultDirectory,
        runner: any CommandRunner = ProcessCommandRunner(), reapDeadRuns: Bool = true, limits: NetnsLayout.Limits = .init()
    ) {
        self.image = image
        self.engine = engine
        self.journalDirectory = journalDirectory
        self.runner = runner
        self.reapDeadRuns = reapDeadRuns
        self.limits = limits
    }

    /// Why the backend cannot run here (no daemon, no image), or `nil`.
    public func unavailableReason() async -> String? {
        guard await engine.ping() else { return "no Docker daemon answers at \(engine.socketPath) (Scripts/setup starts one)" }
        do {
            guard try await engine.imageInspect(image) != nil else { return "the node image \(image) does not exist: build it with Scripts/node-image" }
        } catch {
            return "cannot inspect the node image \(image): \(error)"
        }
        return nil
    }

    /// The cluster's files and model, before anything runs: node folders, configuration, and the
    /// compose file. `chaos compose render` writes exactly this for use by hand.
    public static func model(
        scenario: Scenario, runID: RunID, subnetIndex: Int, workDirectory: String, image: String, scale: Double, limits: NetnsLayout.Limits,
        manual: Bool = false
    ) throws -> (layout: ComposeLayout, cluster: NodeCluster) {
        let netns = try NetnsLayout(runID: runID, scenario: scenario, runDirectory: workDirectory, subnetIndex: subnetIndex, limits: limits)
        var placements: [HostID: NodeCluster.Placement] = [:]
        for host in netns.hosts {
            placements[host.id] = .init(address: host.address, commandPrefix: [], datastoreRoot: NetnsLayout.datastoreRoot)
        }
        let cluster = NodeCluster(
            runDirectory: netns.runDirectory, scenario: scenario, settings: scenario.settings.scaled(by: scale),
            placements: placements, gateway: netns.gateway.address, binaries: .init(directory: ComposeLayout.binaryDirectory)
        )
        cluster.controllerEndpoint = "\(netns.controller.address):\(ComposeLayout.controllerAgentPort)"
        cluster.extraEventFiles = [netns.runDirectory + "/controller/events.jsonl"]
        if !manual {
            // Containers start one by one; the nodes start together when the harness removes this file.
            for host in netns.hosts { cluster.extraNodeArguments[host.id] = ["--hold-while", cluster.paths(host.id).controlDirectory + "/" + holdFileName] }
        }
        var commands: [HostID: [String]] = [:]
        for host in netns.hosts { commands[host.id] = cluster.nodeCommand(host.id) }
        return (ComposeLayout(netns: netns, image: image, nodeCommands: commands, manual: manual), cluster)
    }

    /// `N/control/<this>`: while it exists, a harness run's `ha-node` starts nothing.
    static let holdFileName = "hold"

    /// Writes the node folders, datastores, controller configuration and `docker-compose.yml`
    /// (and, for a harness run, each node's hold file).
    public static func writeFiles(layout: ComposeLayout, cluster: NodeCluster, bugs: Set<FDM.Bug>, limits: NetnsLayout.Limits, header: [String]) throws {
        try cluster.prepareFiles(bugs: bugs)
        if !layout.manual {
            for host in cluster.cluster.hosts { _ = FileManager.default.createFile(atPath: cluster.paths(host.id).controlDirectory + "/" + holdFileName, contents: nil) }
        }
        try FileManager.default.createDirectory(atPath: layout.controllerDirectory, withIntermediateDirectories: true)
        try JSONEncoder().encode(cluster.cluster).write(to: URL(fileURLWithPath: layout.controllerDirectory + "/clusterconfig.json"), options: .atomic)
        try ComposeFile.render(layout, limits: limits, header: header).write(toFile: layout.composeFilePath, atomically: true, encoding: .utf8)
    }

    /// A cluster being run: its model, files and containers.
    public struct Session: Sendable {
        public let layout: ComposeLayout
        public let cluster: NodeCluster
        public let workDirectory: String
        let deployment: ComposeDeployment
    }

    public func run(_ scenario: Scenario, options: RunOptions) async throws -> History {
        let session = try await bringUpContainers(scenario, options: options)
        var result: Result<History, any Error>
        do {
            let start = try await startNodes(session, options: options)
            result = .success(try await play(scenario, options: options, session: session, start: start))
        } catch {
            result = .failure(error)
        }
        // Teardown in a task of its own: a cancelled run (SIGINT/SIGTERM) still heals and removes everything.
        let stats = await Task { await tearDown(session) }.value
        options.progress?("torn down: \(stats)")
        return try result.get()
    }

    /// Phase 1: reaps dead runs, writes the run's files and compose file, creates the network and
    /// every container, starts the gateway and the controller. On failure, everything is removed.
    public func bringUpContainers(_ scenario: Scenario, options: RunOptions) async throws -> Session {
        if let reason = await unavailableReason() { throw NodeClusterError(message: "compose backend: \(reason)") }
        let scale = options.timeScale
        let workDirectory = options.workDirectory ?? FileManager.default.temporaryDirectory.appendingPathComponent("hachaos-\(UUID().uuidString.prefix(8))").path
        for leftover in ["nodes", "datastores", "controller"] { try? FileManager.default.removeItem(atPath: workDirectory + "/" + leftover) }
        try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
        if reapDeadRuns {
            let reaped = await Reaper.clean(runID: nil, journalDir: journalDirectory, runner: runner)
            if !reaped.removed.isEmpty { options.progress?("reaped \(reaped.removed.count) leftovers of dead runs") }
        }
        let runID = RunID.random()
        // The subnet is claimed and the journal opened under one lock (SubnetClaim): in use are
        // the interfaces' subnets, every Docker network's (Docker refuses overlapping pools,
        // also of networks that are not ours) and the claims of runs starting at the same time.
        let subnet: Int
        let journal: RunJournal
        do {
            (subnet, journal) = try await SubnetClaim.claim(runID: runID, journalDirectory: journalDirectory) { [engine, runner] () async throws(NetnsError) in
                var used = try await NetnsNetwork.subnetIndicesInUse(runner: runner)
                do {
                    for network in try await engine.networkList(label: nil) {
                        used.formUnion(NetnsLayout.subnetIndicesInUse(ipBriefAddr: network.ipam.map(\.subnet).joined(separator: " ")))
                    }
                } catch {
                    throw NetnsError(code: .command, message: "listing Docker networks: \(error)")
                }
                return used
            }
        } catch {
            throw NodeClusterError(message: "compose backend: \(error)")
        }
        let layout: ComposeLayout
        let cluster: NodeCluster
        do {
            (layout, cluster) = try Self.model(scenario: scenario, runID: runID, subnetIndex: subnet, workDirectory: workDirectory, image: image, scale: scale, limits: limits)
        } catch {
            _ = await journal.close()
            throw error
        }
        try? runID.rawValue.write(toFile: workDirectory + "/run-id", atomically: true, encoding: .utf8)
        let deployment = ComposeDeployment(layout: layout, engine: engine, journal: journal, runner: runner, journalDirectory: journalDirectory, limits: limits)
        let session = Session(layout: layout, cluster: cluster, workDirectory: workDirectory, deployment: deployment)
        do {
            try Self.writeFiles(layout: layout, cluster: cluster, bugs: options.bugs, limits: limits, header: [
                "HAChaos run \(runID) of scenario \(scenario.name) (time scale \(formatSeconds(scale))): the containers this run created.",
                "Re-create by hand after the run: docker-compose -p \(layout.project) -f \(layout.composeFilePath) up -d",
            ])
            options.progress?("run \(runID.rawValue): creating \(layout.services.count) containers on \(layout.subnet) (image \(image))")
            try await deployment.create()
            try await deployment.start([layout.gateway.name, layout.controller.name])
        } catch {
            _ = await Task { await tearDown(session) }.value
            throw error
        }
        return session
    }

    /// Phase 2: starts the host containers (each ha-node held), releases every node at once (run
    /// time 0, returned), and powers the initial VMs on.
    public func startNodes(_ session: Session, options: RunOptions) async throws -> ContinuousClock.Instant {
        let cluster = session.cluster
        // Every host container runs, its ha-node held; time 0 is the moment all are released
        // together (as on netns, where the nodes are forked at time 0).
        try await session.deployment.start(session.layout.hostServices.map(\.name))
        cluster.markStart()
        let start = ContinuousClock().now
        for host in cluster.cluster.hosts { try? FileManager.default.removeItem(atPath: cluster.paths(host.id).controlDirectory + "/" + Self.holdFileName) }
        try await cluster.placeInitialVMs(timeout: .seconds(30))
        options.progress?("containers up, initial VMs placed after \(formatSeconds(start.duration(to: ContinuousClock().now).inSeconds)) s")
        return start
    }

    /// Phase 3: heals what is in place, stops and removes every container and the network,
    /// closes the journal. Never throws; the description says what happened.
    public func tearDown(_ session: Session) async -> String {
        await session.deployment.tearDown().description
    }

    // MARK: - Timeline

    func play(_ scenario: Scenario, options: RunOptions, session: Session, start: ContinuousClock.Instant) async throws -> History {
        let scale = options.timeScale
        let cluster = session.cluster
        let deployment = session.deployment
        let layout = session.layout
        let clock = ContinuousClock()
        func runTime() -> Double { start.duration(to: clock.now).inSeconds }
        func runTime(wall: Double) -> Double { wall - cluster.startWall }
        var hostPower: [HostPowerRecord] = scenario.cluster.hosts.map { HostPowerRecord(host: $0.id, start: 0, end: nil, cleanShutdown: false) }

        // Out-of-band sampler of poweron files and markers, and progress lines.
        let sampler = RealTimeline.startSampler(cluster, timeScale: scale, progress: options.progress)
        defer { sampler.cancel() }
        let instants = RealTimeline.instants(of: scenario, scale: scale)
        var records: [FaultRecord] = []
        var recordIndex: [Int: Int] = [:]
        /// Plans of the faults in force that the planner carried out (network, storage, processes).
        var plans: [Int: FaultPlan] = [:]
        var rogue: Int32?
        let planner = NetnsPlanner()
        let controllerAddress = layout.netns.controller.address

        func endPower(_ host: HostID, clean: Bool, at time: Double) {
            if let i = hostPower.lastIndex(where: { $0.host == host && $0.end == nil }) {
                hostPower[i].end = time
                hostPower[i].cleanShutdown = clean
            }
        }
        func container(_ host: HostID) throws -> String {
            guard let service = layout.service(of: host) else { throw NodeClusterError(message: "\(host) is not a host of run \(layout.runID)") }
            return service.name
        }
        func network() async -> NetnsNetwork {
            NetnsNetwork(layout: await deployment.runtimeLayout(), journal: deployment.journal, runner: runner, journalDirectory: journalDirectory)
        }
        /// Powers a host on again: start its container, then put back what faults in force had
        /// placed in its old namespaces (the planner's rules and mounts for this host).
        func powerOn(_ host: HostID) async throws {
            let name = try container(host)
            try await deployment.start([name])
            hostPower.append(HostPowerRecord(host: host, start: runTime(), end: nil, cleanShutdown: false))
            let fresh = await deployment.runtimeLayout()
            guard let target = fresh.host(host) else { return }
            for (index, _) in plans.sorted(by: { $0.key < $1.key }) {
                let fault = scenario.steps[index].fault
                guard Self.isPlacedInNamespaces(fault) else { continue }
                guard let planned = try? planner.faultPlan(fault, step: index, layout: fresh, runtime: await deployment.nodeRuntime(cluster)) else { continue }
                let replanned = Self.inContainers(planned)
                plans[index] = replanned
                let executor = NetnsActionExecutor(runner: runner, commandTimeout: .seconds(20), tolerateGone: false)
                for action in replanned.inject {
                    if case .restore(let netns, _, _) = action {
                        guard netns == target.netns else { continue }
                    } else {
                        guard let argv = action.argv, argv.contains(where: { $0.contains(target.netns) || $0.contains(target.mountNamespaceFile) }) else { continue }
                    }
                    do throws(NetnsError) {
                        try await executor.perform(action)
                    } catch {
                        options.progress?("warning: could not re-apply step \(index) on \(host) after its restart: \(error)")
                    }
                }
            }
        }

        for instant in instants {
            try await clock.sleep(until: start + .nanoseconds(Int64(instant.time * 1e9)))
            for action in instant.actions {
                switch action {
                case .inject(let index):
                    let step = scenario.steps[index]
                    let injectedAt = runTime()
                    records.append(FaultRecord(fault: step.fault, injectedAt: injectedAt))
                    recordIndex[index] = records.count - 1
                    switch step.fault {
                    case .powerOffHost(let host):
                        let died = try await deployment.kill(try container(host))
                        endPower(host, clean: false, at: min(max(injectedAt, runTime(wall: died)), runTime()))
                    case .restartHost(let host):
                        let died = try await deployment.kill(try container(host))
                        endPower(host, clean: false, at: min(max(injectedAt, runTime(wall: died)), runTime()))
                        try await powerOn(host)
                    case .shutdownHost(let host):
                        // Clean shutdown (DCUI F12): guests off through hostd, then the host goes off.
                        let client = HostdClient(socketPath: cluster.paths(host).hostdSocket, requestTimeout: .seconds(30))
                        if let list = try? await client.send(.list), let vms = list.vms {
                            for vm in vms { _ = try? await client.send(.powerOff, vm: vm, reason: VMEndReason.userPowerOff.rawValue) }
                        }
                        try await Task.sleep(for: Duration.seconds(3).scaled(by: scale))
                        _ = try await deployment.kill(try container(host))
                        endPower(host, clean: true, at: runTime())
                    case .freezeHost(let host):
                        try await deployment.pause(try container(host), tag: "\(layout.netns.runID.prefix)-s\(index)")
                    case .rogueHost:
                        let directory = layout.controllerDirectory
                        let interval = Int(max(10, (cluster.settings.heartbeatInterval.inSeconds * 1000).rounded()))
                        rogue = try await deployment.execInController(ComposeLayout.logged([
                            ComposeLayout.binaryDirectory + "/ha-rogue", "--cluster-config", directory + "/clusterconfig.json",
                            "--bind", layout.netns.controller.address, "--interval-ms", String(interval),
                        ], to: directory + "/rogue.log"))
                    default:
                        let plan = Self.inContainers(try planner.faultPlan(step.fault, step: index, layout: await deployment.runtimeLayout(), runtime: await deployment.nodeRuntime(cluster)))
                        plans[index] = plan
                        let markers = try await network().inject(plan)
                        try await handleControllerRequests(markers, controller: controllerAddress)
                    }
                    options.progress?("t=\(formatSeconds(injectedAt / scale))s inject \(step.fault.kind) \(step.fault.targets.joined(separator: " "))")
                case .heal(let index):
                    let step = scenario.steps[index]
                    switch step.fault {
                    case .powerOffHost(let host), .shutdownHost(let host):
                        try await powerOn(host)
                    case .freezeHost(let host):
                        try await deployment.unpause(try container(host), tag: "\(layout.netns.runID.prefix)-s\(index)")
                    case .rogueHost:
                        if let pid = rogue { Foundation.kill(pid, SIGKILL) }
                        rogue = nil
                    default:
                        guard let plan = plans.removeValue(forKey: index) else { continue }
                        let markers = try await network().heal(plan)
                        try await handleControllerRequests(markers, controller: controllerAddress)
                    }
                    let healedAt = runTime()
                    if let r = recordIndex[index] { records[r].healedAt = healedAt }
                    options.progress?("t=\(formatSeconds(healedAt / scale))s heal \(step.fault.kind) \(step.fault.targets.joined(separator: " "))")
                }
            }
            RealTimeline.settleInstant(instant.actions, steps: scenario.steps, records: &records, recordIndex: recordIndex)
        }
        let end = scenario.duration * scale
        try await clock.sleep(until: start + .nanoseconds(Int64(end * 1e9)))
        sampler.cancel()
        cluster.sampleDatastoreFiles()
        return cluster.collectHistory(backend: name, seed: options.seed, faults: records, hostPower: hostPower, duration: runTime())
    }

    /// The netns planner's plan, made to work inside containers: a command that enters a
    /// container's mount namespace (`nsenter --mount=/proc/<pid>/ns/mnt`) enters its PID
    /// namespace too, since the container's `/proc` (and so `/proc/mounts`, which busybox
    /// `mount -o remount` reads) only shows processes of that namespace.
    public static func inContainers(_ plan: FaultPlan) -> FaultPlan {
        func argv(_ argv: [String]) -> [String] {
            guard argv.first == "nsenter", !argv.contains(where: { $0.hasPrefix("--pid=") }),
                  let index = argv.firstIndex(where: { $0.hasPrefix("--mount=/proc/") && $0.hasSuffix("/ns/mnt") })
            else { return argv }
            var out = argv
            out.insert("--pid=" + String(argv[index].dropFirst("--mount=".count).dropLast("mnt".count)) + "pid", at: index + 1)
            return out
        }
        func action(_ action: NetnsAction) -> NetnsAction {
            if case .run(let command) = action { return .run(argv(command)) }
            return action
        }
        var plan = plan
        plan.inject = plan.inject.map(action)
        plan.heal = plan.heal.map(action)
        if var resource = plan.resource {
            resource.undo = resource.undo.map(argv)
            plan.resource = resource
        }
        return plan
    }

    /// Faults whose effect lives in a host's network or mount namespace (lost when its container
    /// restarts, so put back after a power-on).
    static func isPlacedInNamespaces(_ fault: Fault) -> Bool {
        switch fault {
        case .partition, .partitionOneWay, .isolateHost, .dropIsolationAddress, .packetLoss, .managementNetworkOutage,
             .unmountDatastore, .pdlDatastore, .readOnlyDatastore:
            true
        default:
            false
        }
    }

    /// User power operations through the controller's HTTP API (reachable from the machine
    /// through the network's bridge).
    func handleControllerRequests(_ markers: [NetnsAction], controller: String) async throws {
        for marker in markers {
            guard case .controllerRequest(let request) = marker else { continue }
            let path: String
            switch request {
            case .powerOn(let vm, let host): path = "/api/vms/\(vm)/power-on?host=\(host)"
            case .powerOff(let vm): path = "/api/vms/\(vm)/power-off"
            }
            let port = ComposeLayout.controllerHTTPPort
            let response = try await Task.detachedRequest { try TinyHTTP.request("POST", address: controller, port: port, path: path) }
            if response.status >= 500 { throw NodeClusterError(message: "controller answered \(response.status) to \(path): \(response.body)") }
        }
    }
}
