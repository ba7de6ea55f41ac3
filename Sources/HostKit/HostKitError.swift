#if canImport(Glibc)
import Glibc
#endif

/// A failure at one of HostKit's I/O edges (files, processes, sockets, arguments).
///
/// Expected outcomes of the protocol (a VM that finds its lock taken, a refused power-on) are
/// not errors: they are exit codes and ``HostdResponse`` values. This type is for the edges,
/// in the `struct XError { code }` style of the house rules (anchors §5 rule 5).
public struct HostKitError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure.
    public enum Code: String, Hashable, Sendable, CaseIterable {
        /// A file or directory operation failed (see ``errno``).
        case io
        /// A file's content is not what the format says.
        case malformed
        /// A process could not be started or signalled.
        case process
        /// A socket could not be opened, or the peer closed it.
        case socket
        /// No answer in time.
        case timeout
        /// A bad command-line argument or configuration value.
        case configuration
    }

    /// What kind of failure.
    public var code: Code
    /// One sentence for people.
    public var message: String
    /// The operating system's error number, when there is one.
    public var errno: Int32?
    public var file: String
    public var line: UInt

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: What kind of failure.
    ///   - message: One sentence for people, naming the path or process.
    ///   - errno: The operating system's error number, if any.
    public init(_ code: Code, _ message: String, errno: Int32? = nil, file: String = #fileID, line: UInt = #line) {
        self.code = code
        self.message = message
        self.errno = errno
        self.file = file
        self.line = line
    }

    public var description: String {
        guard let errno else { return "\(code.rawValue): \(message)" }
        return "\(code.rawValue): \(message): \(String(cString: strerror(errno))) (errno \(errno))"
    }
}
