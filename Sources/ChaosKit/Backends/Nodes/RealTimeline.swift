import HACore

/// What the real-node backends (netns, compose) share while a scenario plays in real time: the
/// fault timeline in order, and the evidence sampler that reads the node folders out of band.
enum RealTimeline {
    enum Action: Hashable, Sendable { case inject(Int), heal(Int) }

    /// The scenario's injections and heals at run time (`at × scale`), in order; at one instant a
    /// heal comes before an injection.
    static func entries(of scenario: Scenario, scale: Double) -> [(time: Double, action: Action)] {
        var timeline: [(time: Double, order: Int, action: Action)] = []
        for (index, step) in scenario.steps.enumerated() {
            timeline.append((step.at * scale, 1, .inject(index)))
            if let heal = step.healAt { timeline.append((heal * scale, 0, .heal(index))) }
        }
        timeline.sort { ($0.time, $0.order) < ($1.time, $1.order) }
        return timeline.map { ($0.time, $0.action) }
    }

    /// Samples the datastores' poweron files and markers every 200 ms, and prints progress lines
    /// for new agent events, until cancelled.
    static func startSampler(_ cluster: NodeCluster, timeScale: Double, progress: (@Sendable (String) -> Void)?) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                cluster.sampleDatastoreFiles()
                if let progress {
                    for event in cluster.newEvents() {
                        if let line = ProgressLine.line(for: event, timeScale: timeScale) { progress(line) }
                    }
                }
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
    }
}
