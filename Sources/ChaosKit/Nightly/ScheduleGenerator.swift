import HACore
import HASim

/// Random fault schedules, swarm-style: every seed also draws which fault kinds it uses, how
/// often and how hard (Groce et al., "Swarm testing"; TigerBeetle's VOPR), so that no single mix
/// dominates. Pure: seed + options → scenario, the same on every machine.
///
/// A schedule is a run of **episodes**. In an episode faults are injected one after another at
/// drawn gaps, each *gated on the fault state at that moment* (``Kind/isAvailable(in:)``): a
/// host carries at most one fault at a time, at most one network-wide fault (partition,
/// one-way cut, management outage) is in force, at most half the hosts are faulted, the
/// controller goes down only when it is up. Every fault that can be healed is healed, at a
/// drawn length, so no heal ever names a fault that is not in force. After the last heal of an
/// episode comes a **quiet period** (Antithesis' "stop faults", VOPR's liveness phase); the
/// schedule ends with a longer one, and — with ``Options/livenessExpectations`` — expects every
/// restartable VM to run exactly once at the end: a healed cluster must converge.
public enum ScheduleGenerator {
    /// The fault kinds a schedule may draw from.
    public enum Kind: String, CaseIterable, Sendable, Codable {
        case powerOff, partition, partitionOneWay, isolate, isolateWithStorage, dropIsolationAddress,
             managementOutage, unmount, readOnly, killAgent, killHostd, killVM, freeze, stopAgent, packetLoss,
             restartHost, controllerDown, rogueHost

        /// Kinds drawn by the swarm's weighted timeline. `rogueHost` is drawn apart, on a
        /// stream of its own (``drawRogue(seed:steps:options:)``), so that adding it left the
        /// schedule of every earlier seed as it was.
        static let timelineKinds = allCases.filter { $0 != .rogueHost }
    }

    /// The invariants every generated schedule expects. Safety invariants that hold whatever
    /// the mix of faults, plus timing invariants that judge only triggers they can attribute
    /// (each finds its own fault and skips what overlaps); chosen by running the unmutated core
    /// over thousands of seeds with every implemented invariant and keeping those that never
    /// failed (``NightlyTests``).
    public static let nightlyInvariants = [
        "INV-E1", "INV-E2", "INV-E4", "INV-P2", "INV-SB1", "INV-SB2", "INV-SB3", "INV-I3", "INV-I4", "INV-I10",
        "INV-R1", "INV-R4",
    ]

    /// The safety invariants of `chaos simulate` (kept for its replay commands' meaning).
    public static let safetyInvariants = ["INV-E1", "INV-E4", "INV-P2", "INV-SB1", "INV-I4", "INV-I10", "INV-R1", "INV-R4"]

    /// What a generated schedule may contain.
    public struct Options: Sendable, Hashable {
        /// Hosts per cluster (at least 2).
        public var hosts: Int
        /// VMs per cluster (`nil`: two per host).
        public var vms: Int?
        /// The fault kinds a seed may enable (each seed enables a random subset).
        public var kinds: [Kind]
        /// How many chaos episodes a schedule has.
        public var episodes: ClosedRange<Int>
        /// How many faults an episode injects.
        public var faultsPerEpisode: ClosedRange<Int>
        /// Model seconds of the first injection (after the first election settled).
        public var firstFaultAt: Double
        /// Model seconds without faults after each episode's last heal.
        public var quietPeriod: Double
        /// Model seconds without faults at the end of the schedule (liveness is judged at its end).
        public var finalQuietPeriod: Double
        /// Expect every restartable VM to run exactly once at the end (``Expectation/vmRunning(vm:on:notOn:by:)``).
        public var livenessExpectations: Bool
        /// The invariants the scenario expects.
        public var invariants: [String]

        /// Options; see the properties.
        public init(
            hosts: Int = 4, vms: Int? = nil, kinds: [Kind] = Kind.allCases, episodes: ClosedRange<Int> = 1...2,
            faultsPerEpisode: ClosedRange<Int> = 1...4, firstFaultAt: Double = 60, quietPeriod: Double = 180,
            finalQuietPeriod: Double = 600, livenessExpectations: Bool = true,
            invariants: [String] = ScheduleGenerator.nightlyInvariants
        ) {
            self.hosts = hosts
            self.vms = vms
            self.kinds = kinds
            self.episodes = episodes
            self.faultsPerEpisode = faultsPerEpisode
            self.firstFaultAt = firstFaultAt
            self.quietPeriod = quietPeriod
            self.finalQuietPeriod = finalQuietPeriod
            self.livenessExpectations = livenessExpectations
            self.invariants = invariants
        }

        /// The options of `chaos simulate` (safety invariants only, no liveness expectation).
        public static func simulate(hosts: Int, vms: Int) -> Options {
            Options(hosts: hosts, vms: vms, livenessExpectations: false, invariants: ScheduleGenerator.safetyInvariants)
        }

        var vmCount: Int { max(1, vms ?? hosts * 2) }
        var hostCount: Int { max(2, hosts) }
    }

    /// What a seed drew besides the cluster: its fault mix and intensities (reported with findings).
    public struct Swarm: Sendable, Hashable, Codable {
        /// Enabled kinds with their weights.
        public var weights: [String: Int]
        /// Mean fault length, model seconds.
        public var meanFaultLength: Double
        /// Mean gap between injections, model seconds.
        public var meanGap: Double
        /// Faults in force at once, at most.
        public var maxConcurrent: Int
        /// Host ids straddle a digit boundary (`host-99` > `host-100` as strings).
        public var straddlingHostIDs: Bool
        /// A rogue node forges traffic during one of the faults (``Kind/rogueHost``).
        public var rogueHost = false
    }

