import ChaosKit
import Foundation
import Testing

/// Scenarios of the corpus on real nodes (Linux namespaces, root), through the `chaos` binary
/// exactly as a user runs it, then proof that nothing of the runs is left on the machine.
@Suite(.serialized) struct NetnsScenarioTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let chaos = root + "/.build/debug/chaos"
    /// Real-time runs must not share the CPU with the simulator suites, so this test runs in its own
    /// `swift test` invocation (Scripts/test sets HACHAOS_REAL_NODES=1 for it).
    static var ready: Bool {
        ProcessInfo.processInfo.environment["HACHAOS_REAL_NODES"] == "1" && Capabilities.netns && FileManager.default.isExecutableFile(atPath: chaos)
    }

    /// The whole corpus (faults/), as `Scripts/run` runs it.
    static var scenarios: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root + "/faults")) ?? [])
            .filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted()
    }

    @Test(.enabled(if: ready, "runs in its own pass (HACHAOS_REAL_NODES=1, root, ip netns, iptables, built binaries)"), .timeLimit(.minutes(27)))
    func wholeCorpus_passesOnRealNodes_andLeavesNothingBehind() async throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("hac-netns-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        // The list is taken once: the results are compared for exactly the files that ran.
        let scenarios = Self.scenarios
        #expect(scenarios.count >= 29, "the corpus: \(scenarios)")
        let files = [Self.root + "/faults"]
        let runner = ProcessCommandRunner()
        let result = try await runner.run(
            [Self.chaos, "run"] + files + ["--backend", "netns", "--time-scale", "0.2", "--parallel", "4", "--quiet", "--out", out],
            timeout: .seconds(1500), input: nil
        )
        #expect(result.status == 0, "chaos run on netns: \(result.stdout.suffix(3000)) \(result.stderr.suffix(2000))")
        for name in scenarios {
            let data = try #require(FileManager.default.contents(atPath: "\(out)/\(name)/result.json"), "no result for \(name)")
            let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            #expect(json["verdict"] as? String == "pass", "\(name): \(failedChecks(json))")
            #expect(json["backend"] as? String == "netns")
        }
        // Nothing of these runs is left: namespaces, links, mounts, cgroups, processes.
        let ids = scenarios.compactMap { try? String(contentsOfFile: "\(out)/\($0)/run-id", encoding: .utf8) }
        #expect(ids.count == scenarios.count, "every netns run records its run id")
        let netns = try await runner.run(["ip", "netns", "list"], timeout: .seconds(10), input: nil).stdout
        let links = try await runner.run(["ip", "-br", "link"], timeout: .seconds(10), input: nil).stdout
        let mounts = (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? ""
        for id in ids {
            #expect(!netns.contains("hac-\(id)"), "namespaces of run \(id) left: \(netns)")
            #expect(!links.contains("hac\(id)"), "links of run \(id) left")
            #expect(!mounts.contains(id), "mounts of run \(id) left")
            #expect(!FileManager.default.fileExists(atPath: "/sys/fs/cgroup/freezer/hachaos/\(id)"), "cgroups of run \(id) left")
            #expect(!FileManager.default.fileExists(atPath: "/var/lib/hachaos/journal/\(id).jsonl"), "journal of run \(id) left")
        }
        #expect(!mounts.contains(out), "mounts under the run folder left")
        // iptables rules live in the nodes' namespaces; the machine's own tables never name a run.
        let rules = try await runner.run(["iptables-save"], timeout: .seconds(10), input: nil).stdout
        for id in ids { #expect(!rules.contains(id), "iptables rules of run \(id) left in the root namespace") }
        let ps = try await runner.run(["ps", "-eo", "args"], timeout: .seconds(10), input: nil).stdout
        #expect(!ps.contains(out), "processes left: \(ps.split(separator: "\n").filter { $0.contains(out) }.prefix(5))")
    }

    /// SIGINT to `chaos` mid-run, after a fault is in place: it heals, tears the cluster down,
    /// exits 2 (inconclusive), and leaves nothing of the run (issue 7: the harness survives itself).
    @Test(.enabled(if: ready, "runs in its own pass (HACHAOS_REAL_NODES=1, root, ip netns, iptables, built binaries)"), .timeLimit(.minutes(3)))
    func sigint_midRun_healsTearsDownAndExits2() async throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("hac-sigint-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: out) }
        let log = out + "/chaos.log"
        let chaos = try ChildProcess.spawn(
            executable: Self.chaos, argv: [Self.chaos, "run", Self.root + "/faults/host-failure.yaml", "--time-scale", "0.2", "--out", out + "/runs"],
            environment: ProcessInfo.processInfo.environment, stdout: .appendFile(log), stderr: .appendFile(log)
        )
        // Wait for the power-off of host-2 (model 60 s = 12 s real) to be in place.
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(60)
        while clock.now < deadline, !((try? String(contentsOfFile: log, encoding: .utf8))?.contains("inject host.powerOff") ?? false) {
            try await Task.sleep(for: .milliseconds(200))
        }
        let id = try #require(try? String(contentsOfFile: out + "/runs/host-failure/run-id", encoding: .utf8), "the run recorded its id")
        #expect(FileManager.default.fileExists(atPath: "/var/lib/hachaos/journal/\(id).jsonl"), "the run is live and journaled")
        chaos.signal(SIGINT)
        let status = await chaos.wait(timeout: .seconds(90))
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(status == 2, "exit status \(String(describing: status)): \(text.suffix(2000))")
        #expect(text.contains("interrupted"), "\(text.suffix(1000))")
        let runner = ProcessCommandRunner()
        let netns = try await runner.run(["ip", "netns", "list"], timeout: .seconds(10), input: nil).stdout
        let links = try await runner.run(["ip", "-br", "link"], timeout: .seconds(10), input: nil).stdout
        let mounts = (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? ""
        let ps = try await runner.run(["ps", "-eo", "args"], timeout: .seconds(10), input: nil).stdout
        #expect(!netns.contains("hac-\(id)"), "namespaces left: \(netns)")
        #expect(!links.contains("hac\(id)"), "links left")
        #expect(!mounts.contains(id) && !mounts.contains(out), "mounts left")
        #expect(!FileManager.default.fileExists(atPath: "/sys/fs/cgroup/freezer/hachaos/\(id)"), "cgroups left")
        #expect(!FileManager.default.fileExists(atPath: "/var/lib/hachaos/journal/\(id).jsonl"), "journal left: the teardown did not finish")
        #expect(!ps.contains(out), "processes left")
    }

    @Test(.enabled(if: ready, "runs in its own pass (HACHAOS_REAL_NODES=1, root, ip netns, iptables, built binaries)"), .timeLimit(.minutes(3)))
    func sigterm_midNightly_tearsDownWritesTheSummaryAndExits2() async throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("hac-sigterm-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: out) }
        let log = out + "/chaos.log"
        let chaos = try ChildProcess.spawn(
            executable: Self.chaos, argv: [Self.chaos, "nightly", "--backend", "netns", "--budget", "10m", "--time-scale", "0.2", "--seed", "1", "--out", out + "/nightly"],
            environment: ProcessInfo.processInfo.environment, stdout: .appendFile(log), stderr: .appendFile(log)
        )
        // Wait until the first schedule's cluster is journaled by this chaos process (the run is live).
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(60)
        var id: String?
        while clock.now < deadline {
            if let journal = RunJournal.journalPaths(in: RunJournal.defaultDirectory).lazy
                .compactMap({ try? RunJournal.read(path: $0) }).first(where: { $0.header.ownerPID == chaos.pid }) {
                id = journal.header.runID.rawValue
                break
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        guard let run = id else {
            chaos.signal(SIGKILL)
            _ = await chaos.wait(timeout: .seconds(10))
            _ = try? await ProcessCommandRunner().run([Self.chaos, "clean"], timeout: .seconds(60), input: nil)
            Issue.record("the nightly's first run never became live: \(((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").suffix(1000))")
            return
        }
        // Seed 1's first fault is at model 60 s (12 s at scale 0.2, after bring-up): signal with it in place.
        try await Task.sleep(for: .seconds(16))
        chaos.signal(SIGTERM)
        let status = await chaos.wait(timeout: .seconds(90))
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(status == 2, "exit status \(String(describing: status)): \(text.suffix(2000))")
        #expect(FileManager.default.fileExists(atPath: out + "/nightly/summary.md"), "no summary after the signal")
        let summary = (try? String(contentsOfFile: out + "/nightly/summary.md", encoding: .utf8)) ?? ""
        #expect(!summary.contains("swarm-1"), "the run cut short was judged: \(summary.prefix(1500))")
        let runner = ProcessCommandRunner()
        let netns = try await runner.run(["ip", "netns", "list"], timeout: .seconds(10), input: nil).stdout
        let mounts = (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? ""
        #expect(!netns.contains("hac-\(run)"), "namespaces left: \(netns)")
        #expect(!mounts.contains(run), "mounts left")
        #expect(!FileManager.default.fileExists(atPath: "/var/lib/hachaos/journal/\(run).jsonl"), "journal left: the teardown did not finish")
    }
}

/// The checks of a result.json that did not pass, with what they observed (the whole document
/// is too long for a CI log, and its first kilobytes are the passing checks).
func failedChecks(_ json: [String: Any]) -> String {
    let checks = json["checks"] as? [[String: Any]] ?? []
    let bad = checks.filter { ($0["passed"] as? Bool) != true }
    guard !bad.isEmpty else { return "no failed or inconclusive check (verdict \(json["verdict"] ?? "none"))" }
    return bad.map { check in
        let state = (check["passed"] as? Bool).map { $0 ? "passed" : "FAILED" } ?? "inconclusive"
        let at = (check["at"] as? Double).map { " at run \(($0 * 1000).rounded() / 1000) s" } ?? ""
        return "\(check["id"] ?? "?") \(state)\(at): \(check["observed"] ?? "")"
    }.joined(separator: "\n  ")
}
