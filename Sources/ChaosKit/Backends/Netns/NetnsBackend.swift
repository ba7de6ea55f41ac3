import Foundation
import HACore
import HAWire
import HostKit

/// Runs scenarios on real nodes in Linux namespaces (DESIGN §5): one network namespace, mount
/// namespace and cgroup per host, a bridge with no default route, an isolation gateway, faults
/// applied for real, everything journaled before it is created and removed afterwards.
public struct NetnsBackend: ClusterBackend {
    public let name = "netns"
    public var binaries: NodeCluster.Binaries
    public var journalDirectory: String
    public var runner: any CommandRunner
    /// Whether each run first reaps dead runs. Parallel runs of one `chaos` process must not:
    /// a starting run could sweep another's half-built resources before its journal marks them
    /// live. `chaos run --parallel` reaps once, before launching them.
    public var reapDeadRuns: Bool

    public init(binaries: NodeCluster.Binaries = .besideExecutable(), journalDirectory: String = RunJournal.defaultDirectory,
                runner: any CommandRunner = ProcessCommandRunner(), reapDeadRuns: Bool = true) {
        self.binaries = binaries
        self.journalDirectory = journalDirectory
        self.runner = runner
        self.reapDeadRuns = reapDeadRuns
    }

    public func run(_ scenario: Scenario, options: RunOptions) async throws -> History {
        let session = try await bringUpNetwork(scenario, options: options)
        var result: Result<History, any Error>
        do {
            let start = try await startNodes(session, options: options)
            result = .success(try await play(scenario, options: options, cluster: session.cluster, network: session.network, controller: session.controller, start: start))
        } catch {
            result = .failure(error)
        }
        // Teardown runs in a task of its own: when the run was cancelled (SIGINT/SIGTERM to
        // `chaos`), the cancellation must not cut the healing short.
        let stats = await Task { await tearDown(session) }.value
        options.progress?("torn down: \(stats)")
        return try result.get()
    }

    static let controllerHTTPPort = 8080
    static let controllerAgentPort = 8190

    /// Starts `ha-controller` (vCenter role) in the controller's network namespace.
    func startController(layout: NetnsLayout, cluster: NodeCluster, directory: String) throws -> ChildProcess {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try JSONEncoder().encode(cluster.cluster).write(to: URL(fileURLWithPath: directory + "/clusterconfig.json"), options: .atomic)
        var argv = layout.controllerCommandPrefix + [
            binaries.controller, "--listen", layout.controller.address, "--http-port", String(Self.controllerHTTPPort),
            "--agent-port", String(Self.controllerAgentPort), "--state-dir", directory,
        ]
        for host in cluster.cluster.hosts { argv += ["--hostd-socket", "\(host.id)=\(cluster.paths(host.id).hostdSocket)"] }
        let executable = ProcessCommandRunner.resolve(argv[0]) ?? argv[0]
        do {
            return try ChildProcess.spawn(executable: executable, argv: argv, environment: ProcessInfo.processInfo.environment,
                                          stdout: .appendFile(directory + "/controller.log"), stderr: .appendFile(directory + "/controller.log"))
        } catch {
            throw NodeClusterError(message: "cannot start the controller: \(error)")
        }
    }

