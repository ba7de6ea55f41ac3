import ArgumentParser
import Foundation
import HACore
import HAAgentKit

/// `ha-rogue`: a hostile node for the `network.rogueHost` fault (issue 7). It is not part of
/// the HA stack; the harness starts it on the management network and kills it at heal.
@main
struct HARogueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ha-rogue",
        abstract: "Forge agent traffic with a wrong cluster key: loud mastership claims, forged heartbeats and restarts.",
        discussion: "Example: ha-rogue --cluster-config run/controller/clusterconfig.json --bind 198.18.4.2 --interval-ms 200"
    )

    @Option(name: .long, help: "The cluster configuration (hosts and their management addresses, VMs).") var clusterConfig: String
    @Option(name: .long, help: "Address to send from.") var bind: String
    @Option(name: .long, help: "Agents' UDP port.") var port: Int = 8182
    @Option(name: .long, help: "Milliseconds between rounds.") var intervalMs: Int = 1000

    func run() async throws {
        guard let data = FileManager.default.contents(atPath: clusterConfig) else { throw ValidationError("cannot read \(clusterConfig)") }
        let config = try JSONDecoder().decode(ClusterConfig.self, from: data)
        let rogue = RogueNode(config: config, bindAddress: bind, port: port, interval: .milliseconds(max(10, intervalMs)))
        try await rogue.run()
    }
}
