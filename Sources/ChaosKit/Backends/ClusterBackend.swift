import HACore

/// Options of one scenario run, common to every backend.
public struct RunOptions: Sendable {
    /// Multiplies every protocol duration and every scenario time (1 = documented timings).
    public var timeScale: Double
    public var seed: UInt64
    /// Rules broken on purpose in every agent (mutation testing).
    public var bugs: Set<FDM.Bug>
    /// Called with each progress line (phase, faults, master changes, restarts).
    public var progress: (@Sendable (String) -> Void)?
    /// Where a real backend keeps the run's files (datastores, node folders): the scenario's result folder.
    public var workDirectory: String?

    public init(
        timeScale: Double = 1, seed: UInt64 = 1, bugs: Set<FDM.Bug> = [], workDirectory: String? = nil,
        progress: (@Sendable (String) -> Void)? = nil
    ) {
        self.timeScale = timeScale
        self.seed = seed
        self.bugs = bugs
        self.workDirectory = workDirectory
        self.progress = progress
    }
}

/// Something that can run a scenario and return its history: the simulator, namespaces, Compose.
public protocol ClusterBackend: Sendable {
    /// `sim`, `netns` or `compose` (results contract).
    var name: String { get }
    /// Builds the cluster, plays the fault timeline, tears everything down, returns what happened.
    func run(_ scenario: Scenario, options: RunOptions) async throws -> History
}
