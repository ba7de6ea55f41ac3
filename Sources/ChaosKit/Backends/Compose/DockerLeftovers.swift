/// Containers and networks on the machine that carry the `hachaos.run` label (the compose
/// backend's), for the ``Reaper``'s sweep: found by label even when no journal recorded them.
public struct DockerLeftovers: Hashable, Sendable {
    /// Container name (or id) → run id.
    public var containers: [String: RunID] = [:]
    /// Network name (or id) → run id.
    public var networks: [String: RunID] = [:]

    public init(containers: [String: RunID] = [:], networks: [String: RunID] = [:]) {
        self.containers = containers
        self.networks = networks
    }

    /// Every run id seen. Labels that are not run ids (a user's, a test's) are ignored.
    public var runIDs: Set<RunID> { Set(containers.values).union(networks.values) }

    /// The undo steps that remove what belongs to `targets`: containers first, then networks.
    public func undo(for targets: Set<RunID>) -> [[String]] {
        containers.filter { targets.contains($0.value) }.keys.sorted().map(DockerUndo.removeContainer)
            + networks.filter { targets.contains($0.value) }.keys.sorted().map(DockerUndo.removeNetwork)
    }

    /// Lists them, when a daemon answers at once; nothing otherwise (no Docker here).
    public static func list(engine: DockerEngine) async -> DockerLeftovers {
        guard await engine.ping(timeout: .seconds(2)) else { return DockerLeftovers() }
        var found = DockerLeftovers()
        if let containers = try? await engine.containerList(label: ComposeLayout.runLabel, all: true) {
            for container in containers {
                guard let id = container.labels[ComposeLayout.runLabel].flatMap(RunID.init) else { continue }
                let name = container.names.first.map { $0.hasPrefix("/") ? String($0.dropFirst()) : $0 } ?? container.id
                found.containers[name] = id
            }
        }
        if let networks = try? await engine.networkList(label: ComposeLayout.runLabel) {
            for network in networks {
                guard let id = network.labels[ComposeLayout.runLabel].flatMap(RunID.init) else { continue }
                found.networks[network.name] = id
            }
        }
        return found
    }
}
