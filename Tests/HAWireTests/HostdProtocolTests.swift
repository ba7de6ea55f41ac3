import Foundation
import HACore
import HAWire
import Testing

@Suite struct HostdProtocolTests {
    // MARK: - Requests and responses

    @Test(arguments: [
        #"{"id":1,"op":"powerOn","vm":"vm-01","reason":"restart"}"#,
        #"{"id":2,"op":"powerOff","vm":"vm-01","reason":"isolation-response"}"#,
        #"{"id":3,"op":"shutdown","vm":"vm-01"}"#,
        #"{"id":4,"op":"reset","vm":"vm-01"}"#,
        #"{"id":5,"op":"list"}"#,
    ])
    func request_whenSpecExample_decodesAndRoundTrips(_ text: String) throws {
        let request = try HostdRequest.decode(line: Array(text.utf8))
        let line = try request.encodeLine()
        #expect(line.last == 0x0A)
        #expect(line.dropLast().contains(0x0A) == false)
        #expect(try HostdRequest.decode(line: line) == request)
        let original = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? NSDictionary
        let encoded = try JSONSerialization.jsonObject(with: Data(line)) as? NSDictionary
        #expect(original == encoded)
    }

    @Test func request_whenOpNeedsAVMButHasNone_throwsInvalidValue() {
        let error = #expect(throws: JSONLineError.self) { try HostdRequest.decode(line: Array(#"{"id":1,"op":"powerOn"}"#.utf8)) }
        #expect(error?.code == .invalidValue)
        #expect((#expect(throws: JSONLineError.self) { try HostdRequest(id: 1, op: .reset).encodeLine() })?.code == .invalidValue)
    }

    @Test(arguments: [#"{"id":1,"op":"explode","vm":"vm-01"}"#, #"{"op":"list"}"#, #"{"id":-1,"op":"list"}"#, "[", ""])
    func request_whenGarbage_throwsMalformed(_ text: String) {
        let error = #expect(throws: JSONLineError.self) { try HostdRequest.decode(line: Array(text.utf8)) }
        #expect(error?.code == .malformed)
    }

    @Test func response_whenListAnswer_roundTripsAndKeepsItFlat() throws {
        let response = HostdResponse(id: 5, ok: true, reason: "ok", vms: ["vm-01", "vm-02"])
        let line = try response.encodeLine()
        #expect(String(decoding: line, as: UTF8.self) == #"{"id":5,"ok":true,"reason":"ok","vms":["vm-01","vm-02"]}"# + "\n")
        #expect(try HostdResponse.decode(line: line) == response)
        let bare = try HostdResponse.decode(line: Array(#"{"id":1,"ok":false}"#.utf8))
        #expect(bare == HostdResponse(id: 1, ok: false, reason: ""))
    }

    // MARK: - Events

    @Test(arguments: [
        (HostdEvent.vmPowerState(vm: "vm-01", on: false, reason: .crashed), #"{"event":"vmPowerState","on":false,"reason":"crashed","vm":"vm-01"}"#),
        (.vmPowerState(vm: "vm-01", on: true, reason: nil), #"{"event":"vmPowerState","on":true,"vm":"vm-01"}"#),
        (.vmPowerState(vm: "vm-02", on: false, reason: .isolationResponse), #"{"event":"vmPowerState","on":false,"reason":"isolation-response","vm":"vm-02"}"#),
        (.guestHeartbeat(vm: "vm-01"), #"{"event":"guestHeartbeat","vm":"vm-01"}"#),
        (.vmIO(vm: "vm-01"), #"{"event":"vmIO","vm":"vm-01"}"#),
    ])
    func event_whenEncoded_isTheFlatObjectOfNodesSection5(_ event: HostdEvent, _ text: String) throws {
        #expect(String(decoding: try event.encodeLine(), as: UTF8.self) == text + "\n")
        #expect(try HostdEvent.decode(line: Array(text.utf8)) == event)
    }

    @Test func event_whenReasonIsAStartReasonOrUnknown_keepsThePowerStateChange() throws {
        let on = #"{"event":"vmPowerState","vm":"vm-01","on":true,"reason":"restart"}"#
        #expect(try HostdEvent.decode(line: Array(on.utf8)) == .vmPowerState(vm: "vm-01", on: true, reason: nil))
        let off = #"{"event":"vmPowerState","vm":"vm-01","on":false,"reason":"bored"}"#
        #expect(try HostdEvent.decode(line: Array(off.utf8)) == .vmPowerState(vm: "vm-01", on: false, reason: nil))
    }

    @Test(arguments: [
        #"{"event":"vmExploded","vm":"vm-01"}"#, #"{"event":"vmPowerState","vm":"vm-01"}"#,
        #"{"event":"vmPowerState","vm":"vm-01","on":"yes"}"#, #"{"event":"vmIO"}"#, #"{"event":"vmIO","vm":"a/b"}"#,
    ])
    func event_whenGarbage_throws(_ text: String) {
        #expect(throws: JSONLineError.self) { try HostdEvent.decode(line: Array(text.utf8)) }
    }

    @Test func inbound_whenEventOrResponse_isDiscriminatedByTheEventKey() throws {
        #expect(try HostdProtocol.decodeInbound(line: Array(#"{"event":"vmIO","vm":"vm-01"}"#.utf8)) == .event(.vmIO(vm: "vm-01")))
        #expect(try HostdProtocol.decodeInbound(line: Array(#"{"id":9,"ok":true,"reason":"ok"}"#.utf8)) == .response(HostdResponse(id: 9, ok: true, reason: "ok")))
        #expect(throws: JSONLineError.self) { try HostdProtocol.decodeInbound(line: Array(#"{"event":7}"#.utf8)) }
        #expect(throws: JSONLineError.self) { try HostdProtocol.decodeInbound(line: Array("not json".utf8)) }
    }
}
