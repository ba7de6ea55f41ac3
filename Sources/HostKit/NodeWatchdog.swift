import HACore
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// `ha-node`'s loop: keeps `hostd` and `ha-agent` running (NODES.md §1).
///
/// - Starts both as `<path> --node-dir N --host H <extra args...>`, stdin `/dev/null`, stdout and
///   stderr appended to `N/logs/<name>.log`, each in its own process group (a terminal's ^C
///   reaches only ha-node, which then stops them in order).
/// - Writes each current PID atomically to `N/run/<name>.pid` and removes the file when the
///   process ended.
/// - A process that ended is started again ``Options/restartDelay`` later, unless
///   `N/control/<agent|hostd>.down` exists; the file is re-checked every loop and while it exists
///   the restart is pushed back by the delay, so after its removal the process starts within
///   the delay. The file never stops a running process (the harness kills it itself).
/// - Reaps every ended child with `waitpid(-1)`, so as PID 1 of a container it also reaps
///   orphaned VMs.
/// - On SIGTERM or SIGINT: SIGTERM to ha-agent and hostd, wait up to ``Options/stopTimeout``,
///   SIGKILL what is left, exit 0.
public struct NodeWatchdog: Sendable {
    /// The command line of `ha-node`.
    public struct Options: Sendable, Hashable {
        public var paths: NodePaths
        public var host: HostID
        public var hostdPath: String
        public var agentPath: String
        public var hostdArguments: [String]
        public var agentArguments: [String]
        /// `watchdogDelay` (2 s × time scale).
        public var restartDelay: Duration
        /// How long a stop waits for SIGTERM to work before SIGKILL.
        public var stopTimeout: Duration

        public init(
            nodeDirectory: String, host: HostID, hostdPath: String, agentPath: String,
            hostdArguments: [String] = [], agentArguments: [String] = [],
            restartDelay: Duration = .seconds(2), stopTimeout: Duration = .seconds(5)
        ) {
            self.paths = NodePaths(root: nodeDirectory)
            self.host = host
            self.hostdPath = hostdPath
            self.agentPath = agentPath
            self.hostdArguments = hostdArguments
            self.agentArguments = agentArguments
            self.restartDelay = restartDelay
            self.stopTimeout = stopTimeout
        }
    }

    /// One supervised daemon.
    struct Child: Sendable {
        /// `hostd` or `ha-agent`: names the pid and log files.
        var name: String
        /// `hostd` or `agent`: names the control file.
        var downName: String
        var executable: String
        var arguments: [String]
        var pid: pid_t?
        var notBefore: ContinuousClock.Instant
    }

    private let options: Options
    private let logger: Logger
    private let clock = ContinuousClock()

    public init(options: Options, logger: Logger) {
        self.options = options
        var logger = logger
        logger[metadataKey: "ha.host.id"] = "\(options.host)"
        self.logger = logger
    }

    /// Runs until SIGTERM or SIGINT (installs the handlers), then stops both daemons.
    ///
    /// - Returns: The exit code (0).
    public func run() -> Int32 {
        SignalFlags.ignore(SIGPIPE)
        SignalFlags.install([.terminate, .interrupt])
        let paths = options.paths
        for directory in [paths.runDirectory, paths.logsDirectory, paths.controlDirectory] {
            do { try FileOps.makeDirectories(directory) } catch { logger.error("cannot create folder", metadata: ["ha.error": "\(error)"]) }
        }
        let common = ["--node-dir", paths.root, "--host", options.host.rawValue]
        var children = [
            Child(name: "hostd", downName: "hostd", executable: options.hostdPath, arguments: common + options.hostdArguments,
                  pid: nil, notBefore: clock.now),
            Child(name: "ha-agent", downName: "agent", executable: options.agentPath, arguments: common + options.agentArguments,
                  pid: nil, notBefore: clock.now),
        ]
        while !SignalFlags.stopRequested {
            reap(&children)
            let now = clock.now
            for index in children.indices where children[index].pid == nil {
                if FileOps.exists(paths.downFile(children[index].downName)) {
                    children[index].notBefore = now.advanced(by: options.restartDelay)
                } else if now >= children[index].notBefore {
                    start(&children[index])
                }
            }
            LoopSleep.sleep(LoopSleep.maxSlice)
        }
        stop(&children)
        return 0
    }

    // MARK: - Helpers

    private func start(_ child: inout Child) {
        do {
            let pid = try ProcessControl.spawn(
                executable: child.executable, arguments: child.arguments,
                standardOutput: .appendingTo(path: options.paths.daemonLog(child.name)),
                standardError: .appendingTo(path: options.paths.daemonLog(child.name)), grouping: .newProcessGroup
            )
            child.pid = pid
            try FileOps.writeAtomically(Array("\(pid)\n".utf8), to: options.paths.pidFile(child.name))
            logger.info("started", metadata: ["ha.process": "\(child.name)", "ha.pid": "\(pid)"])
        } catch {
            logger.error("cannot start", metadata: ["ha.process": "\(child.name)", "ha.error": "\(error)"])
            child.notBefore = clock.now.advanced(by: options.restartDelay)
        }
    }

    /// Reaps every ended child; marks supervised ones as down and schedules their restart.
    private func reap(_ children: inout [Child]) {
        while let (pid, termination) = ProcessControl.reapAnyEnded() {
            guard let index = children.firstIndex(where: { $0.pid == pid }) else { continue }
            children[index].pid = nil
            children[index].notBefore = clock.now.advanced(by: options.restartDelay)
            FileOps.remove(options.paths.pidFile(children[index].name))
            logger.warning("ended", metadata: ["ha.process": "\(children[index].name)", "ha.pid": "\(pid)", "ha.exit": "\(termination)"])
        }
    }

    private func stop(_ children: inout [Child]) {
        logger.info("stopping node")
        for child in children { if let pid = child.pid { ProcessControl.send(SIGTERM, to: pid) } }
        let deadline = clock.now.advanced(by: options.stopTimeout)
        while children.contains(where: { $0.pid != nil }), clock.now < deadline {
            reap(&children)
            LoopSleep.sleep(LoopSleep.maxSlice)
        }
        for child in children { if let pid = child.pid { ProcessControl.send(SIGKILL, to: pid) } }
        while children.contains(where: { $0.pid != nil }) {
            reap(&children)
            LoopSleep.sleep(LoopSleep.maxSlice)
        }
    }
}
