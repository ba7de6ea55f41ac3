import Foundation
import HACore
import HASim

// MARK: - The fault timeline: weighted kinds gated on the fault state, episodes and quiet periods

extension ScheduleGenerator {
    /// How long an instantaneous fault (a kill, a reboot) keeps its host busy for gating: the
    /// watchdog restart, the reboot and the agent's rejoin (model seconds).
    public static let settleTime = 30.0

    /// The fault state of a schedule at one instant, as the generator tracks it.
    public struct FaultState: Sendable, Hashable {
        /// Every host of the cluster.
        public var hosts: [HostID]
        /// Hosts carrying a fault now (or settling after a kill or reboot).
        public var faultedHosts: Set<HostID> = []
        /// A partition, one-way cut or management outage is in force.
        public var networkWide = false
        /// The controller is down.
        public var controllerDown = false
        /// A rogue node is on the management network.
        public var rogueHost = false
        /// Faults in force (including settling instantaneous ones).
        public var active = 0

        /// A state with nothing in force on `hosts`.
        public init(hosts: [HostID]) {
            self.hosts = hosts
        }

        /// Hosts that may take a new fault.
        public var freeHosts: [HostID] { hosts.filter { !faultedHosts.contains($0) } }
        /// At most half the hosts (at least one) carry a host fault at once.
        public var maxFaultedHosts: Int { max(1, hosts.count / 2) }
        /// Whether one more host may be faulted.
        public var canFaultAHost: Bool { faultedHosts.count < maxFaultedHosts && !freeHosts.isEmpty }
    }

    /// The fault state at model time `t` of `steps` (each in force over `[at, heal)`, an
    /// instantaneous one over `[at, at + settleTime)`).
    public static func state(at t: Double, of steps: [FaultStep], hosts: [HostID]) -> FaultState {
        var state = FaultState(hosts: hosts)
        for step in steps {
            let end = step.healAt ?? (step.fault.isInstantaneous ? step.at + settleTime : .infinity)
            guard step.at <= t, t < end else { continue }
            state.active += 1
            switch step.fault {
            case .partition, .partitionOneWay, .managementNetworkOutage: state.networkWide = true
            case .controllerDown: state.controllerDown = true
            case .rogueHost: state.rogueHost = true
            default: state.faultedHosts.formUnion(step.fault.hostsNamed)
            }
        }
        return state
    }

    /// Whether a fault of `kind` may be injected in `state` (state gating).
    public static func isAvailable(_ kind: Kind, in state: FaultState) -> Bool {
        switch kind {
        case .partition, .partitionOneWay:
            // No overlapping partitions; a management outage is one too.
            !state.networkWide && state.hosts.count >= 2
        case .managementOutage:
            // Every host loses the network: no other network fault, no host fault in force.
            !state.networkWide && state.faultedHosts.isEmpty
        case .controllerDown:
            !state.controllerDown
        case .rogueHost:
            !state.rogueHost
        case .killVM:
            true
        case .isolate, .isolateWithStorage, .dropIsolationAddress, .packetLoss:
            // Not during a network-wide fault: the host's cut would be hidden by it.
            !state.networkWide && state.canFaultAHost
        case .powerOff, .unmount, .readOnly, .killAgent, .killHostd, .freeze, .stopAgent, .restartHost:
            state.canFaultAHost
        }
    }

    /// Draws the fault steps of a schedule: episodes of gated, weighted faults, each followed by
    /// a quiet period.
    static func drawFaults(_ rng: inout SeededGenerator, world: World, swarm: Swarm, options: Options) -> [FaultStep] {
        let hosts = world.hostIDs
        let kinds = options.kinds.filter { (swarm.weights[$0.rawValue] ?? 0) > 0 }
        guard !kinds.isEmpty else { return [] }
        var steps: [FaultStep] = []
        var t = options.firstFaultAt
        let episodes = rng.draw(options.episodes)
        for _ in 0..<episodes {
            let wanted = rng.draw(options.faultsPerEpisode)
            var injected = 0
            var attempts = 0
            while injected < wanted, attempts < wanted * 8 {
                attempts += 1
                let state = state(at: t, of: steps, hosts: hosts)
                let candidates = kinds.filter { isAvailable($0, in: state) }
                guard state.active < swarm.maxConcurrent, !candidates.isEmpty else {
                    // Wait for the next fault in force to end, then try again.
                    guard let next = nextEnd(after: t, of: steps) else { break }
                    t = next
                    continue
                }
                let kind = pickWeighted(&rng, candidates, weights: swarm.weights)
                let fault = makeFault(kind, &rng, state: state, world: world)
                let heal: Double? = fault.isInstantaneous ? nil : t + drawLength(&rng, mean: swarm.meanFaultLength)
                steps.append(FaultStep(at: t, fault: fault, healAt: heal))
                injected += 1
                t += max(1, (rng.exponential(mean: swarm.meanGap)).rounded())
            }
            // The episode ends when its last fault has healed (or settled): then a quiet period.
            let end = steps.map { $0.healAt ?? ($0.at + settleTime) }.max() ?? t
            t = max(t, end) + options.quietPeriod
        }
        return steps
    }

