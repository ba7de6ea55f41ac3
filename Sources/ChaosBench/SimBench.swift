import ChaosKit
import Foundation
import HACore

#if canImport(Glibc)
import Glibc
#endif

/// CPU seconds used by the calling thread.
func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Simulator speed and checker cost (in-process, virtual time).
enum SimBench {
    /// Simulated seconds per wall second: random nightly-style schedules (`chaos simulate`'s
    /// generator), `vmsPerHost` VMs per host, one seed per repetition; the simulation alone
    /// (no checking), as `SimBackend.runSynchronously`.
    static func speed(report: BenchReport, sizes: [Int], reps: Int, vmsPerHost: Int = 4) {
        let backend = SimBackend()
        for hosts in sizes {
            var speeds: [Double] = []
            var perCPU: [Double] = []
            var simulated = 0.0
            var events = 0
            for rep in 0..<reps {
                let seed = UInt64(7_000 + rep)
                let scenario = ScheduleGenerator.scenario(seed: seed, hosts: hosts, vms: hosts * vmsPerHost)
                let clock = ContinuousClock()
                let t0 = clock.now
                let cpu0 = threadCPUSeconds()
                let history = backend.runSynchronously(scenario, options: RunOptions(timeScale: 1, seed: seed))
                let cpu = threadCPUSeconds() - cpu0
                let wall = Stopwatch.seconds(t0.duration(to: clock.now))
                speeds.append(history.duration / max(wall, 1e-9))
                perCPU.append(history.duration / max(cpu, 1e-9))
                simulated += history.duration
                events += history.events.count
            }
            print("sim: \(hosts) hosts: \(speeds.map { Int($0) })"); fflush(nil)
            report.add(section: "sim", what: "simulator speed, \(hosts) hosts × \(vmsPerHost) VMs", unit: "× real time", samples: speeds,
                       goal: hosts == 8 ? .atLeast(2000) : nil,
                       note: "one random schedule per rep (seeds 7000…), \(Int(simulated / Double(max(reps, 1)))) simulated s and \(events / max(reps, 1)) events per schedule on average; simulation only, no checking")
            report.add(section: "sim", what: "  same, per CPU second of the simulating thread", unit: "× real time", samples: perCPU,
                       note: "simulated s per second of CLOCK_THREAD_CPUTIME_ID: what the simulator does on a core of its own, whatever the machine's load")
        }
    }

    /// A nightly-like history of `seconds` model seconds (nightly generator, 4 hosts as
    /// `chaos nightly`'s default, schedule stretched with episodes until it lasts that long).
    static func nightlyHistory(seconds: Double, hosts: Int = 4, seed: UInt64 = 424_242) -> (Scenario, History) {
        var options = ScheduleGenerator.Options(hosts: hosts)
        var scenario = ScheduleGenerator.scenario(seed: seed, options: options)
        // More episodes until the schedule fills the window, then pad the final quiet period.
        var episodes = 2
        while scenario.duration < seconds, episodes < 40 {
            episodes += 1
            options.episodes = episodes...episodes
            scenario = ScheduleGenerator.scenario(seed: seed, options: options)
        }
        if scenario.duration < seconds { scenario.duration = seconds }
        let history = SimBackend().runSynchronously(scenario, options: RunOptions(timeScale: 1, seed: seed))
        return (scenario, history)
    }

    /// Time to check a 30-minute nightly history (`Checker.check`, nightly invariants and all of them).
    static func checker(report: BenchReport, reps: Int, seconds: Double = 1800) {
        let (scenario, history) = nightlyHistory(seconds: seconds)
        let all = Checker.implemented.map { Expectation.invariant($0) }
        let outcomes = scenario.expectations.filter { if case .invariant = $0 { false } else { true } }
        for (label, expectations) in [("nightly invariants", scenario.expectations), ("every implemented invariant", all + outcomes)] {
            var times: [Double] = []
            var checks = 0
            for _ in 0..<reps {
                let clock = ContinuousClock()
                let t0 = clock.now
                let results = Checker.check(history, expectations: expectations)
                times.append(Stopwatch.seconds(t0.duration(to: clock.now)) * 1000)
                checks = results.count
            }
            report.add(section: "checker", what: "check a \(Int(history.duration / 60))-min nightly history (\(label))", unit: "ms", samples: times,
                       note: "\(scenario.cluster.hosts.count) hosts, \(scenario.steps.count) fault steps, \(history.events.count) events, \(history.vmInstances.count) VM instances, \(checks) checks")
        }
    }
}
