import Foundation
import HACore
import HATestKit
import HAWire

// MARK: - Shared test values

/// Sample values for the wire tests.
enum Samples {
    static let cluster = "cluster-1"
    static let hosts: Set<HostID> = ["host-1", "host-2", "host-3"]

    /// One message of every ``PeerMessage`` case.
    static var messages: [PeerMessage] {
        let candidate = PeerMessage.Candidate(host: "host-2", connectedDatastores: 2)
        return [
            .election(candidate),
            .masterAnnounce(candidate),
            .masterHeartbeat(.init(master: "host-2", configVersion: 3, datastoreReach: ["ds-1": 3, "ds-2": 1])),
            .slaveHeartbeat(
                .init(host: "host-1", poweredOn: ["vm-01", "vm-02"], accessibleDatastores: ["ds-1"], failedVMs: ["vm-03"], configVersion: 3)
            ),
            .restartVM(vm: "vm-07", attempt: 2, attemptID: 99),
            .restartResult(vm: "vm-07", attemptID: 99, succeeded: false, reason: "no \"lock\" / é"),
            .configUpdate(Fixtures.cluster(hosts: 3, datastores: 2, vmsPerHost: 2).config),
        ]
    }

    static func envelope(_ msg: PeerMessage = .election(.init(host: "host-2", connectedDatastores: 2)), mac: String? = nil) -> Envelope {
        Envelope(cluster: cluster, from: "host-2", epoch: 1_714_000_000_123, seq: 42, msg: msg, mac: mac)
    }

    static func decode(_ bytes: [UInt8]) throws(WireError) -> Envelope {
        try WireCodec.decode(bytes, expectedCluster: cluster, knownHosts: hosts)
    }

    /// Replaces `field`'s value in an envelope's JSON text.
    static func editedJSON(_ edit: (inout [String: Any]) -> Void) throws -> [UInt8] {
        let bytes = try WireCodec.encode(envelope())
        guard var object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else { return [] }
        edit(&object)
        return [UInt8](try JSONSerialization.data(withJSONObject: object))
    }
}

/// SplitMix64 (deterministic across platforms) for the randomized tests.
struct TestRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The seed from `HACHAOS_SEED`, else `fallback` (fixed, so runs are deterministic).
    static func seed(fallback: UInt64) -> UInt64 {
        ProcessInfo.processInfo.environment["HACHAOS_SEED"].flatMap { UInt64($0) } ?? fallback
    }
}
