import ArgumentParser
import Foundation
import HACore
import HAAgentKit

/// `ha-agent`: the FDM agent of one host (thin: options → ``AgentShell``).
@main
struct HAAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ha-agent",
        abstract: "The HA agent (FDM role) of one host: election, heartbeats, isolation, restarts.",
        discussion: "Reads N/config/settings.json and N/config/clusterconfig.json; writes N/logs/events.jsonl (docs/NODES.md)."
    )

    @Option(name: .long, help: "Node folder N.") var nodeDir: String
    @Option(name: .long, help: "This host's id.") var host: String
    @Option(name: .long, help: "Management address to bind UDP 8182 on.") var bind: String
    @Option(name: .long, help: "UDP port.") var port: Int = 8182
    @Option(name: .long, help: "Management gateway (default isolation address).") var gateway: String
    @Option(name: .long, help: "Where datastores are mounted.") var datastoreRoot: String = "/vmfs/volumes"
    @Option(name: .long, help: "The controller (vCenter role) as ADDRESS:PORT; omit to run without one.") var controller: String?
    @Option(name: .customLong("bug"), help: ArgumentHelp(
        "Break one HA rule on purpose (mutation testing; repeatable), e.g. noOwnershipCheck. N/control/bugs is read too.",
        discussion: "Known: \(FDM.Bug.allCases.map(\.rawValue).joined(separator: ", "))"
    ))
    var bug: [String] = []

    func validate() throws {
        for name in bug where FDM.Bug(rawValue: name) == nil {
            throw ValidationError("unknown --bug \"\(name)\"; known: \(FDM.Bug.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() async throws {
        let decoder = JSONDecoder()
        guard let settingsData = FileManager.default.contents(atPath: nodeDir + "/config/settings.json"),
              let configData = FileManager.default.contents(atPath: nodeDir + "/config/clusterconfig.json") else {
            throw ValidationError("missing \(nodeDir)/config/settings.json or clusterconfig.json")
        }
        let settings = try decoder.decode(Settings.self, from: settingsData)
        let config = try decoder.decode(ClusterConfig.self, from: configData)
        var bugs = Set(bug.compactMap(FDM.Bug.init(rawValue:)))
        if let text = try? String(contentsOfFile: nodeDir + "/control/bugs", encoding: .utf8) {
            bugs.formUnion(text.split(whereSeparator: \.isNewline).compactMap { FDM.Bug(rawValue: String($0)) })
        }
        AgentSignals.install()
        let options = AgentOptions(
            host: HostID(host), nodeDirectory: nodeDir, bindAddress: bind, port: port, datastoreRoot: datastoreRoot,
            gatewayAddress: gateway, settings: settings, config: config, bugs: bugs
        )
        var withController = options
        if let controller {
            let parts = controller.split(separator: ":")
            guard parts.count == 2, let port = Int(parts[1]) else { throw ValidationError("--controller must be ADDRESS:PORT") }
            withController.controllerAddress = String(parts[0])
            withController.controllerPort = port
        }
        let shell = try AgentShell(options: withController)
        do {
            try await shell.run()
        } catch is AgentStopped {
            // Graceful stop: locks released and recorded; leave without waiting for NIO's loops.
            Foundation.exit(0)
        }
    }
}
