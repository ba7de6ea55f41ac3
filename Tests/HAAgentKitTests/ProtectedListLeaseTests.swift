import Foundation
import HACore
import HAAgentKit
import HAWire
import Testing

/// The protectedlist lease of docs/NODES.md §3, driven with explicit local times (no sleeping).
/// Each host has its own ``LeaseObserver`` (its own clock); times are in each host's seconds.
@Suite struct ProtectedListLeaseTests {
    let expiry = Duration.seconds(20)

    @Test func lease_whenOwnerKeepsRenewing_otherHostNeverAcquires() throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        try root.mount("ds-1")
        let first = root.store(), second = root.store()
        #expect(first.acquireProtectedList("ds-1", host: "host-1", vms: ["vm-01"], expiry: expiry, now: .zero))
        for step in 0...20 {
            let now = Instant.seconds(Double(step) * 5)
            if step > 0 { #expect(first.renewProtectedList("ds-1", host: "host-1", vms: ["vm-01"])) }
            #expect(!second.acquireProtectedList("ds-1", host: "host-2", vms: ["vm-02"], expiry: expiry, now: now))
            #expect(second.protectedListOwned("ds-1", expiry: expiry, now: now) == true)
        }
        #expect(first.readProtectedList("ds-1")?.owner == "host-1")
    }

