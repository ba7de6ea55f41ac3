import ChaosKit
import Foundation
import HACore
import Testing

extension RootNetnsTests {
    @Suite(.timeLimit(.minutes(3))) struct ReaperCrashTests {
        /// The harness dies mid-run (faults injected, a host frozen, processes running): the
        /// journal alone lets the reaper remove everything.
        @Test func deadHarness_reaperWithTheJournalOnly_leavesNothing() async throws {
            let run = try await RealRun(
                hosts: [("host-1", ["ds-1"]), ("host-2", ["ds-1"]), ("host-3", ["ds-1"])], datastores: ["ds-1"], journalOwner: try await deadPID()
            )
            #expect(!Reaper.liveRuns(journalDirs: [run.journalDir]).contains(run.runID), "the owner PID is dead")
            var sleepers: [ChildProcess] = []
            try await run.run(crash: true) {
                try await run.network.bringUp()
                sleepers.append(try run.startSleeper(in: run.host(1)))
                sleepers.append(try run.startSleeper(in: run.host(2)))
                // A process in a namespace but in no cgroup of ours.
                let stray = ["ip", "netns", "exec", run.layout.gateway.netns, "sleep", "300"]
                sleepers.append(try ChildProcess.spawn(executable: "/usr/sbin/ip", argv: stray, environment: [:]))
                _ = try await run.inject(.partition(groups: [["host-1"], ["host-2"]]), step: 1)
                _ = try await run.inject(.unmountDatastore("ds-1", hosts: ["host-3"]), step: 2)
                _ = try await run.inject(.freezeHost("host-2"), step: 3)
                // ... and the harness is gone: no heal, no tear-down.
            }
            for sleeper in sleepers {
                #expect(await waitForExit(sleeper), "pid \(sleeper.pid) survived the reaper")
            }
        }

        /// The start of a run reaps dead runs found only by name (no journal at all).
        @Test func sweepByName_whenTheJournalIsLost_stillRemovesEverything() async throws {
            let run = try await RealRun(hosts: [("host-1", ["ds-1"])], datastores: ["ds-1"], journalOwner: try await deadPID())
            try await run.run(crash: true) {
                try await run.network.bringUp()
                try FileManager.default.removeItem(atPath: run.journal.path)
            }
        }
    }
}
