#if canImport(Glibc)
import Glibc
#endif

/// Starting, watching and signalling processes by PID (posix_spawn, waitpid, /proc).
///
/// Processes are only ever addressed by PID, and a PID that hostd did not spawn itself is
/// trusted only after ``isRunning(pid:commandLineContains:)`` found the expected instance id in
/// `/proc/<pid>/cmdline`, so a recycled PID is never signalled by mistake.
public enum ProcessControl {
    /// Where a child's standard output or error goes.
    public enum Output: Sendable, Equatable {
        /// `/dev/null`.
        case null
        /// A file, opened for appending (created 0644 if absent).
        case appendingTo(path: String)
        /// An open descriptor of the parent (for example a pipe's write end), duplicated.
        case descriptor(Int32)
    }

    /// How a child ended.
    public enum Termination: Sendable, Equatable, CustomStringConvertible {
        case exited(code: Int32)
        case signaled(signal: Int32)

        public var description: String {
            switch self {
            case .exited(let code): "exited with code \(code)"
            case .signaled(let signal): "killed by signal \(signal)"
            }
        }
    }

    /// The session/process-group placement of a new child.
    public enum Grouping: Sendable, Equatable {
        /// Same session and group as the parent.
        case inherit
        /// A new process group (signals to the parent's group do not reach it).
        case newProcessGroup
        /// A new session (`setsid`): survives the death of its parent and its terminal.
        case newSession
    }

    /// Starts `executable` with `arguments` (argv[1...]).
    ///
    /// The child gets `/dev/null` as stdin, default signal dispositions for the signals the
    /// HostKit programs catch or ignore, an empty signal mask, and no descriptor above 2.
    ///
    /// - Parameters:
    ///   - executable: An absolute or relative path (no `PATH` search).
    ///   - arguments: The arguments after argv[0].
    ///   - standardOutput: Where stdout goes.
    ///   - standardError: Where stderr goes.
    ///   - grouping: Session or process-group placement.
    /// - Returns: The child's PID.
    public static func spawn(
        executable: String, arguments: [String], standardOutput: Output, standardError: Output, grouping: Grouping
    ) throws(HostKitError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        for (fd, output) in [(Int32(1), standardOutput), (Int32(2), standardError)] {
            switch output {
            case .null: posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_WRONLY, 0)
            case .appendingTo(let path): posix_spawn_file_actions_addopen(&actions, fd, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            case .descriptor(let source): posix_spawn_file_actions_adddup2(&actions, source, fd)
            }
        }
        if let closeFrom = closeFromAction { _ = closeFrom(&actions, 3) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        switch grouping {
        case .inherit: break
        case .newProcessGroup:
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attributes, 0)
        case .newSession: flags |= spawnSetSID
        }
        posix_spawnattr_setflags(&attributes, Int16(truncatingIfNeeded: flags))
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGPIPE, SIGCHLD, SIGQUIT] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        let argv = ([executable] + arguments).map { strdup($0) }
        defer { argv.forEach { free($0) } }
        var cArgv: [UnsafeMutablePointer<CChar>?] = argv + [nil]
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, &cArgv, environ)
        if result != 0 { throw HostKitError(.process, "cannot start \(executable)", errno: result) }
        return pid
    }

    /// Reaps `pid` if it has ended (own children only; never blocks).
    ///
    /// - Returns: How it ended, or `nil` while it runs (or if it is not our child).
    public static func reapIfEnded(_ pid: pid_t) -> Termination? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        guard result == pid else { return nil }
        return termination(fromWaitStatus: status)
    }

    /// Reaps any ended child (never blocks).
    ///
    /// - Returns: The PID and how it ended, or `nil` when no child has ended.
    public static func reapAnyEnded() -> (pid: pid_t, termination: Termination)? {
        var status: Int32 = 0
        let result = waitpid(-1, &status, WNOHANG)
        guard result > 0 else { return nil }
        return (result, termination(fromWaitStatus: status))
    }

    /// Decodes a `waitpid` status word (the C macros are not visible to Swift).
    public static func termination(fromWaitStatus status: Int32) -> Termination {
        let signal = status & 0x7f
        if signal == 0 { return .exited(code: (status >> 8) & 0xff) }
        return .signaled(signal: signal)
    }

    /// The process's argv from `/proc/<pid>/cmdline` (empty for zombies and gone processes).
    public static func commandLine(of pid: pid_t) -> [String] {
        guard case .content(let bytes) = FileOps.read("/proc/\(pid)/cmdline", limit: 64 * 1024) else { return [] }
        return bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            .filter { !$0.isEmpty }
    }

    /// Whether `pid` is a live (not zombie) process whose command line contains `marker`.
    ///
    /// - Parameters:
    ///   - pid: The process id.
    ///   - marker: Text one argument must contain (an instance id, a node folder).
    public static func isRunning(pid: pid_t, commandLineContains marker: String) -> Bool {
        guard pid > 0, !isZombie(pid) else { return false }
        return commandLine(of: pid).contains { $0.contains(marker) }
    }

    /// Whether `pid` exists and is not a zombie.
    public static func isAlive(_ pid: pid_t) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || Glibc.errno == EPERM else { return false }
        return !isZombie(pid)
    }

    /// Sends `signal` to `pid` (never to a group).
    ///
    /// - Returns: `true` if the signal was delivered.
    @discardableResult
    public static func send(_ signal: Int32, to pid: pid_t) -> Bool {
        guard pid > 0 else { return false }
        return kill(pid, signal) == 0
    }

    // MARK: - Helpers

    private static func isZombie(_ pid: pid_t) -> Bool {
        guard case .content(let bytes) = FileOps.read("/proc/\(pid)/stat", limit: 4096) else { return false }
        // "pid (comm) S ...": the state follows the last ')'.
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")), close + 2 < bytes.count else { return false }
        let state = bytes[close + 2]
        return state == UInt8(ascii: "Z") || state == UInt8(ascii: "X")
    }

    /// `POSIX_SPAWN_SETSID` (glibc ≥ 2.26), hidden from Swift behind `__USE_GNU`.
    private static let spawnSetSID: Int32 = 0x80

    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// `posix_spawn_file_actions_addclosefrom_np` (glibc ≥ 2.34), looked up at run time because
    /// the Glibc module does not export it.
    private static let closeFromAction: CloseFrom? = {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: CloseFrom.self)
    }()
}
