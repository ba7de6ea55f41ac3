import HACore

/// `result.json`, exactly the fields of the results contract (DESIGN §8), plus `transitions`.
public struct ResultDocument: Codable, Sendable, Hashable {
    public struct Host: Codable, Sendable, Hashable { public var id: String; public var datastores: [String] }
    public struct FaultEntry: Codable, Sendable, Hashable {
        public var kind: String; public var targets: [String]; public var injectedAt: Double; public var healedAt: Double?
        enum CodingKeys: String, CodingKey { case kind, targets, injectedAt, healedAt }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(kind, forKey: .kind)
            try c.encode(targets, forKey: .targets)
            try c.encode(injectedAt, forKey: .injectedAt)
            try c.encode(healedAt, forKey: .healedAt)   // explicit null while not healed
        }
    }
    public struct RoleEntry: Codable, Sendable, Hashable { public var host: String; public var role: String; public var at: Double }
    public struct HostStateEntry: Codable, Sendable, Hashable { public var observer: String; public var host: String; public var state: String; public var at: Double }
    public struct InstanceEntry: Codable, Sendable, Hashable {
        public var vm: String; public var host: String; public var start: Double; public var end: Double?; public var endReason: String
        enum CodingKeys: String, CodingKey { case vm, host, start, end, endReason }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(vm, forKey: .vm)
            try c.encode(host, forKey: .host)
            try c.encode(start, forKey: .start)
            try c.encode(end, forKey: .end)
            try c.encode(endReason, forKey: .endReason)
        }
    }
    public struct CheckEntry: Codable, Sendable, Hashable {
        public var id: String; public var name: String; public var passed: Bool?; public var expected: String; public var observed: String; public var at: Double?
        enum CodingKeys: String, CodingKey { case id, name, passed, expected, observed, at }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(name, forKey: .name)
            try c.encode(passed, forKey: .passed)   // null = inconclusive
            try c.encode(expected, forKey: .expected)
            try c.encode(observed, forKey: .observed)
            try c.encodeIfPresent(at, forKey: .at)
        }
    }

    public var scenario: String
    public var backend: String
    public var timeScale: Double
    public var seed: UInt64?
    public var verdict: String
    public var hosts: [Host]
    public var faults: [FaultEntry]
    public var roles: [RoleEntry]
    public var hostStates: [HostStateEntry]
    public var vmInstances: [InstanceEntry]
    public var checks: [CheckEntry]
    /// Key transitions in model seconds after the first fault (not part of the contract; for people).
    public var transitions: [String: Double]

    public init(history: History, checks: [CheckResult]) {
        scenario = history.scenario
        backend = history.backend
        timeScale = history.timeScale
        seed = history.seed
        verdict = CheckResult.verdict(of: checks).rawValue
        hosts = history.cluster.hosts.map { Host(id: $0.id.rawValue, datastores: $0.datastores.map(\.rawValue)) }
        faults = history.faults.map { FaultEntry(kind: $0.fault.kind, targets: $0.fault.targets, injectedAt: $0.injectedAt, healedAt: $0.healedAt) }
        roles = []
        hostStates = []
        for timed in history.events {
            switch timed.event.kind {
            case .roleChanged(let role):
                roles.append(RoleEntry(host: timed.event.host.rawValue, role: role.rawValue, at: timed.time))
            case .hostStateChanged(let host, let state):
                hostStates.append(HostStateEntry(observer: timed.event.host.rawValue, host: host.rawValue, state: state.rawValue, at: timed.time))
            default:
                break
            }
        }
        vmInstances = history.vmInstances.map {
            InstanceEntry(vm: $0.vm.rawValue, host: $0.host.rawValue, start: $0.start, end: $0.end, endReason: $0.endReason.rawValue)
        }
        self.checks = checks.map { CheckEntry(id: $0.id, name: $0.name, passed: $0.passed, expected: $0.expected, observed: $0.observed, at: $0.at) }
        transitions = Transitions.of(history)
    }
}

/// The moments people ask about first: declared dead, new master, isolation declared, response
/// applied, first restart — in model seconds after the first fault.
public enum Transitions {
    public static func of(_ history: History) -> [String: Double] {
        guard let t0 = history.faults.map(\.injectedAt).min() else { return [:] }
        let scale = history.timeScale
        var result: [String: Double] = [:]
        func note(_ key: String, _ time: Double) {
            if result[key] == nil { result[key] = ((time - t0) / scale * 1000).rounded() / 1000 }
        }
        for timed in history.events where timed.time >= t0 {
            switch timed.event.kind {
            case .hostStateChanged(_, .dead): note("declaredDead", timed.time)
            case .hostStateChanged(_, .isolated): note("reportedIsolated", timed.time)
            case .electionStarted: note("electionStarted", timed.time)
            case .roleChanged(.master): note("newMaster", timed.time)
            case .isolationDeclared: note("isolationDeclared", timed.time)
            case .isolationResponseApplied: note("responseApplied", timed.time)
            case .restartIssued: note("firstRestart", timed.time)
            case .restartSucceeded: note("firstRestartSucceeded", timed.time)
            default: break
            }
        }
        return result
    }
}
