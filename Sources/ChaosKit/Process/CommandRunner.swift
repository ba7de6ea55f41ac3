import Foundation

// MARK: - Runner

/// The one way ChaosKit starts external programs (house rule 8): argv as data, a timeout on
/// every call, output capped at ``CommandResult/outputLimit``.
///
/// Implementations MUST NOT go through a shell, MUST kill the child by PID when `timeout`
/// expires, and MUST return (not throw) when the program exits with a non-zero status; use
/// ``CommandRunner/runChecked(_:timeout:input:)`` to turn a non-zero exit into an error.
public protocol CommandRunner: Sendable {
    /// Runs `argv` (`argv[0]` is the program, looked up in `PATH` when it has no slash).
    ///
    /// - Parameters:
    ///   - argv: the program and its arguments, never interpreted by a shell.
    ///   - timeout: the child is killed (SIGKILL, by PID) when it runs longer.
    ///   - input: written to the child's standard input, then closed (`nil`: `/dev/null`).
    /// - Returns: the exit status and the captured output (each stream at most 1 MiB).
    /// - Throws: ``CommandError`` with code `.launchFailed` or `.timedOut`.
    func run(_ argv: [String], timeout: Duration, input: Data?) async throws(CommandError) -> CommandResult
}

/// What a finished command produced.
public struct CommandResult: Hashable, Sendable {
    /// Output beyond this many bytes per stream is dropped (house rule 9).
    public static let outputLimit = 1 << 20

    /// The exit status (`128 + signal` when the child was killed by a signal).
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public init(status: Int32 = 0, stdout: String = "", stderr: String = "") {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

// MARK: - Error

/// Why a command failed.
public struct CommandError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The failure class (extensible-struct pattern of `SubprocessError.Code`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Storage: String, Hashable, Sendable { case launchFailed, timedOut, nonZeroExit }
        private let storage: Storage
        private init(_ storage: Storage) { self.storage = storage }
        /// The program could not be found or started.
        public static let launchFailed = Code(.launchFailed)
        /// The program outlived its timeout and was killed by PID.
        public static let timedOut = Code(.timedOut)
        /// The program exited with a non-zero status (only from ``CommandRunner/runChecked(_:timeout:input:)``).
        public static let nonZeroExit = Code(.nonZeroExit)
        public var description: String { storage.rawValue }
    }

    public var code: Code
    public var argv: [String]
    /// The exit status, when the program ran to its end.
    public var status: Int32?
    public var stdout: String
    public var stderr: String
    /// A human-readable detail (launch error, timeout value).
    public var message: String

    public init(code: Code, argv: [String], status: Int32? = nil, stdout: String = "", stderr: String = "", message: String = "") {
        self.code = code
        self.argv = argv
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
        self.message = message
    }

    public var description: String {
        var text = "\(code): \(argv.joined(separator: " "))"
        if let status { text += " (status \(status))" }
        if !message.isEmpty { text += ": \(message)" }
        let err = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        if !err.isEmpty { text += ": \(err.prefix(500))" }
        return text
    }

    /// Whether a failed undo only says that the thing is already gone (`ip netns del` of a
    /// missing namespace, `umount` of something not mounted, `iptables -D` of a missing rule...).
    ///
    /// The reaper and tear-down ignore these: removing what is not there is success.
    /// Messages are matched in the C locale (``ProcessCommandRunner`` sets `LC_ALL=C`).
    public var isAlreadyGone: Bool {
        guard code == .nonZeroExit else { return false }
        let text = (stderr + " " + stdout).lowercased()
        return Self.alreadyGoneMarkers.contains { text.contains($0) }
    }

    /// Whether a failed `rmdir` of a folder every run shares only says that something else
    /// is still inside (another run's files or cgroups): leaving it is correct.
    public var isStillInUse: Bool {
        guard code == .nonZeroExit else { return false }
        let text = stderr.lowercased()
        return text.contains("directory not empty") || text.contains("device or resource busy") || text.contains("target is busy")
    }

    static let alreadyGoneMarkers = [
        "no such file or directory", "cannot find device", "does not exist", "not mounted",
        "no such process", "cannot open network namespace", "bad rule (does a matching rule exist",
        "no chain/target/match by that name", "no mount point specified", "invalid netns name",
    ]
}

// MARK: - Helpers

extension CommandRunner {
    /// Runs `argv` and throws `.nonZeroExit` unless it exits with status 0.
    ///
    /// - Returns: the result of a successful run.
    @discardableResult
    public func runChecked(_ argv: [String], timeout: Duration = .seconds(30), input: Data? = nil) async throws(CommandError) -> CommandResult {
        let result = try await run(argv, timeout: timeout, input: input)
        guard result.status == 0 else {
            throw CommandError(code: .nonZeroExit, argv: argv, status: result.status, stdout: result.stdout, stderr: result.stderr)
        }
        return result
    }

    /// Runs `argv` without input.
    public func run(_ argv: [String], timeout: Duration = .seconds(30)) async throws(CommandError) -> CommandResult {
        try await run(argv, timeout: timeout, input: nil)
    }
}
