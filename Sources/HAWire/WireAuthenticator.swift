import Crypto
import Foundation
import HACore

// MARK: - WireAuthenticator

/// Authenticated agent datagrams (docs/NODES.md §4, issue 7): HMAC-SHA256 with a per-cluster
/// key, plus replay protection per sender (``ReplayGuard``).
///
/// The MAC covers the exact bytes of the envelope as ``WireCodec`` encodes it with `kid` set
/// and no `mac` (so it binds the version, cluster, sender, epoch, sequence number, key id and
/// payload). The datagram is those bytes with `"mac":"<64 hex>",` inserted as the first member:
/// `{"mac":"…","cluster":…}` — still one JSON envelope, and the receiver recovers the signed
/// bytes by removing that fixed-length prefix, never by re-encoding (JSON encoders do not
/// order dictionary entries canonically).
public enum WireAuthenticator {
    static let prefix = Array(#"{"mac":""#.utf8)
    static let macHexLength = 2 * SHA256.byteCount
    static let separator = Array(#"","#.utf8)
    /// Bytes before the signed envelope's second byte: `{"mac":"` + 64 hex + `",`.
    static let headerLength = prefix.count + macHexLength + separator.count

    /// Seals `envelope` with the keyring's current key and returns the datagram.
    public static func seal(_ envelope: Envelope, with keyring: ClusterKeyring) throws(WireError) -> [UInt8] {
        guard let key = keyring.currentKey else { throw WireError(.badMAC, "no current key") }
        var unsigned = envelope
        unsigned.kid = key.id
        unsigned.mac = nil
        let signed = try WireCodec.encode(unsigned)
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: key.secret))
        let datagram = prefix + Array(ClusterKeyring.hex(Array(mac)).utf8) + separator + signed.dropFirst()
        guard datagram.count <= WireCodec.maxDatagramBytes else {
            throw WireError(.oversized, "\(datagram.count) bytes > \(WireCodec.maxDatagramBytes)")
        }
        return datagram
    }

    /// Decodes, validates and authenticates a received datagram (replays are checked by
    /// ``ReplayGuard``, which keeps per-sender state).
    ///
    /// - Throws: the ``WireCodec`` errors, or ``WireError/Code-swift.enum/badMAC`` when the
    ///   datagram carries no MAC in first position, no `kid`, a key id the ring lacks, or a MAC
    ///   that does not match.
    public static func open(
        _ bytes: [UInt8], expectedCluster: String, knownHosts: Set<HostID>, keyring: ClusterKeyring
    ) throws(WireError) -> Envelope {
        let envelope = try WireCodec.decode(bytes, expectedCluster: expectedCluster, knownHosts: knownHosts)
        guard bytes.count > headerLength, bytes.starts(with: prefix),
              Array(bytes[(prefix.count + macHexLength)..<headerLength]) == separator,
              let received = ClusterKeyring.bytes(fromHex: String(decoding: bytes[prefix.count..<(prefix.count + macHexLength)], as: UTF8.self))
        else { throw WireError(.badMAC, "unauthenticated datagram from \(envelope.from)") }
        guard let kid = envelope.kid else { throw WireError(.badMAC, "no key id from \(envelope.from)") }
        guard let key = keyring.key(kid) else { throw WireError(.badMAC, "unknown key id \(kid.debugDescription) from \(envelope.from)") }
        let signed = [UInt8(ascii: "{")] + bytes[headerLength...]
        guard HMAC<SHA256>.isValidAuthenticationCode(received, authenticating: signed, using: SymmetricKey(data: key.secret)) else {
            throw WireError(.badMAC, "mac mismatch from \(envelope.from)")
        }
        return envelope
    }
}

// MARK: - ReplayGuard

/// Per-sender replay protection: a datagram is fresh when its `(epoch, seq)` is newer than
/// anything seen from that sender, or within the last ``window`` sequence numbers of the
/// current epoch and not seen yet (UDP reorders). An older epoch is a replay: epochs are agent
/// start times in milliseconds, so a restarted agent always moves forward.
public struct ReplayGuard: Sendable {
    struct SenderState: Sendable {
        var epoch: UInt64
        var highest: UInt64
        /// Bit i set: `highest - i` was seen.
        var seen: UInt64
    }

    /// Sequence numbers accepted behind the highest seen.
    public static let window: UInt64 = 64
    var senders: [HostID: SenderState] = [:]

    public init() {}

    /// Records `(epoch, seq)` from `sender` if fresh.
    ///
    /// - Throws: ``WireError/Code-swift.enum/replayed`` when seen before or too old.
    public mutating func admit(from sender: HostID, epoch: UInt64, seq: UInt64) throws(WireError) {
        guard var state = senders[sender], epoch <= state.epoch else {
            senders[sender] = SenderState(epoch: epoch, highest: seq, seen: 1)
            return
        }
        guard epoch == state.epoch else { throw WireError(.replayed, "\(sender): epoch \(epoch) older than \(state.epoch)") }
        if seq > state.highest {
            let shift = seq - state.highest
            state.seen = shift >= Self.window ? 1 : (state.seen << shift) | 1
            state.highest = seq
        } else {
            let age = state.highest - seq
            guard age < Self.window else { throw WireError(.replayed, "\(sender): seq \(seq) older than the window") }
            let bit: UInt64 = 1 << age
            guard state.seen & bit == 0 else { throw WireError(.replayed, "\(sender): seq \(seq) seen before") }
            state.seen |= bit
        }
        senders[sender] = state
    }
}
