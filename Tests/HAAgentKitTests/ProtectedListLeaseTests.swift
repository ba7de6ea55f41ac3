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
        #expect(root.files(under: "ds-1/.vSphere-HA/cluster-1") == ["protectedlist"])
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
}
