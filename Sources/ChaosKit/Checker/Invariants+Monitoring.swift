import HACore

// MARK: - VM and application monitoring (oracle §8, §11 INV-VM1…VM4)
//
// VMMonitoringSettings live in the cluster configuration, which backends scale with the run
// (`ClusterConfig.scaled(by:)`): their durations are run seconds and are divided by the scale.

extension Invariants {
    /// One VM-monitoring reset: from `.vmMonitoringReset` evidence, or from ground truth when
    /// an instance ended with `vm-monitoring-reset` and no evidence is within 2 s.
    static func resets(_ c: CheckContext) -> [(time: Double, host: HostID, vm: VMID)] {
        var result = c.monitoringResets
        let slack = c.run(model: 2)
        for i in c.history.vmInstances where i.endReason == .vmMonitoringReset {
            guard let end = i.end else { continue }
            if !result.contains(where: { $0.vm == i.vm && abs($0.time - end) <= slack }) {
                result.append((end, i.host, i.vm))
            }
        }
        return result.sorted { $0.time < $1.time }
    }

    /// The guest hang of `vm` in force at `t`, if any.
    static func hang(of vm: VMID, at t: Double, _ c: CheckContext) -> FaultRecord? {
        c.faults.last { fault in
            guard case .guestHang(let v) = fault.fault, v == vm else { return false }
            return fault.injectedAt <= t && (c.faultEnd(fault).map { $0 >= t } ?? true)
        }
    }

    /// INV-VM1: no reset within min uptime after power-on, nor while the guest did I/O in the
    /// last `das.iostatsInterval` (the guest does I/O unless a guest hang is in force).
    static func vm1(_ c: CheckContext) -> CheckResult {
        let id = "INV-VM1"
        var f = Findings()
        for reset in resets(c) {
            guard let config = c.vm(reset.vm) else { continue }
            let monitoring = config.monitoring
            let minUptime = c.modelSeconds(monitoring.minUptime)
            let ioWindow = c.modelSeconds(monitoring.ioStatsInterval)
            f.expect("no reset of a VM with monitoring off, within \(fmt(minUptime)) s of power-on, or with guest I/O in the last \(fmt(ioWindow)) s (−2 s)")
            guard monitoring.enabled else {
                f.fail("\(reset.host) reset \(reset.vm) at \(c.at(reset.time)) although VM monitoring is off for it", at: reset.time)
                continue
            }
            let instance = c.history.vmInstances.filter { $0.vm == reset.vm && $0.host == reset.host && $0.start < reset.time }.max { $0.start < $1.start }
            guard let instance else {
                f.unknown("no instance of \(reset.vm) on \(reset.host) before its reset at \(c.at(reset.time))")
                continue
            }
            let uptime = c.model(reset.time - instance.start)
            var ok = true
            if uptime < minUptime {
                ok = false
                f.fail("\(reset.vm) reset at \(c.at(reset.time)), \(fmt(uptime)) s after power-on (min uptime \(fmt(minUptime)) s)", at: reset.time)
            }
            if let hang = hang(of: reset.vm, at: reset.time, c) {
                let quiet = c.model(reset.time - max(hang.injectedAt, instance.start))
                if quiet < ioWindow - 2 {
                    ok = false
                    f.fail("\(reset.vm) reset at \(c.at(reset.time)), only \(fmt(quiet)) s after its last I/O (iostats interval \(fmt(ioWindow)) s)", at: reset.time)
                }
            } else {
                ok = false
                f.fail("\(reset.vm) reset at \(c.at(reset.time)) while its guest was not hung (heartbeats and I/O flowing)", at: reset.time)
            }
            if ok { f.pass("\(reset.vm) reset at \(c.at(reset.time)) after \(fmt(uptime)) s up and a quiet guest", at: reset.time) }
        }
        return finish(f, id, noTrigger: "no VM-monitoring reset in this run",
                      expected: "no VM-monitoring reset while the guest did I/O in the last iostats interval (120 s) or within min uptime (120 s) of power-on")
    }

