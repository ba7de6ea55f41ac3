import Foundation
import HACore
import HostKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The real `vm-workload` against real lock and journal files (NODES.md §3).
@Suite(.serialized, .enabled(if: Binaries.available, Comment(rawValue: Binaries.missingReason)), .timeLimit(.minutes(1)))
struct VMWorkloadTests {
    static let renewMs = 200
    static let expiryMs = 600

    /// Starts one instance of vm-01 on datastore `ds-1` under `root` (relative to the sandbox).
    @discardableResult
    static func start(
        _ sandbox: Sandbox, instance: String, root: String = "volumes", tools: Bool = true
    ) throws -> pid_t {
        try sandbox.spawn(Binaries.vmWorkload, [
            "--vm", "vm-01", "--instance", instance, "--host", "host-\(instance)",
            "--datastore-root", sandbox.path(root), "--datastore", "ds-1",
            "--lock-renew-ms", "\(renewMs)", "--lock-expiry-ms", "\(expiryMs)", "--heartbeat-ms", "100",
            tools ? "--tools" : "--no-tools", "--shutdown-ms", "2000",
        ], output: "\(instance).out")
    }

    static func locked(_ sandbox: Sandbox, _ instance: String) -> Bool {
        sandbox.read("\(instance).out")?.contains("LOCKED\n") == true
    }

    static func lock(_ sandbox: Sandbox, root: String = "volumes") -> DiskLockFile? {
        sandbox.read("\(root)/ds-1/vm-01/lock").flatMap { try? JSONLines.decode(DiskLockFile.self, from: $0) }
    }

    static func journal(_ sandbox: Sandbox, root: String = "volumes") -> [JournalRecord] {
        sandbox.decodeLines(JournalRecord.self, "\(root)/ds-1/vm-01/journal")
    }

    @Test func vmWorkload_whenLockFree_locksRenewsAndJournals() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        try sandbox.makeDirectory("volumes/ds-1")
        let pid = try Self.start(sandbox, instance: "a")
        #expect(await eventually { Self.locked(sandbox, "a") })
        let first = try #require(Self.lock(sandbox))
        #expect(first.instance == "a")
        #expect(first.host == "host-a")
        #expect(await eventually { Self.journal(sandbox).count >= 5 })
        let records = Self.journal(sandbox)
        #expect(records.allSatisfy { $0.instance == "a" && $0.vm == "vm-01" && $0.host == "host-a" })
        #expect(records.map(\.seq) == Array(1...records.count))
        #expect(await eventually { (Self.lock(sandbox)?.counter ?? 0) >= first.counter + 2 })

