import Foundation
import HACore
import HAWire
import HostKit

/// A cluster of real nodes: one `ha-node` (watchdog → hostd + ha-agent) per host, datastores as
/// directories, node folders read out of band (docs/NODES.md). Backends decide *where* a node
/// runs through ``NodeCluster/Placement`` (a command prefix: `ip netns exec …` for netns, nothing
/// for the loopback tier) and which addresses hosts use.
public final class NodeCluster: @unchecked Sendable {
    // @unchecked: all mutable state is guarded by `lock`; the class is shared between the
    // backend's task and its evidence sampler.

    /// Where and how one host's node runs.
    public struct Placement: Sendable {
        public var address: String
        /// Prepended to the `ha-node` command line (e.g. `ip netns exec ns nsenter --mount=… --`).
        public var commandPrefix: [String]
        /// The datastore root as the node sees it (`/vmfs/volumes` inside a mount namespace).
        public var datastoreRoot: String
        public init(address: String, commandPrefix: [String] = [], datastoreRoot: String) {
            self.address = address
            self.commandPrefix = commandPrefix
            self.datastoreRoot = datastoreRoot
        }
    }

    public struct Binaries: Sendable {
        public var directory: String
        public var haNode: String { directory + "/ha-node" }
        public var hostd: String { directory + "/hostd" }
        public var agent: String { directory + "/ha-agent" }
        public var vmWorkload: String { directory + "/vm-workload" }
        public var controller: String { directory + "/ha-controller" }
        public var rogue: String { directory + "/ha-rogue" }
        public init(directory: String) { self.directory = directory }

        /// The directory holding the running `chaos` executable (the node binaries are built beside it).
        public static func besideExecutable() -> Binaries {
            let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            return Binaries(directory: exe.deletingLastPathComponent().path)
        }

        public var missing: [String] {
            [haNode, hostd, agent, vmWorkload, controller, rogue].filter { !FileManager.default.isExecutableFile(atPath: $0) }
        }
    }

    public let runDirectory: String
    public let scenario: Scenario
    public let settings: Settings
    public let cluster: ClusterConfig
    public let placements: [HostID: Placement]
    public let gateway: String
    public let binaries: Binaries
    /// Datastore directories on the machine: `<run>/datastores/<ds>`.
    public var datastoreDirectory: String { runDirectory + "/datastores" }
    /// Run start, wall clock (evidence is mapped to run time against it).
    public private(set) var startWall: Double = 0

    let lock = NSLock()
    var nodeProcesses: [HostID: ChildProcess] = [:]
    /// The controller's agent listener as `ADDRESS:PORT` (passed to every agent), if one runs.
    public var controllerEndpoint: String?
    /// Extra evidence files (e.g. the controller's admission decisions) merged into the history.
    public var extraEventFiles: [String] = []
    /// Extra `ha-node` arguments per host (e.g. `--join-cgroup`).
    public var extraNodeArguments: [HostID: [String]] = [:]
    var observations: [FileObservation] = []
    var lastPowerOn: [String: PowerOnFile] = [:]
    var lastMarkers: Set<String> = []
    /// Live evidence reader for progress lines.
    let tail = EvidenceTail()
    /// The rogue node of a `network.rogueHost` fault, while it runs.
    public var rogueProcess: ChildProcess? {
        get { lock.withLock { rogue } }
        set { lock.withLock { rogue = newValue } }
    }
    var rogue: ChildProcess?
    /// Where a rogue node runs: a command prefix (the controller's namespace) and its address.
    public var rogueCommandPrefix: [String] = []
    public var rogueAddress = ""
    /// The run's cluster keyring (fresh random key per run), written to every node.
    public let keyring = ClusterKeyring.generate()

    public init(runDirectory: String, scenario: Scenario, settings: Settings, placements: [HostID: Placement], gateway: String, binaries: Binaries) {
        self.runDirectory = runDirectory
        self.scenario = scenario
        self.settings = settings
        var cluster = scenario.cluster.scaled(by: settings.timeScale)
        for index in cluster.hosts.indices { cluster.hosts[index].managementAddress = placements[cluster.hosts[index].id]?.address ?? "" }
        self.cluster = cluster
        self.placements = placements
        self.gateway = gateway
        self.binaries = binaries
    }

    public func nodeDirectory(_ host: HostID) -> String { runDirectory + "/nodes/" + host.rawValue }
    public func paths(_ host: HostID) -> NodePaths { NodePaths(root: nodeDirectory(host)) }

