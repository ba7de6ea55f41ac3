import HACore

/// What the real-node backends (netns, compose) share while a scenario plays in real time: the
/// fault timeline in order, and the evidence sampler that reads the node folders out of band.
enum RealTimeline {
    enum Action: Hashable, Sendable { case inject(Int), heal(Int) }

    /// The scenario's injections and heals at run time (`at × scale`), grouped by instant, in
    /// time order. Within an instant: heals of faults that are not only iptables rules first
    /// (a power-on before a new fault on that host), then injections of rule-only network
    /// faults, then heals of rule-only network faults, then the other injections.
    ///
    /// Rule-only faults are made before they are broken: a heal and an injection at one instant
    /// (an isolation healed into a one-way cut with the isolation address dark) leave no window
    /// in which the host sees the healthy network the scenario never described. Healing first
    /// left 1–2 ms in which a ping to the isolation address was answered, which cleared the
    /// host's isolation for real (netns, isolation-cancelled-by-election). In the simulator an
    /// instant is atomic anyway. Rule-only faults carry their step's tag, so the order of two
    /// of them never changes which rules the other adds or removes.
    static func instants(of scenario: Scenario, scale: Double) -> [(time: Double, actions: [Action])] {
        var timeline: [(time: Double, order: Int, index: Int, action: Action)] = []
        for (index, step) in scenario.steps.enumerated() {
            let ruleOnly = isRuleOnly(step.fault)
            timeline.append((step.at * scale, ruleOnly ? 1 : 3, index, .inject(index)))
            if let heal = step.healAt { timeline.append((heal * scale, ruleOnly ? 2 : 0, index, .heal(index))) }
        }
        timeline.sort { ($0.time, $0.order, $0.index) < ($1.time, $1.order, $1.index) }
        var instants: [(time: Double, actions: [Action])] = []
        for entry in timeline {
            if let last = instants.last, last.time == entry.time {
                instants[instants.count - 1].actions.append(entry.action)
            } else {
                instants.append((entry.time, [entry.action]))
            }
        }
        return instants
    }

    /// Whether the fault is nothing but iptables rules tagged with its step (no mount, no
    /// process, no power), so that it can be put in place before another one is healed.
    static func isRuleOnly(_ fault: Fault) -> Bool {
        switch fault {
        case .partition, .partitionOneWay, .dropIsolationAddress, .packetLoss, .managementNetworkOutage: true
        case .isolateHost(_, let storageToo): !storageToo
        default: false
        }
    }

    /// Gives the rule-only faults injected at one instant the time the instant's rule-only heals
    /// completed, when that is later: the records then say what the simulator's do (the new
    /// fault in force from the moment the old one is gone), and no checker sees two network
    /// faults of one instant overlap by the milliseconds the commands took.
    static func settleInstant(_ actions: [Action], steps: [FaultStep], records: inout [FaultRecord], recordIndex: [Int: Int]) {
        let healed = actions.compactMap { action -> Double? in
            guard case .heal(let index) = action, isRuleOnly(steps[index].fault), let r = recordIndex[index] else { return nil }
            return records[r].healedAt
        }
        guard let healedAt = healed.max() else { return }
        for action in actions {
            guard case .inject(let index) = action, isRuleOnly(steps[index].fault), let r = recordIndex[index] else { continue }
            records[r].injectedAt = max(records[r].injectedAt, healedAt)
        }
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
