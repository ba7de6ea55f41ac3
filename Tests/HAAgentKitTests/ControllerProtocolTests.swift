import Foundation
import HACore
import HAWire
import Testing

/// The master ↔ controller wire format (``ControllerProtocol``): exact lines, round trips, and
/// rejection of everything else without trapping.
@Suite struct ControllerProtocolTests {
    typealias AgentMessage = ControllerProtocol.AgentMessage
    typealias ControllerMessage = ControllerProtocol.ControllerMessage

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    // MARK: - Exact lines

    @Test func hello_whenEncoded_isTheContractLine() throws {
        let line = try AgentMessage.hello(.init(host: "host-2", role: .master, configVersion: 3)).encodeLine()
        #expect(Self.text(line) == #"{"configVersion":3,"host":"host-2","role":"master","type":"hello"}"# + "\n")
    }

    @Test func state_whenEncoded_isTheContractLineWithObjectMaps() throws {
        let report = ControllerProtocol.StateReport(
            host: "host-2", hostStates: ["host-1": .alive, "host-3": .dead], protectedVMs: ["vm-01"], poweredOn: ["vm-01": "host-1"]
        )
        let line = try AgentMessage.state(report).encodeLine()
        #expect(
            Self.text(line)
                == #"{"host":"host-2","hostStates":{"host-1":"alive","host-3":"dead"},"poweredOn":{"vm-01":"host-1"},"protectedVMs":["vm-01"],"type":"state"}"#
                + "\n"
        )
    }

    @Test func ackWelcomeProtect_whenEncoded_areTheContractLines() throws {
        #expect(Self.text(try AgentMessage.ack(.init(id: 7, ok: true)).encodeLine()) == #"{"id":7,"ok":true,"reason":"","type":"ack"}"# + "\n")
        #expect(Self.text(try ControllerMessage.welcome(accepted: false).encodeLine()) == #"{"accepted":false,"type":"welcome"}"# + "\n")
        #expect(
            Self.text(try ControllerMessage.protect(id: 9, vm: "vm-01", protected: true).encodeLine())
                == #"{"id":9,"protected":true,"type":"protect","vm":"vm-01"}"# + "\n"
        )
    }

    // MARK: - Round trips

    @Test func agentMessages_whenRoundTripped_areUnchanged() throws {
        let messages: [AgentMessage] = [
            .hello(.init(host: "host-1", role: .master, configVersion: 0)),
            .state(.init(host: "host-1")),
            .state(.init(host: "host-1", hostStates: ["host-2": .partitioned], protectedVMs: ["vm-01", "vm-02"], poweredOn: ["vm-02": "host-2"])),
            .ack(.init(id: 1, ok: false, reason: "protectedlist not writable")),
        ]
        for message in messages {
            #expect(try AgentMessage.decode(line: try message.encodeLine()) == message)
        }
    }

    @Test func controllerMessages_whenRoundTripped_areUnchanged() throws {
        let config = ClusterConfig(
            version: 4, hosts: [HostConfig(id: "host-1", datastores: ["ds-1"])], vms: [VMConfig(id: "vm-01", homeDatastore: "ds-1")],
            admissionControl: .slots(hostFailuresToTolerate: 1, slotCPUCapMHz: nil, slotMemoryCapMB: 512)
        )
        let messages: [ControllerMessage] = [
            .welcome(accepted: true), .welcome(accepted: false), .config(id: 3, config: config), .protect(id: UInt64.max, vm: "vm-01", protected: false),
        ]
        for message in messages {
            #expect(try ControllerMessage.decode(line: try message.encodeLine()) == message)
        }
    }

    @Test func ack_whenReasonIsMissing_decodesAsEmpty() throws {
        #expect(try AgentMessage.decode(line: Array(#"{"type":"ack","id":2,"ok":true}"#.utf8)) == .ack(.init(id: 2, ok: true, reason: "")))
    }

    @Test func state_whenCollectionsAreMissing_decodesAsEmpty() throws {
        #expect(try AgentMessage.decode(line: Array(#"{"type":"state","host":"host-1"}"#.utf8)) == .state(.init(host: "host-1")))
    }

    // MARK: - Rejections

    @Test(arguments: [
        "not json",
        "{}",
        "[]",
        #"{"type":"bogus","host":"host-1"}"#,
        #"{"type":"hello","host":"host-1","configVersion":1}"#,
        #"{"type":"hello","host":"host-1","role":"king","configVersion":1}"#,
        #"{"type":"hello","host":"../etc","role":"master","configVersion":1}"#,
        #"{"type":"hello","host":"","role":"master","configVersion":1}"#,
        #"{"type":"hello","host":"host-1","role":"master","configVersion":-1}"#,
        #"{"type":"state","host":"host-1","poweredOn":{"vm/1":"host-1"}}"#,
        #"{"type":"state","host":"host-1","hostStates":{"host-2":"sleepy"}}"#,
        #"{"type":"state","host":"host-1","protectedVMs":"vm-01"}"#,
        #"{"type":"ack","id":-1,"ok":true}"#,
        #"{"type":"ack","ok":true}"#,
        #"{"type":"welcome","accepted":true}"#,
        #"{"type":"hello","host":"host-1","role":"master","configVersion":1"#,
    ])
    func agentMessage_whenLineIsMalformed_throwsWithoutTrapping(_ line: String) {
        #expect(throws: JSONLineError.self) { try AgentMessage.decode(line: Array(line.utf8)) }
    }

    @Test(arguments: [
        #"{"type":"hello","host":"host-1","role":"master","configVersion":1}"#,
        #"{"type":"welcome"}"#,
        #"{"type":"protect","id":1,"vm":"a/b","protected":true}"#,
        #"{"type":"protect","id":1,"vm":"vm-01"}"#,
        #"{"type":"config","id":1,"config":{"name":"x"}}"#,
    ])
    func controllerMessage_whenLineIsMalformed_throwsWithoutTrapping(_ line: String) {
        #expect(throws: JSONLineError.self) { try ControllerMessage.decode(line: Array(line.utf8)) }
    }

    @Test func ack_whenReasonIsTooLong_isRejectedBothWays() {
        let ack = AgentMessage.ack(.init(id: 1, ok: false, reason: String(repeating: "x", count: ControllerProtocol.maxReasonBytes + 1)))
        #expect(throws: JSONLineError.self) { try ack.encodeLine() }
        let line = #"{"type":"ack","id":1,"ok":false,"reason":""# + String(repeating: "x", count: ControllerProtocol.maxReasonBytes + 1) + #""}"#
        #expect(throws: JSONLineError.self) { try AgentMessage.decode(line: Array(line.utf8)) }
    }

    @Test func line_whenLongerThanTheLimit_isRejectedAsTooLong() {
        let vms = (0..<4000).map { #""vm-\#($0)-padding-padding""# }.joined(separator: ",")
        let line = Array(#"{"type":"state","host":"host-1","protectedVMs":[\#(vms)]}"#.utf8)
        #expect(line.count > ControllerProtocol.maxLineBytes)
        #expect { try AgentMessage.decode(line: line) } throws: { ($0 as? JSONLineError)?.code == .lineTooLong }
    }

    @Test func stream_whenGoodAndBadLinesMix_keepsTheGoodOnesAndCountsTheRest() {
        let good = AgentMessage.hello(.init(host: "host-1", role: .master, configVersion: 1))
        var stream = Array((try? good.encodeLine()) ?? [])
        stream += Array("garbage\n".utf8)
        stream += Array(repeating: UInt8(ascii: "x"), count: ControllerProtocol.maxLineBytes + 10) + [0x0A]
        stream += Array(#"{"type":"ack","id":5,"ok":true}"#.utf8) + [0x0A]
        var framer = JSONLineFramer(maxLineBytes: ControllerProtocol.maxLineBytes)
        framer.append(stream)
        var decoded: [AgentMessage] = []
        var dropped = 0
        while true {
            do {
                guard let line = try framer.nextLine() else { break }
                decoded.append(try AgentMessage.decode(line: line))
            } catch {
                dropped += 1
            }
        }
        #expect(decoded == [good, .ack(.init(id: 5, ok: true))])
        #expect(dropped == 2)
    }
}