    // MARK: - Bring-up

    /// Writes datastore directories and every node's configuration (before any namespace exists).
    public func prepareFiles(bugs: Set<FDM.Bug>) throws {
        let fm = FileManager.default
        for ds in scenario.datastores { try fm.createDirectory(atPath: datastoreDirectory + "/" + ds.id.rawValue, withIntermediateDirectories: true) }
        let encoder = JSONEncoder()
        let keys = try keyring.serialized()
        for host in cluster.hosts {
            let p = paths(host.id)
            for dir in [p.configDirectory, p.controlDirectory, p.runDirectory, p.logsDirectory, p.vmsDirectory] {
                try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            }
            try encoder.encode(settings).write(to: URL(fileURLWithPath: p.settings), options: .atomic)
            try encoder.encode(cluster).write(to: URL(fileURLWithPath: p.clusterConfig), options: .atomic)
            // The cluster keyring travels with the configuration; only root may read it.
            let keyPath = p.configDirectory + "/keys.json"
            _ = fm.createFile(atPath: keyPath, contents: nil, attributes: [.posixPermissions: 0o600])
            try keys.write(to: URL(fileURLWithPath: keyPath))
            if !bugs.isEmpty {
                try bugs.map(\.rawValue).sorted().joined(separator: "\n").write(toFile: p.controlDirectory + "/bugs", atomically: true, encoding: .utf8)
            }
        }
    }

    /// The `ha-node` command line of `host`, with its placement prefix.
    public func nodeCommand(_ host: HostID) -> [String] {
        guard let placement = placements[host] else { return [] }
        let watchdog = Int((Duration.seconds(2).scaled(by: settings.timeScale).inSeconds * 1000).rounded())
        return placement.commandPrefix + [
            binaries.haNode, "--node-dir", nodeDirectory(host), "--host", host.rawValue,
            "--hostd", binaries.hostd, "--agent", binaries.agent, "--watchdog-delay-ms", String(max(100, watchdog)),
            "--hostd-arg", "--datastore-root", "--hostd-arg", placement.datastoreRoot,
            "--hostd-arg", "--vm-workload", "--hostd-arg", binaries.vmWorkload,
            "--agent-arg", "--bind", "--agent-arg", placement.address,
            "--agent-arg", "--gateway", "--agent-arg", gateway,
            "--agent-arg", "--datastore-root", "--agent-arg", placement.datastoreRoot,
        ] + (controllerEndpoint.map { ["--agent-arg", "--controller", "--agent-arg", $0] } ?? []) + (extraNodeArguments[host] ?? [])
    }

    /// Starts `host`'s node (its watchdog, which starts hostd and the agent). Returns the PID.
    /// Uses posix_spawn (``ChildProcess``): Foundation.Process.run() can crash on this toolchain.
    @discardableResult
    public func startNode(_ host: HostID) throws -> Int32 {
        let argv = nodeCommand(host)
        guard let first = argv.first else { throw NodeClusterError(message: "no placement for \(host)") }
        let executable = first.hasPrefix("/") ? first : (ProcessCommandRunner.resolve(first) ?? first)
        let log = paths(host).logsDirectory + "/ha-node.log"
        do {
            let child = try ChildProcess.spawn(
                executable: executable, argv: argv, environment: ProcessInfo.processInfo.environment,
                stdout: .appendFile(log), stderr: .appendFile(log)
            )
            lock.withLock { nodeProcesses[host] = child }
            return child.pid
        } catch {
            throw NodeClusterError(message: "cannot start the node of \(host): \(error)")
        }
    }

    /// PID of the node's watchdog process (the outermost process started for the host).
    public func nodePID(_ host: HostID) -> Int32? { lock.withLock { nodeProcesses[host]?.pid } }

    /// Forgets a node whose processes were killed (host power-off) so it can be started again.
    public func forgetNode(_ host: HostID) { _ = lock.withLock { nodeProcesses.removeValue(forKey: host) } }

    public func markStart() { startWall = Date().timeIntervalSince1970 }

