import ChaosKit
import Foundation
import HACore

/// Timing fidelity under load: faults/host-failure.yaml and faults/master-failure.yaml at
/// scale 1 on netns with many hosts; the transitions (`result.json`'s `transitions`, model
/// seconds after the fault, as `Transitions.of` computes them) against oracle §4.1/§4.2:
/// declared dead T18 (heartbeat datastores), new master T25, first restart T35.
struct FidelityBench {
    var report: BenchReport
    var sizes: [Int]
    var reps: Int
    var workRoot: String
    var runIDs: [RunID] = []

    /// The master just before `t`: the hosts whose last role change before `t` made them master.
    static func masters(_ history: History, before t: Double) -> [HostID] {
        var role: [HostID: Role] = [:]
        for e in history.events where e.time < t {
            if case .roleChanged(let r) = e.event.kind { role[e.event.host] = r }
        }
        return role.filter { $0.value == .master }.map(\.key).sorted()
    }

    mutating func run() async {
        for hosts in sizes {
            // Who is master at T0: the election rule is deterministic, the simulator says which host.
            let probe: Scenario
            do { probe = try BenchScenarios.idle(hosts: hosts, vmsPerHost: 2, duration: 59) } catch { print("fidelity: \(error)"); continue }
            let simHistory = SimBackend().runSynchronously(probe, options: RunOptions(timeScale: 1, seed: 1))
            guard let master = Self.masters(simHistory, before: 59).first else { print("fidelity: no master in the simulator"); continue }
            let slave = HostID(master == HostID("host-2") ? "host-3" : "host-2")
            var dead: [Double] = [], deadRestart: [Double] = [], newMaster: [Double] = [], masterRestart: [Double] = []
            var notes: [String] = []
            for rep in 1...reps {
                for kind in ["host", "master"] {
                    let scenario: Scenario
                    do {
                        scenario = kind == "host" ? try BenchScenarios.hostFailure(hosts: hosts, victim: slave.rawValue)
                                                  : try BenchScenarios.masterFailure(hosts: hosts, victim: master.rawValue)
                    } catch { notes.append("\(error)"); continue }
                    let dir = "\(workRoot)/fidelity-\(kind)-\(hosts)h-\(rep)"
                    print("fidelity: \(kind)-failure, \(hosts) hosts, scale 1, rep \(rep) (\(Int(scenario.duration)) s)"); fflush(nil)
                    let history: History
                    do {
                        history = try await NetnsBackend().run(scenario, options: RunOptions(timeScale: 1, seed: UInt64(rep), workDirectory: dir))
                    } catch {
                        notes.append("\(kind)-failure \(hosts)h: \(error)")
                        print("  failed: \(error)")
                        continue
                    }
                    if let text = try? String(contentsOfFile: dir + "/run-id", encoding: .utf8), let id = RunID(text) { runIDs.append(id) }
                    let t = Transitions.of(history)
                    let checks = Checker.check(history, expectations: scenario.expectations)
                    let failed = checks.filter { $0.passed == false }.map(\.id)
                    let t0 = history.faults.first?.injectedAt ?? 60
                    let wasMaster = Self.masters(history, before: t0)
                    print("  transitions: \(t.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")); failed checks: \(failed); master at T0: \(wasMaster)")
                    if !failed.isEmpty { notes.append("\(kind)-failure rep \(rep): failed \(failed.joined(separator: ","))") }
                    if kind == "host" {
                        if wasMaster.contains(slave) { notes.append("host-failure: \(slave) was master on netns; skipped"); continue }
                        if let d = t["declaredDead"] { dead.append(d - 18) }
                        if let r = t["firstRestart"] { deadRestart.append(r - 18) }
                    } else {
                        if !wasMaster.contains(master) { notes.append("master-failure: \(master) was not master on netns (masters \(wasMaster)); skipped"); continue }
                        if let m = t["newMaster"] { newMaster.append(m - 25) }
                        if let r = t["firstRestart"] { masterRestart.append(r - 35) }
                    }
                    try? FileManager.default.removeItem(atPath: dir)
                }
            }
            // The issue's goal is stated for 64 hosts; the same tolerance is shown for 32.
            let goal: Goal = .absAtMost(1)
            let note = notes.isEmpty ? nil : Array(Set(notes)).sorted().prefix(4).joined(separator: "; ")
            report.add(section: "fidelity", what: "\(hosts) hosts: host failure, declared dead − T18", unit: "s", samples: dead, goal: goal, note: note)
            report.add(section: "fidelity", what: "\(hosts) hosts: host failure, first restart − T18", unit: "s", samples: deadRestart, goal: goal)
            report.add(section: "fidelity", what: "\(hosts) hosts: master failure, new master − T25", unit: "s", samples: newMaster, goal: goal)
            report.add(section: "fidelity", what: "\(hosts) hosts: master failure, first restart − T35", unit: "s", samples: masterRestart, goal: goal)
        }
    }
}
