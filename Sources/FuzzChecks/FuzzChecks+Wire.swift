import Foundation
import HACore
import HAWire

// MARK: - Agent-to-agent datagrams (docs/NODES.md §4)

extension FuzzChecks {
    /// The receiver the wire checks decode for (the seeds in `Fuzz/corpus/wire-decoder` match it).
    public enum Receiver {
        public static let cluster = "cluster-1"
        public static let hosts: Set<HostID> = ["host-1", "host-2", "host-3"]
        /// Key `k1`, secret bytes 1…32.
        public static let keyring = ClusterKeyring(current: "k1", keys: [.init(id: "k1", secret: Array(1...32))])
    }

    /// The receive path of one datagram.
    ///
    /// - ``WireCodec/decode(_:expectedCluster:knownHosts:)`` throws only codec codes, with a
    ///   bounded detail; what it accepts comes from the receiver's cluster, a known host and the
    ///   current version, and re-encodes and decodes to itself (or is too large to send again).
    /// - ``WireAuthenticator/open(_:expectedCluster:knownHosts:keyring:)`` accepts only what the
    ///   codec accepts, with the key id it checked; a fresh ``ReplayGuard`` admits it once and
    ///   rejects it the second time; re-sealed, it opens again.
    /// - ``ClusterKeyring/parse(_:)`` (`keys.json`) accepts only a keyring with its current key.
    public static func wireDecoder(_ bytes: [UInt8]) -> [String] {
        var violations: [String] = []
        let decoded = decode(bytes, &violations)
        open(bytes, decoded: decoded, &violations)
        if case .success(let ring) = ClusterKeyring.parse(Data(bytes)), ring.currentKey == nil || ring.keys.isEmpty {
            violations.append("keyring accepted without its current key")
        }
        return violations
    }

    private static func decode(_ bytes: [UInt8], _ violations: inout [String]) -> Envelope? {
        let envelope: Envelope
        do {
            envelope = try WireCodec.decode(bytes, expectedCluster: Receiver.cluster, knownHosts: Receiver.hosts)
        } catch {
            if error.code == .badMAC || error.code == .replayed { violations.append("decode produced \(error.code)") }
            if error.detail.count > WireError.maxDetailLength + 1 { violations.append("unbounded detail (\(error.detail.count))") }
            return nil
        }
        if envelope.cluster != Receiver.cluster || !Receiver.hosts.contains(envelope.from) || envelope.v != Envelope.currentVersion {
            violations.append("accepted a foreign envelope: \(envelope)")
        }
        do {
            let again = try WireCodec.decode(try WireCodec.encode(envelope), expectedCluster: Receiver.cluster, knownHosts: Receiver.hosts)
            if again != envelope { violations.append("round trip changed the envelope: \(envelope) → \(again)") }
        } catch where error.code == .oversized {
            // Accepted at ≤ 16 KiB but longer once re-encoded (escapes): not sendable, not a decoder fault.
        } catch {
            violations.append("accepted envelope does not re-encode and decode: \(error)")
        }
        return envelope
    }

    private static func open(_ bytes: [UInt8], decoded: Envelope?, _ violations: inout [String]) {
        let envelope: Envelope
        do {
            envelope = try WireAuthenticator.open(bytes, expectedCluster: Receiver.cluster, knownHosts: Receiver.hosts, keyring: Receiver.keyring)
        } catch {
            if error.code == .replayed { violations.append("open produced a replay code") }
            return
        }
        if envelope != decoded { violations.append("open accepted what the codec rejects or decodes differently") }
        if envelope.kid != Receiver.keyring.current { violations.append("opened without the key id it was checked with") }
        var replays = ReplayGuard()
        do {
            try replays.admit(from: envelope.from, epoch: envelope.epoch, seq: envelope.seq)
        } catch {
            violations.append("a first datagram was taken for a replay: \(error)")
        }
        do {
            try replays.admit(from: envelope.from, epoch: envelope.epoch, seq: envelope.seq)
            violations.append("the same (epoch, seq) was admitted twice")
        } catch where error.code != .replayed {
            violations.append("replay check threw \(error)")
        } catch {}
        var unsigned = envelope
        unsigned.mac = nil
        do {
            let sealed = try WireAuthenticator.seal(unsigned, with: Receiver.keyring)
            let reopened = try WireAuthenticator.open(sealed, expectedCluster: Receiver.cluster, knownHosts: Receiver.hosts, keyring: Receiver.keyring)
            if reopened.msg != envelope.msg || reopened.seq != envelope.seq || reopened.from != envelope.from {
                violations.append("re-sealed envelope changed")
            }
        } catch where error.code == .oversized {
        } catch {
            violations.append("an opened envelope does not seal and open again: \(error)")
        }
    }
}
