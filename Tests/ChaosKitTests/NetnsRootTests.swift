import ChaosKit
import Foundation
import HACore
import Testing

/// Every test that builds real namespaces runs in this one serialized suite (root only), so
/// that no two runs of this test process overlap.
@Suite(.serialized, .enabled(if: Capabilities.netns, "needs root, ip netns, iptables and cgroup v1"))
enum RootNetnsTests {}

// MARK: - Fixture

/// One real run: layout, journal, network, and the scratch folders it lives in.
struct RealRun {
    let runID: RunID
    let root: String
    let journalDir: String
    let layout: NetnsLayout
    let journal: RunJournal
    let network: NetnsNetwork
    let runner = ProcessCommandRunner()

    /// Real runs journal where every run on the machine does, so that any reaper sees them.
    init(hosts: [(HostID, [DatastoreID])], datastores: [DatastoreID], ipStorage: Set<DatastoreID> = [], journalOwner: Int32? = nil) async throws {
        root = try scratchDirectory("netns")
        journalDir = RunJournal.defaultDirectory
        if let journalOwner {
            // A dead harness: the same layout, but the journal names a PID that has exited.
            runID = RunID.random()
            let runner = ProcessCommandRunner()
            let (subnet, claimed) = try await SubnetClaim.claim(runID: runID, journalDirectory: journalDir, ownerPID: journalOwner) { () async throws(NetnsError) in
                try await NetnsNetwork.subnetIndicesInUse(runner: runner)
            }
            layout = try NetnsLayout(runID: runID, hosts: hosts, datastores: datastores, ipStorage: ipStorage, runDirectory: "\(root)/run", subnetIndex: subnet)
            journal = claimed
            network = NetnsNetwork(layout: layout, journal: journal, runner: ProcessCommandRunner(), journalDirectory: journalDir)
        } else {
            // The start of a run: whatever a crashed earlier test process left is reaped here.
            let prepared = try await NetnsNetwork.prepare(
                hosts: hosts, datastores: datastores, ipStorage: ipStorage, runDirectory: "\(root)/run", runner: ProcessCommandRunner()
            )
            if !prepared.reaped.runs.isEmpty { print("reaped dead runs \(prepared.reaped.runs): \(prepared.reaped.removed.count) things") }
            network = prepared.network
            layout = network.layout
            journal = network.journal
            runID = layout.runID
        }
    }

    /// Runs `body`; whatever happens, tears down (unless `crash`), reaps, and checks that
    /// nothing of the run is left (the stand-in for `defer`, which cannot `await`).
    func run(crash: Bool = false, _ body: () async throws -> Void) async throws {
        var failure: (any Error)?
        do { try await body() } catch { failure = error }
        if !crash {
            let stats = await network.tearDown()
            print("teardown \(layout.hosts.count) hosts: \(stats.steps) steps, \(stats.commands) commands, \(stats.duration)")
            #expect(stats.failures.isEmpty, "\(stats.failures)")
            #expect(stats.journalDeleted)
        }
        let report = await Reaper.clean(runID: runID, journalDir: journalDir, runner: runner)
        if crash {
            print("reaper after crash: removed \(report.removed.count) things: \(report.removed.prefix(8))…")
            #expect(!report.removed.isEmpty)
        }
        #expect(report.isClean, "\(report.failures)")
        await expectNothingLeft()
        try? FileManager.default.removeItem(atPath: root)
        if let failure { throw failure }
    }

