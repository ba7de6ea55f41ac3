import Foundation
import HACore
import HAWire
import Logging

// MARK: - Message authentication (issue 7)

extension AgentShell {
    /// `N/config/keys.json`: the cluster keyring written with the cluster configuration.
    var keyringPath: String { options.nodeDirectory + "/config/keys.json" }

    /// Re-reads the keyring when the file changed (rotation), at most once per heartbeat
    /// interval. A file that goes missing or turns invalid keeps the last good keyring (an agent
    /// never drops to unauthenticated traffic because of a bad rotation) and is logged once.
    func refreshKeyring() {
        let t = now
        guard t >= nextKeyringCheck else { return }
        nextKeyringCheck = t + options.settings.heartbeatInterval
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: keyringPath),
              let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 else { return }
        let size = (attributes[.size] as? Int) ?? -1
        let stamp = "\(modified)/\(size)"
        guard stamp != keyringStamp else { return }
        keyringStamp = stamp
        guard let data = FileManager.default.contents(atPath: keyringPath) else { return }
        switch ClusterKeyring.parse(data) {
        case .success(let ring):
            if keyring != nil, ring != keyring { logger.info("keyring rotated", metadata: ["current": "\(ring.current)", "keys": "\(ring.keys.count)"]) }
            keyring = ring
        case .failure(let error):
            logger.error("invalid keyring file kept the previous keys", metadata: ["path": "\(keyringPath)", "error": "\(error)"])
        }
    }

    /// Encodes an outbound datagram: sealed when a keyring is configured.
    func seal(_ envelope: Envelope) -> [UInt8]? {
        if let keyring { return try? WireAuthenticator.seal(envelope, with: keyring) }
        return try? WireCodec.encode(envelope)
    }

    /// Decodes an inbound datagram: authenticated and replay-checked when a keyring is configured.
    func open(_ bytes: [UInt8], known: Set<HostID>) throws(WireError) -> Envelope {
        guard let keyring else { return try WireCodec.decode(bytes, expectedCluster: instance.config.name, knownHosts: known) }
        let envelope = try WireAuthenticator.open(bytes, expectedCluster: instance.config.name, knownHosts: known, keyring: keyring)
        try replayGuard.admit(from: envelope.from, epoch: envelope.epoch, seq: envelope.seq)
        return envelope
    }

    /// Writes the dropped-datagram counters to `N/logs/dropped.json` when they changed (read by
    /// the harness out of band; `{"badMAC": 57, "unknownHost": 3}`).
    func persistDropCounters() {
        guard droppedDatagrams != persistedDrops else { return }
        persistedDrops = droppedDatagrams
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        if let data = try? encoder.encode(droppedDatagrams) {
            store.writeAtomically(options.nodeDirectory + "/logs/dropped.json", data)
        }
    }
}
