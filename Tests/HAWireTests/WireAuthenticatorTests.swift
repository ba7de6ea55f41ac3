import Foundation
import HACore
import HAWire
import Testing

/// Authenticated datagrams (issue 7): HMAC-SHA256 per cluster key, rotation, replay protection.
@Suite struct WireAuthenticatorTests {
    static let ring = ClusterKeyring(current: "k1", keys: [.init(id: "k1", secret: Array(repeating: 7, count: 32))])
    static let other = ClusterKeyring(current: "k1", keys: [.init(id: "k1", secret: Array(repeating: 8, count: 32))])

    static func open(_ bytes: [UInt8], _ ring: ClusterKeyring = ring) throws(WireError) -> Envelope {
        try WireAuthenticator.open(bytes, expectedCluster: Samples.cluster, knownHosts: Samples.hosts, keyring: ring)
    }

    @Test(arguments: Samples.messages)
    func seal_thenOpen_roundTripsEveryMessage(_ message: PeerMessage) throws {
        let bytes = try WireAuthenticator.seal(Samples.envelope(message), with: Self.ring)
        let opened = try Self.open(bytes)
        #expect(opened.msg == message)
        #expect(opened.kid == "k1")
        #expect(opened.mac?.count == 64)
    }

    @Test func open_whenWrongKeyUnsignedUnknownKidOrTampered_throwsBadMAC() throws {
        let sealed = try WireAuthenticator.seal(Samples.envelope(), with: Self.ring)
        #expect(throws: WireError.self) { try Self.open(sealed, Self.other) }
        do { _ = try Self.open(sealed, Self.other) } catch { #expect(error.code == .badMAC) }
        // Unauthenticated (a plain envelope).
        do { _ = try Self.open(try WireCodec.encode(Samples.envelope())); Issue.record("accepted") } catch { #expect(error.code == .badMAC) }
        // A key id the receiver does not hold.
        let foreign = ClusterKeyring(current: "k9", keys: [.init(id: "k9", secret: Array(repeating: 7, count: 32))])
        do { _ = try Self.open(try WireAuthenticator.seal(Samples.envelope(), with: foreign)); Issue.record("accepted") } catch { #expect(error.code == .badMAC) }
        // Tampered: the sender claims another host, the sequence number or payload changes.
        var object = try #require(try JSONSerialization.jsonObject(with: Data(sealed)) as? [String: Any])
        for (key, value) in [("from", "host-3"), ("seq", 43), ("epoch", 1)] as [(String, Any)] {
            var edited = object
            edited[key] = value
            let bytes = [UInt8](try JSONSerialization.data(withJSONObject: edited))
            do throws(WireError) { _ = try Self.open(bytes); Issue.record("tampered \(key) accepted") } catch { #expect(error.code == .badMAC, "\(key)") }
        }
        object["mac"] = "zz"
        let garbled = [UInt8](try JSONSerialization.data(withJSONObject: object))
        do throws(WireError) { _ = try Self.open(garbled); Issue.record("accepted") } catch { #expect(error.code == .badMAC) }
    }

    /// Tampering that keeps the MAC in place (byte edits of the signed part) is caught by the MAC
    /// itself, not by the layout check.
    @Test func open_whenSignedBytesAreEditedInPlace_throwsBadMAC() throws {
        let sealed = String(decoding: try WireAuthenticator.seal(Samples.envelope(), with: Self.ring), as: UTF8.self)
        #expect(sealed.hasPrefix(#"{"mac":""#))
        for (from, to) in [(#""seq":42"#, #""seq":43"#), (#""from":"host-2""#, #""from":"host-3""#), (#""host":"host-2""#, #""host":"host-1""#)] {
            #expect(sealed.contains(from), "\(from) in \(sealed)")
            let edited = Array(sealed.replacingOccurrences(of: from, with: to).utf8)
            do throws(WireError) { _ = try Self.open(edited); Issue.record("edit \(from) → \(to) accepted") } catch { #expect(error.code == .badMAC) }
        }
        #expect(try Self.open(Array(sealed.utf8)).seq == 42)
    }

    @Test func rotation_receiversHoldingOldAndNewKeys_acceptBoth_andDropTheRemovedOne() throws {
        let k2 = ClusterKeyring.Key(id: "k2", secret: Array(repeating: 9, count: 32))
        let during = ClusterKeyring(current: "k2", keys: Self.ring.keys + [k2])
        let after = ClusterKeyring(current: "k2", keys: [k2])
        let old = try WireAuthenticator.seal(Samples.envelope(), with: Self.ring)
        let new = try WireAuthenticator.seal(Samples.envelope(), with: during)
        #expect(try Self.open(old, during).kid == "k1")
        #expect(try Self.open(new, during).kid == "k2")
        #expect(try Self.open(new, after).kid == "k2")
        do { _ = try Self.open(old, after); Issue.record("removed key accepted") } catch { #expect(error.code == .badMAC) }
    }

    @Test func replayGuard_dropsDuplicatesOldEpochsAndOutOfWindow_acceptsReorderingAndRestarts() throws {
        var guardian = ReplayGuard()
        try guardian.admit(from: "host-2", epoch: 100, seq: 10)
        try guardian.admit(from: "host-2", epoch: 100, seq: 12)
        try guardian.admit(from: "host-2", epoch: 100, seq: 11)    // reordered: fine
        try guardian.admit(from: "host-2", epoch: 100, seq: 100)   // 30 is now 70 behind: outside the window
        for (epoch, seq) in [(100, 11), (100, 12), (99, 500), (100, 30), (100, 100)] as [(UInt64, UInt64)] {
            do { try guardian.admit(from: "host-2", epoch: epoch, seq: seq); Issue.record("replay \(epoch)/\(seq) accepted") } catch {
                #expect(error.code == .replayed)
            }
        }
        try guardian.admit(from: "host-3", epoch: 5, seq: 1)       // per sender
        try guardian.admit(from: "host-2", epoch: 101, seq: 1)     // the agent restarted
        do { try guardian.admit(from: "host-2", epoch: 100, seq: 101); Issue.record("pre-restart epoch accepted") } catch { #expect(error.code == .replayed) }
    }

    @Test func keyring_parse_rejectsBadFilesAndRoundTrips() throws {
        let good = try Self.ring.serialized()
        #expect(try ClusterKeyring.parse(good).get() == Self.ring)
        for bad in [
            #"{"current":"k1","keys":[]}"#, #"{"current":"k2","keys":[{"id":"k1","secret":"0707070707070707070707070707070707"}]}"#,
            #"{"current":"k1","keys":[{"id":"k1","secret":"07"}]}"#, #"{"current":"k1","keys":[{"id":"k1","secret":"xyz0"}]}"#,
            "not json", #"{"current":"k1","keys":[{"id":"k1","secret":"07070707070707070707070707070707"},{"id":"k1","secret":"07070707070707070707070707070707"}]}"#,
        ] {
            guard case .failure = ClusterKeyring.parse(Data(bad.utf8)) else { Issue.record("accepted: \(bad)"); continue }
        }
        #expect(ClusterKeyring.generate().keys.first?.secret.count == 32)
        #expect(ClusterKeyring.generate() != ClusterKeyring.generate())
    }
}
