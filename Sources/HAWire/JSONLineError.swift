// MARK: - JSONLineError

/// Why a JSON line (agent ↔ hostd protocol, evidence files) could not be framed, decoded or encoded.
///
/// Decoders never trap on input; a peer that sends a rejected line SHOULD be logged, and the
/// stream continues with the next line.
public struct JSONLineError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The failure class.
    public enum Code: String, Hashable, Sendable, Codable, CaseIterable {
        /// A line exceeds the framer's or decoder's limit (64 KiB by default).
        case lineTooLong
        /// Not valid JSON, or not the expected object shape.
        case malformed
        /// Well-formed but semantically invalid (an unknown op or event, a missing VM id, a non-finite time).
        case invalidValue
        /// The value cannot be written as JSON.
        case unencodable
    }

    /// The failure class.
    public var code: Code
    /// Human-readable context (bounded length; never parsed).
    public var detail: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: The failure class.
    ///   - detail: Context for logs, truncated to 200 characters.
    public init(_ code: Code, _ detail: String = "") {
        self.code = code
        self.detail = detail.count > 200 ? String(detail.prefix(200)) + "…" : detail
    }

    /// The code, then the detail (for logs).
    public var description: String { detail.isEmpty ? code.rawValue : "\(code.rawValue): \(detail)" }
}
