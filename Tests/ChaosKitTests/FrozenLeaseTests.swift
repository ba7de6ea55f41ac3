@testable import ChaosKit
import HACore
import Testing

/// How real-node histories read a protectedlist lease whose holder was frozen (INV-P2): found by
/// the netns nightly (seed 2), where host-4's agent was stopped for 55 model seconds after a
/// partition healed, host-3 took the lapsed leases over, and host-4 wrote `lockLost` only when
/// it ran again.
@Suite struct FrozenLeaseTests {
    let expiry = 20.0

    func lock(_ holder: HostID, from: Double, to: Double?) -> ProtectedListLockRecord {
        ProtectedListLockRecord(datastore: "ds-1", holder: holder, from: from, to: to)
    }

    @Test func takeoverAfterTheExpiryWhileTheHolderIsFrozen_endsTheFrozenHoldersInterval() {
        var locks = [lock("host-4", from: 70, to: 168.06), lock("host-3", from: 135.4, to: nil)]
        let faults = [FaultRecord(fault: .stopAgent("host-4"), injectedAt: 113, healedAt: 168)]
        NodeCluster.closeLeasesOfFrozenHolders(&locks, faults: faults, expiry: expiry, slack: 1)
        #expect(locks[0].to == 135.4)
        #expect(locks[1].to == nil)
    }

    @Test func takeoverBeforeTheExpiry_staysAnOverlap() {
        var locks = [lock("host-4", from: 70, to: 168.06), lock("host-3", from: 125, to: nil)]
        let faults = [FaultRecord(fault: .freezeHost("host-4"), injectedAt: 113, healedAt: 168)]
        NodeCluster.closeLeasesOfFrozenHolders(&locks, faults: faults, expiry: expiry, slack: 1)
        #expect(locks[0].to == 168.06, "12 s after the freeze the lease was still valid: taking it is a bug")
    }

    @Test func takeoverWhileTheHolderRuns_staysAnOverlap() {
        var locks = [lock("host-4", from: 70, to: 200), lock("host-3", from: 180, to: nil)]
        let faults = [FaultRecord(fault: .stopAgent("host-4"), injectedAt: 113, healedAt: 168)]
        NodeCluster.closeLeasesOfFrozenHolders(&locks, faults: faults, expiry: expiry, slack: 1)
        #expect(locks[0].to == 200)
    }
}
