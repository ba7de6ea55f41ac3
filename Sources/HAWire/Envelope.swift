import HACore

// MARK: - Envelope

/// One agent-to-agent datagram (docs/NODES.md §4): a ``PeerMessage`` with its sender's identity.
///
/// Encoded as one JSON object,
/// `{"v":1,"cluster":"cluster-1","from":"host-2","epoch":7,"seq":42,"msg":{…}}`, at most
/// ``WireCodec/maxDatagramBytes`` long. `epoch` identifies one start of the sending agent and
/// `seq` counts its datagrams, so receivers can tell restarts and replays apart (issue 7).
/// Use ``WireCodec`` to encode and to decode with validation.
public struct Envelope: Codable, Hashable, Sendable {
    /// The wire format version this build speaks.
    public static let currentVersion = 1

    /// Wire format version; receivers MUST reject any other than ``currentVersion``.
    public var v: Int
    /// The cluster name; receivers MUST reject envelopes of other clusters.
    public var cluster: String
    /// The sending host; receivers MUST reject hosts outside their hostlist.
    public var from: HostID
    /// The sender's agent start id (changes on every agent start).
    public var epoch: UInt64
    /// The sender's datagram counter within `epoch`.
    public var seq: UInt64
    /// The payload.
    public var msg: PeerMessage
    /// The id of the key the MAC was made with (``ClusterKeyring``); omitted when nil.
    public var kid: String?
    /// HMAC-SHA256 (hex) of the envelope without `mac` (``WireAuthenticator``); omitted when nil.
    public var mac: String?

    /// Creates an envelope.
    ///
    /// - Parameters:
    ///   - v: Wire format version (default ``currentVersion``).
    ///   - cluster: The cluster name.
    ///   - from: The sending host.
    ///   - epoch: The sender's agent start id.
    ///   - seq: The sender's datagram counter.
    ///   - msg: The payload.
    ///   - mac: The authentication code, if any.
    public init(
        v: Int = Envelope.currentVersion, cluster: String, from: HostID, epoch: UInt64, seq: UInt64,
        msg: PeerMessage, kid: String? = nil, mac: String? = nil
    ) {
        self.v = v
        self.cluster = cluster
        self.from = from
        self.epoch = epoch
        self.seq = seq
        self.msg = msg
        self.kid = kid
        self.mac = mac
    }
}
