import Foundation
import HACore
import HAWire
import Testing

@Suite struct EvidenceLineTests {
    @Test(arguments: [
        HAEvent.Kind.agentStarted, .roleChanged(.master), .lockAcquired("ds-1"),
        .isolationResponseApplied(vm: "vm-01", response: .powerOff, markerWritten: true),
        .messageDropped(from: "10.0.0.9", reason: WireError.Code.wrongCluster.rawValue),
    ])
    func eventLine_whenEncoded_roundTrips(_ kind: HAEvent.Kind) throws {
        let line = EventLine(wall: 1_714_000_000.125, mono: 12.5, event: HAEvent(host: "host-1", at: .seconds(12.5), kind: kind))
        let bytes = try line.encodeLine()
        #expect(bytes.last == 0x0A && !bytes.dropLast().contains(0x0A))
        #expect(try EventLine.decode(line: bytes) == line)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(Set(object.keys) == ["wall", "mono", "event"])
    }

    @Test func eventLine_whenTimeNotFinite_throwsInvalidValue() {
        let line = EventLine(wall: .infinity, mono: 0, event: HAEvent(host: "host-1", at: .zero, kind: .agentStarted))
        #expect((#expect(throws: JSONLineError.self) { try line.encodeLine() })?.code == .invalidValue)
    }

    @Test func groundTruth_whenSpecShape_roundTrips() throws {
        let text = #"{"wall":1714000000.5,"vm":"vm-01","instance":"vm-01#3","host":"host-2","event":"stop","reason":"crashed"}"#
        let line = try GroundTruthLine.decode(line: Array(text.utf8))
        #expect(line == GroundTruthLine(wall: 1_714_000_000.5, vm: "vm-01", instance: "vm-01#3", host: "host-2", event: .stop, reason: "crashed"))
        #expect(line.endReason == .crashed)
        #expect(try GroundTruthLine.decode(line: try line.encodeLine()) == line)
        let start = GroundTruthLine(wall: 1, vm: "vm-01", instance: "vm-01#4", host: "host-3", event: .start)
        #expect(try GroundTruthLine.decode(line: try start.encodeLine()) == start)
        #expect(start.endReason == nil)
    }

    @Test(arguments: [
        #"{"wall":1,"vm":"vm-01","instance":"i","host":"h","event":"pause"}"#,
        #"{"wall":1,"vm":"","instance":"i","host":"h","event":"start"}"#, #"{"wall":"now"}"#, "",
    ])
    func groundTruth_whenGarbage_throws(_ text: String) {
        #expect(throws: JSONLineError.self) { try GroundTruthLine.decode(line: Array(text.utf8)) }
    }

    @Test func decodeAll_whenATornLineAndBlankLines_keepsTheValidOnes() throws {
        let first = GroundTruthLine(wall: 1, vm: "vm-01", instance: "vm-01#1", host: "host-1", event: .start)
        let second = GroundTruthLine(wall: 2, vm: "vm-01", instance: "vm-01#1", host: "host-1", event: .stop, reason: "host-failed")
        var data = Data(try first.encodeLine())
        data.append(Data("\n{\"wall\":3,\"vm\n".utf8))
        data.append(Data(try second.encodeLine()))
        data.append(Data(try first.encodeLine().dropLast()))
        let contents = EvidenceLines.decodeAll(data, as: GroundTruthLine.self)
        #expect(contents.lines == [first, second, first])
        #expect(contents.rejectedLines == 1)
    }
}