    func expectNothingLeft() async {
        let id = runID.rawValue
        let netns = (try? await runner.runChecked(["ip", "netns", "list"]).stdout) ?? "?"
        #expect(!netns.contains("hac-\(id)"), "\(netns)")
        // Network namespaces die asynchronously: give the kernel up to 5 s to drop their veths.
        var links = ""
        for _ in 0..<50 {
            links = (try? await runner.runChecked(["ip", "-br", "link"]).stdout) ?? "?"
            if !links.contains("hac\(id)") { break }
            try? await Task.sleep(for: .milliseconds(100))
        }
        #expect(!links.contains("hac\(id)"), "\(links)")
        let mounts = (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? "?"
        let netnsNow = (try? await runner.runChecked(["ip", "netns", "list"]).stdout) ?? "?"
        #expect(!mounts.contains("hac-\(id)") && !mounts.contains("/hachaos/\(id)"), "\(mounts)")
        for controller in NetnsPlanner.cgroupControllers {
            #expect(!FileManager.default.fileExists(atPath: "/sys/fs/cgroup/\(controller)/hachaos/\(id)"))
        }
        #expect(!FileManager.default.fileExists(atPath: "/run/hachaos/\(id)"))
        #expect(!FileManager.default.fileExists(atPath: RunJournal.path(for: runID, directory: journalDir)))
        // Shared folders go with the last run (this suite runs alone).
        if Reaper.liveRuns(journalDirs: [RunJournal.defaultDirectory]).isEmpty {
            for path in ["/vmfs", "/run/hachaos", "/var/lib/hachaos"] + NetnsPlanner.cgroupControllers.map({ "/sys/fs/cgroup/\($0)/hachaos" }) {
                #expect(!FileManager.default.fileExists(atPath: path), "\(path) left behind")
            }
            // `ip netns`' own bind mount goes when no namespace of anyone is left.
            if netnsNow.isEmpty { #expect(!mounts.contains(" /run/netns "), "/run/netns still mounted") }
        }
    }

    func host(_ i: Int) -> NetnsLayout.Host { layout.hosts[i - 1] }

    /// One ping from `host`'s namespace (1 s timeout).
    func ping(from netns: String, _ address: String) async throws -> Bool {
        try await runner.run(["ip", "netns", "exec", netns, "ping", "-c", "1", "-W", "1", "-q", address], timeout: .seconds(5)).status == 0
    }

    /// `touch path` inside `host`'s mount namespace.
    func touch(_ host: NetnsLayout.Host, _ path: String) async throws -> CommandResult {
        try await runner.run(["nsenter", "--mount=\(host.mountNamespaceFile)", "touch", path], timeout: .seconds(5))
    }

    /// Starts `sleep 300` inside `host`'s namespaces and cgroups (the test's stand-in for ha-node).
    func startSleeper(in host: NetnsLayout.Host) throws -> ChildProcess {
        let argv = layout.nodeCommandPrefix(host) + ["sleep", "300"]
        let child = try ChildProcess.spawn(executable: "/usr/bin/nsenter", argv: argv, environment: [:])
        for controller in NetnsPlanner.cgroupControllers {
            try SystemPaths.writeFile("\(layout.cgroup(controller, node: host.id.rawValue))/cgroup.procs", contents: "\(child.pid)")
        }
        return child
    }

    func inject(_ fault: Fault, step: Int) async throws -> FaultPlan {
        let plan = try network.planner.faultPlan(fault, step: step, layout: layout, runtime: NodeRuntime())
        _ = try await network.inject(plan)
        return plan
    }
}

/// Waits (≤ 5 s) for a killed child to be reaped.
func waitForExit(_ child: ChildProcess) async -> Bool {
    await child.wait(timeout: .seconds(5)) != nil
}

// MARK: - Tests

extension RootNetnsTests {
    @Suite(.timeLimit(.minutes(3))) struct NetnsRealTests {
        @Test(.enabled(if: Capabilities.ping, "needs ping"))
        func threeHosts_pingPartitionHealAndDatastoreUnmount_thenNothingIsLeft() async throws {
            let hostTables = try await ProcessCommandRunner().runChecked(["iptables", "-S"]).stdout
            let run = try await RealRun(
                hosts: [("host-1", ["ds-1", "ds-2"]), ("host-2", ["ds-1", "ds-2"]), ("host-3", ["ds-1"])],
                datastores: ["ds-1", "ds-2"], ipStorage: ["ds-2"]
            )
            try await run.run {
                let stats = try await run.network.bringUp()
                print("bring-up 3 hosts: \(stats.steps) steps, \(stats.commands) commands, \(stats.duration)")
                let (h1, h2, h3) = (run.host(1), run.host(2), run.host(3))

                // Connectivity on the management network, and nothing else.
                #expect(try await run.ping(from: h1.netns, h2.address))
                #expect(try await run.ping(from: h1.netns, run.layout.gateway.address))
                #expect(try await run.ping(from: h3.netns, run.layout.controller.address))
                let routes = try await run.runner.runChecked(["ip", "-n", h1.netns, "route", "show"]).stdout
                #expect(!routes.contains("default") && routes.contains(run.layout.subnet))

                // `nsenter --net=… program` runs the program in that namespace (spawned there
                // by the runner, without nsenter): it sees h1's address, the machine does not.
                let ours = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/net")
                let inH1 = try await run.runner.runChecked(["nsenter", "--net=/run/netns/\(h1.netns)", "ip", "-br", "-4", "addr", "show", "dev", "eth0"]).stdout
                #expect(inH1.contains(h1.address + "/24"))
                let h1Namespace = try await run.runner.runChecked(["nsenter", "--net=/run/netns/\(h1.netns)", "readlink", "/proc/self/ns/net"]).stdout
                #expect(h1Namespace != ours + "\n" && h1Namespace.hasPrefix("net:["))
                // No thread of this process was left in h1's namespace by the spawns.
                let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")
                let threadNamespaces = Set(tasks.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/task/\($0)/ns/net") })
                #expect(threadNamespaces == [ours], "\(threadNamespaces)")

                // Partition {h1} | {h2, h3}: h1 loses h2, keeps the gateway; heal restores.
                let partition = try await run.inject(.partition(groups: [["host-1"], ["host-2", "host-3"]]), step: 1)
                #expect(try await !run.ping(from: h1.netns, h2.address))
                #expect(try await !run.ping(from: h2.netns, h1.address))
                #expect(try await run.ping(from: h1.netns, run.layout.gateway.address))
                #expect(try await run.ping(from: h2.netns, h3.address))
                _ = try await run.network.heal(partition)
                #expect(try await run.ping(from: h1.netns, h2.address))
                let rules = try await run.runner.runChecked(["ip", "netns", "exec", h1.netns, "iptables", "-S"]).stdout
                #expect(!rules.contains("hac-\(run.runID)-s1") && rules.contains("-A INPUT -j HAC-IN"))

                // Isolation address only: peers stay reachable.
                let dropGateway = try await run.inject(.dropIsolationAddress("host-3"), step: 2)
                #expect(try await !run.ping(from: h3.netns, run.layout.gateway.address))
                #expect(try await run.ping(from: h3.netns, h1.address))
                _ = try await run.network.heal(dropGateway)
                #expect(try await run.ping(from: h3.netns, run.layout.gateway.address))

                // Datastores: a write in h1 lands in the run folder.
                #expect(try await run.touch(h1, "/vmfs/volumes/ds-1/from-h1").status == 0)
                #expect(FileManager.default.fileExists(atPath: "\(run.layout.datastoreSource("ds-1"))/from-h1"))
                #expect(try await run.touch(h1, "/vmfs/volumes/stray").status != 0, "/vmfs/volumes itself is read-only")
                // APD on h1: nothing under the mount point is writable there; h2 keeps the datastore.
                let apd = try await run.inject(.unmountDatastore("ds-1", hosts: ["host-1"]), step: 3)
                let failed = try await run.touch(h1, "/vmfs/volumes/ds-1/after-umount")
                #expect(failed.status != 0 && failed.stderr.contains("Read-only file system"), "\(failed)")
                #expect(try await run.touch(h2, "/vmfs/volumes/ds-1/from-h2").status == 0)
                _ = try await run.network.heal(apd)
                #expect(try await run.touch(h1, "/vmfs/volumes/ds-1/after-heal").status == 0)

                // PDL on h2: only the marker is visible, and it is read-only.
                let pdl = try await run.inject(.pdlDatastore("ds-2", hosts: ["host-2"]), step: 4)
                let listing = try await run.runner.runChecked(["nsenter", "--mount=\(h2.mountNamespaceFile)", "ls", "-A", "/vmfs/volumes/ds-2"]).stdout
                #expect(listing == ".pdl\n")
                #expect(try await run.touch(h2, "/vmfs/volumes/ds-2/x").status != 0)
                #expect(try await run.touch(h1, "/vmfs/volumes/ds-2/x").status == 0)
                _ = try await run.network.heal(pdl)
                #expect(try await run.touch(h2, "/vmfs/volumes/ds-2/y").status == 0)

                // Read-only datastore on h1, then back.
                let readOnly = try await run.inject(.readOnlyDatastore("ds-2", hosts: ["host-1"]), step: 5)
                #expect(try await run.touch(h1, "/vmfs/volumes/ds-2/z").status != 0)
                _ = try await run.network.heal(readOnly)
                #expect(try await run.touch(h1, "/vmfs/volumes/ds-2/z").status == 0)

                // Isolation with storage on h1: network and its NFS datastore go.
                let isolation = try await run.inject(.isolateHost("host-1", storageToo: true), step: 6)
                #expect(try await !run.ping(from: h1.netns, run.layout.gateway.address))
                #expect(try await run.touch(h1, "/vmfs/volumes/ds-2/w").status != 0)
                #expect(try await run.touch(h1, "/vmfs/volumes/ds-1/w").status == 0)
                _ = try await run.network.heal(isolation)
                #expect(try await run.ping(from: h1.netns, run.layout.gateway.address))
                #expect(try await run.touch(h1, "/vmfs/volumes/ds-2/w").status == 0)

                // Power off: every process of the host's cgroup dies.
                let sleeper = try run.startSleeper(in: h3)
                let power = try await run.inject(.powerOffHost("host-3"), step: 7)
                #expect(power.heal.last == .startNode("host-3"))
                #expect(await waitForExit(sleeper))
                // A powered-off host does not answer ICMP (else HA would see "agent down", not "dead").
                #expect(try await !run.ping(from: h1.netns, h3.address))
                #expect(SystemPaths.pids(inCgroupProcs: "\(run.layout.freezerCgroup("host-3"))/cgroup.procs").isEmpty)
                // The link going down deleted h3's permanent neighbour entries (the kernel does);
                // power-on puts every one of them back with the link, so h3 needs no ARP again.
                func permanentNeighbours() async throws -> [Substring] {
                    try await run.runner.runChecked(["ip", "-n", h3.netns, "neigh", "show", "nud", "permanent"]).stdout.split(separator: "\n")
                }
                #expect(try await permanentNeighbours().isEmpty)
                _ = try await run.network.heal(power)
                let restored = try await permanentNeighbours()
                #expect(restored.count == run.layout.endpoints.count, "bridge, gateway, controller and the two other hosts: \(restored)")
                #expect(restored.contains { $0.hasPrefix("\(h1.address) ") && $0.contains(h1.endpoint.mac) })
                #expect(try await run.ping(from: h3.netns, h1.address))

                // The machine's own iptables never changed.
                #expect(try await ProcessCommandRunner().runChecked(["iptables", "-S"]).stdout == hostTables)
            }
        }

        @Test func eightHosts_bringUpAndTearDown_timings() async throws {
            let run = try await RealRun(hosts: (1...8).map { (HostID("host-\($0)"), [DatastoreID("ds-1"), "ds-2"]) }, datastores: ["ds-1", "ds-2"])
            try await run.run {
                let stats = try await run.network.bringUp()
                print("bring-up 8 hosts: \(stats.steps) steps, \(stats.commands) commands, \(stats.duration)")
                #expect(stats.steps == 54)
            }
        }

        @Test func threeHosts_bringUpAndTearDown_timings() async throws {
            let run = try await RealRun(hosts: (1...3).map { (HostID("host-\($0)"), [DatastoreID("ds-1"), "ds-2"]) }, datastores: ["ds-1", "ds-2"])
            try await run.run {
                let stats = try await run.network.bringUp()
                print("bring-up 3 hosts: \(stats.steps) steps, \(stats.commands) commands, \(stats.duration)")
                #expect(stats.steps == 29)
            }
        }
    }
}
