// MARK: - ControllerError

/// Why the controller could not start or persist its state (I/O edges only; API outcomes are
/// HTTP statuses, never thrown).
struct ControllerError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The failure class.
    enum Code: String, Hashable, Sendable {
        /// A command-line value is invalid.
        case badArgument
        /// The initial configuration is missing or does not decode.
        case badConfig
        /// A state file could not be written.
        case io
    }

    /// The failure class.
    var code: Code
    /// Context for the operator (bounded length).
    var detail: String

    init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail.count > 300 ? String(detail.prefix(300)) + "…" : detail
    }

    var description: String { "\(code.rawValue): \(detail)" }
}
