// MARK: - WireError

/// Why an agent-to-agent datagram was rejected (docs/NODES.md §4).
///
/// Receivers MUST drop a rejected datagram and count it as `HAEvent.Kind.messageDropped`
/// with ``Code-swift.enum/rawValue`` as the reason (once per peer per reason per minute).
/// ``Code-swift.enum/badMAC`` and ``Code-swift.enum/replayed`` are produced by the
/// authentication layer (issue 7), never by ``WireCodec/decode(_:expectedCluster:knownHosts:)``.
public struct WireError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The rejection reason, stable across releases (it appears in `events.jsonl`).
    public enum Code: String, Hashable, Sendable, Codable, CaseIterable {
        /// Larger than ``WireCodec/maxDatagramBytes``.
        case oversized
        /// Not an envelope: invalid JSON, missing or mistyped fields, an unknown message.
        case malformed
        /// `v` is not ``Envelope/currentVersion``.
        case badVersion
        /// `cluster` is not the receiver's cluster.
        case wrongCluster
        /// `from` is not in the receiver's hostlist.
        case unknownHost
        /// The message authentication code is missing or wrong (issue 7).
        case badMAC
        /// `(from, epoch, seq)` was seen before or is too old (issue 7).
        case replayed
    }

    /// The rejection reason.
    public var code: Code
    /// Human-readable context (bounded length; never parsed).
    public var detail: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: The rejection reason.
    ///   - detail: Context for logs; truncated to ``maxDetailLength`` characters.
    public init(_ code: Code, _ detail: String = "") {
        self.code = code
        self.detail = detail.count > Self.maxDetailLength ? String(detail.prefix(Self.maxDetailLength)) + "…" : detail
    }

    /// The longest ``detail`` kept: details can quote attacker-controlled input.
    public static let maxDetailLength = 200

    /// The code, then the detail (for logs).
    public var description: String { detail.isEmpty ? code.rawValue : "\(code.rawValue): \(detail)" }
}