    /// A scenario for `seed` with `hosts` hosts and `vms` VMs in total (`chaos simulate`'s schedules).
    public static func scenario(seed: UInt64, hosts: Int, vms: Int) -> Scenario {
        scenario(seed: seed, options: .simulate(hosts: hosts, vms: vms))
    }

    /// The scenario of `seed` under `options`.
    public static func scenario(seed: UInt64, options: Options) -> Scenario {
        generate(seed: seed, options: options).scenario
    }

    /// The scenario of `seed` under `options` with what the seed drew.
    public static func generate(seed: UInt64, options: Options) -> (scenario: Scenario, swarm: Swarm) {
        var rng = SeededGenerator(seed: seed)
        let world = drawCluster(&rng, options: options)
        var swarm = drawSwarm(&rng, options: options)
        swarm.straddlingHostIDs = world.straddlingHostIDs
        var steps = drawFaults(&rng, world: world, swarm: swarm, options: options)
        if let rogue = drawRogue(seed: seed, steps: steps, swarm: swarm, options: options) {
            steps.insert(rogue.step, at: rogue.index)
            swarm.rogueHost = true
        }
        let lastEvent = steps.map { $0.healAt ?? $0.at }.max() ?? options.firstFaultAt
        let duration = (lastEvent + options.finalQuietPeriod).rounded()
        var expectations = options.invariants.map { Expectation.invariant($0) }
        if options.livenessExpectations {
            for vm in world.cluster.vms where vm.restartPriority != .disabled {
                expectations.append(.vmRunning(vm: vm.id, on: nil, notOn: nil, by: duration))
            }
        }
        let mix = swarm.weights.keys.sorted().map { "\($0)×\(swarm.weights[$0] ?? 1)" }.joined(separator: ",")
            + (swarm.rogueHost ? (swarm.weights.isEmpty ? "" : ",") + "rogueHost" : "")
        let scenario = Scenario(
            name: "swarm-\(seed)",
            description: "random schedule for seed \(seed): \(mix); mean length \(Int(swarm.meanFaultLength)) s, gap \(Int(swarm.meanGap)) s, ≤\(swarm.maxConcurrent) at once",
            profile: world.profile, cluster: world.cluster, datastores: world.datastores, initialPlacement: world.placement,
            settings: Settings(profile: world.profile), steps: steps, duration: duration, expectations: expectations
        )
        return (scenario, swarm)
    }

    // MARK: - Cluster

    struct World {
        var profile: Profile
        var cluster: ClusterConfig
        var datastores: [DatastoreSpec]
        var placement: [VMID: HostID]
        var straddlingHostIDs: Bool
        var hostIDs: [HostID] { cluster.hosts.map(\.id) }
    }

    static func drawCluster(_ rng: inout SeededGenerator, options: Options) -> World {
        let count = options.hostCount
        // Every third seed or so names hosts across a digit boundary, where string and numeric
        // order differ (host-99 beats host-100 in the election, oracle §1.4).
        let straddle = rng.unit() < 0.3
        let first = straddle ? 100 - count / 2 : 1
        let hostIDs = (0..<count).map { HostID("host-\(first + $0)") }
        let datastores = [DatastoreSpec(id: "ds-1", kind: .nfs), DatastoreSpec(id: "ds-2", kind: .vmfs), DatastoreSpec(id: "ds-3", kind: .iscsi)]
        let hosts = hostIDs.map { HostConfig(id: $0, datastores: datastores.map(\.id)) }
        let responses: [IsolationResponse] = [.leavePoweredOn, .powerOff, .shutdown]
        let priorities: [RestartPriority] = [.high, .medium, .medium, .low, .disabled]
        var vms: [VMConfig] = []
        var placement: [VMID: HostID] = [:]
        for i in 0..<options.vmCount {
            let id = VMID(i + 1 < 10 ? "vm-0\(i + 1)" : "vm-\(i + 1)")
            vms.append(VMConfig(
                id: id, homeDatastore: datastores[i % datastores.count].id,
                restartPriority: priorities[rng.index(priorities.count)],
                hasTools: rng.unit() < 0.8
            ))
            placement[id] = hostIDs[i % hostIDs.count]
        }
        let profile: Profile = rng.unit() < 0.5 ? .v50 : .v51
        let cluster = ClusterConfig(hosts: hosts, vms: vms, isolationResponse: responses[rng.index(responses.count)])
        return World(profile: profile, cluster: cluster, datastores: datastores, placement: placement, straddlingHostIDs: straddle)
    }

    static func drawSwarm(_ rng: inout SeededGenerator, options: Options) -> Swarm {
        let kinds = options.kinds.filter { $0 != .rogueHost }
        var enabled = kinds.filter { _ in rng.unit() < 0.5 }
        if enabled.isEmpty, !kinds.isEmpty { enabled = [kinds[rng.index(kinds.count)]] }
        var weights: [String: Int] = [:]
        for kind in enabled { weights[kind.rawValue] = [1, 2, 4][rng.index(3)] }
        let lengths = [15.0, 40, 120, 300]
        let gaps = [5.0, 20, 60]
        let concurrency = [1, 1, 2, 3]
        return Swarm(
            weights: weights, meanFaultLength: lengths[rng.index(lengths.count)], meanGap: gaps[rng.index(gaps.count)],
            maxConcurrent: concurrency[rng.index(concurrency.count)], straddlingHostIDs: false
        )
    }
}

extension SeededGenerator {
    /// A uniform index in `0..<count` (`count` > 0).
    mutating func index(_ count: Int) -> Int { Int(next() % UInt64(max(1, count))) }
}
