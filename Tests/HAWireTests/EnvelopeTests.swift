import Foundation
import HACore
import HAWire
import Testing

@Suite struct EnvelopeTests {
    // MARK: - Round trips

    @Test(arguments: Samples.messages)
    func codec_whenEveryMessageKind_roundTrips(_ message: PeerMessage) throws {
        let envelope = Samples.envelope(message)
        let bytes = try WireCodec.encode(envelope)
        #expect(bytes.count <= WireCodec.maxDatagramBytes)
        #expect(try Samples.decode(bytes) == envelope)
    }

    @Test func codec_whenMACAndExtremeCounters_roundTrips() throws {
        var envelope = Samples.envelope(mac: "hmac-sha256:0011aabb")
        envelope.epoch = .max
        envelope.seq = .max
        #expect(try Samples.decode(try WireCodec.encode(envelope)) == envelope)
    }

    @Test func encode_whenNoMAC_omitsTheKeyAndFollowsNodesSection4() throws {
        let bytes = try WireCodec.encode(Samples.envelope())
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(Set(object.keys) == ["v", "cluster", "from", "epoch", "seq", "msg"])
        #expect(object["v"] as? Int == 1)
        #expect(object["from"] as? String == "host-2")
    }

    @Test func encode_whenSameValue_isByteIdentical() throws {
        let envelope = Samples.envelope(Samples.messages[2])
        #expect(try WireCodec.encode(envelope) == WireCodec.encode(envelope))
    }

    // MARK: - Rejections

    @Test func decode_whenTruncated_throwsMalformed() throws {
        let bytes = try WireCodec.encode(Samples.envelope(Samples.messages[3]))
        for cut in [1, 2, 10, bytes.count / 2, bytes.count - 1] {
            let error = #expect(throws: WireError.self) { try Samples.decode(Array(bytes.prefix(bytes.count - cut))) }
            #expect(error?.code == .malformed)
        }
    }

    @Test func decode_whenLargerThan16KiB_throwsOversized() {
        let bytes = [UInt8](repeating: 0x20, count: WireCodec.maxDatagramBytes + 1)
        let error = #expect(throws: WireError.self) { try Samples.decode(bytes) }
        #expect(error?.code == .oversized)
    }

    @Test func encode_whenLargerThan16KiB_throwsOversized() {
        let config = ClusterConfig(
            hosts: (1...100).map { HostConfig(id: HostID("host-\($0)"), datastores: (1...20).map { DatastoreID("datastore-\($0)") }) },
            vms: []
        )
        let error = #expect(throws: WireError.self) { try WireCodec.encode(Samples.envelope(.configUpdate(config))) }
        #expect(error?.code == .oversized)
    }

    @Test func decode_whenWrongVersion_throwsBadVersionBeforeLookingAtThePayload() throws {
        let bytes = try Samples.editedJSON { object in
            object["v"] = 2
            object["msg"] = ["somethingNew": true]
        }
        let error = #expect(throws: WireError.self) { try Samples.decode(bytes) }
        #expect(error?.code == .badVersion)
    }

    @Test func decode_whenOtherCluster_throwsWrongCluster() throws {
        let bytes = try Samples.editedJSON { $0["cluster"] = "cluster-2" }
        let error = #expect(throws: WireError.self) { try Samples.decode(bytes) }
        #expect(error?.code == .wrongCluster)
    }

    @Test func decode_whenSenderNotInHostlist_throwsUnknownHost() throws {
        let bytes = try Samples.editedJSON { $0["from"] = "host-99" }
        let error = #expect(throws: WireError.self) { try Samples.decode(bytes) }
        #expect(error?.code == .unknownHost)
    }

    @Test func decode_whenHeaderFineButPayloadUnknown_throwsMalformed() throws {
        let bytes = try Samples.editedJSON { $0["msg"] = ["unknownMessage": ["x": 1]] }
        let error = #expect(throws: WireError.self) { try Samples.decode(bytes) }
        #expect(error?.code == .malformed)
    }

    @Test(arguments: [
        "", "null", "[]", "42", "\"x\"", "{}", "{\"v\":\"1\"}", "{\"v\":1,\"cluster\":\"cluster-1\"}",
        "{\"v\":1,\"cluster\":\"cluster-1\",\"from\":\"host-2\"}",
        "{\"v\":1,\"cluster\":\"cluster-1\",\"from\":\"host-2\",\"epoch\":-1,\"seq\":0,\"msg\":{}}",
        "{\"v\":1e400,\"cluster\":\"cluster-1\",\"from\":\"host-2\"}",
    ])
    func decode_whenNotAnEnvelope_throwsMalformed(_ text: String) {
        let error = #expect(throws: WireError.self) { try Samples.decode(Array(text.utf8)) }
        #expect(error?.code == .malformed)
    }

    @Test func decode_whenDeeplyNested_throwsMalformedWithoutCrashing() {
        let bytes = Array(("{\"v\":1,\"cluster\":\"cluster-1\",\"from\":\"host-2\",\"msg\":" + String(repeating: "[", count: 16_000)).utf8)
        let error = #expect(throws: WireError.self) { try Samples.decode(Array(bytes.prefix(WireCodec.maxDatagramBytes))) }
        #expect(error?.code == .malformed)
    }

    @Test func error_whenDetailHuge_isTruncated() {
        let error = WireError(.unknownHost, String(repeating: "x", count: 10_000))
        #expect(error.detail.count <= WireError.maxDetailLength + 1)
        #expect(error.description.hasPrefix("unknownHost: "))
    }
}
