import ChaosKit
import Foundation
import HACore

#if canImport(Glibc)
import Glibc
#endif

/// Bring-up/teardown on real-node backends, fault injection latency and steady state on netns.
struct NetnsBench {
    var report: BenchReport
    var reps: Int
    var sizes: [Int]
    var measureBringUp: Bool
    var measureFaults: Bool
    var measureSteady: Bool
    var steadySettle: Double
    var steadyWindow: Double
    var faultReps: Int
    var workRoot: String
    /// Run ids this bench created (for the leftover check).
    var runIDs: [RunID] = []

    mutating func run() async {
        let backend = NetnsPhased(backend: NetnsBackend())
        var bringUp: [Int: [String: [Double]]] = [:]
        var tearDown: [Int: [String: [Double]]] = [:]
        var failures: [String] = []
        var sizes = measureBringUp ? sizes : []
        // Steady state and fault latency need a 32-host cluster even without the bring-up rows.
        if !measureBringUp && (measureFaults || measureSteady) { sizes = [32] }
        var didExtras = false
        for size in sizes {
            let scenario: Scenario
            do { scenario = try BenchScenarios.idle(hosts: size) } catch { failures.append("\(error)"); continue }
            for rep in 1...(measureBringUp ? reps : 1) {
                print("netns: \(size) hosts, rep \(rep): bring-up"); fflush(nil)
                let options = RunOptions(timeScale: 1, seed: 1, workDirectory: "\(workRoot)/netns-\(size)h-\(rep)")
                let up: (handle: NetnsBackend.Session, phases: [String: Double])
                do {
                    up = try await backend.bringUp(scenario, options: options)
                } catch {
                    failures.append("bring-up of \(size) hosts: \(error)")
                    print("  bring-up failed: \(error)")
                    continue
                }
                runIDs.append(up.handle.layout.runID)
                for (k, v) in up.phases { bringUp[size, default: [:]][k, default: []].append(v) }
                print("  up: " + up.phases.sorted { $0.key < $1.key }.map { "\($0.key) \(BenchRow.format($0.value)) s" }.joined(separator: ", "))
                if size == 32 && !didExtras {
                    didExtras = true
                    if measureSteady { await steady(up.handle, backend: backend.backend) }
                    if measureFaults { await faults(up.handle, backend: backend.backend) }
                }
                let down = await backend.tearDown(up.handle)
                failures += down.failures
                for (k, v) in down.phases { tearDown[size, default: [:]][k, default: []].append(v) }
                print("  down: " + down.phases.sorted { $0.key < $1.key }.map { "\($0.key) \(BenchRow.format($0.value)) s" }.joined(separator: ", "))
                try? FileManager.default.removeItem(atPath: options.workDirectory!)
            }
        }
        guard measureBringUp else { return }
        for size in sizes {
            let u = bringUp[size] ?? [:]
            let d = tearDown[size] ?? [:]
            let goalUp: Goal? = size == 32 ? .atMost(3) : nil
            let goalDown: Goal? = size == 32 ? .atMost(1) : nil
            report.add(section: "netns", what: "bring-up \(size) hosts × 4 VMs: total", unit: "s", samples: u["total"] ?? [], goal: goalUp)
            report.add(section: "netns", what: "  network plumbing (NetnsNetwork.bringUp)", unit: "s", samples: u["plumbing"] ?? [])
            report.add(section: "netns", what: "  network phase (reap, subnet, plumbing, controller)", unit: "s", samples: u["network"] ?? [])
            report.add(section: "netns", what: "  nodes started + initial VMs placed", unit: "s", samples: u["nodes"] ?? [])
            report.add(section: "netns", what: "teardown \(size) hosts: total", unit: "s", samples: d["total"] ?? [], goal: goalDown)
            report.add(section: "netns", what: "  stop nodes (controller, ha-node SIGTERM)", unit: "s", samples: d["nodes"] ?? [])
            report.add(section: "netns", what: "  network teardown (NetnsNetwork.tearDown)", unit: "s", samples: d["network"] ?? [])
        }
        if !failures.isEmpty {
            report.add(section: "netns", what: "failures during bring-up/teardown", unit: "", samples: [], note: failures.prefix(5).joined(separator: "; "))
        }
        await composeBringUp(netns8: bringUp[8]?["total"] ?? [], netnsDown8: tearDown[8]?["total"] ?? [])
    }