    @Test func lease_whenOwnerStopsRenewing_otherHostAcquiresAfterExpiryOfItsOwnObservation() throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        try root.mount("ds-1")
        let first = root.store(), second = root.store()
        #expect(first.acquireProtectedList("ds-1", host: "host-1", vms: ["vm-01"], expiry: expiry, now: .zero))
        let before = try #require(first.readProtectedList("ds-1"))
        // host-2's clock starts elsewhere: only spans of its own time matter.
        #expect(!second.acquireProtectedList("ds-1", host: "host-2", vms: ["vm-02"], expiry: expiry, now: .seconds(1000)))
        #expect(!second.acquireProtectedList("ds-1", host: "host-2", vms: ["vm-02"], expiry: expiry, now: .seconds(1019.999)))
        #expect(second.protectedListOwned("ds-1", expiry: expiry, now: .seconds(1019.999)) == true)
        #expect(second.protectedListOwned("ds-1", expiry: expiry, now: .seconds(1020)) == false)
        let takeover = second.takeProtectedList("ds-1", host: "host-2", vms: ["vm-02"], expiry: expiry, now: .seconds(1020))
        #expect(takeover.acquired)
        #expect(takeover.previousVMs == ["vm-01"])
        let after = try #require(second.readProtectedList("ds-1"))
        #expect(after.owner == "host-2")
        #expect(after.epoch == before.epoch + 1)
        #expect(after.renewedCounter > before.renewedCounter)
        #expect(after.vms == ["vm-01", "vm-02"])
        // The old owner learns it lost the lease on its next renewal and cannot release it.
        #expect(!first.renewProtectedList("ds-1", host: "host-1", vms: ["vm-01"]))
        #expect(first.releaseProtectedList("ds-1", host: "host-1"))
        #expect(second.readProtectedList("ds-1")?.owner == "host-2")
    }

    @Test func lease_whenARenewalLandsDuringTheWait_expiryRestarts() throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        try root.mount("ds-1")
        let first = root.store(), second = root.store()
        #expect(first.acquireProtectedList("ds-1", host: "host-1", vms: [], expiry: expiry, now: .zero))
        #expect(!second.acquireProtectedList("ds-1", host: "host-2", vms: [], expiry: expiry, now: .seconds(0)))
        #expect(first.renewProtectedList("ds-1", host: "host-1", vms: []))
        #expect(!second.acquireProtectedList("ds-1", host: "host-2", vms: [], expiry: expiry, now: .seconds(19)))
        #expect(!second.acquireProtectedList("ds-1", host: "host-2", vms: [], expiry: expiry, now: .seconds(38)))
        #expect(second.acquireProtectedList("ds-1", host: "host-2", vms: [], expiry: expiry, now: .seconds(39)))
    }

    @Test func lease_whenReleased_otherHostAcquiresAtOnce() throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        try root.mount("ds-1")
        let first = root.store(), second = root.store()
        #expect(first.acquireProtectedList("ds-1", host: "host-1", vms: ["vm-01", "vm-03"], expiry: expiry, now: .zero))
        #expect(!second.acquireProtectedList("ds-1", host: "host-2", vms: [], expiry: expiry, now: .seconds(5)))
        #expect(first.releaseProtectedList("ds-1", host: "host-1"))
        let released = try #require(first.readProtectedList("ds-1"))
        #expect(released.owner == nil)
        #expect(released.vms == ["vm-01", "vm-03"])
        #expect(second.protectedListOwned("ds-1", expiry: expiry, now: .seconds(5)) == false)
        #expect(!first.renewProtectedList("ds-1", host: "host-1", vms: []))
        let takeover = second.takeProtectedList("ds-1", host: "host-2", vms: ["vm-02"], expiry: expiry, now: .seconds(5))
        #expect(takeover == .init(acquired: true, previousVMs: ["vm-01", "vm-03"]))
        #expect(second.readProtectedList("ds-1")?.vms == ["vm-01", "vm-02", "vm-03"])
        // The lease file and the claim of its current epoch (the one that decided this takeover).
        #expect(root.files(under: "ds-1/.vSphere-HA/cluster-1") == ["protectedlist", DatastoreFiles.protectedListClaimName(epoch: 2)])
    }

    @Test func lease_whenAlreadyOwned_reacquireRenews() throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        try root.mount("ds-1")
        let store = root.store()
        #expect(store.acquireProtectedList("ds-1", host: "host-1", vms: [], expiry: expiry, now: .zero))
        let first = try #require(store.readProtectedList("ds-1"))
        #expect(store.acquireProtectedList("ds-1", host: "host-1", vms: [], expiry: expiry, now: .seconds(1)))
        let second = try #require(store.readProtectedList("ds-1"))
        #expect(second.epoch == first.epoch)
        #expect(second.renewedCounter == first.renewedCounter + 1)
    }

    @Test func lease_whenFileIsGarbage_isTakenOnlyAfterExpiry() throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        try root.mount("ds-1")
        let store = root.store()
        #expect(store.health(of: "ds-1") == .accessible)
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: "\(root.path)/ds-1/.vSphere-HA/cluster-1/protectedlist"))
        #expect(store.protectedListOwned("ds-1", expiry: expiry, now: .zero) == nil)
        #expect(!store.acquireProtectedList("ds-1", host: "host-1", vms: ["vm-01"], expiry: expiry, now: .zero))
        #expect(store.acquireProtectedList("ds-1", host: "host-1", vms: ["vm-01"], expiry: expiry, now: .seconds(20)))
        #expect(store.readProtectedList("ds-1") == ProtectedListFile(owner: "host-1", epoch: 1, renewedCounter: 1, vms: ["vm-01"]))
    }

    @Test func owned_whenNoFileOnAMountedDatastore_isFalse() throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        try root.mount("ds-1")
        let store = root.store()
        #expect(store.health(of: "ds-1") == .accessible)
        #expect(store.protectedListOwned("ds-1", expiry: expiry, now: .zero) == false)
        #expect(store.protectedListOwned("ds-2", expiry: expiry, now: .zero) == nil)
    }

    /// Found on real nodes (management-network-outage on netns): two masters both found the
    /// lease free, both wrote it, both read their own write back and held ds-1 for 136 ms.
    /// The takeover is now decided by an exclusive claim of the new epoch: of concurrent takers
    /// of a free lease exactly one wins, every round.
    @Test func lease_whenFreeAndTakenConcurrently_exactlyOneHostAcquires() async throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        try root.mount("ds-1")
        let hosts: [HostID] = ["host-1", "host-2", "host-3", "host-4"]
        let stores = hosts.map { _ in root.store() }
        var doubleHolds = 0
        for round in 0..<60 {
            // Whoever won last round releases: the lease is free for everyone at once.
            for (store, host) in zip(stores, hosts) { store.releaseProtectedList("ds-1", host: host) }
            let winners = await withTaskGroup(of: HostID?.self) { group in
                for (store, host) in zip(stores, hosts) {
                    group.addTask {
                        store.acquireProtectedList("ds-1", host: host, vms: [], expiry: .seconds(20), now: .seconds(Double(round))) ? host : nil
                    }
                }
                var won: [HostID] = []
                for await winner in group { if let winner { won.append(winner) } }
                return won
            }
            #expect(winners.count == 1, "round \(round): \(winners)")
            if winners.count > 1 { doubleHolds += 1 }
            let file = try #require(stores[0].readProtectedList("ds-1"))
            #expect(winners.first == file.owner)
            // The losers' renewals fail; the winner's succeeds.
            for (store, host) in zip(stores, hosts) {
                #expect(store.renewProtectedList("ds-1", host: host, vms: []) == (host == file.owner))
            }
        }
        #expect(doubleHolds == 0)
        // Past claims are cleaned up: at most the current epoch's claim remains.
        let claims = root.files(under: "ds-1").filter { $0.contains(".claim-") }
        #expect(claims.count <= 1, "\(claims)")
    }

    /// A claimant that died between its claim and its publish does not block the datastore
    /// forever: after the expiry of another host's own observation, the next epoch is claimed.
    @Test func lease_whenAClaimWasNeverPublished_isSteppedOverAfterExpiry() throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        try root.mount("ds-1")
        let first = root.store(), second = root.store()
        #expect(first.acquireProtectedList("ds-1", host: "host-1", vms: ["vm-01"], expiry: expiry, now: .zero))
        #expect(first.releaseProtectedList("ds-1", host: "host-1"))
        let epoch = try #require(first.readProtectedList("ds-1")).epoch
        // host-3 claimed the next epoch and died before publishing.
        let ghost = ProtectedListFile(owner: "host-3", epoch: epoch + 1, renewedCounter: 1, vms: [])
        let claimPath = "\(root.path)/ds-1/.vSphere-HA/cluster-1/" + DatastoreFiles.protectedListClaimName(epoch: epoch + 1)
        try ghost.serialized().write(to: URL(fileURLWithPath: claimPath))
        #expect(!second.acquireProtectedList("ds-1", host: "host-2", vms: [], expiry: expiry, now: .seconds(100)))
        #expect(!second.acquireProtectedList("ds-1", host: "host-2", vms: [], expiry: expiry, now: .seconds(119)))
        #expect(second.acquireProtectedList("ds-1", host: "host-2", vms: [], expiry: expiry, now: .seconds(120)))
        #expect(second.readProtectedList("ds-1")?.epoch == epoch + 2)
        #expect(second.readProtectedList("ds-1")?.owner == "host-2")
    }
}
