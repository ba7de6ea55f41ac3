import ArgumentParser
import Foundation
import HACore
import HAWire
import NIOCore
import Synchronization

/// `ha-controller`: the controller in the vCenter role (thin: options → ``Controller``, listeners).
///
/// It holds the cluster configuration, protects and unprotects VMs through the one master it
/// talks to, shows HA state as that master reports it, and runs admission control for user
/// power-ons. HA keeps working while it is down (DESIGN §1): it is never on the restart path.
@main
struct HAControllerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ha-controller",
        abstract: "The HA controller (vCenter role): cluster configuration, protect/unprotect, HA state, user power operations.",
        discussion: """
            Prints `LISTENING http=<port> agent=<port>` on stdout once both listeners are bound (port 0 picks a free one).
            Appends admission-control decisions to <state-dir>/decisions.jsonl and <state-dir>/events.jsonl, and keeps the
            latest configuration in <state-dir>/clusterconfig.current.json. SIGTERM closes the listeners and exits 0.
            """
    )

    @Option(name: .long, help: "Address to bind both listeners on.") var listen: String = "0.0.0.0"
    @Option(name: .long, help: "HTTP API port (0: ephemeral).") var httpPort: Int = 8080
    @Option(name: .long, help: "Port masters connect to (0: ephemeral).") var agentPort: Int = ControllerProtocol.defaultAgentPort
    @Option(name: .long, help: "State folder (decisions, events, current configuration).") var stateDir: String
    @Option(name: .long, help: "Initial ClusterConfig JSON (default: <state-dir>/clusterconfig.json).") var config: String?
    @Option(name: .customLong("hostd-socket"), help: "HOST=PATH: a host's hostd socket, for user power operations (repeatable).")
    var hostdSockets: [String] = []
    @Option(name: .long, help: "How long protect/unprotect and config pushes wait for the master's ack.") var ackTimeoutMs: Int = 10_000
    @Option(name: .long, help: "How long a hostd power operation may take.") var hostdTimeoutMs: Int = 30_000
    @Option(name: .long, help: "Drop a master session silent for this long.") var masterTimeoutMs: Int = 10_000
    @Option(name: .long, help: "Close a connection that has not said hello within this.") var helloTimeoutMs: Int = 5_000

    func validate() throws {
        for (name, port) in [("--http-port", httpPort), ("--agent-port", agentPort)] where !(0...65_535).contains(port) {
            throw ValidationError("\(name) \(port) is not a port")
        }
        for (name, value) in [("--ack-timeout-ms", ackTimeoutMs), ("--hostd-timeout-ms", hostdTimeoutMs),
                              ("--master-timeout-ms", masterTimeoutMs), ("--hello-timeout-ms", helloTimeoutMs)]
        where !(1...3_600_000).contains(value) {
            throw ValidationError("\(name) \(value) must be 1…3600000")
        }
        _ = try parsedHostdSockets()
    }

    func parsedHostdSockets() throws -> [HostID: String] {
        var sockets: [HostID: String] = [:]
        for entry in hostdSockets {
            let parts = entry.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, DatastoreFiles.isSafeComponent(String(parts[0])), !parts[1].isEmpty else {
                throw ValidationError("--hostd-socket \(entry.debugDescription): expected HOST=PATH")
            }
            sockets[HostID(String(parts[0]))] = String(parts[1])
        }
        return sockets
    }

    func run() async throws {
        let logger = ControllerLog(label: "ha-controller")
        TerminationSignal.install()

        let options = ControllerOptions(
            listenAddress: listen, httpPort: httpPort, agentPort: agentPort, stateDirectory: stateDir,
            configPath: config ?? stateDir + "/clusterconfig.json", hostdSockets: try parsedHostdSockets(),
            ackTimeout: .milliseconds(ackTimeoutMs), hostdTimeout: .milliseconds(hostdTimeoutMs),
            masterTimeout: .milliseconds(masterTimeoutMs), helloTimeout: .milliseconds(helloTimeoutMs)
        )
        let initial = try Self.loadConfig(options)
        let controller = try Controller(options: options, config: initial, logger: logger)

        let agentServer = try await AgentListener.bind(host: options.listenAddress, port: options.agentPort)
        let httpServer = try await HTTPServer.bind(host: options.listenAddress, port: options.httpPort)
        let httpBound = httpServer.channel.localAddress?.port ?? options.httpPort
        let agentBound = agentServer.channel.localAddress?.port ?? options.agentPort
        // Unbuffered: the harness and the tests read this line to learn the ports.
        FileHandle.standardOutput.write(Data("LISTENING http=\(httpBound) agent=\(agentBound)\n".utf8))
        logger.info(
            "controller listening",
            metadata: ["ha.http.port": "\(httpBound)", "ha.agent.port": "\(agentBound)", "ha.config.version": "\(initial.version)"]
        )

        let api = ControllerAPI(controller: controller, options: options)
        var failure: (any Error)?
        await withTaskGroup(of: (any Error)?.self) { group in
            group.addTask {
                do { try await AgentListener.serve(agentServer, controller: controller) } catch { return error }
                return nil
            }
            group.addTask {
                do { try await HTTPServer.serve(httpServer, api: api) } catch { return error }
                return nil
            }
            group.addTask {
                await controller.watchdog()
                return nil
            }
            group.addTask {
                await TerminationSignal.wait()
                return nil
            }
            // The first to finish is normally the signal; a listener that fails ends the controller too.
            failure = await group.next() ?? nil
            try? await agentServer.channel.close()
            try? await httpServer.channel.close()
            await controller.shutdown()
            logger.info("controller stopping", metadata: ["ha.signal": "\(TerminationSignal.requested.load(ordering: .relaxed))"])
            // Leave without waiting for connection tasks (a hostd call may still run).
            Foundation.exit(failure == nil ? 0 : 2)
        }
    }

    /// The initial configuration: `--config`, or the persisted current one when its version is higher.
    static func loadConfig(_ options: ControllerOptions) throws -> ClusterConfig {
        try FileManager.default.createDirectory(atPath: options.stateDirectory, withIntermediateDirectories: true)
        let decoder = JSONDecoder()
        func read(_ path: String) throws -> ClusterConfig? {
            guard let data = FileManager.default.contents(atPath: path) else { return nil }
            guard data.count <= DatastoreFiles.maxFileBytes else { throw ControllerError(.badConfig, "\(path) is larger than 1 MiB") }
            do {
                return try decoder.decode(ClusterConfig.self, from: data)
            } catch {
                throw ControllerError(.badConfig, "\(path): \(error)")
            }
        }
        let given = try read(options.configPath)
        let current = try? read(options.currentConfigPath)
        guard let config = [given, current ?? nil].compactMap({ $0 }).max(by: { $0.version < $1.version }) else {
            throw ControllerError(.badConfig, "no configuration at \(options.configPath)")
        }
        if let problem = ControllerAPI.problem(with: config) { throw ControllerError(.badConfig, problem) }
        return config
    }
}
