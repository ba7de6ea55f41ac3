import ArgumentParser
import ChaosKit
import Foundation
import HACore

extension Chaos {
    /// `chaos compose render`: a scenario's cluster as a folder that `docker-compose up` starts by hand.
    struct Compose: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compose files for use by hand (the compose backend's clusters, without the harness).",
            subcommands: [Render.self]
        )

        struct Render: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Write a scenario's cluster (no faults) as docker-compose.yml plus node folders, datastores and configuration.",
                discussion: """
                The folder is self-contained: docker-compose -f DIR/docker-compose.yml up -d starts \
                the hosts (ha-node → hostd, ha-agent), the isolation gateway and the controller on an \
                internal network from 198.18.0.0/15; the printed curl lines power the scenario's VMs \
                on through the controller. Paths in the file are absolute: render where the cluster \
                will live. Its containers are labelled hachaos.manual (chaos clean leaves them alone); \
                docker-compose -f DIR/docker-compose.yml down removes them. See compose/README.md.

                Examples:
                  chaos compose render faults/host-failure.yaml --out /srv/hac/c1
                  chaos compose render faults/partition-2-2.yaml --out /tmp/p22 --time-scale 0.2
                """
            )

            @Argument(help: "A scenario file (its cluster, datastores, VMs and HA settings are used; its faults are not).")
            var scenario: String

            @Option(name: .long, help: "The folder to write (created; must be empty or absent).")
            var out: String

            @Option(name: .long, help: "Multiply every protocol duration by this factor.")
            var timeScale: Double = 1.0

            @Option(name: .long, help: "The node image (Scripts/node-image builds it).")
            var nodeImage: String = ComposeLayout.defaultImage

            func validate() throws {
                guard timeScale > 0, timeScale <= 100 else { throw ValidationError("--time-scale must be in (0, 100], got \(timeScale)") }
            }

            func run() async throws {
                let scenarios = try ScenarioLoader.load(paths: [scenario])
                guard scenarios.count == 1, let scenario = scenarios.first else { throw ValidationError("give one scenario file, not \(scenarios.count)") }
                let directory = URL(fileURLWithPath: out).standardizedFileURL.path
                if let existing = try? FileManager.default.contentsOfDirectory(atPath: directory), !existing.isEmpty {
                    throw ValidationError("\(directory) is not empty")
                }
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                let runID = RunID.random()
                let subnet = (try? await NetnsNetwork.freeSubnetIndex(for: runID, runner: ProcessCommandRunner())) ?? NetnsLayout.preferredSubnetIndex(for: runID)
                let (layout, cluster) = try ComposeBackend.model(
                    scenario: scenario, runID: runID, subnetIndex: subnet, workDirectory: directory, image: nodeImage, scale: timeScale,
                    limits: .init(), manual: true
                )
                try ComposeBackend.writeFiles(layout: layout, cluster: cluster, bugs: [], limits: .init(), header: [
                    "HAChaos cluster of scenario \(scenario.name) (time scale \(formatSeconds(timeScale))), rendered by `chaos compose render` for use by hand.",
                    "Start: docker-compose -f \(layout.composeFilePath) up -d     Stop and remove: docker-compose -f \(layout.composeFilePath) down",
                ])
                let vc = layout.netns.controller.address
                print("wrote \(layout.composeFilePath) (\(layout.hostServices.count) hosts on \(layout.subnet), image \(nodeImage))")
                print("")
                print("  docker-compose -f \(layout.composeFilePath) up -d")
                for (vm, host) in scenario.initialPlacement.sorted(by: { $0.key < $1.key }) {
                    print("  curl -s -X POST 'http://\(vc):\(ComposeLayout.controllerHTTPPort)/api/vms/\(vm)/power-on?host=\(host)'")
                }
                print("  tail -f \(directory)/nodes/*/logs/events.jsonl")
                print("  docker-compose -f \(layout.composeFilePath) down")
            }
        }
    }
}
