import Foundation

// MARK: - HostdProtocol

/// The agent ↔ hostd protocol (docs/NODES.md §5): JSON lines on the unix socket `N/run/hostd.sock`.
///
/// The agent writes ``HostdRequest`` lines; hostd writes ``HostdResponse`` lines (one per
/// request, same `id`) interleaved with unsolicited ``HostdEvent`` lines. Both sides frame the
/// stream with ``JSONLineFramer``.
public enum HostdProtocol {
    /// The socket path relative to the node folder `N`.
    public static let socketPath = "run/hostd.sock"

    /// One line hostd sends to the agent.
    public enum Inbound: Hashable, Sendable {
        /// The answer to a request.
        case response(HostdResponse)
        /// An unsolicited event.
        case event(HostdEvent)
    }

    /// Decodes one line from hostd: an object with an `event` key is a ``HostdEvent``,
    /// anything else a ``HostdResponse``.
    ///
    /// - Parameter line: The line's bytes (untrusted).
    /// - Returns: The response or event.
    /// - Throws: ``JSONLineError``.
    public static func decodeInbound(line: some Sequence<UInt8>) throws(JSONLineError) -> Inbound {
        let bytes = Array(line)
        guard bytes.count <= jsonLineMaxBytes else { throw JSONLineError(.lineTooLong, "\(bytes.count) bytes") }
        let probe: Discriminator
        do {
            probe = try JSONDecoder().decode(Discriminator.self, from: Data(bytes))
        } catch {
            throw JSONLineError(.malformed, "hostd line: \(WireCodec.summary(of: error))")
        }
        if probe.event != nil { return .event(try HostdEvent.decode(line: bytes)) }
        return .response(try HostdResponse.decode(line: bytes))
    }

    /// Only the discriminating key.
    struct Discriminator: Decodable {
        var event: String?
    }
}
