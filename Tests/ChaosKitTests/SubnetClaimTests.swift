import Foundation
import Testing

@testable import ChaosKit

/// Runs that start together must not pick the same /24 (CI saw Docker refuse a second network
/// with "Pool overlaps with other one on this address space" when two of three parallel compose
/// runs chose the same subnet).
@Suite struct SubnetClaimTests {
    /// Run ids that all prefer subnet 1 (the id modulo 512).
    private static let sameSubnetRuns = (0..<12).map { RunID(String(format: "%06x", 1 + 512 * $0))! }

    @Test func concurrentClaims_withTheSamePreferredSubnet_getDistinctSubnets() async throws {
        let dir = try scratchDirectory("claims")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(Set(Self.sameSubnetRuns.map(NetnsLayout.preferredSubnetIndex(for:))) == [1])
        let claims = try await withThrowingTaskGroup(of: Int.self) { group in
            for runID in Self.sameSubnetRuns {
                group.addTask {
                    // The machine shows nothing in use; the slow read widens the window in which
                    // an unlocked chooser would pick what another run is about to create.
                    let (index, _) = try await SubnetClaim.claim(runID: runID, journalDirectory: dir) { () async throws(NetnsError) in
                        try? await Task.sleep(for: .milliseconds(20))
                        return []
                    }
                    return index
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(claims.count == Self.sameSubnetRuns.count)
        #expect(Set(claims) == Set(1...Self.sameSubnetRuns.count))
        // Each claim is in its run's journal header.
        let headers = RunJournal.journalPaths(in: dir).compactMap { try? RunJournal.read(path: $0).header }
        #expect(Set(headers.compactMap(\.subnetIndex)) == Set(claims))
        #expect(SubnetClaim.claimed(journalDirectory: dir) == Set(claims))
    }

    @Test func aDeadRunsClaim_isFree_andWhatTheMachineShows_isNot() async throws {
        let dir = try scratchDirectory("claims-dead")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let dead = try await deadPID()
        let (first, _) = try await SubnetClaim.claim(runID: Self.sameSubnetRuns[0], journalDirectory: dir, ownerPID: dead) { () async throws(NetnsError) in [] }
        #expect(first == 1)
        #expect(SubnetClaim.claimed(journalDirectory: dir).isEmpty)
        // Subnet 1 is free again (its owner died); 2 is on an interface.
        let (second, _) = try await SubnetClaim.claim(runID: Self.sameSubnetRuns[1], journalDirectory: dir) { () async throws(NetnsError) in [2] }
        #expect(second == 1)
        let (third, _) = try await SubnetClaim.claim(runID: Self.sameSubnetRuns[2], journalDirectory: dir) { () async throws(NetnsError) in [2] }
        #expect(third == 3)
    }

    @Test func theLock_isHeldWhileAClaimRuns_andReleasedAfter() async throws {
        let dir = try scratchDirectory("claims-lock")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let probe = LockProbe()
        _ = try await SubnetClaim.claim(runID: Self.sameSubnetRuns[0], journalDirectory: dir) { () async throws(NetnsError) in
            // While the claim runs, nobody else can take the lock.
            let fd = try SubnetClaim.tryAcquire()
            if let fd { close(fd) }
            await probe.record(fd == nil)
            return []
        }
        #expect(await probe.seen == [true])
        #expect(try await Self.lockBecomesFree())
    }

    @Test func aClaimThatFails_releasesTheLock_andWritesNoJournal() async throws {
        let dir = try scratchDirectory("claims-fail")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        await #expect(throws: NetnsError.self) {
            _ = try await SubnetClaim.claim(runID: Self.sameSubnetRuns[0], journalDirectory: dir) { () async throws(NetnsError) in
                throw NetnsError(code: .command, message: "ip -br addr failed")
            }
        }
        await #expect(throws: NetnsError.self) {
            _ = try await SubnetClaim.claim(runID: Self.sameSubnetRuns[1], journalDirectory: dir) { () async throws(NetnsError) in
                Set(0..<NetnsLayout.subnetCount)
            }
        }
        #expect(RunJournal.journalPaths(in: dir).isEmpty)
        #expect(try await Self.lockBecomesFree())
    }

    /// Whether the lock can be taken (and is released at once) within 10 s: other suites of this
    /// process, or another `chaos` on the machine, may hold it briefly; a lock leaked by a failed
    /// claim never frees.
    private static func lockBecomesFree() async throws -> Bool {
        for _ in 0..<1000 {
            if let fd = try SubnetClaim.tryAcquire() {
                close(fd)
                return true
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }
}

private actor LockProbe {
    var seen: [Bool] = []
    func record(_ held: Bool) { seen.append(held) }
}
