import Foundation
import HACore
import HAWire

// MARK: - RogueNode

/// A hostile node on the management network (issue 7's `network.rogueHost` fault): it holds a
/// cluster key of its own — not the cluster's — and every `interval` it sends each host:
/// - an election and a master announcement as an unknown host with 99 datastores;
/// - master announcements and master heartbeats forged in every real host's name;
/// - slave heartbeats forged in every host's name that report every VM failed;
/// - restart commands for every VM;
/// - an unauthenticated copy (no MAC) of the forged announcement.
/// Agents must drop all of it (bad MAC, unknown host) and behave as if it were not there.
public struct RogueNode: Sendable {
    public var config: ClusterConfig
    public var bindAddress: String
    public var port: Int
    public var interval: Duration
    /// The rogue's own key (random): same key id as a real ring, wrong secret.
    public let keyring = ClusterKeyring.generate(id: "k1")
    public static let rogueID: HostID = "host-999"

    public init(config: ClusterConfig, bindAddress: String, port: Int = 8182, interval: Duration) {
        self.config = config
        self.bindAddress = bindAddress
        self.port = port
        self.interval = interval
    }

    /// The datagrams of one round aimed at `target` (pure: tests inspect them).
    public func datagrams(round: UInt64) -> [[UInt8]] {
        let vms = config.vms.map(\.id)
        let datastores = Array(Set(config.vms.map(\.homeDatastore))).sorted()
        let epoch: UInt64 = 1
        var out: [[UInt8]] = []
        var seq = round * 1000
        func add(_ from: HostID, _ message: PeerMessage, sealed: Bool = true) {
            seq += 1
            let envelope = Envelope(cluster: config.name, from: from, epoch: epoch, seq: seq, msg: message)
            let bytes = sealed ? try? WireAuthenticator.seal(envelope, with: keyring) : try? WireCodec.encode(envelope)
            if let bytes { out.append(bytes) }
        }
        let loud = PeerMessage.Candidate(host: Self.rogueID, connectedDatastores: 99)
        add(Self.rogueID, .election(loud))
        add(Self.rogueID, .masterAnnounce(loud))
        for host in config.hosts.map(\.id) {
            let forged = PeerMessage.Candidate(host: host, connectedDatastores: 99)
            add(host, .masterAnnounce(forged))
            add(host, .masterHeartbeat(.init(master: host, configVersion: Int.max / 2, datastoreReach: Dictionary(uniqueKeysWithValues: datastores.map { ($0, 0) }))))
            add(host, .slaveHeartbeat(.init(host: host, poweredOn: [], accessibleDatastores: [], failedVMs: vms, configVersion: Int.max / 2)))
            for vm in vms { add(host, .restartVM(vm: vm, attempt: 1, attemptID: seq)) }
            add(host, .masterAnnounce(forged), sealed: false)
        }
        return out
    }

    /// Sends rounds until the task is cancelled or the process is killed; prints a line every
    /// ten rounds (datagrams sent).
    public func run() async throws {
        guard let sender = UDPSender(bindAddress: bindAddress) else {
            throw RogueError(message: "cannot open a UDP socket bound to \(bindAddress)")
        }
        let targets = config.hosts.map(\.managementAddress).filter { !$0.isEmpty }
        var round: UInt64 = 0
        var sent = 0
        while !Task.isCancelled {
            round += 1
            let batch = datagrams(round: round)
            for address in targets {
                for bytes in batch { sender.send(bytes, to: address, port: port) }
                sent += batch.count
            }
            if round % 10 == 1 { print("rogue: round \(round), \(sent) forged datagrams sent to \(targets.count) hosts"); fflush(nil) }
            try await Task.sleep(for: interval)
        }
    }
}

/// Why the rogue could not start.
public struct RogueError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
