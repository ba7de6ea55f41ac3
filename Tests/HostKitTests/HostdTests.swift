import Foundation
import HACore
import HostKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The real `hostd` with real `vm-workload` processes, over its unix socket (NODES.md §5, §6).
@Suite(.serialized, .enabled(if: Binaries.available, Comment(rawValue: Binaries.missingReason)), .timeLimit(.minutes(1)))
struct HostdTests {
    @Test func hostd_powerOnListPowerOff_reportsEventsAndGroundTruth() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        let node = try TestNode(sandbox)
        _ = try await node.startHostd()
        try await node.client.withConnection { (connection: HostdConnection) async throws in
            let (log, drain) = EventLog.collecting(connection)
            defer { drain.cancel() }

            let on = try await connection.request(.powerOn, vm: "vm-01", reason: "initial")
            #expect(on.ok, "\(on)")
            #expect(try await connection.request(.list).vms == ["vm-01"])
            let record = try #require(node.runRecord("vm-01"))
            #expect(ProcessControl.isRunning(pid: record.pid, commandLineContains: record.instance))
            #expect(node.lock("vm-01")?.instance == record.instance)
            #expect(await eventually { await log.contains { $0 == HostdEvent(event: .vmPowerState, vm: "vm-01", on: true, reason: "initial") } })
            #expect(await eventually { await log.contains { $0.event == .guestHeartbeat && $0.vm == "vm-01" } })
            #expect(await eventually { await log.contains { $0.event == .vmIO && $0.vm == "vm-01" } })

            let again = try await connection.request(.powerOn, vm: "vm-01", reason: "restart")
            #expect(!again.ok && again.reason == "already powered on")
            let unknown = try await connection.request(.powerOn, vm: "vm-99", reason: "restart")
            #expect(!unknown.ok && unknown.reason == "unknown vm")

            let off = try await connection.request(.powerOff, vm: "vm-01", reason: "user-poweroff")
            #expect(off.ok, "\(off)")
            #expect(!ProcessControl.isRunning(pid: record.pid, commandLineContains: record.instance))
            #expect(try await connection.request(.list).vms == [])
            #expect(node.runRecord("vm-01") == nil)
            #expect(node.lock("vm-01") == nil, "hostd releases the lock of a VM it powered off")
            #expect(await eventually { await log.contains { $0 == HostdEvent(event: .vmPowerState, vm: "vm-01", on: false, reason: "user-poweroff") } })
            let offAgain = try await connection.request(.powerOff, vm: "vm-01")
            #expect(!offAgain.ok && offAgain.reason == "not running")

            let truth = node.groundTruth.filter { $0.instance == record.instance }
            #expect(truth.map(\.event) == [.start, .stop])
            #expect(truth.map(\.reason) == ["initial", "user-poweroff"])
            #expect(truth.allSatisfy { $0.vm == "vm-01" && $0.host == "host-1" })
        }
    }

    @Test func hostd_whenTheAgentReplacesTheClusterConfiguration_powersOnWhatTheNewOneLists() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        let node = try TestNode(sandbox)
        _ = try await node.startHostd()
        // Older than 50 ms, the first version is settled: hostd caches what it decodes of it.
        try await Task.sleep(for: .milliseconds(100))
        try await node.client.withConnection { (connection: HostdConnection) async throws in
            // hostd keeps the decoded configuration until the file changes.
            #expect(try await connection.request(.powerOn, vm: "vm-01", reason: "initial").ok)
            let unknown = try await connection.request(.powerOn, vm: "vm-03", reason: "initial")
            #expect(!unknown.ok && unknown.reason == "unknown vm")
            // The agent writes a new version and renames it over the old one (a new inode).
            let cluster = ClusterConfig(
                version: 2, hosts: [HostConfig(id: node.host, datastores: ["ds-1"])],
                vms: [VMConfig(id: "vm-01", homeDatastore: "ds-1"), VMConfig(id: "vm-03", homeDatastore: "ds-1")]
            )
            try sandbox.write(String(decoding: try JSONEncoder().encode(cluster), as: UTF8.self), to: "node/config/.clusterconfig.json.tmp")
            #expect(rename(sandbox.path("node/config/.clusterconfig.json.tmp"), node.paths.clusterConfig) == 0)
            let added = try await connection.request(.powerOn, vm: "vm-03", reason: "initial")
            #expect(added.ok, "\(added)")
            #expect(node.lock("vm-03") != nil)
            let removed = try await connection.request(.powerOn, vm: "vm-02", reason: "initial")
            #expect(!removed.ok && removed.reason == "unknown vm")
        }
    }

    @Test func hostd_shutdownResetCrashAndLockedFile_reportReasons() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        let node = try TestNode(sandbox)
        _ = try await node.startHostd()
        try await node.client.withConnection { (connection: HostdConnection) async throws in
            let (log, drain) = EventLog.collecting(connection)
            defer { drain.cancel() }

            // Shutdown with Tools: a clean exit reported with the request's reason.
            #expect(try await connection.request(.powerOn, vm: "vm-01", reason: "initial").ok)
            #expect(try await connection.request(.shutdown, vm: "vm-01", reason: "isolation-response").ok)
            #expect(await eventually { await log.contains { $0 == HostdEvent(event: .vmPowerState, vm: "vm-01", on: false, reason: "isolation-response") } })
            #expect(node.lock("vm-01") == nil)

            // Shutdown without Tools is ignored by the guest; the agent then powers off.
            #expect(try await connection.request(.powerOn, vm: "vm-02", reason: "initial").ok)
            #expect(try await connection.request(.shutdown, vm: "vm-02", reason: "isolation-response").ok)
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await connection.request(.list).vms == ["vm-02"])

            // A hung guest (SIGUSR1) sends no heartbeats; the VM still runs.
            let hung = try #require(node.runRecord("vm-02"))
            #expect(await eventually { await log.count { $0.event == .guestHeartbeat && $0.vm == "vm-02" } > 0 })
            kill(hung.pid, SIGUSR1)
            try await Task.sleep(for: .milliseconds(300))
            let heartbeats = await log.count { $0.event == .guestHeartbeat && $0.vm == "vm-02" }
            try await Task.sleep(for: .milliseconds(500))
            #expect(await log.count { $0.event == .guestHeartbeat && $0.vm == "vm-02" } == heartbeats)
            #expect(try await connection.request(.list).vms == ["vm-02"])
            #expect(try await connection.request(.powerOff, vm: "vm-02", reason: "isolation-response").ok)

            // Reset: a new instance on this host; the old one ends as vm-monitoring-reset.
            #expect(try await connection.request(.powerOn, vm: "vm-01", reason: "restart").ok)
            let before = try #require(node.runRecord("vm-01"))
            #expect(try await connection.request(.reset, vm: "vm-01", reason: "vm-monitoring-reset").ok)
            let after = try #require(node.runRecord("vm-01"))
            #expect(after.instance != before.instance)
            #expect(node.groundTruth.contains { $0.instance == before.instance && $0.event == .stop && $0.reason == "vm-monitoring-reset" })
            #expect(node.groundTruth.contains { $0.instance == after.instance && $0.event == .start })

            // A crash nobody asked for.
            kill(after.pid, SIGKILL)
            #expect(await eventually { node.groundTruth.contains { $0.instance == after.instance && $0.event == .stop } })
            #expect(node.groundTruth.last { $0.instance == after.instance }?.reason == "crashed")
            #expect(await eventually { await log.contains { $0 == HostdEvent(event: .vmPowerState, vm: "vm-01", on: false, reason: "crashed") } })

            // Another live instance holds the lock: power-on fails with "file is locked".
            let holder = try sandbox.spawn(Binaries.vmWorkload, [
                "--vm", "vm-01", "--instance", "vm-01#elsewhere", "--host", "host-9", "--datastore-root", node.datastoreRoot,
                "--datastore", "ds-1", "--lock-renew-ms", "200", "--lock-expiry-ms", "600", "--heartbeat-ms", "100",
            ], output: "holder.out")
            #expect(await eventually { sandbox.read("holder.out")?.contains("LOCKED") == true })
            let refused = try await connection.request(.powerOn, vm: "vm-01", reason: "restart")
            #expect(!refused.ok && refused.reason == "file is locked", "\(refused)")
            #expect(node.runRecord("vm-01") == nil)
            #expect(node.lock("vm-01")?.instance == "vm-01#elsewhere", "a refused power-on leaves the holder's lock alone")
            kill(holder, SIGKILL)
            _ = await sandbox.waitForExit(holder)
        }
    }

    @Test func hostd_whenKilled_vmsKeepRunningAndNewHostdReadoptsThem() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        let node = try TestNode(sandbox)
        let first = try await node.startHostd()
        #expect(try await node.client.send(.powerOn, vm: "vm-01", reason: "initial").ok)
        #expect(try await node.client.send(.powerOn, vm: "vm-02", reason: "initial").ok)
        let vm1 = try #require(node.runRecord("vm-01"))
        let vm2 = try #require(node.runRecord("vm-02"))

        kill(first, SIGKILL)
        #expect(await sandbox.waitForExit(first) == .signaled(signal: SIGKILL))
        try await Task.sleep(for: .milliseconds(400))
        #expect(ProcessControl.isRunning(pid: vm1.pid, commandLineContains: vm1.instance), "VMs survive hostd")
        #expect(ProcessControl.isRunning(pid: vm2.pid, commandLineContains: vm2.instance))

        _ = try await node.startHostd()
        try await node.client.withConnection { (connection: HostdConnection) async throws in
            let (log, drain) = EventLog.collecting(connection)
            defer { drain.cancel() }
            #expect(try await connection.request(.list).vms == ["vm-01", "vm-02"])
            #expect(await eventually { await log.contains { $0.event == .guestHeartbeat && $0.vm == "vm-01" } },
                    "guest heartbeats reach the new hostd")

            #expect(try await connection.request(.powerOff, vm: "vm-01", reason: "user-poweroff").ok)
            #expect(!ProcessControl.isRunning(pid: vm1.pid, commandLineContains: vm1.instance))
            #expect(node.groundTruth.filter { $0.instance == vm1.instance }.map(\.reason) == ["initial", "user-poweroff"])

            kill(vm2.pid, SIGKILL)
            #expect(await eventually { await log.contains { $0 == HostdEvent(event: .vmPowerState, vm: "vm-02", on: false, reason: "crashed") } })
            #expect(try await connection.request(.list).vms == [])
            #expect(node.runRecord("vm-02") == nil)
        }
        #expect(node.groundTruth.filter { $0.event == .start }.count == 2, "re-adoption writes no second start")
    }

    @Test func hostd_whenVMLosesLockWhileHostdIsDown_newHostdReportsLostLock() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        let node = try TestNode(sandbox)
        let first = try await node.startHostd()
        #expect(try await node.client.send(.powerOn, vm: "vm-01", reason: "initial").ok)
        let vm1 = try #require(node.runRecord("vm-01"))
        kill(first, SIGKILL)
        _ = await sandbox.waitForExit(first)

        // Another host breaks the lock while our VM's storage is away, then storage returns.
        try sandbox.makeDirectory("other")
        #expect(rename(sandbox.path("volumes/ds-1"), sandbox.path("other/ds-1")) == 0)
        let breaker = try sandbox.spawn(Binaries.vmWorkload, [
            "--vm", "vm-01", "--instance", "vm-01#host-2-1", "--host", "host-2", "--datastore-root", sandbox.path("other"),
            "--datastore", "ds-1", "--lock-renew-ms", "200", "--lock-expiry-ms", "600", "--heartbeat-ms", "100",
        ], output: "breaker.out")
        #expect(await eventually { sandbox.read("breaker.out")?.contains("LOCKED") == true })
        #expect(rename(sandbox.path("other/ds-1"), sandbox.path("volumes/ds-1")) == 0)
        #expect(await eventually { !ProcessControl.isRunning(pid: vm1.pid, commandLineContains: vm1.instance) })

        _ = try await node.startHostd()
        #expect(await eventually { node.groundTruth.contains { $0.instance == vm1.instance && $0.event == .stop } })
        #expect(node.groundTruth.last { $0.instance == vm1.instance }?.reason == "lost-lock")
        #expect(try await node.client.send(.list).vms == [])
        #expect(node.lock("vm-01")?.instance == "vm-01#host-2-1", "hostd never releases another instance's lock")
        kill(breaker, SIGKILL)
        _ = await sandbox.waitForExit(breaker)
    }

    @Test func hostd_onSIGTERM_powersOffItsVMsAndExits0() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        let node = try TestNode(sandbox)
        let hostd = try await node.startHostd()
        #expect(try await node.client.send(.powerOn, vm: "vm-01", reason: "initial").ok)
        let vm1 = try #require(node.runRecord("vm-01"))
        kill(hostd, SIGTERM)
        let ended = await sandbox.waitForExit(hostd)
        #expect(ended == .exited(code: 0), "hostd \(String(describing: ended))")
        #expect(!ProcessControl.isRunning(pid: vm1.pid, commandLineContains: vm1.instance))
        #expect(node.groundTruth.last { $0.instance == vm1.instance }?.reason == "host-failed")
    }
}
