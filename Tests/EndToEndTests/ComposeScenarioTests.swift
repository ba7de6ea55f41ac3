import ChaosKit
import Foundation
import HACore
import HAWire
import Testing

/// The compose backend on a real Docker engine (issue 5): the smoke subset through the `chaos`
/// binary, kill -9 of `chaos` followed by `chaos clean`, and a rendered compose file brought up by
/// hand with `docker-compose`. Each test proves that nothing of its runs is left.
@Suite(.serialized) struct ComposeScenarioTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let chaos = root + "/.build/debug/chaos"
    /// The test suite's node image: Scripts/test builds it from the debug binaries under test
    /// (`Scripts/node-image --debug`), so the containers run exactly the code being tested.
    static let image = ProcessInfo.processInfo.environment["HACHAOS_NODE_IMAGE"] ?? "hachaos/node:debug"

    /// Why these tests cannot run here, or `nil` (they run in Scripts/test's real-node pass).
    static let unavailable: String? = {
        guard ProcessInfo.processInfo.environment["HACHAOS_REAL_NODES"] == "1" else { return "runs in its own pass (HACHAOS_REAL_NODES=1)" }
        guard Capabilities.netns else { return "needs root, ip netns, iptables, nsenter: \(Capabilities.netnsProblems.joined(separator: "; "))" }
        guard FileManager.default.isExecutableFile(atPath: chaos) else { return "chaos is not built at \(chaos)" }
        guard probe(["curl", "-sf", "--max-time", "3", "--unix-socket", DockerEngine.defaultSocket, "http://localhost/_ping"]) else {
            return "no Docker daemon answers at \(DockerEngine.defaultSocket) (Scripts/setup starts one; it could not here)"
        }
        guard probe(["curl", "-sf", "--max-time", "3", "--unix-socket", DockerEngine.defaultSocket, "http://localhost/v1.41/images/\(image)/json"]) else {
            return "the node image \(image) is missing (Scripts/node-image --debug builds it)"
        }
        return nil
    }()
    static var ready: Bool { unavailable == nil }
    static var reason: Comment { Comment(rawValue: "compose backend unavailable: \(unavailable ?? "")") }

    private static func probe(_ argv: [String]) -> Bool {
        guard let executable = ProcessCommandRunner.resolve(argv[0]),
              let child = try? ChildProcess.spawn(executable: executable, argv: argv, environment: ProcessInfo.processInfo.environment)
        else { return false }
        for _ in 0..<500 where child.exitStatus == nil { usleep(10_000) }
        guard let status = child.exitStatus else { child.signal(SIGKILL); return false }
        return status == 0
    }

    static let smoke = ["host-failure", "isolation-row-05", "partition-2-2"]

    @Test(.enabled(if: ready, reason), .timeLimit(.minutes(8)))
    func smokeSubset_passesOnCompose_andLeavesNothingBehind() async throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("hac-compose-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let files = Self.smoke.map { Self.root + "/faults/\($0).yaml" }
        let result = try await ProcessCommandRunner().run(
            [Self.chaos, "run"] + files + ["--backend", "compose", "--node-image", Self.image, "--time-scale", "0.2", "--parallel", "3", "--quiet", "--out", out],
            timeout: .seconds(420), input: nil
        )
        #expect(result.status == 0, "chaos run on compose: \(result.stdout.suffix(3000)) \(result.stderr.suffix(2000))")
        var ids: [String] = []
        for name in Self.smoke {
            let data = try #require(FileManager.default.contents(atPath: "\(out)/\(name)/result.json"), "no result for \(name)")
            let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            #expect(json["verdict"] as? String == "pass", "\(name): \(failedChecks(json))")
            #expect(json["backend"] as? String == "compose")
            // The run's own compose file and Docker's event stream are evidence in its folder.
            #expect(FileManager.default.fileExists(atPath: "\(out)/\(name)/docker-compose.yml"))
            let events = (try? String(contentsOfFile: "\(out)/\(name)/docker-events.jsonl", encoding: .utf8)) ?? ""
            #expect(events.contains("\"action\":\"start\""), "\(name): no container start in the event stream")
            if name == "host-failure" { #expect(events.contains("\"action\":\"die\""), "the powered-off host's container died") }
            if let id = try? String(contentsOfFile: "\(out)/\(name)/run-id", encoding: .utf8) { ids.append(id) }
        }
        #expect(ids.count == Self.smoke.count, "every compose run records its run id")
        try await Self.expectNothingLeft(ids: ids, out: out)
    }

    @Test(.enabled(if: ready, reason), .timeLimit(.minutes(4)))
    func killMinus9OfChaos_thenChaosClean_leavesNothing() async throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("hac-compose-kill-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: out) }
        let log = out + "/chaos.log"
        let chaos = try ChildProcess.spawn(
            executable: Self.chaos,
            argv: [Self.chaos, "run", Self.root + "/faults/host-failure.yaml", "--backend", "compose", "--node-image", Self.image, "--time-scale", "0.2", "--out", out + "/runs"],
            environment: ProcessInfo.processInfo.environment, stdout: .appendFile(log), stderr: .appendFile(log)
        )
        // With the power-off in place (a killed container, faults journaled), kill chaos outright.
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(90)
        while clock.now < deadline, !((try? String(contentsOfFile: log, encoding: .utf8))?.contains("inject host.powerOff") ?? false) {
            try await Task.sleep(for: .milliseconds(200))
        }
        let id = try #require(try? String(contentsOfFile: out + "/runs/host-failure/run-id", encoding: .utf8), "the run recorded its id")
        chaos.signal(SIGKILL)
        _ = await chaos.wait(timeout: .seconds(10))
        let engine = DockerEngine()
        let before = try await engine.containerList(label: "\(ComposeLayout.runLabel)=\(id)", all: true)
        #expect(before.count >= 4, "kill -9 left the run's containers behind for chaos clean to find: \(before.count)")
        let clean = try await ProcessCommandRunner().run([Self.chaos, "clean"], timeout: .seconds(120), input: nil)
        #expect(clean.status == 0, "chaos clean: \(clean.stdout.suffix(2000)) \(clean.stderr.suffix(1000))")
        try await Self.expectNothingLeft(ids: [id], out: out)
    }

    @Test(.enabled(if: ready, reason), .timeLimit(.minutes(4)))
    func renderedComposeFile_upByHand_startsAWorkingCluster() async throws {
        guard let compose = ProcessCommandRunner.resolve("docker-compose") else {
            Issue.record("docker-compose is not installed (Scripts/setup installs it)")
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hac-byhand-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let runner = ProcessCommandRunner()
        let render = try await runner.run([Self.chaos, "compose", "render", Self.root + "/faults/host-failure.yaml", "--node-image", Self.image, "--out", dir], timeout: .seconds(30), input: nil)
        try #require(render.status == 0, "render: \(render.stdout) \(render.stderr)")
        let file = dir + "/docker-compose.yml"
        let text = try String(contentsOfFile: file, encoding: .utf8)
        let manualID = try #require(text.firstMatch(of: /"hachaos\.manual": "([0-9a-f]{6})"/).map { String($0.1) })
        let runID = try #require(RunID(manualID))
        let project = "hac-\(manualID)"
        // This test creates containers through docker-compose: journal them first, like the harness.
        let journal = try RunJournal(runID: runID)
        var names = text.matches(of: /container_name: "([^"]+)"/).map { String($0.1) }
        #expect(names.count == 6, "4 hosts, gateway, controller: \(names)")
        for name in names { _ = try await journal.plan(JournalResource(kind: .container, name: name, undo: [DockerUndo.removeContainer(name)])) }
        let network = "\(project)_\(project)-net"
        _ = try await journal.plan(JournalResource(kind: .network, name: network, undo: [DockerUndo.removeNetwork(network)]))
        func down() async {
            _ = try? await runner.run([compose, "-p", project, "-f", file, "down", "-t", "5"], timeout: .seconds(120), input: nil)
            for name in names { _ = await DockerUndo.perform(DockerUndo.removeContainer(name)) }
            _ = await DockerUndo.perform(DockerUndo.removeNetwork(network))
            for entry in await journal.outstanding { try? await journal.markRemoved(entry.seq) }
            _ = await journal.close(deleteIfClean: true)
        }
        let up = try await runner.run([compose, "-p", project, "-f", file, "up", "-d"], timeout: .seconds(180), input: nil)
        guard up.status == 0 else {
            Issue.record("docker-compose up: \(up.stdout.suffix(2000)) \(up.stderr.suffix(2000))")
            await down()
            return
        }
        // A working cluster: one master elected among the hosts, and a VM powered on through the
        // controller's API (as the render printed) runs, holding its disk lock on the datastore.
        let clock = ContinuousClock()
        var master: HostID?
        let deadline = clock.now + .seconds(90)
        while clock.now < deadline, master == nil {
            for host in ["host-1", "host-2", "host-3", "host-4"] {
                guard let data = FileManager.default.contents(atPath: "\(dir)/nodes/\(host)/logs/events.jsonl") else { continue }
                if EvidenceLines.decodeAll(data, as: EventLine.self).lines.contains(where: { $0.event.kind == .roleChanged(.master) }) { master = HostID(host) }
            }
            if master == nil { try await Task.sleep(for: .milliseconds(500)) }
        }
        #expect(master != nil, "no master was elected within 90 s of docker-compose up")
        let vcAddress = try #require(text.firstMatch(of: /"hac-[0-9a-f]{6}-vc":[\s\S]*?ipv4_address: "([0-9.]+)"/).map { String($0.1) })
        var placed = false
        while clock.now < deadline + .seconds(30), !placed {
            if let response = try? TinyHTTP.request("POST", address: vcAddress, port: ComposeLayout.controllerHTTPPort, path: "/api/vms/vm-01/power-on?host=host-1"),
               response.status < 300 || response.body.contains("already") {
                placed = true
            } else {
                try await Task.sleep(for: .milliseconds(500))
            }
        }
        #expect(placed, "the controller did not power vm-01 on")
        var running = false
        while clock.now < deadline + .seconds(45), !running {
            let truth = (try? String(contentsOfFile: "\(dir)/nodes/host-1/logs/ground-truth.jsonl", encoding: .utf8)) ?? ""
            running = truth.contains("\"vm\":\"vm-01\"") && truth.contains("\"start\"")
            if !running { try await Task.sleep(for: .milliseconds(300)) }
        }
        #expect(running, "vm-01 never started on host-1")
        await down()
        let left = try await DockerEngine().containerList(label: "\(ComposeLayout.manualLabel)=\(manualID)", all: true)
        #expect(left.isEmpty, "docker-compose down left containers: \(left.map(\.names))")
        names = []
    }

    /// Nothing of the runs `ids` is on the machine: containers and networks (by label, through the
    /// Engine API), namespace handles, bridges, mounts, iptables rules, journals, processes.
    static func expectNothingLeft(ids: [String], out: String) async throws {
        let engine = DockerEngine()
        let runner = ProcessCommandRunner()
        let netns = try await runner.run(["ip", "netns", "list"], timeout: .seconds(10), input: nil).stdout
        let links = try await runner.run(["ip", "-br", "link"], timeout: .seconds(10), input: nil).stdout
        let mounts = (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? ""
        let rules = try await runner.run(["iptables-save"], timeout: .seconds(10), input: nil).stdout
        let ps = try await runner.run(["ps", "-eo", "args"], timeout: .seconds(10), input: nil).stdout
        for id in ids {
            let containers = try await engine.containerList(label: "\(ComposeLayout.runLabel)=\(id)", all: true)
            let networks = try await engine.networkList(label: "\(ComposeLayout.runLabel)=\(id)")
            #expect(containers.isEmpty, "containers of run \(id) left: \(containers.map(\.names))")
            #expect(networks.isEmpty, "networks of run \(id) left: \(networks.map(\.name))")
            #expect(!netns.contains("hac-\(id)"), "namespace handles of run \(id) left: \(netns)")
            #expect(!links.contains("hac\(id)"), "links of run \(id) left")
            #expect(!mounts.contains(id), "mounts of run \(id) left")
            #expect(!rules.contains(id), "iptables rules of run \(id) in the root namespace")
            #expect(!FileManager.default.fileExists(atPath: "/var/lib/hachaos/journal/\(id).jsonl"), "journal of run \(id) left")
        }
        #expect(!mounts.contains(out), "mounts under the run folder left")
        #expect(!ps.contains(out), "processes left: \(ps.split(separator: "\n").filter { $0.contains(out) }.prefix(5))")
    }
}