    /// Bring-up and teardown of the same 8-host cluster in Docker containers, in this run, and
    /// the compose/netns ratio of the medians.
    mutating func composeBringUp(netns8: [Double], netnsDown8: [Double]) async {
        let backend = ComposePhased(backend: ComposeBackend())
        var up: [String: [Double]] = [:]
        var down: [Double] = []
        var skipped: String?
        var failures: [String] = []
        if let scenario = try? BenchScenarios.idle(hosts: 8) {
            for rep in 1...reps {
                print("compose: 8 hosts, rep \(rep): bring-up"); fflush(nil)
                let options = RunOptions(timeScale: 1, seed: 1, workDirectory: "\(workRoot)/compose-8h-\(rep)")
                do {
                    let result = try await backend.bringUp(scenario, options: options)
                    if let id = RunID((try? String(contentsOfFile: options.workDirectory! + "/run-id", encoding: .utf8)) ?? "") { runIDs.append(id) }
                    for (k, v) in result.phases { up[k, default: []].append(v) }
                    print("  up: " + result.phases.sorted { $0.key < $1.key }.map { "\($0.key) \(BenchRow.format($0.value)) s" }.joined(separator: ", "))
                    let teardown = await backend.tearDown(result.handle)
                    failures += teardown.failures
                    down += teardown.phases["total"].map { [$0] } ?? []
                    print("  down: \(BenchRow.format(teardown.phases["total"] ?? 0)) s")
                } catch let skip as BenchSkip {
                    skipped = skip.description
                    break
                } catch {
                    failures.append("compose bring-up: \(error)")
                }
                try? FileManager.default.removeItem(atPath: options.workDirectory!)
            }
        }
        if let skipped {
            report.add(section: "compose", what: "bring-up/teardown 8 hosts × 4 VMs", unit: "s", samples: [], note: "compose: \(skipped)")
            return
        }
        report.add(section: "compose", what: "bring-up 8 hosts × 4 VMs: total", unit: "s", samples: up["total"] ?? [])
        report.add(section: "compose", what: "  containers created, gateway + controller started", unit: "s", samples: up["network"] ?? [])
        report.add(section: "compose", what: "  host containers started + initial VMs placed", unit: "s", samples: up["nodes"] ?? [])
        report.add(section: "compose", what: "teardown 8 hosts: total (stop, remove, network)", unit: "s", samples: down)
        func median(_ xs: [Double]) -> Double? {
            guard !xs.isEmpty else { return nil }
            let s = xs.sorted()
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
        if let c = median(up["total"] ?? []), let n = median(netns8), n > 0 {
            report.add(section: "compose", what: "  ratio compose/netns, bring-up 8 hosts (medians)", unit: "×", samples: [c / n])
        }
        if let c = median(down), let n = median(netnsDown8), n > 0 {
            report.add(section: "compose", what: "  ratio compose/netns, teardown 8 hosts (medians)", unit: "×", samples: [c / n])
        }
        if !failures.isEmpty {
            report.add(section: "compose", what: "failures during bring-up/teardown", unit: "", samples: [], note: failures.prefix(5).joined(separator: "; "))
        }
        await eventStreamStop()
    }

    /// How long an idle Docker event subscription takes to end after `stop()` (the compose
    /// backend stops its stream at teardown; the test only asserts that it ends).
    mutating func eventStreamStop() async {
        let engine = DockerEngine()
        var samples: [Double] = []
        var notes: [String] = []
        for _ in 0..<max(reps, 5) {
            let stream = engine.events(label: "hachaos.bench=idle-stream")
            try? await Task.sleep(for: .milliseconds(300))
            guard !stream.isFinished else {
                notes.append("the subscription ended by itself: \(stream.failure.map { "\($0)" } ?? "no error")")
                continue
            }
            let clock = ContinuousClock()
            let start = clock.now
            stream.stop()
            let ended = await stream.awaitEnd(within: .seconds(10))
            if ended { samples.append(Stopwatch.seconds(start.duration(to: clock.now)) * 1000) } else { notes.append("not ended 10 s after stop()") }
        }
        report.add(section: "compose", what: "Docker event stream: stop() of an idle subscription until it ends", unit: "ms", samples: samples,
                   note: notes.isEmpty ? nil : Array(Set(notes)).joined(separator: "; "))
    }

    // MARK: - Steady state

    struct ProcSample { var ticks: Double; var rss: Double }

    static func sample(_ pid: Int32) -> ProcSample? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after "comm)": state is field 3; utime 14, stime 15 (1-based).
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return nil }
        var rss = 0.0
        if let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) {
            rss = Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0   // kB
        }
        return ProcSample(ticks: utime + stime, rss: rss)
    }

    func steady(_ session: NetnsBackend.Session, backend: NetnsBackend) async {
        print("steady: settling \(Int(steadySettle)) s, then sampling \(Int(steadyWindow)) s"); fflush(nil)
        try? await Task.sleep(for: .seconds(steadySettle))
        let runtime = backend.runtime(of: session)
        var pids: [String: [Int32]] = ["ha-agent": [], "hostd": [], "vm-workload": [], "ha-node": []]
        for (_, host) in runtime.hosts {
            if let p = host.agentPID { pids["ha-agent", default: []].append(p) }
            if let p = host.hostdPID { pids["hostd", default: []].append(p) }
            if let p = host.nodePID { pids["ha-node", default: []].append(p) }
        }
        pids["vm-workload"] = runtime.vmPIDs.values.map(\.pid)
        if let c = session.controller?.pid { pids["ha-controller"] = [c] }
        let hz = Double(sysconf(Int32(_SC_CLK_TCK)))
        let clock = ContinuousClock()
        var before: [Int32: ProcSample] = [:]
        for pid in pids.values.flatMap({ $0 }) { before[pid] = Self.sample(pid) }
        let t0 = clock.now
        try? await Task.sleep(for: .seconds(steadyWindow))
        let wall = Stopwatch.seconds(t0.duration(to: clock.now))
        let hosts = session.layout.hosts.count
        var totalCPU = 0.0
        for name in ["ha-agent", "hostd", "vm-workload", "ha-node", "ha-controller"] {
            var cpu: [Double] = []
            var rss: [Double] = []
            for pid in pids[name] ?? [] {
                guard let a = before[pid], let b = Self.sample(pid) else { continue }
                cpu.append((b.ticks - a.ticks) / hz / wall * 100)
                rss.append(b.rss / 1024)
            }
            totalCPU += cpu.reduce(0, +)
            let per = name == "vm-workload" ? "per VM" : "per host"
            report.add(section: "steady", what: "\(name) CPU at rest, \(hosts) hosts (\(per))", unit: "% core", samples: cpu,
                       goal: name == "ha-agent" ? .atMost(1) : nil, note: cpu.isEmpty ? "no process found" : nil)
            report.add(section: "steady", what: "\(name) RSS at rest (\(per))", unit: "MiB", samples: rss)
        }
        report.add(section: "steady", what: "whole cluster CPU at rest, \(hosts) hosts", unit: "% core", samples: [totalCPU],
                   note: "sum over all daemons and VMs; reps column = processes for the per-process rows, CPU over \(Int(wall)) s at 1/\(Int(hz)) s ticks")
    }

    // MARK: - Fault injection latency

    func faults(_ session: NetnsBackend.Session, backend: NetnsBackend) async {
        let layout = session.layout
        let hosts = layout.hosts.map(\.id)
        guard hosts.count >= 4 else { return }
        let half = hosts.count / 2
        let victim = hosts[1]
        let ds = layout.hosts[1].datastores.first ?? layout.datastores[0]
        let cases: [(String, Fault)] = [
            ("partition half the cluster (\(half)|\(hosts.count - half) hosts)", .partition(groups: [Array(hosts[..<half]), Array(hosts[half...])])),
            ("isolate one host", .isolateHost(victim, storageToo: false)),
            ("unmount \(ds) on one host", .unmountDatastore(ds, hosts: [victim])),
            ("kill -9 of one agent", .killAgent(victim, staysDown: false)),
        ]
        let planner = NetnsPlanner()
        var step = 1000
        for (label, fault) in cases {
            var inject: [Double] = []
            var heal: [Double] = []
            var notes: [String] = []
            var commands = 0
            print("faults: \(label) × \(faultReps)"); fflush(nil)
            for _ in 0..<faultReps {
                step += 1
                // A killed agent is restarted by its watchdog: wait for the new PID first.
                let runtime = await waitForAgents(session, backend: backend, hosts: [victim])
                let plan: FaultPlan
                do {
                    plan = try planner.faultPlan(fault, step: step, layout: layout, runtime: runtime)
                } catch {
                    notes.append("plan: \(error)")
                    break
                }
                commands = plan.injectCommandCount
                let clock = ContinuousClock()
                let t0 = clock.now
                do {
                    _ = try await session.network.inject(plan)
                } catch {
                    notes.append("inject: \(error)")
                    _ = try? await session.network.heal(plan)
                    continue
                }
                let returned = clock.now
                // Observable: poll what can be read without a command (mountinfo, /proc/<pid>) every
                // millisecond; rules are checked with `iptables -S` after inject returned (an exit 0 of
                // `iptables -A` means the rule is in the kernel).
                let observed = await Self.observe(fault, plan: plan, session: session, runtime: runtime, injected: true)
                let inEffect: ContinuousClock.Instant
                switch observed {
                case .polled(let at): inEffect = at
                case .verified: inEffect = returned
                case .failed(let why): notes.append(why); inEffect = returned
                }
                inject.append(Stopwatch.seconds(t0.duration(to: inEffect)))
                try? await Task.sleep(for: .milliseconds(300))
                if !plan.heal.isEmpty {
                    let h0 = clock.now
                    do { _ = try await session.network.heal(plan) } catch { notes.append("heal: \(error)") }
                    let hReturned = clock.now
                    let healed = await Self.observe(fault, plan: plan, session: session, runtime: runtime, injected: false)
                    switch healed {
                    case .polled(let at): heal.append(Stopwatch.seconds(h0.duration(to: at)))
                    case .verified: heal.append(Stopwatch.seconds(h0.duration(to: hReturned)))
                    case .failed(let why): notes.append("heal: " + why)
                    }
                }
                try? await Task.sleep(for: .milliseconds(200))
            }
            let note = ([commands > 0 ? "\(commands) command(s) per injection" : nil] + Array(Set(notes)).prefix(3).map(Optional.some)).compactMap { $0 }.joined(separator: "; ")
            report.add(section: "faults", what: "inject: \(label), 32 hosts", unit: "ms", samples: inject.map { $0 * 1000 }, goal: .atMost(50), note: note.isEmpty ? nil : note)
            if !heal.isEmpty { report.add(section: "faults", what: "heal: \(label)", unit: "ms", samples: heal.map { $0 * 1000 }) }
        }
    }

    /// Waits (up to 10 s) until every listed host has a live agent PID recorded.
    func waitForAgents(_ session: NetnsBackend.Session, backend: NetnsBackend, hosts: [HostID]) async -> NodeRuntime {
        var runtime = backend.runtime(of: session)
        for _ in 0..<100 {
            let ok = hosts.allSatisfy { h in runtime.hosts[h]?.agentPID.map { Self.alive($0) } ?? false }
            if ok { break }
            try? await Task.sleep(for: .milliseconds(100))
            runtime = backend.runtime(of: session)
        }
        return runtime
    }

    static func alive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].split(separator: " ").first
        return state != "Z" && state != "X"
    }

    enum Observation { case polled(ContinuousClock.Instant), verified, failed(String) }

    static func observe(_ fault: Fault, plan: FaultPlan, session: NetnsBackend.Session, runtime: NodeRuntime, injected: Bool) async -> Observation {
        let tag = plan.tag
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(5)
        let layout = session.layout
        func poll(_ done: () -> Bool) async -> Observation {
            while clock.now < deadline {
                if done() { return .polled(clock.now) }
                try? await Task.sleep(for: .milliseconds(1))
            }
            return .failed("not observed within 5 s")
        }
        switch fault {
        case .killAgent(let h, _):
            guard injected, let pid = runtime.hosts[h]?.agentPID else { return .verified }
            return await poll { !alive(pid) }
        case .unmountDatastore(let ds, let hosts):
            guard let h = hosts.first, let pid = runtime.hosts[h]?.agentPID else { return .failed("no agent PID") }
            let point = " \(layout.datastoreMountPoint(ds)) "
            return await poll {
                // Read to the end: a mount put back is the last line, past the first 4 KiB.
                let info = SystemPaths.readWholeFile("/proc/\(pid)/mountinfo") ?? ""
                // The heal bind-mounts it again.
                return info.contains(point) != injected
            }
        case .partition, .isolateHost:
            // The namespaces the plan puts rules in (a partition: one side only).
            let namespaces = plan.inject.compactMap { action -> String? in
                if case .restore(let netns, _, _) = action { netns } else { nil }
            }
            return await verifyRules(namespaces: namespaces, tag: tag, present: injected)
        default:
            return .verified
        }
    }

    static func verifyRules(namespaces: [String], tag: String, present: Bool) async -> Observation {
        let runner = ProcessCommandRunner()
        for netns in namespaces {
            guard let out = try? await runner.run(["ip", "netns", "exec", netns, "iptables", "-w", "5", "-S", NetnsPlanner.inboundChain], timeout: .seconds(10), input: nil) else {
                return .failed("iptables -S failed in \(netns)")
            }
            if out.stdout.contains(tag) != present { return .failed("rule \(tag) \(present ? "missing" : "still present") in \(netns)") }
        }
        return .verified
    }
}
