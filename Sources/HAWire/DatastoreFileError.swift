// MARK: - DatastoreFileError

/// Why a datastore file (docs/NODES.md §3) could not be parsed or serialized.
///
/// Readers MUST treat a rejected file like an unreadable one; parsers never trap on input.
public struct DatastoreFileError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The failure class.
    public enum Code: String, Hashable, Sendable, Codable, CaseIterable {
        /// The file has no content.
        case empty
        /// The file exceeds ``DatastoreFiles/maxFileBytes`` (or a journal line its limit).
        case tooLarge
        /// Not the expected syntax (invalid JSON or UTF-8, wrong shape, bad isolation flag).
        case malformed
        /// Well-formed but semantically invalid (an empty id, a non-finite time).
        case invalidValue
        /// The value cannot be written in the file's format.
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
