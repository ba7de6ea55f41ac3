import ChaosKit
import CrashWriter
import Foundation
import HAAgentKit
import HACore
import HAWire
import HostKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Kill -9 of the datastore writers at random points (issue 7, item 3): every file parses and
/// holds the old or the new content, and agents started on the files afterwards recover.
///
/// In the suite: 1000 kills or 45 s, whichever comes first (at least 200 kills). Long run:
/// `Scripts/crash-consistency [kills]` (`HACHAOS_CRASH_KILLS=<n>`, no time budget).
/// Replay a schedule of delays: `HACHAOS_SEED=<seed> swift test --filter CrashConsistencyTests`.
@Suite(.serialized, .enabled(if: CrashWriterBinary.path != nil, CrashWriterBinary.missingReason), .timeLimit(.minutes(CrashRun.minutes)))
struct CrashConsistencyTests {
    typealias Content = CrashWriterContent
    static let environment = CrashRun.environment

    @Test func writers_whenKilledAtRandomPoints_everyFileHoldsOldOrNewContentAndAgentsRecover() async throws {
        let seed = Self.environment["HACHAOS_SEED"].flatMap { UInt64($0) } ?? 0xC2A5_4001
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hachaos-crash-\(UUID().uuidString)").path
        let writer = try #require(CrashWriterBinary.path)
        var campaign = try CrashCampaign(writer: writer, directory: directory, seed: seed)
        let clock = ContinuousClock()
        let start = clock.now
        // Until the kills are done, or the budget is spent and at least `minimumKills` were done.
        while campaign.figures.kills < CrashRun.kills,
            campaign.figures.kills < CrashRun.minimumKills || CrashRun.budget.map({ start.duration(to: clock.now) < $0 }) ?? true {
            try await campaign.killOnce(maxDelay: .milliseconds(40))
            if !campaign.figures.problems.isEmpty { break }
        }
        let temporary = campaign.leftoverTemporaryFiles()
        print("CrashConsistencyTests seed=\(seed): \(campaign.figures), leftover temp files: \(temporary.count), "
            + "protectedlist at \(campaign.known[.protectedList].map(String.init(describing:)) ?? "-") "
            + "in \(start.duration(to: clock.now)); replay: HACHAOS_SEED=\(seed) swift test --filter CrashConsistencyTests")
        #expect(campaign.figures.problems.isEmpty, "\(campaign.figures.problems.joined(separator: "\n"))")
        #expect(campaign.figures.tornFiles == 0)
        #expect(campaign.figures.killsMidWrite > 0)
        guard campaign.figures.problems.isEmpty else { return }
        try await Self.expectRecovery(campaign, writer: writer, temporary: temporary)
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: - Recovery

    /// A writer run to completion, then a fresh ``DatastoreStore`` (an agent starting on the
    /// post-crash files): reads every file, takes and renews the lease, loses it to another
    /// master after the expiry; the leftover temporary files change nothing.
    static func expectRecovery(_ campaign: CrashCampaign, writer: String, temporary: [String]) async throws {
        let ds = Content.datastore, host = Content.host
        #expect(temporary.allSatisfy { $0.hasPrefix(".") && $0.contains(".tmp-") })

        // The real writer starts on the files, recovers and finishes 30 rounds cleanly.
        let output = campaign.reports + "/final.out"
        let child = try ChildProcess.spawn(
            executable: writer, argv: [writer, campaign.root, "30"], environment: environment, stdout: .appendFile(output), stderr: .appendFile(output)
        )
        let status = await child.wait(timeout: .seconds(60))
        #expect(status == 0, "final writer: \((try? String(contentsOfFile: output, encoding: .utf8))?.suffix(300) ?? "")")

        let store = DatastoreStore(cluster: Content.cluster, root: campaign.root)
        let heartbeat = try #require(store.readHeartbeat(ds, host: host))
        #expect(CrashCampaign.value(of: .heartbeat, in: try #require(FileManager.default.contents(atPath: campaign.haDirectory + "/host-1-hb"))) == .counter(heartbeat))
        let powerOn = try #require(store.readPowerOn(ds, host: host))
        #expect(powerOn.poweredOn.first?.rawValue.hasPrefix("seq-") == true)
        #expect(store.poweredOffMarkers(ds).isEmpty)

        let lease = try #require(store.readProtectedList(ds))
        #expect(lease.owner == host)
        let take = store.takeProtectedList(ds, host: host, vms: Content.protectedVMs(epoch: lease.epoch), expiry: .seconds(30), now: .zero)
        #expect(take.acquired)
        #expect(take.previousVMs == Content.protectedVMs(epoch: lease.epoch))
        #expect(store.renewProtectedList(ds, host: host, vms: Content.protectedVMs(epoch: lease.epoch)))
        #expect(store.readProtectedList(ds)?.renewedCounter == lease.renewedCounter + 2)
        #expect(store.protectedListOwned(ds, expiry: .seconds(30), now: .zero) == true)

        // Another master: the lease is held at first sight, stale after the expiry, then taken
        // over through the claim of the next epoch; the old owner's renewal fails.
        let other = DatastoreStore(cluster: Content.cluster, root: campaign.root, observer: LeaseObserver())
        #expect(!other.acquireProtectedList(ds, host: "host-2", vms: [], expiry: .seconds(30), now: .zero))
        #expect(other.acquireProtectedList(ds, host: "host-2", vms: [], expiry: .seconds(30), now: Instant(nanoseconds: 30_000_000_000)))
        let taken = try #require(store.readProtectedList(ds))
        #expect(taken.owner == "host-2")
        #expect(taken.epoch == lease.epoch + 1)
        #expect(taken.vms == Content.protectedVMs(epoch: lease.epoch), "a takeover never forgets protected VMs")
        #expect(!store.renewProtectedList(ds, host: host, vms: []))

        // The killed writers' temporary files in the HA directory: once older than a minute by
        // the datastore's clock, the agent's sweep removes them and nothing else.
        let haLeftovers = ((try? FileManager.default.contentsOfDirectory(atPath: campaign.haDirectory)) ?? []).filter(DatastoreFiles.isTemporaryName)
        let aged = Date().addingTimeInterval(-(DatastoreFiles.abandonedTemporaryAge + 5))
        for name in haLeftovers {
            try? FileManager.default.setAttributes([.modificationDate: aged], ofItemAtPath: campaign.haDirectory + "/" + name)
        }
        #expect(store.removeAbandonedTemporaries(ds) == haLeftovers.count)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: campaign.haDirectory)) ?? []).filter(DatastoreFiles.isTemporaryName).isEmpty)
        #expect(store.readProtectedList(ds)?.owner == "host-2", "the sweep leaves the real files alone")

        // Heartbeats continue from the recovered counter.
        #expect(store.writeHeartbeat(ds, host: host, counter: heartbeat + 1))
        #expect(store.readHeartbeat(ds, host: host) == heartbeat + 1)

        // vm-workload's view: the lock is ours, the journal reads completely.
        let lock = DiskLock(root: campaign.root, datastore: ds.rawValue, vm: Content.vm.rawValue)
        guard case .held(let file, _) = lock.observe() else {
            Issue.record("lock is not held after recovery: \(lock.observe())")
            return
        }
        #expect(file.instance == Content.instance)
        let journal = HAWire.JournalRecord.parseJournal(try #require(FileManager.default.contents(atPath: lock.journalPath)))
        #expect(journal.records.map(\.seq) == Array(1...UInt64(journal.records.count)))
        #expect(journal.rejectedLines == campaign.figures.tornJournalTails)
    }
}

/// The size of a crash-consistency run.
enum CrashRun {
    static let environment = ProcessInfo.processInfo.environment
    /// Kills to do; a long run sets `HACHAOS_CRASH_KILLS`.
    static let kills = environment["HACHAOS_CRASH_KILLS"].flatMap { Int($0) } ?? 1000
    /// The in-suite run stops after this long even if fewer kills were done…
    static let budget: Duration? = environment["HACHAOS_CRASH_KILLS"] == nil ? .seconds(45) : nil
    /// … but not before this many (a loaded machine starts the writer slowly).
    static let minimumKills = 200
    /// The suite's time limit.
    static let minutes = environment["HACHAOS_CRASH_KILLS"] == nil ? 3 : 24 * 60
}