        kill(pid, SIGTERM)
        #expect(await sandbox.waitForExit(pid) == .exited(code: VMWorkloadExitCode.cleanShutdown.rawValue))
        #expect(sandbox.read("volumes/ds-1/vm-01/lock") == nil, "a clean shutdown releases the lock")
    }

    @Test func vmWorkload_whenLockIsRenewed_secondInstanceExits3WithoutWriting() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        try sandbox.makeDirectory("volumes/ds-1")
        try Self.start(sandbox, instance: "a")
        #expect(await eventually { Self.locked(sandbox, "a") })
        let counterBefore = try #require(Self.lock(sandbox)).counter

        let second = try Self.start(sandbox, instance: "b")
        #expect(await sandbox.waitForExit(second, timeout: .seconds(5)) == .exited(code: VMWorkloadExitCode.fileLocked.rawValue))
        #expect(!Self.locked(sandbox, "b"))
        #expect(Self.lock(sandbox)?.instance == "a")
        #expect(Self.journal(sandbox).allSatisfy { $0.instance == "a" }, "the refused instance never journals")
        #expect(await eventually { (Self.lock(sandbox)?.counter ?? 0) > counterBefore + 1 }, "the holder keeps renewing")
    }

    @Test func vmWorkload_whenHolderKilled_breaksLockOnlyAfterExpiry() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        try sandbox.makeDirectory("volumes/ds-1")
        let holder = try Self.start(sandbox, instance: "a")
        #expect(await eventually { Self.locked(sandbox, "a") })
        kill(holder, SIGKILL)
        #expect(await sandbox.waitForExit(holder) == .signaled(signal: SIGKILL))

        // The lease runs from the holder's last renewal, by the datastore's clock (the lock file's
        // mtime), as an NFS client judges a stale lock.
        var renewed = stat()
        #expect(stat(sandbox.path("volumes/ds-1/vm-01/lock"), &renewed) == 0)
        let lastRenewal = Double(renewed.st_mtim.tv_sec) + Double(renewed.st_mtim.tv_nsec) / 1e9
        try Self.start(sandbox, instance: "c")
        #expect(await eventually { Self.locked(sandbox, "c") })
        var taken = stat()
        #expect(stat(sandbox.path("volumes/ds-1/vm-01/lock"), &taken) == 0)
        let breakTime = Double(taken.st_mtim.tv_sec) + Double(taken.st_mtim.tv_nsec) / 1e9
        let lapse = breakTime - lastRenewal
        #expect(lapse >= Double(Self.expiryMs) / 1000, "broke the lock \(lapse) s after its last renewal, before the \(Self.expiryMs) ms expiry")
        #expect(Self.lock(sandbox)?.instance == "c")
        #expect(await eventually { Self.journal(sandbox).contains { $0.instance == "c" } })
    }

    @Test func vmWorkload_whenStaleInstanceFindsItsLockBroken_exits4() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        // "old" sees the datastore at old/ds-1, "new" at new/ds-1; moving the folder between the
        // two roots unmounts it for one and mounts it for the other.
        try sandbox.makeDirectory("old/ds-1")
        try sandbox.makeDirectory("new")
        let stale = try Self.start(sandbox, instance: "a", root: "old")
        #expect(await eventually { Self.locked(sandbox, "a") })
        #expect(rename(sandbox.path("old/ds-1"), sandbox.path("new/ds-1")) == 0)
        try await Task.sleep(for: .milliseconds(3 * Self.renewMs))
        #expect(ProcessControl.reapIfEnded(stale) == nil, "a VM keeps running in memory while its storage is gone")

        let fresh = try Self.start(sandbox, instance: "b", root: "new")
        #expect(await eventually { Self.locked(sandbox, "b") })
        #expect(Self.lock(sandbox, root: "new")?.instance == "b")
        #expect(await eventually { Self.journal(sandbox, root: "new").contains { $0.instance == "b" } })

        let returned = ContinuousClock.now
        #expect(rename(sandbox.path("new/ds-1"), sandbox.path("old/ds-1")) == 0)
        #expect(await sandbox.waitForExit(stale, timeout: .seconds(5)) == .exited(code: VMWorkloadExitCode.lostLock.rawValue))
        #expect(returned.duration(to: .now) < .seconds(2))
        let journal = Self.journal(sandbox, root: "old")
        let firstFresh = try #require(journal.first { $0.instance == "b" })
        #expect(!journal.contains { $0.instance == "a" && $0.wall > firstFresh.wall }, "the stale copy never wrote after the break")
        #expect(Self.lock(sandbox, root: "old")?.instance == "b", "the stale copy did not touch the new holder's lock")
        #expect(ProcessControl.reapIfEnded(fresh) == nil)
    }

    /// A guest asked to shut down while its disk is gone cannot flush: it does not finish (the
    /// agent forces the power-off after isolationShutdownTimeout), and it completes the clean
    /// shutdown, releasing its lock, once storage returns.
    @Test func vmWorkload_whenShutDownWithoutStorage_hangsUntilStorageReturns() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        try sandbox.makeDirectory("volumes/ds-1")
        try sandbox.makeDirectory("elsewhere")
        let pid = try Self.start(sandbox, instance: "a")
        #expect(await eventually { Self.locked(sandbox, "a") })
        #expect(rename(sandbox.path("volumes/ds-1"), sandbox.path("elsewhere/ds-1")) == 0)
        kill(pid, SIGTERM)
        // Well past --shutdown-ms (2 s): still shutting down, not exited.
        try await Task.sleep(for: .seconds(3))
        #expect(ProcessControl.reapIfEnded(pid) == nil, "a guest with stalled I/O does not finish its shutdown")
        #expect(rename(sandbox.path("elsewhere/ds-1"), sandbox.path("volumes/ds-1")) == 0)
        #expect(await sandbox.waitForExit(pid, timeout: .seconds(5)) == .exited(code: VMWorkloadExitCode.cleanShutdown.rawValue))
        #expect(sandbox.read("volumes/ds-1/vm-01/lock") == nil, "the completed shutdown released the lock")
    }

    @Test func vmWorkload_signals_hungModeAndToolslessShutdown() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        try sandbox.makeDirectory("volumes/ds-1")
        let pid = try Self.start(sandbox, instance: "a", tools: false)
        #expect(await eventually { Self.journal(sandbox).count >= 2 })

        kill(pid, SIGUSR1)
        try await Task.sleep(for: .milliseconds(300))
        let hungCount = Self.journal(sandbox).count
        let hungCounter = Self.lock(sandbox)?.counter ?? 0
        try await Task.sleep(for: .milliseconds(600))
        #expect(Self.journal(sandbox).count == hungCount, "a hung guest does no I/O")
        #expect((Self.lock(sandbox)?.counter ?? 0) > hungCounter, "the lock is still renewed while the guest hangs")

        kill(pid, SIGUSR1)
        #expect(await eventually { Self.journal(sandbox).count > hungCount + 1 })

        kill(pid, SIGTERM)
        try await Task.sleep(for: .milliseconds(500))
        #expect(ProcessControl.reapIfEnded(pid) == nil, "without tools SIGTERM is ignored")
        kill(pid, SIGKILL)
        #expect(await sandbox.waitForExit(pid) == .signaled(signal: SIGKILL))
    }
}
