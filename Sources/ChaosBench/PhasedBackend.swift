import ChaosKit
import Foundation
import HACore

/// Bring-up and teardown of a real-node backend, split into phases that the bench times apart.
///
/// The netns backend implements it below. A compose backend slots in by implementing the same
/// two calls (network = `docker compose up` of the network/containers, nodes = ha-node started
/// and initial VMs placed; teardown = nodes stopped, then `compose down`) and returning itself
/// from ``PhasedBackends/make(_:)``: the bench's `bring-up`/`teardown` rows then appear for it
/// with no other change.
protocol PhasedBackend {
    associatedtype Handle
    var name: String { get }
    /// Builds a cluster for `scenario`; returns it with its phase durations in seconds
    /// (`network`, `nodes`; `total` is their sum plus what lies between).
    func bringUp(_ scenario: Scenario, options: RunOptions) async throws -> (handle: Handle, phases: [String: Double])
    /// Removes it; phase durations in seconds (`nodes`, `network`).
    func tearDown(_ handle: Handle) async -> (phases: [String: Double], failures: [String])
}

enum PhasedBackends {
    /// The backends the bench measures bring-up and teardown on, by name. `nil`: not in this build.
    static func make(_ name: String) -> (any PhasedBackend)? {
        switch name {
        case "netns": NetnsPhased(backend: NetnsBackend())
        case "compose": ComposePhased(backend: ComposeBackend())
        default: nil
        }
    }
}

/// The netns backend through its public phases (``NetnsBackend/bringUpNetwork(_:options:)``,
/// ``NetnsBackend/startNodes(_:options:)``, ``NetnsBackend/stopNodes(_:)``, `NetnsNetwork.tearDown()`).
struct NetnsPhased: PhasedBackend {
    let backend: NetnsBackend
    var name: String { backend.name }

    func bringUp(_ scenario: Scenario, options: RunOptions) async throws -> (handle: NetnsBackend.Session, phases: [String: Double]) {
        let clock = ContinuousClock()
        let t0 = clock.now
        let session = try await backend.bringUpNetwork(scenario, options: options)
        let t1 = clock.now
        do {
            _ = try await backend.startNodes(session, options: options)
        } catch {
            _ = await backend.tearDown(session)
            throw error
        }
        let t2 = clock.now
        return (session, [
            "network": Stopwatch.seconds(t0.duration(to: t1)),
            "plumbing": Stopwatch.seconds(session.plumbing),
            "nodes": Stopwatch.seconds(t1.duration(to: t2)),
            "total": Stopwatch.seconds(t0.duration(to: t2)),
        ])
    }

    func tearDown(_ session: NetnsBackend.Session) async -> (phases: [String: Double], failures: [String]) {
        let clock = ContinuousClock()
        let t0 = clock.now
        await backend.stopNodes(session)
        let t1 = clock.now
        let stats = await session.network.tearDown()
        let t2 = clock.now
        var failures = stats.failures
        if !stats.journalDeleted { failures.append("journal of \(session.layout.runID) not deleted") }
        return (["nodes": Stopwatch.seconds(t0.duration(to: t1)), "network": Stopwatch.seconds(t1.duration(to: t2)),
                 "total": Stopwatch.seconds(t0.duration(to: t2))], failures)
    }
}

/// The compose backend through its public phases (``ComposeBackend/bringUpContainers(_:options:)``:
/// network and containers created, gateway and controller started; ``ComposeBackend/startNodes(_:options:)``:
/// host containers started, nodes released, initial VMs placed; ``ComposeBackend/tearDown(_:)``).
struct ComposePhased: PhasedBackend {
    let backend: ComposeBackend
    var name: String { backend.name }

