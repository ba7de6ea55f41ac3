#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - DatastoreIOError

/// Why a datastore file operation failed.
///
/// ``DatastoreStore`` returns these as values (in `Result`), never throws them past its caller;
/// the agent turns a failure into a health check and an FDM event.
public struct DatastoreIOError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The failure class.
    public enum Code: String, Hashable, Sendable, CaseIterable {
        /// A path component (datastore, host, VM or cluster id) is empty or unsafe.
        case invalidPath
        /// The file or a parent directory does not exist (`ENOENT`).
        case notFound
        /// The file system is read-only (`EROFS`) or access is denied.
        case readOnly
        /// Any other system call failure (`EIO`, `ESTALE`, `ENOSPC`, …).
        case ioFailed
        /// The file exceeds the read limit.
        case tooLarge
    }

    /// The failure class.
    public var code: Code
    /// The `errno` value, or 0 when no system call failed.
    public var errno: Int32
    /// The path involved.
    public var path: String
    /// The failing operation, e.g. `rename`.
    public var operation: String

    /// Creates an error.
    public init(code: Code, errno: Int32 = 0, path: String, operation: String) {
        self.code = code
        self.errno = errno
        self.path = path
        self.operation = operation
    }

    /// Classifies a failed system call by its `errno`.
    ///
    /// - Parameters:
    ///   - errno: The value of `errno` right after the call.
    ///   - path: The path involved.
    ///   - operation: The call, e.g. `open`.
    /// - Returns: The error.
    public static func system(_ errno: Int32, path: String, operation: String) -> DatastoreIOError {
        let code: Code =
            switch errno {
            case ENOENT, ENOTDIR: .notFound
            case EROFS, EACCES, EPERM: .readOnly
            default: .ioFailed
            }
        return DatastoreIOError(code: code, errno: errno, path: path, operation: operation)
    }

    /// The code, then the detail (for logs).
    public var description: String {
        if errno == 0 { return "\(code.rawValue): \(operation) \(path)" }
        return "\(code.rawValue): \(operation) \(path): \(String(cString: strerror(errno)))"
    }
}
