import Foundation
import HACore
import HASim

/// Runs scenarios in the deterministic simulator, in virtual time (DESIGN §3).
public struct SimBackend: ClusterBackend {
    public let name = "sim"
    public init() {}

    /// Runs the simulation on a thread of its own: a long simulation must not hold one of the
    /// few cooperative-pool threads (2 on a 2-core machine) that timers and I/O of other runs —
    /// or a parallel batch — need.
    public func run(_ scenario: Scenario, options: RunOptions) async throws -> History {
        await withCheckedContinuation { (continuation: CheckedContinuation<History, Never>) in
            let thread = Thread {
                continuation.resume(returning: runSynchronously(scenario, options: options))
            }
            thread.name = "sim-\(scenario.name)"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// The simulation itself; synchronous and pure (same scenario + seed → same history).
    public func runSynchronously(_ scenario: Scenario, options: RunOptions) -> History {
        let scale = options.timeScale
        let settings = scenario.settings.scaled(by: scale)
        let cluster = scenario.cluster.scaled(by: scale)
        let setup = SimulationSetup(
            cluster: cluster, settings: settings,
            ipStorage: Set(scenario.datastores.filter(\.isIPStorage).map(\.id)),
            initialPlacement: scenario.initialPlacement, seed: options.seed, bugs: options.bugs
        )
        var sim = Simulator(setup)
        var records: [FaultRecord] = []
        // The timeline: injections and heals, in time order (heals first at equal times).
        enum Action { case inject(Int), heal(Int) }
        var timeline: [(time: Double, order: Int, action: Action)] = []
        for (index, step) in scenario.steps.enumerated() {
            timeline.append((step.at * scale, 1, .inject(index)))
            if let heal = step.healAt { timeline.append((heal * scale, 0, .heal(index))) }
        }
        timeline.sort { ($0.time, $0.order) < ($1.time, $1.order) }
        var recordIndex: [Int: Int] = [:]
        var faultLines: [(time: Double, text: String)] = []
        for entry in timeline {
            sim.run(until: .seconds(entry.time))
            switch entry.action {
            case .inject(let index):
                let step = scenario.steps[index]
                records.append(FaultRecord(fault: step.fault, injectedAt: sim.now.seconds))
                recordIndex[index] = records.count - 1
                SimFaultPlanner.inject(step.fault, id: index, into: &sim)
                faultLines.append((sim.now.seconds, "inject \(step.fault.kind) \(step.fault.targets.joined(separator: " "))"))
            case .heal(let index):
                let step = scenario.steps[index]
                SimFaultPlanner.heal(step.fault, id: index, into: &sim)
                if let r = recordIndex[index] { records[r].healedAt = sim.now.seconds }
                faultLines.append((sim.now.seconds, "heal \(step.fault.kind) \(step.fault.targets.joined(separator: " "))"))
            }
        }
        let end = scenario.duration * scale
        sim.run(until: .seconds(end))
        let trace = sim.finish()
        if let progress = options.progress {
            // Virtual time runs in an instant: progress is the run's story, in order, afterwards.
            var lines = faultLines.map { (time: $0.time, order: 0, text: "t=\(formatSeconds($0.time / scale))s \($0.text)") }
            for event in trace.events {
                if let line = ProgressLine.line(for: event, timeScale: scale) { lines.append((event.time, 1, line)) }
            }
            lines.sort { ($0.time, $0.order) < ($1.time, $1.order) }
            for line in lines { progress(line.text) }
        }
        return History(
            scenario: scenario.name, backend: name, timeScale: scale, seed: options.seed, settings: settings,
            cluster: cluster, datastores: scenario.datastores, faults: records, events: trace.events,
            vmInstances: trace.vmInstances, diskLocks: trace.diskLocks, hostPower: trace.hostPower,
            protectedListLocks: trace.protectedListLocks, fileObservations: trace.fileObservations, duration: end
        )
    }
}

/// Fault → simulator operations (the simulator's fault planner; DESIGN §6).
public enum SimFaultPlanner {
    public static func inject(_ fault: Fault, id: Int, into sim: inout Simulator) {
        switch fault {
        case .partition(let groups): sim.partition(id: id, groups: groups)
        case .partitionOneWay(let from, let to): sim.cutOneWay(id: id, from: from, to: to)
        case .isolateHost(let host, let storageToo): sim.isolate(host, storageToo: storageToo)
        case .dropIsolationAddress(let host): sim.dropIsolationAddress(host, true)
        case .packetLoss(let host, let p): sim.setLoss(host, probability: p)
        case .managementNetworkOutage: sim.setManagementOutage(true)
        case .unmountDatastore(let ds, let hosts): sim.storage(.unmount, ds, on: hosts)
        case .pdlDatastore(let ds, let hosts): sim.storage(.permanentDeviceLoss, ds, on: hosts)
        case .readOnlyDatastore(let ds, let hosts): sim.storage(.readOnly, ds, on: hosts)
        case .killAgent(let host, let staysDown): sim.killAgent(host, staysDown: staysDown)
        case .killHostd(let host, let staysDown): sim.killHostd(host, staysDown: staysDown)
        case .killVM(let vm): sim.killVM(vm)
        case .stopAgent(let host): sim.stopAgent(host, true)
        case .powerOffHost(let host): sim.powerOff(host)
        case .shutdownHost(let host): sim.shutdown(host)
        case .freezeHost(let host): sim.freeze(host, true)
        case .restartHost(let host): sim.restart(host)
        case .controllerDown: sim.setControllerUp(false)
        case .rogueHost: sim.setRogue(true)
        case .guestHang(let vm): sim.hangGuest(vm, true)
        case .userPowerOff(let vm): sim.userPowerOff(vm)
        case .userPowerOn(let vm, let host): sim.userPowerOn(vm, on: host)
        }
    }

    public static func heal(_ fault: Fault, id: Int, into sim: inout Simulator) {
        switch fault {
        case .partition: sim.healPartition(id: id)
        case .partitionOneWay: sim.healOneWay(id: id)
        case .isolateHost(let host, _): sim.healIsolation(host)
        case .dropIsolationAddress(let host): sim.dropIsolationAddress(host, false)
        case .packetLoss(let host, _): sim.setLoss(host, probability: 0)
        case .managementNetworkOutage: sim.setManagementOutage(false)
        case .unmountDatastore(let ds, let hosts): sim.storage(.unmount, ds, on: hosts, heal: true)
        case .pdlDatastore(let ds, let hosts): sim.storage(.permanentDeviceLoss, ds, on: hosts, heal: true)
        case .readOnlyDatastore(let ds, let hosts): sim.storage(.readOnly, ds, on: hosts, heal: true)
        case .killAgent(let host, _): sim.reviveAgent(host)
        case .killHostd(let host, _): sim.reviveHostd(host)
        case .stopAgent(let host): sim.stopAgent(host, false)
        case .powerOffHost(let host), .shutdownHost(let host): sim.powerOn(host)
        case .freezeHost(let host): sim.freeze(host, false)
        case .controllerDown: sim.setControllerUp(true)
        case .rogueHost: sim.setRogue(false)
        case .guestHang(let vm): sim.hangGuest(vm, false)
        case .killVM, .restartHost, .userPowerOff, .userPowerOn: break
        }
    }
}
