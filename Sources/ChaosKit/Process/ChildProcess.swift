import Foundation
import NetnsShim
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A child started with `posix_spawn` (no shell), reaped by its own waiter thread.
///
/// Why not `Foundation.Process`: in the Swift 6.3.1 toolchain `Process.run()` on Linux
/// intermittently dies with SIGSEGV (a 256-byte over-read of `dirent.d_name` in
/// `findMaximumOpenFromProcSelfFD`, fixed upstream by swift-corelibs-foundation PR #5472);
/// a harness that crashes mid-run leaves faults behind.
///
/// Kill by PID is race-free here: the waiter first *observes* the exit with
/// `waitid(WNOWAIT)`, records it under the lock, and only then reaps. ``signal(_:)`` sends
/// only while no exit is recorded, so the PID still names our child (at worst a zombie).
public final class ChildProcess: Sendable {
    /// The child's PID.
    public let pid: Int32
    private let state = Mutex(State())

    private struct State {
        var exited = false
        var status: Int32?
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    /// Every spawn happens under this lock, so that pipes made by one spawn (close-on-exec is
    /// set right after `pipe`) never leak into a child of another.
    private static let spawnLock = Mutex(())

    private init(pid: Int32) { self.pid = pid }

    // MARK: - Spawning

    /// Where a standard stream of the child goes.
    public enum Stream: Sendable {
        /// `/dev/null`.
        case null
        /// A file opened for appending (created 0644 if missing).
        case appendFile(String)
        /// An existing descriptor (dup2'ed into the child; the caller keeps and closes it).
        case descriptor(Int32)
    }

    /// Starts `executable` with `argv` (argv[0] included) and `environment`.
    ///
    /// SIGPIPE is reset to its default and the signal mask cleared in the child.
    /// - Parameter networkNamespace: an open descriptor of a network namespace (`/run/netns/…`):
    ///   the child starts in it, as under `nsenter --net=…` but without nsenter's own exec
    ///   (`hac_posix_spawn_in_netns`: a thread of its own joins the namespace, spawns, and is
    ///   joined before this returns, so no code of the harness ever runs in the namespace).
    /// - Throws: ``CommandError`` `.launchFailed` with the `posix_spawn` (or `setns`) error.
    public static func spawn(
        executable: String, argv: [String], environment: [String: String],
        stdin: Stream = .null, stdout: Stream = .null, stderr: Stream = .null, networkNamespace: Int32? = nil
    ) throws(CommandError) -> ChildProcess {
        let child = try spawnLock.withLock { (_) throws(CommandError) -> ChildProcess in
            try spawnUnlocked(
                executable: executable, argv: argv, environment: environment, stdin: stdin, stdout: stdout, stderr: stderr,
                networkNamespace: networkNamespace
            )
        }
        child.startWaiter()
        return child
    }

    private static func spawnUnlocked(
        executable: String, argv: [String], environment: [String: String], stdin: Stream, stdout: Stream, stderr: Stream,
        networkNamespace: Int32?
    ) throws(CommandError) -> ChildProcess {
        var opened: [Int32] = []
        defer { for fd in opened { _ = close(fd) } }
        func descriptor(_ stream: Stream, forWriting: Bool) throws(CommandError) -> Int32 {
            switch stream {
            case .descriptor(let fd):
                return fd
            case .null:
                let fd = open("/dev/null", (forWriting ? O_WRONLY : O_RDONLY) | O_CLOEXEC)
                guard fd >= 0 else { throw CommandError(code: .launchFailed, argv: argv, message: "open /dev/null: \(String(cString: strerror(errno)))") }
                opened.append(fd)
                return fd
            case .appendFile(let path):
                let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
                guard fd >= 0 else { throw CommandError(code: .launchFailed, argv: argv, message: "open \(path): \(String(cString: strerror(errno)))") }
                opened.append(fd)
                return fd
            }
        }
        let inFD = try descriptor(stdin, forWriting: false)
        let outFD = try descriptor(stdout, forWriting: true)
        let errFD = try descriptor(stderr, forWriting: true)

        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        posix_spawn_file_actions_adddup2(&fileActions, inFD, 0)
        posix_spawn_file_actions_adddup2(&fileActions, outFD, 1)
        posix_spawn_file_actions_adddup2(&fileActions, errFD, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let cArgv = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in cArgv { free(pointer) }
            for pointer in cEnv { free(pointer) }
        }
        var pid: pid_t = 0
        let rc = cArgv.withUnsafeBufferPointer { argvBuffer in
            cEnv.withUnsafeBufferPointer { envBuffer in
                if let networkNamespace {
                    hac_posix_spawn_in_netns(networkNamespace, &pid, executable, &fileActions, &attributes, argvBuffer.baseAddress!, envBuffer.baseAddress!)
                } else {
                    posix_spawn(&pid, executable, &fileActions, &attributes, argvBuffer.baseAddress!, envBuffer.baseAddress!)
                }
            }
        }
        guard rc == 0 else {
            let call = networkNamespace == nil ? "posix_spawn" : "posix_spawn in a network namespace"
            throw CommandError(code: .launchFailed, argv: argv, message: "\(call) \(executable): \(String(cString: strerror(rc)))")
        }
        return ChildProcess(pid: pid)
    }

    /// `pipe()` with close-on-exec on both ends, under the spawn lock.
    static func closeOnExecPipe() throws(CommandError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        let ok = spawnLock.withLock { _ in
            guard pipe(&fds) == 0 else { return false }
            _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
            return true
        }
        guard ok else { throw CommandError(code: .launchFailed, argv: [], message: "pipe: \(String(cString: strerror(errno)))") }
        return (fds[0], fds[1])
    }

    // MARK: - State

    /// The exit status once the child has been reaped (`128 + signal` when killed by a signal).
    public var exitStatus: Int32? { state.withLock { $0.status } }

    /// Whether the child is still running (not yet seen exiting).
    public var isRunning: Bool { state.withLock { !$0.exited } }

    /// Sends `signal` to the child unless its exit has already been seen.
    ///
    /// - Returns: whether the signal was sent.
    @discardableResult
    public func signal(_ signal: Int32) -> Bool {
        state.withLock { state in
            guard !state.exited else { return false }
            return kill(pid, signal) == 0
        }
    }

    /// Waits until the child has been reaped, at most `timeout`.
    ///
    /// - Returns: the exit status, or `nil` on timeout or cancellation.
    public func wait(timeout: Duration) async -> Int32? {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.awaitExit() }
            group.addTask {
                _ = try? await Task.sleep(for: timeout)
                return false
            }
            _ = await group.next()
            group.cancelAll()
        }
        return exitStatus
    }

    private func awaitExit() async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.status != nil || Task.isCancelled { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
            return exitStatus != nil
        } onCancel: {
            let waiters = state.withLock { state in
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }

    /// Observes the exit without reaping, records it, then reaps: the PID stays ours until
    /// ``signal(_:)`` can no longer use it.
    private func startWaiter() {
        let thread = Thread { [self] in
            var info = siginfo_t()
            while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR {}
            state.withLock { $0.exited = true }
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
            let status = raw & 0x7F == 0 ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F)
            let waiters = state.withLock { state in
                state.status = status
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
        thread.name = "hachaos-child-waiter"
        thread.start()
    }
}
