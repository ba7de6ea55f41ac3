import ArgumentParser
import Foundation
import HACore
import HostKit
import Logging

/// `ha-node`: the per-host watchdog of hostd and ha-agent (see ``NodeWatchdog``).
///
/// Exit codes: 0 after SIGTERM/SIGINT (children stopped), 64 bad arguments.
@main
struct HANodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ha-node",
        abstract: "Starts hostd and ha-agent, restarts them when they die (unless N/control/*.down)."
    )

    @Option(help: "The node folder N.") var nodeDir: String
    @Option(help: "This host's id.") var host: String
    @Option(help: "The hostd executable.") var hostd: String
    @Option(help: "The ha-agent executable.") var agent: String
    @Option(name: .customLong("agent-arg"), parsing: .unconditionalSingleValue, help: "An extra ha-agent argument (repeatable).")
    var agentArgs: [String] = []
    @Option(name: .customLong("hostd-arg"), parsing: .unconditionalSingleValue, help: "An extra hostd argument (repeatable).")
    var hostdArgs: [String] = []
    @Option(name: .customLong("watchdog-delay-ms"), help: "Restart delay after a death.") var watchdogDelayMs: Int64 = 2_000
    @Option(name: .customLong("join-cgroup"), help: "A cgroup folder to join before starting anything (repeatable): power-off and freeze act on it.")
    var joinCgroups: [String] = []

    @Option(name: .customLong("hold-while"), help: "Start nothing while this file exists (the compose backend starts every container first, then releases all nodes at once).")
    var holdWhile: String?

    func validate() throws {
        guard watchdogDelayMs >= 0 else { throw ValidationError("--watchdog-delay-ms must not be negative") }
    }

    func run() throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        // Join the node's cgroups first, so every child (hostd, agent, VMs) is born inside them.
        for cgroup in joinCgroups {
            do {
                try "\(getpid())\n".write(toFile: cgroup + "/cgroup.procs", atomically: false, encoding: .utf8)
            } catch {
                FileHandle.standardError.write(Data("ha-node: cannot join cgroup \(cgroup): \(error)\n".utf8))
                throw ExitCode(1)
            }
        }
        if let holdWhile {
            // Bounded: a harness that died before releasing the node must not leave it waiting forever.
            let deadline = Date().addingTimeInterval(120)
            while FileManager.default.fileExists(atPath: holdWhile), Date() < deadline { usleep(5_000) }
        }
        let options = NodeWatchdog.Options(
            nodeDirectory: nodeDir, host: HostID(host), hostdPath: hostd, agentPath: agent,
            hostdArguments: hostdArgs, agentArguments: agentArgs, restartDelay: .milliseconds(watchdogDelayMs)
        )
        let code = NodeWatchdog(options: options, logger: Logger(label: "ha-node")).run()
        throw ExitCode(code)
    }
}
