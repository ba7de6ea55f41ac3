import Foundation
import HACore
import HostKit
#if canImport(Glibc)
import Glibc
#endif

/// A node folder in a ``Sandbox`` with fast settings (200 ms lock renew, 600 ms expiry, 100 ms
/// guest heartbeats) and a cluster of one host, datastore `ds-1`, VMs `vm-01` (Tools) and
/// `vm-02` (no Tools).
struct TestNode: Sendable {
    let sandbox: Sandbox
    let host: HostID = "host-1"

    var directory: String { sandbox.path("node") }
    var paths: NodePaths { NodePaths(root: directory) }
    var datastoreRoot: String { sandbox.path("volumes") }
    var client: HostdClient { HostdClient(socketPath: paths.hostdSocket, requestTimeout: .seconds(20)) }

    static var settings: Settings {
        var settings = Settings.v51
        settings.vmDiskLockRenewInterval = .milliseconds(200)
        settings.vmDiskLockExpiry = .milliseconds(600)
        settings.heartbeatInterval = .milliseconds(100)
        settings.isolationShutdownTimeout = .seconds(2)
        return settings
    }

    init(_ sandbox: Sandbox) throws {
        self.sandbox = sandbox
        let cluster = ClusterConfig(
            hosts: [HostConfig(id: host, datastores: ["ds-1"])],
            vms: [VMConfig(id: "vm-01", homeDatastore: "ds-1"), VMConfig(id: "vm-02", homeDatastore: "ds-1", hasTools: false)]
        )
        let encoder = JSONEncoder()
        try sandbox.write(String(decoding: try encoder.encode(Self.settings), as: UTF8.self), to: "node/config/settings.json")
        try sandbox.write(String(decoding: try encoder.encode(cluster), as: UTF8.self), to: "node/config/clusterconfig.json")
        try sandbox.makeDirectory("volumes/ds-1")
    }

    /// The hostd command line for this node (after the executable).
    var hostdArguments: [String] {
        ["--node-dir", directory, "--host", host.rawValue, "--datastore-root", datastoreRoot, "--vm-workload", Binaries.vmWorkload]
    }

    /// Starts hostd and waits until its socket answers `list`.
    func startHostd() async throws -> pid_t {
        let pid = try sandbox.spawn(Binaries.hostd, hostdArguments, output: "hostd.out")
        let ready = await eventually {
            (try? await client.send(.list)) != nil
        }
        guard ready else { throw HostKitError(.timeout, "hostd did not answer on \(paths.hostdSocket)") }
        return pid
    }

    func runRecord(_ vm: VMID) -> VMRunRecord? {
        sandbox.read("node/run/vms/\(vm.rawValue).json").flatMap { try? JSONLines.decode(VMRunRecord.self, from: $0) }
    }

    var groundTruth: [GroundTruthLine] { sandbox.decodeLines(GroundTruthLine.self, "node/logs/ground-truth.jsonl") }

    func lock(_ vm: VMID) -> DiskLockFile? {
        sandbox.read("volumes/ds-1/\(vm.rawValue)/lock").flatMap { try? JSONLines.decode(DiskLockFile.self, from: $0) }
    }
}

/// Collects a connection's events in the background, for assertions that wait for one.
actor EventLog {
    private(set) var events: [HostdEvent] = []

    func append(_ event: HostdEvent) { events.append(event) }

    func contains(_ predicate: @Sendable (HostdEvent) -> Bool) -> Bool { events.contains(where: predicate) }

    func count(_ predicate: @Sendable (HostdEvent) -> Bool) -> Int { events.count(where: predicate) }

    /// Starts draining `connection.events` into a new log; cancel the returned task when done.
    static func collecting(_ connection: HostdConnection) -> (EventLog, Task<Void, Never>) {
        let log = EventLog()
        let task = Task {
            for await event in connection.events { await log.append(event) }
        }
        return (log, task)
    }
}
