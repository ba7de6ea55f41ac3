import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The production ``CommandRunner``: `posix_spawn` (see ``ChildProcess`` for why not
/// `Foundation.Process`), no shell, output capped, SIGKILL by PID when the timeout expires
/// or the calling task is cancelled.
///
/// The child inherits the environment plus `extraEnvironment` (default `LC_ALL=C`, so that
/// error messages are the English ones ``CommandError/isAlreadyGone`` recognises).
/// Creating a runner sets SIGPIPE to "ignore" in this process (children get the default back),
/// so that writing `input` to a child that exited early fails with EPIPE instead of killing
/// the harness.
public struct ProcessCommandRunner: CommandRunner {
    /// Bytes kept per output stream; the rest is read and dropped.
    public var outputLimit: Int
    /// Added to (and overriding) the inherited environment.
    public var extraEnvironment: [String: String]
    /// Largest accepted `input` (house rule 9: a limit on everything).
    public static let inputLimit = 1 << 20

    public init(outputLimit: Int = CommandResult.outputLimit, extraEnvironment: [String: String] = ["LC_ALL": "C"]) {
        _ = Self.ignoreSIGPIPE
        self.outputLimit = outputLimit
        self.extraEnvironment = extraEnvironment
    }

    private static let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    /// `nsenter --net=<file> [--] <program> <args>…`, with nothing else, as the namespace file and
    /// the program's argv: ``run(_:timeout:input:)`` carries it out without nsenter, spawning
    /// the program straight into the namespace (``ChildProcess/spawn(executable:argv:environment:stdin:stdout:stderr:networkNamespace:)``).
    /// That is all nsenter does with `--net` alone, and it saves nsenter's own exec: 1.2 of the
    /// 2.4 ms of CPU that one namespace's `iptables-restore` of a partition cost here, and a
    /// half-cluster partition of 32 hosts restores 16 namespaces. The argv stays the data that
    /// goldens, journals and logs show.
    public static func networkNamespaceCommand(_ argv: [String]) -> (namespace: String, argv: [String])? {
        guard argv.count >= 3, argv[0] == "nsenter", argv[1].hasPrefix("--net="), argv[1].count > 6 else { return nil }
        let rest = argv[2] == "--" ? Array(argv[3...]) : Array(argv[2...])
        guard let program = rest.first, !program.isEmpty, !program.hasPrefix("-") else { return nil }
        return (String(argv[1].dropFirst(6)), rest)
    }

    public func run(_ argv: [String], timeout: Duration, input: Data?) async throws(CommandError) -> CommandResult {
        let inNamespace = Self.networkNamespaceCommand(argv)
        let childArgv = inNamespace?.argv ?? argv
        guard let program = childArgv.first, !program.isEmpty else {
            throw CommandError(code: .launchFailed, argv: argv, message: "empty argv")
        }
        guard let executable = Self.resolve(program) else {
            throw CommandError(code: .launchFailed, argv: argv, message: "\(program) not found in PATH")
        }
        var namespaceFD: Int32?
        if let path = inNamespace?.namespace {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            // nsenter's own failure, word for word (CommandError.isAlreadyGone and the executor read it).
            guard fd >= 0 else { return CommandResult(status: 1, stdout: "", stderr: "nsenter: cannot open \(path): \(String(cString: strerror(errno)))\n") }
            namespaceFD = fd
        }
        defer { if let namespaceFD { _ = close(namespaceFD) } }
        if let input, input.count > Self.inputLimit {
            throw CommandError(code: .launchFailed, argv: argv, message: "input of \(input.count) bytes exceeds \(Self.inputLimit)")
        }
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in extraEnvironment { environment[key] = value }

        let out = try ChildProcess.closeOnExecPipe()
        let err: (read: Int32, write: Int32)
        do {
            err = try ChildProcess.closeOnExecPipe()
        } catch {
            _ = close(out.read)
            _ = close(out.write)
            throw error
        }
        var stdinPipe: (read: Int32, write: Int32)?
        if input != nil {
            do {
                stdinPipe = try ChildProcess.closeOnExecPipe()
            } catch {
                for fd in [out.read, out.write, err.read, err.write] { _ = close(fd) }
                throw error
            }
        }
        let child: ChildProcess
        do {
            child = try ChildProcess.spawn(
                executable: executable, argv: childArgv, environment: environment,
                stdin: stdinPipe.map { .descriptor($0.read) } ?? .null, stdout: .descriptor(out.write), stderr: .descriptor(err.write),
                networkNamespace: namespaceFD
            )
        } catch {
            for fd in [out.read, out.write, err.read, err.write, stdinPipe?.read ?? -1, stdinPipe?.write ?? -1] where fd >= 0 { _ = close(fd) }
            throw CommandError(code: .launchFailed, argv: argv, message: error.message)
        }
        // The child has its own copies: EOF comes when it (and any grandchild holding them) is gone.
        _ = close(out.write)
        _ = close(err.write)
        let output = OutputCollector(limit: outputLimit, stdout: out.read, stderr: err.read)
        if let input, let stdinPipe {
            _ = close(stdinPipe.read)
            input.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = write(stdinPipe.write, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 && errno == EINTR { continue }
                    if written <= 0 { break }
                    offset += written
                }
            }
            _ = close(stdinPipe.write)
        }

        // MARK: wait, or kill by PID
        guard let status = await child.wait(timeout: timeout) else {
            child.signal(SIGKILL)
            let reaped = await child.wait(timeout: .seconds(5))
            output.stop()
            let (stdout, stderr) = output.snapshot()
            throw CommandError(
                code: .timedOut, argv: argv, stdout: stdout, stderr: stderr,
                message: Task.isCancelled ? "cancelled; killed pid \(child.pid)" : "no exit after \(timeout); killed pid \(child.pid)\(reaped == nil ? " (not reaped)" : "")"
            )
        }
        // Output usually reaches EOF with the exit; a grandchild holding the pipes gets 1 s.
        // (Woken by the reader at EOF: polling here cost up to 10 ms per command.)
        await output.waitForEOF(timeout: .seconds(1))
        output.stop()
        let (stdout, stderr) = output.snapshot()
        return CommandResult(status: status, stdout: stdout, stderr: stderr)
    }

    /// `program` itself when it contains a slash, else the first executable match in `PATH`
    /// or the usual system directories (root's tools live in `/usr/sbin`).
    public static func resolve(_ program: String) -> String? {
        let fileManager = FileManager.default
        if program.contains("/") { return fileManager.isExecutableFile(atPath: program) ? program : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        for directory in directories where !directory.isEmpty {
            let candidate = directory + "/" + program
            if fileManager.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}

// MARK: - Output

/// Reads a child's stdout and stderr on one thread (poll, 64 KiB reads) until both reach EOF
/// or ``stop()``; keeps at most `limit` bytes of each and closes both descriptors at the end.
private final class OutputCollector: Sendable {
    private struct State {
        var stdout = Data()
        var stderr = Data()
        var eof = false
        var stop = false
        /// Resumed once the reader ends (EOF on both, or stopped).
        var waiters: [CheckedContinuation<Void, Never>] = []
        var finished = false
    }

    private let limit: Int
    private let state = Mutex(State())

    init(limit: Int, stdout: Int32, stderr: Int32) {
        self.limit = limit
        let thread = Thread { [self] in self.read(stdout: stdout, stderr: stderr) }
        thread.name = "hachaos-command-output"
        thread.start()
    }

    var reachedEOF: Bool { state.withLock { $0.eof } }

    /// Returns at EOF on both streams, or after `timeout`, whichever comes first.
    func waitForEOF(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.readerFinished() }
            group.addTask { try? await Task.sleep(for: timeout) }
            _ = await group.next()
            group.cancelAll()
        }
    }

    private func readerFinished() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.finished || Task.isCancelled { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiters = state.withLock { state in
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }

    func stop() { state.withLock { $0.stop = true } }

    func snapshot() -> (String, String) {
        state.withLock { (String(decoding: $0.stdout, as: UTF8.self), String(decoding: $0.stderr, as: UTF8.self)) }
    }

    private func read(stdout: Int32, stderr: Int32) {
        var open = [stdout, stderr]
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while !open.isEmpty, !state.withLock({ $0.stop }) {
            var descriptors = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&descriptors, nfds_t(descriptors.count), 50)
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            for descriptor in descriptors where descriptor.revents != 0 {
                let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor.fd, $0.baseAddress, $0.count) }
                if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                if count <= 0 {
                    open.removeAll { $0 == descriptor.fd }
                    continue
                }
                let chunk = buffer[0..<count]
                state.withLock { state in
                    if descriptor.fd == stdout {
                        if state.stdout.count < limit { state.stdout.append(contentsOf: chunk.prefix(limit - state.stdout.count)) }
                    } else if state.stderr.count < limit {
                        state.stderr.append(contentsOf: chunk.prefix(limit - state.stderr.count))
                    }
                }
            }
        }
        _ = close(stdout)
        _ = close(stderr)
        let waiters = state.withLock { state in
            state.eof = open.isEmpty
            state.finished = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
