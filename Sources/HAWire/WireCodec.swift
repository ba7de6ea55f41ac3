import Foundation
import HACore

// MARK: - WireCodec

/// Encodes and validates ``Envelope`` datagrams (docs/NODES.md §4).
///
/// Decoding is total: any byte array either yields an envelope or throws a ``WireError``; it
/// never traps. Checks run cheapest first (size, header, version, cluster, sender) so a
/// datagram from a foreign cluster is rejected before its payload is decoded.
public enum WireCodec {
    /// The largest datagram accepted or produced (16 KiB).
    public static let maxDatagramBytes = 16 * 1024

    // MARK: - Encoding

    /// Encodes an envelope as one JSON datagram (keys sorted, so output is deterministic).
    ///
    /// - Parameter envelope: The envelope to send.
    /// - Returns: The datagram bytes.
    /// - Throws: ``WireError/Code-swift.enum/oversized`` when the JSON exceeds
    ///   ``maxDatagramBytes`` (the sender MUST NOT send it), ``WireError/Code-swift.enum/malformed``
    ///   when the value cannot be encoded.
    public static func encode(_ envelope: Envelope) throws(WireError) -> [UInt8] {
        let data: Data
        do {
            data = try makeEncoder().encode(envelope)
        } catch {
            throw WireError(.malformed, "cannot encode: \(error)")
        }
        guard data.count <= maxDatagramBytes else {
            throw WireError(.oversized, "\(data.count) bytes > \(maxDatagramBytes)")
        }
        return [UInt8](data)
    }

    // MARK: - Decoding

    /// Decodes and validates one received datagram.
    ///
    /// - Parameters:
    ///   - bytes: The datagram payload, untrusted.
    ///   - expectedCluster: The receiver's cluster name.
    ///   - knownHosts: The receiver's hostlist.
    /// - Returns: The envelope.
    /// - Throws: A ``WireError`` with code `oversized`, `malformed`, `badVersion`,
    ///   `wrongCluster` or `unknownHost`.
    public static func decode(
        _ bytes: [UInt8], expectedCluster: String, knownHosts: Set<HostID>
    ) throws(WireError) -> Envelope {
        guard bytes.count <= maxDatagramBytes else {
            throw WireError(.oversized, "\(bytes.count) bytes > \(maxDatagramBytes)")
        }
        let data = Data(bytes)
        let decoder = JSONDecoder()
        let header: Header
        do {
            header = try decoder.decode(Header.self, from: data)
        } catch {
            throw WireError(.malformed, "header: \(summary(of: error))")
        }
        guard header.v == Envelope.currentVersion else {
            throw WireError(.badVersion, "v=\(header.v), expected \(Envelope.currentVersion)")
        }
        guard header.cluster == expectedCluster else {
            throw WireError(.wrongCluster, "cluster \(header.cluster.debugDescription)")
        }
        guard knownHosts.contains(header.from) else {
            throw WireError(.unknownHost, "from \(header.from.rawValue.debugDescription)")
        }
        do {
            return try decoder.decode(Envelope.self, from: data)
        } catch {
            throw WireError(.malformed, "from \(header.from): \(summary(of: error))")
        }
    }

    // MARK: - Helpers

    /// The fields checked before the payload is decoded.
    struct Header: Decodable {
        var v: Int
        var cluster: String
        var from: HostID
    }

    static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// A short description of a decoding failure: the coding path and the debug text.
    static func summary(of error: any Error) -> String {
        guard let decodingError = error as? DecodingError else { return "\(error)" }
        switch decodingError {
        case .dataCorrupted(let context), .keyNotFound(_, let context), .typeMismatch(_, let context),
            .valueNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        @unknown default:
            return "\(decodingError)"
        }
    }
}