    /// Powers the scenario's initial VMs on through each host's hostd (waits for hostd to listen).
    /// Hosts are served concurrently (each hostd starts its VMs one after another, in VM order).
    public func placeInitialVMs(timeout: Duration) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var byHost: [HostID: [VMID]] = [:]
        for (vm, host) in scenario.initialPlacement.sorted(by: { $0.key < $1.key }) { byHost[host, default: []].append(vm) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (host, vms) in byHost.sorted(by: { $0.key < $1.key }) {
                let socket = paths(host).hostdSocket
                group.addTask {
                    let client = HostdClient(socketPath: socket, requestTimeout: timeout)
                    for vm in vms { try await Self.placeInitialVM(vm, on: host, client: client, deadline: deadline) }
                }
            }
            try await group.waitForAll()
        }
    }

    private static func placeInitialVM(_ vm: VMID, on host: HostID, client: HostdClient, deadline: ContinuousClock.Instant) async throws {
        let clock = ContinuousClock()
        while true {
            do {
                let response = try await client.send(.powerOn, vm: vm, reason: "initial")
                if response.ok { return }
                // The VM already runs on this host: a retry after a lost answer found the
                // first request done, or (short time scales, a loaded machine) the new master
                // restarted the protected-but-not-running VM here first. Either way it is placed.
                if response.reason?.contains("already powered on") == true { return }
                // A power-on of it is being carried out: ask again until it is done.
                if response.reason?.contains("in progress") == true, clock.now < deadline {
                    try await Task.sleep(for: .milliseconds(200))
                    continue
                }
                throw NodeClusterError(message: "initial power-on of \(vm) on \(host) failed: \(response.reason ?? "no reason given")")
            } catch let error as NodeClusterError {
                throw error
            } catch {
                guard clock.now < deadline else { throw NodeClusterError(message: "hostd of \(host) did not answer: \(error)") }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    // MARK: - Observation (out of band: the node folders and datastores are host directories)

    /// Samples poweron files and poweredoff markers on every datastore (called periodically).
    public func sampleDatastoreFiles() {
        let now = Date().timeIntervalSince1970 - startWall
        let store = FileManager.default
        for ds in scenario.datastores {
            let base = datastoreDirectory + "/" + ds.id.rawValue + "/" + DatastoreFiles.haDirectoryName + "/" + cluster.name
            for host in cluster.hosts {
                let path = base + "/" + DatastoreFiles.powerOnName(host.id)
                guard let data = store.contents(atPath: path), let file = try? PowerOnFileFormat.parse(data) else { continue }
                let key = ds.id.rawValue + "/" + host.id.rawValue
                // When it was written, by the datastore's clock (the file's mtime), not when we looked.
                let written = Self.modificationTime(path).map { $0 - startWall } ?? now
                lock.withLock {
                    if lastPowerOn[key] != file {
                        lastPowerOn[key] = file
                        observations.append(FileObservation(time: written, datastore: ds.id, content: .powerOn(host: host.id, file: file)))
                    }
                }
            }
            let markers = (try? store.contentsOfDirectory(atPath: base + "/" + DatastoreFiles.poweredOffDirectoryName)) ?? []
            let present = Set(markers.filter { !$0.hasPrefix(".") }.map { ds.id.rawValue + "/" + $0 })
            lock.withLock {
                for key in present.subtracting(lastMarkers).sorted() {
                    let name = String(key.split(separator: "/").last ?? "")
                    let created = Self.modificationTime(base + "/" + DatastoreFiles.poweredOffDirectoryName + "/" + name).map { $0 - startWall } ?? now
                    observations.append(FileObservation(time: created, datastore: ds.id, content: .poweredOffMarker(vm: VMID(name), present: true)))
                }
                for key in lastMarkers.subtracting(present).sorted() where key.hasPrefix(ds.id.rawValue + "/") {
                    observations.append(FileObservation(time: now, datastore: ds.id, content: .poweredOffMarker(vm: VMID(String(key.split(separator: "/").last ?? "")), present: false)))
                }
                lastMarkers = lastMarkers.filter { !$0.hasPrefix(ds.id.rawValue + "/") }.union(present)
            }
        }
    }

    /// A file's mtime as Unix seconds (the datastore's clock; all nodes share this machine's).
    static func modificationTime(_ path: String) -> Double? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
    }

    // MARK: - History

    /// Reads evidence and ground truth back into a ``History`` (run time = wall − start).
    public func collectHistory(backend: String, seed: UInt64?, faults: [FaultRecord], hostPower: [HostPowerRecord], duration: Double) -> History {
        var events: [TimedEvent] = []
        var instances: [String: VMInstanceRecord] = [:]
        for host in cluster.hosts {
            let p = paths(host.id)
            if let data = FileManager.default.contents(atPath: p.logsDirectory + "/events.jsonl") {
                for line in EvidenceLines.decodeAll(data, as: EventLine.self).lines {
                    events.append(TimedEvent(time: line.wall - startWall, event: line.event))
                }
            }
            if let data = FileManager.default.contents(atPath: p.groundTruth) {
                for line in EvidenceLines.decodeAll(data, as: GroundTruthLine.self).lines {
                    let t = line.wall - startWall
                    switch line.event {
                    case .start:
                        instances[line.instance] = VMInstanceRecord(
                            vm: line.vm, instance: line.instance, host: line.host, start: t, end: nil, endReason: .running,
                            startedByHA: line.reason == "restart"
                        )
                    case .stop:
                        instances[line.instance]?.end = t
                        instances[line.instance]?.endReason = line.endReason ?? .crashed
                    }
                }
            }
        }
        for file in extraEventFiles {
            if let data = FileManager.default.contents(atPath: file) {
                for line in EvidenceLines.decodeAll(data, as: EventLine.self).lines {
                    events.append(TimedEvent(time: line.wall - startWall, event: line.event))
                }
            }
        }
        events.sort { $0.time < $1.time }
        // The backend's own knowledge: a host that lost power took its VMs with it (hostd died
        // too, so it wrote no stop line).
        for (id, record) in instances where record.end == nil {
            if let off = hostPower.filter({ $0.host == record.host && ($0.end ?? .infinity) >= record.start }).compactMap(\.end).min() {
                instances[id]?.end = off
                instances[id]?.endReason = .hostFailed
            }
        }
        let diskLocks = journalLocks()
        let observed = lock.withLock { observations }.sorted { $0.time < $1.time }
        var locks = protectedListLocks(from: events)
        // A host that lost power holds nothing once its lease lapsed: close its open intervals
        // at the power-off plus the lease expiry, or at the next holder's takeover if earlier.
        for index in locks.indices where locks[index].to == nil {
            let record = locks[index]
            guard let off = hostPower.filter({ $0.host == record.holder && ($0.end ?? .infinity) >= record.from }).compactMap(\.end).min() else { continue }
            let lapse = off + settings.protectedListLockExpiry.inSeconds
            let takeover = locks.filter { $0.datastore == record.datastore && $0.holder != record.holder && $0.from >= record.from }.map(\.from).min()
            locks[index].to = min(lapse, takeover ?? lapse)
        }
        Self.closeLeasesOfFrozenHolders(&locks, faults: faults, expiry: settings.protectedListLockExpiry.inSeconds, slack: settings.timeScale)
        return History(
            scenario: scenario.name, backend: backend, timeScale: settings.timeScale, seed: seed, settings: settings,
            cluster: cluster, datastores: scenario.datastores, faults: faults, events: events,
            vmInstances: instances.values.sorted { ($0.start, $0.instance) < ($1.start, $1.instance) },
            diskLocks: diskLocks, hostPower: hostPower, protectedListLocks: locks,
            fileObservations: observed, duration: duration
        )
    }

    /// Disk-lock intervals from the VM journals on the datastores: an instance held its lock
    /// from its first to its last journal record (ground truth read after the run).
    func journalLocks() -> [DiskLockRecord] {
        var spans: [String: DiskLockRecord] = [:]
        for vm in cluster.vms {
            let path = datastoreDirectory + "/" + vm.homeDatastore.rawValue + "/" + vm.id.rawValue + "/" + DatastoreFiles.journalName
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            for record in JournalRecord.parseJournal(data).records {
                let t = record.wall - startWall
                if var span = spans[record.instance] {
                    span.to = t
                    spans[record.instance] = span
                } else {
                    spans[record.instance] = DiskLockRecord(vm: record.vm, instance: record.instance, host: record.host, from: t, to: t)
                }
            }
        }
        return spans.values.sorted { ($0.from, $0.instance) < ($1.from, $1.instance) }
    }

    /// A holder whose agent was stopped (SIGSTOP) or whose host was frozen cannot renew its
    /// lease: once the lease lapsed and another master took it over, the frozen holder holds
    /// nothing, although it only writes `lockLost` when it runs again. Its interval is closed at
    /// the takeover when the holder was frozen then and had been for at least the lease expiry
    /// (less `slack`, one model second); a takeover sooner than that stays an overlap (INV-P2),
    /// because it took a lease that was still being renewed. The same reading as the
    /// simulator's, where a lease is ground truth on the datastore.
    static func closeLeasesOfFrozenHolders(_ locks: inout [ProtectedListLockRecord], faults: [FaultRecord], expiry: Double, slack: Double) {
        func frozenSince(_ host: HostID, at t: Double) -> Double? {
            faults.compactMap { record -> Double? in
                switch record.fault {
                case .stopAgent(let h), .freezeHost(let h):
                    guard h == host, record.injectedAt <= t, (record.healedAt ?? .infinity) >= t else { return nil }
                    return record.injectedAt
                default:
                    return nil
                }
            }.min()
        }
        for index in locks.indices {
            let record = locks[index]
            let takeovers = locks.filter {
                $0.datastore == record.datastore && $0.holder != record.holder && $0.from > record.from && $0.from < (record.to ?? .infinity)
            }.map(\.from).sorted()
            for takeover in takeovers {
                if let since = frozenSince(record.holder, at: takeover), takeover >= since + expiry - slack {
                    locks[index].to = takeover
                    break
                }
            }
        }
    }

    /// protectedlist holders from the agents' lock evidence.
    func protectedListLocks(from events: [TimedEvent]) -> [ProtectedListLockRecord] {
        var open: [String: Int] = [:]
        var records: [ProtectedListLockRecord] = []
        for timed in events {
            switch timed.event.kind {
            case .lockAcquired(let ds):
                open[ds.rawValue + "|" + timed.event.host.rawValue] = records.count
                records.append(ProtectedListLockRecord(datastore: ds, holder: timed.event.host, from: timed.time, to: nil))
            case .lockReleased(let ds, _), .lockLost(let ds):
                if let index = open.removeValue(forKey: ds.rawValue + "|" + timed.event.host.rawValue) { records[index].to = timed.time }
            case .agentStopped, .roleChanged(.none):
                for (key, index) in open where key.hasSuffix("|" + timed.event.host.rawValue) {
                    records[index].to = timed.time
                    open.removeValue(forKey: key)
                }
            default:
                break
            }
        }
        return records
    }

    // MARK: - Teardown

    /// Stops every node: SIGTERM to the watchdogs, then SIGKILL after `grace`.
    public func stopAll(grace: Duration) async {
        let processes = lock.withLock { nodeProcesses }
        for (_, process) in processes.sorted(by: { $0.key < $1.key }) where process.isRunning { process.signal(SIGTERM) }
        for (_, process) in processes.sorted(by: { $0.key < $1.key }) {
            if await process.wait(timeout: grace) == nil { process.signal(SIGKILL); _ = await process.wait(timeout: .seconds(5)) }
        }
        // Backstop: every process the nodes recorded (agent, hostd, VMs), by PID.
        for host in cluster.hosts.map(\.id) { killRecordedProcesses(host) }
    }

    /// The PIDs a node recorded: its daemons (`run/*.pid`) and VMs (`run/vms/*.json`).
    public func recordedPIDs(_ host: HostID) -> [Int32] {
        let p = paths(host)
        var pids: [Int32] = []
        for name in ["ha-agent", "hostd"] {
            if let text = try? String(contentsOfFile: p.pidFile(name), encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                pids.append(pid)
            }
        }
        for file in (try? FileManager.default.contentsOfDirectory(atPath: p.vmsDirectory)) ?? [] where file.hasSuffix(".json") {
            if let data = FileManager.default.contents(atPath: p.vmsDirectory + "/" + file),
               let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
               let pid = (object["pid"] as? NSNumber)?.int32Value {
                pids.append(pid)
            }
        }
        return pids
    }

    /// SIGKILL every recorded process of `host` that still runs *and* still belongs to this run
    /// (its command line names this run's node folder), so a recycled PID is never hit.
    public func killRecordedProcesses(_ host: HostID) {
        let marker = nodeDirectory(host)
        for pid in recordedPIDs(host) where pid > 1 {
            guard let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
                  String(decoding: cmdline.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self).contains(marker) ||
                  String(decoding: cmdline.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self).contains(runDirectory) else { continue }
            kill(pid, SIGKILL)
        }
    }

    /// Whether `host`'s watchdog process still runs.
    public func isNodeRunning(_ host: HostID) -> Bool { lock.withLock { nodeProcesses[host]?.isRunning ?? false } }
}

public struct NodeClusterError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension NodeCluster {
    /// Kills a node's watchdog and everything it recorded (hard power-off without a cgroup).
    public func stopNodeHard(_ host: HostID) async {
        if let process = lock.withLock({ nodeProcesses.removeValue(forKey: host) }) {
            process.signal(SIGKILL)
            _ = await process.wait(timeout: .seconds(5))
        }
        killRecordedProcesses(host)
    }
}