    /// The earliest end (heal or settle) of a fault in force after `t`.
    static func nextEnd(after t: Double, of steps: [FaultStep]) -> Double? {
        steps.compactMap { step -> Double? in
            let end = step.healAt ?? (step.fault.isInstantaneous ? step.at + settleTime : nil)
            return end.flatMap { $0 > t ? $0 : nil }
        }.min()
    }

    /// A fault length in whole model seconds: exponential around the seed's mean, in [5, 4 × mean].
    static func drawLength(_ rng: inout SeededGenerator, mean: Double) -> Double {
        min(max(5, rng.exponential(mean: mean)), max(5, 4 * mean)).rounded()
    }

    static func pickWeighted(_ rng: inout SeededGenerator, _ kinds: [Kind], weights: [String: Int]) -> Kind {
        let total = kinds.reduce(0) { $0 + max(1, weights[$1.rawValue] ?? 1) }
        var pick = rng.index(total)
        for kind in kinds {
            pick -= max(1, weights[kind.rawValue] ?? 1)
            if pick < 0 { return kind }
        }
        return kinds[kinds.count - 1]
    }

    /// The concrete fault of `kind`, aimed at a free host (gating guarantees there is one).
    static func makeFault(_ kind: Kind, _ rng: inout SeededGenerator, state: FaultState, world: World) -> Fault {
        let hosts = world.hostIDs
        let free = state.freeHosts.isEmpty ? hosts : state.freeHosts
        let host = free[rng.index(free.count)]
        switch kind {
        case .powerOff: return .powerOffHost(host)
        case .partition:
            var shuffled = hosts
            rng.shuffle(&shuffled)
            let groupCount = hosts.count >= 4 && rng.unit() < 0.2 ? 3 : 2
            var cuts = Set<Int>()
            while cuts.count < groupCount - 1 { cuts.insert(1 + rng.index(hosts.count - 1)) }
            var groups: [[HostID]] = []
            var start = 0
            for cut in cuts.sorted() + [hosts.count] {
                groups.append(shuffled[start..<cut].sorted())
                start = cut
            }
            return .partition(groups: groups)
        case .partitionOneWay:
            let others = hosts.filter { $0 != host }
            return .partitionOneWay(from: [host], to: others)
        case .isolate: return .isolateHost(host, storageToo: false)
        case .isolateWithStorage: return .isolateHost(host, storageToo: true)
        case .dropIsolationAddress: return .dropIsolationAddress(host)
        case .managementOutage: return .managementNetworkOutage
        case .unmount: return .unmountDatastore(world.datastores[rng.index(world.datastores.count)].id, hosts: [host])
        case .readOnly: return .readOnlyDatastore(world.datastores[rng.index(world.datastores.count)].id, hosts: [host])
        case .killAgent: return .killAgent(host, staysDown: false)
        case .killHostd: return .killHostd(host, staysDown: false)
        case .killVM: return .killVM(world.cluster.vms[rng.index(world.cluster.vms.count)].id)
        case .freeze: return .freezeHost(host)
        case .stopAgent: return .stopAgent(host)
        case .packetLoss: return .packetLoss(host, probability: ((0.1 + rng.unit() * 0.6) * 100).rounded() / 100)
        case .restartHost: return .restartHost(host)
        case .controllerDown: return .controllerDown
        case .rogueHost: return .rogueHost
        }
    }

    /// The chance that a seed's schedule has a rogue node, when ``Kind/rogueHost`` is allowed
    /// with other kinds (alone, every schedule has one).
    public static let rogueChance = 0.3

    /// A rogue node for `seed`'s schedule, drawn on a stream of its own (the seed mixed with a
    /// constant) so that the timeline of every seed is the same with or without it. It joins one
    /// of the drawn faults: injected with it and healed when it heals (or settles), so it lies
    /// inside that fault's episode and never reaches into a quiet period. Without other faults it
    /// is alone, at the first fault time, for a length drawn around the seed's mean.
    /// - Returns: the step and where it goes in `steps` (kept in time order), or `nil`.
    static func drawRogue(seed: UInt64, steps: [FaultStep], swarm: Swarm, options: Options) -> (step: FaultStep, index: Int)? {
        guard options.kinds.contains(.rogueHost) else { return nil }
        var rng = SeededGenerator(seed: seed ^ 0x726F_6775_6548_6F73)  // "rogueHos"
        let alone = options.kinds == [.rogueHost]
        guard alone || rng.unit() < rogueChance else { return nil }
        guard !steps.isEmpty else {
            let at = options.firstFaultAt
            return (FaultStep(at: at, fault: .rogueHost, healAt: at + drawLength(&rng, mean: swarm.meanFaultLength)), 0)
        }
        let index = rng.index(steps.count)
        let companion = steps[index]
        let end = companion.healAt ?? companion.at + settleTime
        return (FaultStep(at: companion.at, fault: .rogueHost, healAt: end), index + 1)
    }
}

extension SeededGenerator {
    /// A uniform integer in `range`.
    mutating func draw(_ range: ClosedRange<Int>) -> Int { range.lowerBound + index(range.count) }

    /// An exponential variate with mean `mean`.
    mutating func exponential(mean: Double) -> Double {
        var u = unit()
        if u >= 1 { u = 0.999_999 }
        return -mean * log1p(-u)
    }

    /// Fisher–Yates with this generator.
    mutating func shuffle<T>(_ items: inout [T]) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) {
            items.swapAt(i, index(i + 1))
        }
    }
}
