import Foundation
import HACore
import HAAgentKit
import HATestKit
import HAWire
import Testing

/// The rogue node of `network.rogueHost`: everything it sends is refused by an agent holding the
/// cluster's real keyring — and would have been accepted by a receiver without authentication.
@Suite struct RogueNodeTests {
    @Test func everyForgedDatagram_isDroppedWithBadMACOrUnknownHost() throws {
        let config = Fixtures.cluster(hosts: 4, datastores: 2, vmsPerHost: 2).config
        let rogue = RogueNode(config: config, bindAddress: "127.0.0.1", interval: .seconds(1))
        let real = ClusterKeyring.generate()
        let known = Set(config.hosts.map(\.id))
        var reasons: [WireError.Code: Int] = [:]
        var wouldBeAccepted = 0
        let datagrams = rogue.datagrams(round: 1)
        #expect(datagrams.count > 10)
        for bytes in datagrams {
            do throws(WireError) {
                _ = try WireAuthenticator.open(bytes, expectedCluster: config.name, knownHosts: known, keyring: real)
                Issue.record("a forged datagram was accepted")
            } catch {
                reasons[error.code, default: 0] += 1
            }
            // Without authentication most of it decodes fine: the keyring is what stops it.
            if (try? WireCodec.decode(bytes, expectedCluster: config.name, knownHosts: known)) != nil { wouldBeAccepted += 1 }
        }
        #expect(Set(reasons.keys) == [.badMAC, .unknownHost])
        #expect(wouldBeAccepted == (reasons[.badMAC] ?? 0))
    }
}
