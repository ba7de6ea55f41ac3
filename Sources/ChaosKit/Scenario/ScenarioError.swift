/// A scenario file that cannot be used, with the position of the offending key or value (DESIGN §7).
///
/// Bad files MUST fail before anything starts, and the message MUST say where and what was
/// expected, so a scenario author can fix the file without reading the parser. The CLI maps this
/// error to exit code 254 (DESIGN §8).
public struct ScenarioError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of problem the file has (for tests and tooling; the message is for people).
    public enum Code: String, Hashable, Sendable, CaseIterable {
        /// The file could not be read (missing, not a regular file, not UTF-8, too large).
        case unreadable
        /// The text is not valid YAML (tabs, unbalanced brackets, duplicate keys, ...).
        case syntax
        /// A required key is absent.
        case missingKey
        /// A key the format does not know (usually a typo).
        case unknownKey
        /// A value of the wrong type (a string where a number goes, a list where a mapping goes).
        case wrongType
        /// A value of the right type that is out of range or not one of the allowed names.
        case invalidValue
        /// A host, datastore or VM that the cluster does not declare.
        case unknownReference
        /// An id or name defined twice.
        case duplicate
    }

    /// What kind of problem the file has.
    public var code: Code
    /// Where the problem is (1-based line and column).
    public var location: SourceLocation
    /// One sentence: what was expected and what was found.
    public var message: String

    /// Creates an error at `location`.
    ///
    /// - Parameters:
    ///   - code: What kind of problem the file has.
    ///   - location: The offending key or value.
    ///   - message: One sentence saying what was expected and what was found.
    public init(code: Code, location: SourceLocation, message: String) {
        self.code = code
        self.location = location
        self.message = message
    }

    /// `<file>:<line>:<column>: error: <message>`, the form compilers use, so editors can jump to it.
    public var description: String { "\(location): error: \(message)" }
}
