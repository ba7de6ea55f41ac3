import Foundation
import HACore

/// Writes a ``Scenario`` back as a scenario file in the format ``ScenarioParser`` reads, so that
/// generated schedules (simulate, nightly, shrinking) become ordinary, replayable files.
public enum ScenarioWriter {
    public static func yaml(_ scenario: Scenario) -> String {
        var out: [String] = []
        func q(_ s: String) -> String { quoted(s) }
        func n(_ d: Double) -> String { formatSeconds(d) }
        func list(_ items: [String]) -> String { "[" + items.joined(separator: ", ") + "]" }
        out.append("name: \(scenario.name)")
        if !scenario.description.isEmpty { out.append("description: \(q(scenario.description))") }
        out.append("profile: \"\(scenario.profile.rawValue)\"")
        out.append("duration: \(n(scenario.duration))")
        out.append("cluster:")
        out.append("  name: \(scenario.cluster.name)")
        out.append("  datastores:")
        for ds in scenario.datastores { out.append("    - {id: \(ds.id), type: \(ds.kind.rawValue)}") }
        out.append("  hosts:")
        for host in scenario.cluster.hosts {
            out.append("    - {id: \(host.id), datastores: \(list(host.datastores.map(\.rawValue))), cpuMHz: \(host.cpuMHz), memoryMB: \(host.memoryMB)}")
        }
        out.append("  vms:")
        for vm in scenario.cluster.vms {
            var fields = ["id: \(vm.id)"]
            if let host = scenario.initialPlacement[vm.id] {
                fields.append("host: \(host)")
            } else if let host = scenario.cluster.hosts.first(where: { $0.datastores.contains(vm.homeDatastore) })?.id {
                fields.append("host: \(host)")
                fields.append("poweredOn: false")
            }
            fields.append("datastore: \(vm.homeDatastore)")
            fields.append("priority: \(vm.restartPriority.rawValue)")
            fields.append("isolationResponse: \(vm.isolationResponse.rawValue)")
            if vm.cpuReservationMHz != 0 { fields.append("cpuReservationMHz: \(vm.cpuReservationMHz)") }
            if vm.memoryReservationMB != 0 { fields.append("memoryReservationMB: \(vm.memoryReservationMB)") }
            fields.append("memoryOverheadMB: \(vm.memoryOverheadMB)")
            fields.append("tools: \(vm.hasTools)")
            if !vm.compatibleHosts.isEmpty { fields.append("compatibleHosts: \(list(vm.compatibleHosts.map(\.rawValue)))") }
            if !vm.isProtected, scenario.initialPlacement[vm.id] != nil { fields.append("protected: false") }
            if vm.monitoring.enabled {
                let m = vm.monitoring
                var mf = ["failureInterval: \(n(m.failureInterval.inSeconds))", "minUptime: \(n(m.minUptime.inSeconds))",
                          "maxFailures: \(m.maxFailures)", "ioStatsInterval: \(n(m.ioStatsInterval.inSeconds))", "application: \(m.applicationMonitoring)"]
                if let w = m.maxFailureWindow { mf.append("maxFailureWindow: \(n(w.inSeconds))") }
                fields.append("monitoring: {\(mf.joined(separator: ", "))}")
            }
            out.append("    - {\(fields.joined(separator: ", "))}")
        }
        let c = scenario.cluster
        out.append("ha:")
        out.append("  isolationResponse: \(c.isolationResponse.rawValue)")
        out.append("  isolationAddresses: \(list(c.isolationAddresses))")
        out.append("  isolationPolicyDelay: \(n(scenario.settings.isolationPolicyDelay.inSeconds))")
        switch c.heartbeatDatastorePolicy {
        case .allFeasible: out.append("  heartbeatDatastores: all")
        case .userSelected(let l): out.append("  heartbeatDatastores: " + (l.isEmpty ? "none" : list(l.map(\.rawValue))))
        case .allFeasibleWithUserPreference(let l): out.append("  heartbeatDatastores: {prefer: \(list(l.map(\.rawValue)))}")
        }
        out.append("  heartbeatDatastoresPerHost: \(c.heartbeatDatastoresPerHost)")
        switch c.admissionControl {
        case .disabled: out.append("  admissionControl: disabled")
        case .slots(let f, let cpu, let mem):
            var f2 = ["policy: slots", "hostFailures: \(f)"]
            if let cpu { f2.append("slotCPUCapMHz: \(cpu)") }
            if let mem { f2.append("slotMemoryCapMB: \(mem)") }
            out.append("  admissionControl: {\(f2.joined(separator: ", "))}")
        case .percentage(let cpu, let mem): out.append("  admissionControl: {policy: percentage, cpu: \(cpu), memory: \(mem)}")
        case .failoverHosts(let hosts): out.append("  admissionControl: {policy: failoverHosts, hosts: \(list(hosts.map(\.rawValue)))}")
        }
        out.append("  hostMonitoring: \(c.hostMonitoringEnabled)")
        out.append("  terminateVMOnPDL: \(c.terminateVMOnPDL)")
        if let mask = c.maskCleanShutdownEnabled { out.append("  maskCleanShutdown: \(mask)") }
        out.append("  apdResponse: \(c.apdResponse.rawValue)")
        out.append("  pdlResponse: \(c.pdlResponse.rawValue)")
        if !scenario.steps.isEmpty {
            out.append("faults:")
            for step in scenario.steps {
                var fields = ["at: \(n(step.at))", "fault: \(step.fault.kind)"]
                switch step.fault {
                case .partition(let groups): fields.append("groups: \(list(groups.map { list($0.map(\.rawValue)) }))")
                case .partitionOneWay(let from, let to): fields.append("from: \(list(from.map(\.rawValue)))"); fields.append("to: \(list(to.map(\.rawValue)))")
                case .isolateHost(let h, _), .dropIsolationAddress(let h), .stopAgent(let h), .powerOffHost(let h),
                     .shutdownHost(let h), .freezeHost(let h), .restartHost(let h):
                    fields.append("host: \(h)")
                case .packetLoss(let h, let p): fields.append("host: \(h)"); fields.append("probability: \(p)")
                case .killAgent(let h, let s), .killHostd(let h, let s): fields.append("host: \(h)"); fields.append("staysDown: \(s)")
                case .unmountDatastore(let ds, let hosts), .pdlDatastore(let ds, let hosts), .readOnlyDatastore(let ds, let hosts):
                    fields.append("datastore: \(ds)"); fields.append("hosts: \(list(hosts.map(\.rawValue)))")
                case .killVM(let vm), .guestHang(let vm), .userPowerOff(let vm): fields.append("vm: \(vm)")
                case .userPowerOn(let vm, let host): fields.append("vm: \(vm)"); fields.append("host: \(host)")
                case .managementNetworkOutage, .rogueHost, .controllerDown: break
                }
                if let heal = step.healAt { fields.append("heal: \(n(heal))") }
                out.append("  - {\(fields.joined(separator: ", "))}")
            }
        }
        var invariants: [String] = []
        var outcomes: [String] = []
        for e in scenario.expectations {
            switch e {
            case .invariant(let id): invariants.append(id)
            case .vmRunning(let vm, let on, let notOn, let by):
                var f = ["vm: \(vm)", "by: \(n(by))"]
                if let on { f.append("on: \(on)") }
                if let notOn { f.append("notOn: \(notOn)") }
                outcomes.append("    - vmRunning: {\(f.joined(separator: ", "))}")
            case .vmNeverRestarted(let vm): outcomes.append("    - vmNeverRestarted: \(vm)")
            case .vmDown(let vm, let at): outcomes.append("    - vmDown: {vm: \(vm), at: \(n(at))}")
            case .splitBrainResolved(let vm): outcomes.append("    - splitBrainResolved: \(vm)")
            case .noHAPowerOff: outcomes.append("    - noHAPowerOff: true")
            case .hostState(let observer, let host, let state, let from, let to):
                var f = ["host: \(host)", "state: \(state.rawValue)", "from: \(n(from))", "to: \(n(to))"]
                if let observer { f.append("observer: \(observer)") }
                outcomes.append("    - hostState: {\(f.joined(separator: ", "))}")
            case .master(let host, let at): outcomes.append("    - master: {host: \(host), at: \(n(at))}")
            case .messagesDropped(let reason): outcomes.append("    - messagesDropped: \(reason)")
            }
        }
        if !invariants.isEmpty || !outcomes.isEmpty {
            out.append("expect:")
            if !invariants.isEmpty { out.append("  invariants: \(list(invariants))") }
            if !outcomes.isEmpty { out.append("  outcomes:"); out.append(contentsOf: outcomes) }
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// `text` as a YAML double-quoted scalar that reads back as exactly `text`: `\` and `"`
    /// escaped, and every character YAML does not allow raw in a file (controls, DEL, C1) or
    /// reads as a line break (NEL, U+2028, U+2029), or that is a byte-order mark, written as a
    /// `\uXXXX` escape. (A description with a `"\0"` escape was written raw, and the written file
    /// no longer parsed; found by the scenario-parser fuzz target, issue 7.)
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x5C: out += "\\\\"
            case 0x22: out += "\\\""
            case 0x20...0x7E, 0xA0...0x2027, 0x202A...0xD7FF, 0xE000...0xFEFE, 0xFF00...0xFFFD, 0x10000...: out.unicodeScalars.append(scalar)
            default:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                out += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            }
        }
        return out + "\""
    }
}