    /// INV-VM2: after a guest hang, the reset comes in T+(51 + failure interval)…(109 + failure
    /// interval) s, i.e. T+81…139 s at the 30 s default (application monitoring: T+59…109 s),
    /// shifted by any remaining min uptime.
    static func vm2(_ c: CheckContext) -> CheckResult {
        let id = "INV-VM2"
        var f = Findings()
        let all = resets(c)
        for fault in c.faults {
            guard case .guestHang(let vm) = fault.fault, let config = c.vm(vm) else { continue }
            let t0 = fault.injectedAt
            let end = c.faultEnd(fault) ?? c.runEnd
            let monitoring = config.monitoring
            let fi = c.modelSeconds(monitoring.failureInterval)
            var window = monitoring.applicationMonitoring ? (lo: 61.0 - 2, hi: 89.0 + 20) : (lo: 51 + fi, hi: 89 + fi + 20)
            if let instance = c.liveInstances(of: vm, at: t0).first {
                let ready = c.model(instance.start - t0) + c.modelSeconds(monitoring.minUptime)
                if ready > window.lo { window = (ready, window.hi + ready - window.lo) }
            }
            let after = all.filter { $0.vm == vm && $0.time >= t0 && $0.time <= end + c.run(model: 2) }
            guard monitoring.enabled else {
                f.expect("\(vm) hangs at \(c.at(t0)) with VM monitoring off: no reset")
                if let r = after.first { f.fail("\(vm) reset at \(c.stamp(r.time, since: t0)) although VM monitoring is off", at: r.time) }
                else if c.model(end - t0) >= window.hi { f.pass("\(vm) not reset (monitoring off) over a \(fmt(c.model(end - t0))) s hang", at: t0) }
                else { f.note("hang of \(vm) lasted \(fmt(c.model(end - t0))) s, under T\(fmt(window.hi))") }
                continue
            }
            f.expect("\(vm) hangs at \(c.at(t0)): reset in [T\(fmt(window.lo)), T\(fmt(window.hi))]")
            if let first = after.first {
                let d = c.model(first.time - t0)
                let text = "\(first.host) reset \(vm) at \(c.stamp(first.time, since: t0))"
                if d < window.lo || d > window.hi { f.fail(text, at: first.time) } else { f.pass(text, at: first.time) }
            } else if c.model(end - t0) < window.hi {
                f.note(end < c.runEnd ? "hang of \(vm) healed at \(c.offset(end, since: t0)), before T\(fmt(window.hi))" : "run ended before T\(fmt(window.hi))")
                if end >= c.runEnd { f.unknown("run ended at \(c.offset(c.runEnd, since: t0)), before \(vm)'s reset deadline T\(fmt(window.hi))") }
            } else {
                f.fail("\(vm) hung from \(c.at(t0)) and was never reset by T\(fmt(window.hi))", at: t0 + c.run(model: window.hi))
            }
        }
        return finish(f, id, noTrigger: "no guest hang in this run",
                      expected: "Tools-heartbeat loss → reset no earlier than ~T+81 s and by ~T+139 s (application heartbeats: T+61…89 s)")
    }

    /// INV-VM3: at most `maxFailures` resets per VM within `maxFailureWindow` (no window: an
    /// absolute count); counters clear at a power cycle that is not itself a reset.
    static func vm3(_ c: CheckContext) -> CheckResult {
        let id = "INV-VM3"
        var f = Findings()
        let all = resets(c)
        for vm in Set(all.map(\.vm)).sorted() {
            guard let config = c.vm(vm) else { continue }
            let monitoring = config.monitoring
            let windowText = monitoring.maxFailureWindow.map { "\(fmt(c.modelSeconds($0))) s" } ?? "no window"
            f.expect("\(vm): at most \(monitoring.maxFailures) resets per \(windowText)")
            // Fresh power-ons (not following a reset) clear the counter.
            let instances = c.history.vmInstances.filter { $0.vm == vm }.sorted { $0.start < $1.start }
            var clears: [Double] = []
            for (i, instance) in instances.enumerated() where i == 0 || instances[i - 1].endReason != .vmMonitoringReset {
                clears.append(instance.start)
            }
            let mine = all.filter { $0.vm == vm }
            var violated = false
            for (i, reset) in mine.enumerated() {
                let clear = clears.last { $0 <= reset.time } ?? 0
                let from = monitoring.maxFailureWindow.map { max(clear, reset.time - $0.inSeconds) } ?? clear
                let count = mine[...i].filter { $0.time >= from }.count
                if count > monitoring.maxFailures {
                    violated = true
                    f.fail("\(vm) reset for the \(count)th time at \(c.at(reset.time)) (max \(monitoring.maxFailures) per \(windowText))", at: reset.time)
                    break
                }
            }
            if !violated { f.pass("\(vm): \(mine.count) reset(s), within \(monitoring.maxFailures) per \(windowText)", at: mine.first?.time) }
        }
        return finish(f, id, noTrigger: "no VM-monitoring reset in this run",
                      expected: "no more than maxFailures (3) resets per VM within maxFailureWindow")
    }

    /// INV-VM4: after a VM-monitoring reset the VM comes back on the same host.
    static func vm4(_ c: CheckContext) -> CheckResult {
        let id = "INV-VM4"
        var f = Findings()
        for instance in c.history.vmInstances where instance.endReason == .vmMonitoringReset {
            guard let end = instance.end else { continue }
            f.expect("\(instance.vm) reset on \(instance.host) at \(c.at(end)) comes back on \(instance.host)")
            let next = c.history.vmInstances.filter { $0.vm == instance.vm && $0.instance != instance.instance && $0.start >= end - c.epsilon }.min { $0.start < $1.start }
            if let next {
                if next.host == instance.host {
                    f.pass("\(instance.vm) reset at \(c.at(end)) and back on \(next.host) at \(c.at(next.start))", at: next.start)
                } else {
                    f.fail("\(instance.vm) reset on \(instance.host) at \(c.at(end)) came back on \(next.host) at \(c.at(next.start))", at: next.start)
                }
            } else if c.model(c.runEnd - end) < 10 {
                f.unknown("run ended within 10 s of \(instance.vm)'s reset")
            } else {
                f.fail("\(instance.vm) reset on \(instance.host) at \(c.at(end)) never came back", at: end)
            }
        }
        return finish(f, id, noTrigger: "no VM-monitoring reset in this run",
                      expected: "a VM-monitoring reset restarts the VM on the same host, never elsewhere")
    }
}
