import ChaosKit
import Foundation
import HACore
import HAWire
import HostKit
import Testing

/// Real processes on loopback addresses (no root, no namespaces): `ha-node` → hostd + ha-agent,
/// `vm-workload` per VM, datastores as directories. Host power-off cannot be emulated here
/// (127.0.0.x always answers ICMP): that is the netns backend's job.
@Suite(.serialized) struct LoopbackClusterTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let binaries = NodeCluster.Binaries(directory: packageRoot + "/.build/debug")

    static func scenario(hosts: Int) throws -> Scenario {
        let yaml = """
        name: loopback
        duration: 60
        cluster:
          datastores:
            - {id: ds-1, type: vmfs}
          hosts: {count: \(hosts)}
          vms: {count: \(hosts)}
        """
        return try ScenarioParser.parse(yaml: yaml, path: "loopback.yaml")
    }

    static func cluster(hosts: Int, scale: Double) throws -> NodeCluster {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hac-e2e-\(UUID().uuidString.prefix(8))").path
        let scenario = try scenario(hosts: hosts)
        var placements: [HostID: NodeCluster.Placement] = [:]
        for (i, host) in scenario.cluster.hosts.enumerated() {
            placements[host.id] = .init(address: "127.0.0.\(11 + i)", datastoreRoot: dir + "/datastores")
        }
        let cluster = NodeCluster(runDirectory: dir, scenario: scenario, settings: Settings().scaled(by: scale),
                                  placements: placements, gateway: "127.0.0.1", binaries: binaries)
        try cluster.prepareFiles(bugs: [])
        return cluster
    }

    static func waitFor(_ seconds: Double, _ condition: () -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return condition()
    }

    static func vmPID(_ cluster: NodeCluster, host: HostID, vm: VMID) -> Int32? {
        guard let data = FileManager.default.contents(atPath: cluster.paths(host).runRecord(vm)),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return (object["pid"] as? NSNumber)?.int32Value
    }

    @Test(.enabled(if: binaries.missing.isEmpty, "node binaries not built (swift build)"), .timeLimit(.minutes(2)))
    func realNodes_electOneMaster_andRestartACrashedVM() async throws {
        let cluster = try Self.cluster(hosts: 3, scale: 0.1)
        defer { try? FileManager.default.removeItem(atPath: cluster.runDirectory) }
        cluster.markStart()
        for host in cluster.cluster.hosts.map(\.id) { try cluster.startNode(host) }
        do {
            try await cluster.placeInitialVMs(timeout: .seconds(20))
            // Election takes 15 s × 0.1; give it a few periods.
            var history = cluster.collectHistory(backend: "loopback", seed: nil, faults: [], hostPower: [], duration: 0)
            let elected = await Self.waitFor(10) {
                history = cluster.collectHistory(backend: "loopback", seed: nil, faults: [], hostPower: [], duration: 0)
                return history.events.contains { if case .roleChanged(.master) = $0.event.kind { true } else { false } }
            }
            #expect(elected, "no master elected; events: \(history.events.suffix(10))")
            let masters = Set(history.events.compactMap { e -> HostID? in if case .roleChanged(.master) = e.event.kind { e.event.host } else { nil } })
            #expect(masters == ["host-3"], "host-3 has the highest id: \(masters)")
            try await Task.sleep(for: .seconds(2))

            // Crash vm-01 (kill -9 by PID): the master restarts it.
            let pid = try #require(Self.vmPID(cluster, host: "host-1", vm: "vm-01"))
            kill(pid, SIGKILL)
            let restarted = await Self.waitFor(20) {
                history = cluster.collectHistory(backend: "loopback", seed: nil, faults: [], hostPower: [], duration: 0)
                // The restart and the crash's end reason come from different files (the master's
                // events, hostd's ground truth); wait until both are on record.
                return history.vmInstances.contains { $0.vm == "vm-01" && $0.startedByHA && $0.end == nil }
                    && history.vmInstances.contains { $0.vm == "vm-01" && !$0.startedByHA && $0.endReason != nil }
            }
            #expect(restarted, "vm-01 was not restarted: \(history.vmInstances) events: \(history.events.suffix(15).map(\.event.kind))")
            let crashed = history.vmInstances.first { $0.vm == "vm-01" && !$0.startedByHA }
            #expect(crashed?.endReason == .crashed)
            #expect(history.diskLocks.contains { $0.vm == "vm-01" }, "journal on the datastore shows who held the lock")
        } catch {
            // A failed step must not leak the nodes (ha-node, hostd, ha-agent, VMs).
            await cluster.stopAll(grace: .seconds(5))
            throw error
        }
        await cluster.stopAll(grace: .seconds(5))
        // Nothing of ours may keep running.
        try await Task.sleep(for: .milliseconds(300))
        for host in cluster.cluster.hosts.map(\.id) {
            #expect(!cluster.isNodeRunning(host), "ha-node of \(host) still alive")
            for pid in cluster.recordedPIDs(host) {
                let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()
                #expect(!String(decoding: cmdline, as: UTF8.self).contains(cluster.runDirectory), "process \(pid) of \(host) left behind")
            }
        }
    }
}