    /// Plays the timeline in real time on started nodes, collects the history.
    /// `start` is the run's time 0 (``startNodes(_:options:)``).
    func play(
        _ scenario: Scenario, options: RunOptions, cluster: NodeCluster, network: NetnsNetwork, controller: ChildProcess?, start: ContinuousClock.Instant
    ) async throws -> History {
        let controllerAddress = network.layout.controller.address
        let scale = options.timeScale
        let clock = ContinuousClock()
        var hostPower: [HostPowerRecord] = scenario.cluster.hosts.map { HostPowerRecord(host: $0.id, start: 0, end: nil, cleanShutdown: false) }

        // Out-of-band sampler of poweron files and markers, and progress lines.
        let sampler = RealTimeline.startSampler(cluster, timeScale: scale, progress: options.progress)
        defer { sampler.cancel() }
        let instants = RealTimeline.instants(of: scenario, scale: scale)
        var records: [FaultRecord] = []
        var recordIndex: [Int: Int] = [:]
        var plans: [Int: FaultPlan] = [:]
        let planner = NetnsPlanner()
        func runTime() -> Double { start.duration(to: clock.now).inSeconds }

        for instant in instants {
            try await clock.sleep(until: start + .nanoseconds(Int64(instant.time * 1e9)))
            for action in instant.actions {
                switch action {
                case .inject(let index):
                    let step = scenario.steps[index]
                    var nodes = runtime(cluster)
                    nodes.controllerPID = controller?.pid
                    let plan = try planner.faultPlan(step.fault, step: index, layout: network.layout, runtime: nodes)
                    plans[index] = plan
                    let injectedAt = runTime()
                    let markers = try await network.inject(plan)
                    records.append(FaultRecord(fault: step.fault, injectedAt: injectedAt))
                    recordIndex[index] = records.count - 1
                    try await handleMarkers(markers, cluster: cluster, hostPower: &hostPower, at: runTime, scale: scale, controller: controllerAddress)
                    if case .powerOffHost(let host) = step.fault { endPower(host, clean: false, at: injectedAt, &hostPower); cluster.forgetNode(host) }
                    if case .restartHost(let host) = step.fault { endPower(host, clean: false, at: injectedAt, &hostPower) }
                    options.progress?("t=\(formatSeconds(injectedAt / scale))s inject \(step.fault.kind) \(step.fault.targets.joined(separator: " "))")
                case .heal(let index):
                    guard let plan = plans[index] else { continue }
                    let step = scenario.steps[index]
                    let markers = try await network.heal(plan)
                    let healedAt = runTime()
                    if let r = recordIndex[index] { records[r].healedAt = healedAt }
                    try await handleMarkers(markers, cluster: cluster, hostPower: &hostPower, at: runTime, scale: scale, controller: controllerAddress)
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

    func endPower(_ host: HostID, clean: Bool, at time: Double, _ power: inout [HostPowerRecord]) {
        if let i = power.lastIndex(where: { $0.host == host && $0.end == nil }) {
            power[i].end = time
            power[i].cleanShutdown = clean
        }
    }

    /// Marker steps the planner leaves to the backend.
    func handleMarkers(
        _ markers: [NetnsAction], cluster: NodeCluster, hostPower: inout [HostPowerRecord], at time: () -> Double, scale: Double, controller: String
    ) async throws {
        for marker in markers {
            switch marker {
            case .startNode(let host):
                cluster.forgetNode(host)
                cluster.killRecordedProcesses(host)
                try cluster.startNode(host)
                hostPower.append(HostPowerRecord(host: host, start: time(), end: nil, cleanShutdown: false))
            case .shutdownHost(let host):
                // Clean shutdown (DCUI F12): guests off through hostd, the agent reports it, then the host goes off.
                let client = HostdClient(socketPath: cluster.paths(host).hostdSocket, requestTimeout: .seconds(30))
                if let list = try? await client.send(.list), let vms = list.vms {
                    for vm in vms { _ = try? await client.send(.powerOff, vm: vm, reason: VMEndReason.userPowerOff.rawValue) }
                }
                try await Task.sleep(for: Duration.seconds(3).scaled(by: scale))
                await cluster.stopNodeHard(host)
                endPower(host, clean: true, at: time(), &hostPower)
            case .controllerRequest(let request):
                // A user's power operation through the controller's HTTP API (admission control decides power-ons).
                let path: String
                switch request {
                case .powerOn(let vm, let host): path = "/api/vms/\(vm)/power-on?host=\(host)"
                case .powerOff(let vm): path = "/api/vms/\(vm)/power-off"
                }
                let port = Self.controllerHTTPPort
                let response = try await Task.detachedRequest { try TinyHTTP.request("POST", address: controller, port: port, path: path) }
                if response.status >= 500 { throw NodeClusterError(message: "controller answered \(response.status) to \(path): \(response.body)") }
            case .rogue(true):
                guard cluster.rogueProcess == nil else { break }
                let directory = cluster.runDirectory + "/controller"
                let interval = Int(max(10, (cluster.settings.heartbeatInterval.inSeconds * 1000).rounded()))
                let argv = cluster.rogueCommandPrefix + [
                    binaries.rogue, "--cluster-config", directory + "/clusterconfig.json", "--bind", cluster.rogueAddress,
                    "--interval-ms", String(interval),
                ]
                let executable = ProcessCommandRunner.resolve(argv[0]) ?? argv[0]
                cluster.rogueProcess = try ChildProcess.spawn(
                    executable: executable, argv: argv, environment: ProcessInfo.processInfo.environment,
                    stdout: .appendFile(cluster.runDirectory + "/rogue.log"), stderr: .appendFile(cluster.runDirectory + "/rogue.log")
                )
            case .rogue(false):
                if let rogue = cluster.rogueProcess {
                    rogue.signal(SIGKILL)
                    _ = await rogue.wait(timeout: .seconds(5))
                    cluster.rogueProcess = nil
                }
            default:
                break
            }
        }
    }

    /// PIDs the planner needs: nodes, agents, hostd, VMs (read from the node folders).
    func runtime(_ cluster: NodeCluster) -> NodeRuntime {
        var runtime = NodeRuntime()
        for host in cluster.cluster.hosts.map(\.id) {
            let p = cluster.paths(host)
            func pid(_ name: String) -> Int32? {
                (try? String(contentsOfFile: p.pidFile(name), encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            }
            runtime.hosts[host] = .init(nodePID: cluster.nodePID(host), agentPID: pid("ha-agent"), hostdPID: pid("hostd"))
            for file in (try? FileManager.default.contentsOfDirectory(atPath: p.vmsDirectory)) ?? [] where file.hasSuffix(".json") {
                if let data = FileManager.default.contents(atPath: p.vmsDirectory + "/" + file),
                   let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                   let pid = (object["pid"] as? NSNumber)?.int32Value, let vm = object["vm"] as? String {
                    runtime.vmPIDs[VMID(vm)] = .init(host: host, pid: pid)
                }
            }
        }
        return runtime
    }
}