    func bringUp(_ scenario: Scenario, options: RunOptions) async throws -> (handle: ComposeBackend.Session, phases: [String: Double]) {
        if let reason = await backend.unavailableReason() { throw BenchSkip(reason: reason) }
        let clock = ContinuousClock()
        let t0 = clock.now
        let session = try await backend.bringUpContainers(scenario, options: options)
        let t1 = clock.now
        do {
            _ = try await backend.startNodes(session, options: options)
        } catch {
            _ = await backend.tearDown(session)
            throw error
        }
        let t2 = clock.now
        return (session, [
            "network": Stopwatch.seconds(t0.duration(to: t1)),
            "nodes": Stopwatch.seconds(t1.duration(to: t2)),
            "total": Stopwatch.seconds(t0.duration(to: t2)),
        ])
    }

    func tearDown(_ session: ComposeBackend.Session) async -> (phases: [String: Double], failures: [String]) {
        let clock = ContinuousClock()
        let t0 = clock.now
        let stats = await backend.tearDown(session)
        let t1 = clock.now
        var failures: [String] = []
        if !stats.contains("journal closed") { failures.append("compose teardown: \(stats)") }
        return (["total": Stopwatch.seconds(t0.duration(to: t1))], failures)
    }
}

/// The backend cannot run here (no Docker daemon, no image): the row says so instead of a figure.
struct BenchSkip: Error, CustomStringConvertible {
    var reason: String
    var description: String { "not measured: \(reason)" }
}

/// Scenario files the bench plays.
enum BenchScenarios {
    /// `hosts` hosts, `vmsPerHost` VMs each, two NFS datastores (as the corpus' host-failure), no fault.
    static func idle(hosts: Int, vmsPerHost: Int = 4, duration: Int = 60) throws -> Scenario {
        try ScenarioParser.parse(yaml: """
        name: bench-\(hosts)h
        description: "bench: \(hosts) hosts, \(vmsPerHost) VMs each, at rest"
        profile: "5.1"
        duration: \(duration)
        cluster:
          datastores:
            - {id: ds-1, type: nfs}
            - {id: ds-2, type: nfs}
          hosts: {count: \(hosts)}
          vms: {count: \(hosts * vmsPerHost)}
        expect:
          invariants: [INV-E1]
        """, path: "bench-\(hosts)h.yaml")
    }

    /// faults/host-failure.yaml with `hosts` hosts: a slave (`victim`) loses power at 60 s.
    static func hostFailure(hosts: Int, victim: String, duration: Int = 115) throws -> Scenario {
        try ScenarioParser.parse(yaml: """
        name: bench-host-failure-\(hosts)h
        description: "faults/host-failure.yaml on \(hosts) hosts: a slave loses power; declared dead at T18, restarts"
        profile: "5.1"
        duration: \(duration)
        cluster:
          datastores:
            - {id: ds-1, type: nfs}
            - {id: ds-2, type: nfs}
          hosts: {count: \(hosts)}
          vms: {count: \(hosts * 2)}
        faults:
          - {at: 60, fault: host.powerOff, host: \(victim)}
        expect:
          invariants: [INV-FS1, INV-FS3, INV-H1, INV-E4, INV-R1]
        """, path: "bench-host-failure-\(hosts)h.yaml")
    }

    /// faults/master-failure.yaml with `hosts` hosts: the master (`victim`) loses power at 60 s.
    static func masterFailure(hosts: Int, victim: String, duration: Int = 115) throws -> Scenario {
        try ScenarioParser.parse(yaml: """
        name: bench-master-failure-\(hosts)h
        description: "faults/master-failure.yaml on \(hosts) hosts: the master loses power; new master T25, restarts T35"
        profile: "5.1"
        duration: \(duration)
        cluster:
          datastores:
            - {id: ds-1, type: nfs}
            - {id: ds-2, type: vmfs}
          hosts: {count: \(hosts)}
          vms: {count: \(hosts * 2)}
        faults:
          - {at: 60, fault: host.powerOff, host: \(victim)}
        expect:
          invariants: [INV-FM1, INV-E2, INV-E3, INV-E4, INV-E1]
        """, path: "bench-master-failure-\(hosts)h.yaml")
    }
}
