import Foundation
import HACore
import HostKit

/// The containers and network of one compose run, created through the Engine API, each
/// journaled before it exists, and everything the fault planner needs to act inside them.
///
/// An actor: the backend's timeline and the Docker event reader share the container state.
actor ComposeDeployment {
    let layout: ComposeLayout
    let engine: DockerEngine
    let journal: RunJournal
    let runner: any CommandRunner
    let journalDirectory: String
    let limits: NetnsLayout.Limits
    let planner = NetnsPlanner()
    let commandTimeout: Duration = .seconds(20)

    /// Machine PID of each running container's init (by container name).
    private var initPIDs: [String: Int32] = [:]
    /// Wall times of `die` events per container (ground truth from the event stream).
    private var dieTimes: [String: [Double]] = [:]
    private var stream: DockerEventStream?
    private var reader: Task<Void, Never>?
    private var eventLog: FileHandle?

    init(layout: ComposeLayout, engine: DockerEngine, journal: RunJournal, runner: any CommandRunner, journalDirectory: String, limits: NetnsLayout.Limits) {
        self.layout = layout
        self.engine = engine
        self.journal = journal
        self.runner = runner
        self.journalDirectory = journalDirectory
        self.limits = limits
    }

    /// What a bring-up or tear-down did.
    struct Stats: CustomStringConvertible {
        var containers = 0
        var duration: Duration = .zero
        var failures: [String] = []
        var journalDeleted = false
        var description: String {
            "\(containers) containers in \(formatSeconds(duration.inSeconds)) s" + (failures.isEmpty ? "" : ", \(failures.count) failures: \(failures.prefix(3).joined(separator: "; "))")
                + (journalDeleted ? ", journal closed" : ", journal kept")
        }
    }

    // MARK: - Bring-up

    /// Creates the network and every container (not started), after journaling each.
    func create() async throws {
        try await plan(JournalResource(kind: .dir, name: layout.netns.runDirectory, undo: [])) {}
        startEvents()
        let network = layout.networkSpec
        try await plan(JournalResource(kind: .network, name: network.name, undo: [DockerUndo.removeNetwork(network.name)])) {
            do {
                _ = try await self.engine.networkCreate(network)
            } catch {
                throw NodeClusterError(message: "cannot create network \(network.name) (\(network.subnet)): \(error)")
            }
        }
        // Journal every container first (one fsync each), then create them concurrently.
        var seqs: [String: Int] = [:]
        for service in layout.services {
            seqs[service.name] = try await journalPlan(JournalResource(kind: .container, name: service.name, undo: [DockerUndo.removeContainer(service.name)]))
        }
        let specs = layout.services.map { ($0.name, layout.containerSpec($0, limits: limits)) }
        let engine = engine
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (name, spec) in specs {
                group.addTask {
                    do {
                        _ = try await engine.containerCreate(name: name, spec: spec)
                    } catch {
                        throw NodeClusterError(message: "cannot create container \(name): \(error)")
                    }
                }
            }
            try await group.waitForAll()
        }
        for (name, seq) in seqs.sorted(by: { $0.key < $1.key }) { try? await journal.markCreated(seq); _ = name }
    }

    /// Starts containers (concurrently) and makes each ready for faults: its init PID, and for a
    /// host its network namespace handle and `HAC-IN`/`HAC-OUT` chains.
    func start(_ names: [String]) async throws {
        let engine = engine
        try await withThrowingTaskGroup(of: Void.self) { group in
            for name in names {
                group.addTask {
                    do {
                        try await engine.containerStart(name)
                    } catch {
                        throw NodeClusterError(message: "cannot start container \(name): \(error)")
                    }
                }
            }
            try await group.waitForAll()
        }
        for name in names { try await prepareStarted(name) }
    }

    private func prepareStarted(_ name: String) async throws {
        let info: ContainerInfo
        do {
            info = try await engine.containerInspect(name)
        } catch {
            throw NodeClusterError(message: "cannot inspect container \(name): \(error)")
        }
        guard let state = info.state, state.running, state.pid > 0 else {
            throw NodeClusterError(message: "container \(name) is not running after start (exit code \(info.state?.exitCode ?? -1))")
        }
        initPIDs[name] = state.pid
        // Every host holds every container's fixed MAC as a permanent neighbour: a daemon that
        // gave a container another MAC (Docker 25.0.0-25.0.2 lost configured MACs on restart,
        // moby#47146) would cut it off without a word, so it is an error here.
        guard let service = layout.services.first(where: { $0.name == name }) else { return }
        let actual = info.networks[layout.networkName]?.macAddress.lowercased() ?? ""
        guard actual == service.mac else {
            throw NodeClusterError(message: "container \(name) has MAC '\(actual)' on \(layout.networkName), not the fixed \(service.mac) the other nodes' neighbour entries name")
        }
        guard service.role == .host, let host = service.host.flatMap(layout.netns.host) else { return }
        // `ip netns attach` makes /run/netns a bind mount of itself on first use (shared, as on netns).
        if !isJournaled(.mount, NetnsPlanner.netnsRunDirectory) {
            try await plan(JournalResource(kind: .mount, name: NetnsPlanner.netnsRunDirectory, undo: [["umount", NetnsPlanner.netnsRunDirectory], ["rmdir", NetnsPlanner.netnsRunDirectory]], shared: true)) {}
        }
        let handle = host.netns
        if isJournaled(.netns, handle) {
            // A restarted container has a new namespace: move the handle.
            _ = try? await runner.runChecked(["ip", "netns", "del", handle], timeout: commandTimeout)
            try await run(["ip", "netns", "attach", handle, String(state.pid)])
        } else {
            try await plan(JournalResource(kind: .netns, name: handle, undo: [["ip", "netns", "del", handle]])) {
                try await self.run(["ip", "netns", "attach", handle, String(state.pid)])
            }
        }
        // Every other container of the run as a permanent neighbour (as on netns): no ARP, and
        // nothing counted against the machine-wide ARP table limit that a 64-host election
        // overflows (NetnsLayout.mac(of:)). The entries go with the container's namespace.
        let neighbours = layout.services.filter { $0.name != name }.map { NetnsPlanner.neighbourLine(address: $0.address, mac: $0.mac) + "\n" }
        do {
            try await runner.runChecked(["ip", "-n", handle, "-batch", "-"], timeout: commandTimeout, input: Data(neighbours.joined().utf8))
        } catch {
            throw NodeClusterError(message: error.description)
        }
        // Both chains and their jumps in one iptables-restore (as on netns); each chain is
        // journaled before it exists, with its own undo.
        let chains = [(NetnsPlanner.inboundChain, "INPUT"), (NetnsPlanner.outboundChain, "OUTPUT")]
        let restore = NetnsAction.restore(netns: handle, wait: planner.iptablesWaitSeconds,
                                          rules: chains.map { ["-N", $0.0] } + chains.map { ["-A", $0.1, "-j", $0.0] })
        var seqs: [Int] = []
        for (chain, hook) in chains where !isJournaled(.chain, "\(handle)/\(chain)") {
            seqs.append(try await journalPlan(JournalResource(kind: .chain, name: "\(handle)/\(chain)", undo: [
                planner.iptables(handle, ["-D", hook, "-j", chain]), planner.iptables(handle, ["-F", chain]), planner.iptables(handle, ["-X", chain]),
            ])))
        }
        guard let (argv, input) = restore.restoreCommand else { return }
        do {
            try await runner.runChecked(argv, timeout: commandTimeout, input: Data(input.utf8))
        } catch {
            throw NodeClusterError(message: error.description)
        }
        for seq in seqs { try? await journal.markCreated(seq) }
    }

    /// `kind/name` of every resource journaled so far (a host's container and its namespace
    /// handle share a name).
    private var journaledNames: Set<String> = []

    private func isJournaled(_ kind: JournalEntry.Kind, _ name: String) -> Bool { journaledNames.contains("\(kind.rawValue)/\(name)") }

    private func journalPlan(_ resource: JournalResource) async throws -> Int {
        do {
            let seq = try await journal.plan(resource)
            journaledNames.insert("\(resource.kind.rawValue)/\(resource.name)")
            return seq
        } catch {
            throw NodeClusterError(message: "journal: \(error)")
        }
    }

    /// Journals `resource`, creates it, marks it created.
    private func plan(_ resource: JournalResource, _ body: () async throws -> Void) async throws {
        let seq = try await journalPlan(resource)
        try await body()
        try? await journal.markCreated(seq)
    }

    private func run(_ argv: [String]) async throws {
        do {
            try await runner.runChecked(argv, timeout: commandTimeout)
        } catch {
            throw NodeClusterError(message: error.description)
        }
    }

    // MARK: - State for the fault planner

    /// The netns layout with each running host's mount namespace as `/proc/<init>/ns/mnt`.
    func runtimeLayout() -> NetnsLayout {
        var netns = layout.netns
        for index in netns.hosts.indices {
            if let pid = initPIDs[netns.hosts[index].netns] { netns.hosts[index].mountNamespaceFile = "/proc/\(pid)/ns/mnt" }
        }
        return netns
    }

    /// Machine PIDs of every host's daemons and VMs (the node files hold container PIDs).
    func nodeRuntime(_ cluster: NodeCluster) -> NodeRuntime {
        var runtime = NodeRuntime()
        for host in cluster.cluster.hosts.map(\.id) {
            guard let service = layout.service(of: host), let initPID = initPIDs[service.name] else { continue }
            let map = ContainerPIDs.map(initPID: initPID)
            let p = cluster.paths(host)
            func pid(_ name: String) -> Int32? {
                (try? String(contentsOfFile: p.pidFile(name), encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }.flatMap { map[$0] }
            }
            runtime.hosts[host] = .init(nodePID: initPID, agentPID: pid("ha-agent"), hostdPID: pid("hostd"))
            for file in (try? FileManager.default.contentsOfDirectory(atPath: p.vmsDirectory)) ?? [] where file.hasSuffix(".json") {
                if let data = FileManager.default.contents(atPath: p.vmsDirectory + "/" + file),
                   let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                   let nsPID = (object["pid"] as? NSNumber)?.int32Value, let vm = object["vm"] as? String, let pid = map[nsPID] {
                    runtime.vmPIDs[VMID(vm)] = .init(host: host, pid: pid)
                }
            }
        }
        if let initPID = initPIDs[layout.controller.name] { runtime.controllerPID = initPID }
        return runtime
    }

    // MARK: - Power and freeze (Engine API)

    /// Power-off: SIGKILL to the container; returns the wall time of its `die` event (or of the
    /// moment its state showed it stopped).
    func kill(_ name: String) async throws -> Double {
        let before = dieTimes[name]?.count ?? 0
        do {
            try await engine.containerKill(name, signal: "KILL")
        } catch {
            throw NodeClusterError(message: "cannot kill container \(name): \(error)")
        }
        return try await awaitStopped(name, diesBefore: before)
    }

    /// Clean stop (SIGTERM, then SIGKILL after `timeout`).
    func stop(_ name: String, timeoutSeconds: Int) async throws -> Double {
        let before = dieTimes[name]?.count ?? 0
        do {
            try await engine.containerStop(name, timeoutSeconds: timeoutSeconds)
        } catch {
            throw NodeClusterError(message: "cannot stop container \(name): \(error)")
        }
        return try await awaitStopped(name, diesBefore: before)
    }

    private func awaitStopped(_ name: String, diesBefore: Int) async throws -> Double {
        initPIDs[name] = nil
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(10)
        var stoppedAt: Double?
        while clock.now < deadline {
            if let times = dieTimes[name], times.count > diesBefore, let time = times.last { return time }
            if stoppedAt == nil, let info = try? await engine.containerInspect(name), info.state?.running != true { stoppedAt = Date().timeIntervalSince1970 }
            // The event normally follows within milliseconds; give it a moment after the state says stopped.
            if let stoppedAt, Date().timeIntervalSince1970 - stoppedAt > 1 { return stoppedAt }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw NodeClusterError(message: "container \(name) did not stop within 10 s")
    }

    /// Freeze (cgroup freezer, all processes of the container).
    func pause(_ name: String, tag: String) async throws {
        try await plan(JournalResource(kind: .container, name: tag, undo: [DockerUndo.unpause(name)])) {
            do { try await self.engine.containerPause(name) } catch { throw NodeClusterError(message: "cannot pause \(name): \(error)") }
        }
    }

    func unpause(_ name: String, tag: String) async throws {
        do { try await engine.containerUnpause(name) } catch { throw NodeClusterError(message: "cannot unpause \(name): \(error)") }
        _ = try? await journal.markRemoved(kind: .container, name: tag)
    }

    /// Runs `argv` detached in the controller's container (the rogue node); its machine PID.
    func execInController(_ argv: [String]) async throws -> Int32 {
        do {
            return try await engine.execDetached(layout.controller.name, argv).pid
        } catch {
            throw NodeClusterError(message: "cannot exec in \(layout.controller.name): \(error)")
        }
    }

    // MARK: - Events (ground truth)

    private func startEvents() {
        let path = layout.netns.runDirectory + "/docker-events.jsonl"
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        eventLog = FileHandle(forWritingAtPath: path)
        let stream = engine.events(label: "\(ComposeLayout.runLabel)=\(layout.runID.rawValue)")
        self.stream = stream
        reader = Task { [weak self] in
            for await event in stream.events {
                await self?.record(event)
            }
        }
    }

    private func record(_ event: DockerEvent) {
        let name = event.attributes["name"] ?? event.actorID
        if event.type == "container", event.action == "die" { dieTimes[name, default: []].append(event.time) }
        var line: [String: Any] = ["wall": event.time, "type": event.type, "action": event.action, "name": name]
        if let code = event.attributes["exitCode"] { line["exitCode"] = code }
        if let data = try? JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]) {
            eventLog?.write(data + Data("\n".utf8))
        }
    }

    // MARK: - Tear-down

    /// Heals what is still in place, stops and removes every container and the network, drops
    /// the namespace handles, and deletes the journal when nothing is left. Never throws.
    func tearDown() async -> Stats {
        let clock = ContinuousClock()
        let start = clock.now
        var stats = Stats()
        let entries = await journal.allEntries
        // Faults still in place (newest first): their heal is their undo.
        for entry in entries.reversed() where entry.state != .removed && entry.name.hasPrefix("\(layout.runID.prefix)-s") {
            if await undo(entry, stats: &stats) { try? await journal.markRemoved(entry.seq) }
        }
        // Stop every container at once (SIGTERM to ha-node: agents release their locks), then remove.
        let names = layout.services.map(\.name)
        let engine = engine
        await withTaskGroup(of: Void.self) { group in
            for name in names { group.addTask { try? await engine.containerStop(name, timeoutSeconds: 5) } }
        }
        stats.containers = names.count
        let outstanding = await journal.outstanding
        for entry in outstanding.reversed() {
            if entry.kind == .process || (entry.shared && othersAlive()) {
                try? await journal.markRemoved(entry.seq)
            } else if entry.kind == .chain {
                // Gone with the container's network namespace.
                try? await journal.markRemoved(entry.seq)
            } else if await undo(entry, stats: &stats) {
                try? await journal.markRemoved(entry.seq)
            }
        }
        stream?.stop()
        reader?.cancel()
        try? eventLog?.close()
        eventLog = nil
        stats.journalDeleted = await journal.close(deleteIfClean: true)
        stats.duration = clock.now - start
        return stats
    }

    private func othersAlive() -> Bool {
        !Reaper.liveRuns(journalDirs: [journalDirectory, layout.netns.system.sharedJournalDirectory], system: layout.netns.system)
            .subtracting([layout.runID]).isEmpty
    }

    private func undo(_ entry: JournalEntry, stats: inout Stats) async -> Bool {
        var ok = true
        for argv in entry.undo {
            if DockerUndo.isUndo(argv) {
                if let failure = await DockerUndo.perform(argv, engine: engine) {
                    stats.failures.append(failure)
                    ok = false
                }
                continue
            }
            do {
                try await runner.runChecked(argv, timeout: commandTimeout)
            } catch {
                if error.isAlreadyGone || (entry.shared && error.isStillInUse) { continue }
                stats.failures.append(error.description)
                ok = false
            }
        }
        return ok
    }
}
