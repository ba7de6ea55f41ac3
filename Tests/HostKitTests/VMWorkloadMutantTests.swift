import Foundation
import HACore
import HostKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The two mutants of the VM layer (issue 6) in the real `vm-workload`: the same rules the
/// simulator breaks under the same names, so `chaos mutants --backend netns` exercises them.
@Suite(.serialized, .enabled(if: Binaries.available, Comment(rawValue: Binaries.missingReason)), .timeLimit(.minutes(1)))
struct VMWorkloadMutantTests {
    static func start(_ sandbox: Sandbox, instance: String, bugs: [FDM.Bug] = []) throws -> pid_t {
        try sandbox.spawn(Binaries.vmWorkload, [
            "--vm", "vm-01", "--instance", instance, "--host", "host-\(instance)",
            "--datastore-root", sandbox.path("volumes"), "--datastore", "ds-1",
            "--lock-renew-ms", "\(VMWorkloadTests.renewMs)", "--lock-expiry-ms", "\(VMWorkloadTests.expiryMs)", "--heartbeat-ms", "100",
            "--tools", "--shutdown-ms", "2000",
        ] + bugs.flatMap { ["--bug", $0.rawValue] }, output: "\(instance).out")
    }

    @Test func options_passOnlyTheVMLayerMutants() {
        var options = VMWorkload.Options(
            vm: "vm-01", instance: "i", host: "host-1", datastoreRoot: "/v", datastore: "ds-1", lockRenewInterval: .seconds(1),
            lockExpiry: .seconds(3), heartbeatInterval: .seconds(1), hostdSocket: nil, hasTools: true, shutdownTimeout: .seconds(5), exitFile: nil
        )
        options.bugs = [.noAbdication, .lostLockNeverPoweredOff, .powerOnIgnoresLiveDiskLock]
        let arguments = options.arguments
        #expect(arguments.suffix(4) == ["--bug", "lostLockNeverPoweredOff", "--bug", "powerOnIgnoresLiveDiskLock"])
        #expect(!arguments.contains("noAbdication"), "agent mutants are not vm-workload's business")
        #expect(FDM.Bug.allCases.filter(\.isHonouredByHost) == [.powerOnIgnoresLiveDiskLock, .lostLockNeverPoweredOff])
    }

    @Test func powerOnIgnoresLiveDiskLock_breaksALiveLock_andTheHolderDiesOfLostLock() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        try sandbox.makeDirectory("volumes/ds-1")
        let holder = try Self.start(sandbox, instance: "a")
        #expect(await eventually { VMWorkloadTests.locked(sandbox, "a") })
        let intruder = try Self.start(sandbox, instance: "b", bugs: [.powerOnIgnoresLiveDiskLock])
        #expect(await eventually(.seconds(2)) { VMWorkloadTests.locked(sandbox, "b") },
                "the mutant powers on over a lock its holder renews (the correct build exits 3, file is locked)")
        #expect(VMWorkloadTests.lock(sandbox)?.instance == "b")
        #expect(await sandbox.waitForExit(holder, timeout: .seconds(5)) == .exited(code: VMWorkloadExitCode.lostLock.rawValue))
        #expect(ProcessControl.reapIfEnded(intruder) == nil)
    }

    @Test func lostLockNeverPoweredOff_keepsTheLocklessCopyRunning_withoutWriting() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        try sandbox.makeDirectory("volumes/ds-1")
        let stale = try Self.start(sandbox, instance: "a", bugs: [.lostLockNeverPoweredOff])
        #expect(await eventually { VMWorkloadTests.locked(sandbox, "a") })
        // Another instance breaks the lock (as after a split-brain restart elsewhere).
        let fresh = try Self.start(sandbox, instance: "b", bugs: [.powerOnIgnoresLiveDiskLock])
        #expect(await eventually(.seconds(2)) { VMWorkloadTests.locked(sandbox, "b") })
        try await Task.sleep(for: .milliseconds(5 * VMWorkloadTests.renewMs))
        #expect(ProcessControl.reapIfEnded(stale) == nil, "the mutant's lock-less copy keeps running (the correct build exits 4)")
        #expect(VMWorkloadTests.lock(sandbox)?.instance == "b", "the lock-less copy must not fight for the lock")
        let journal = VMWorkloadTests.journal(sandbox)
        let firstFresh = try #require(journal.first { $0.instance == "b" })
        #expect(!journal.contains { $0.instance == "a" && $0.wall > firstFresh.wall + 0.05 }, "the lock-less copy never journals")
        kill(stale, SIGKILL)
        kill(fresh, SIGKILL)
        _ = await sandbox.waitForExit(stale)
        _ = await sandbox.waitForExit(fresh)
    }
}
