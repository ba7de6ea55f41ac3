import HAAgentKit
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite struct ICMPEchoTests {
    @Test func checksum_whenRFC1071Example_matches() {
        // RFC 1071 §3 example words 0001 f203 f4f5 f6f7 → sum ddf2, checksum 220d.
        #expect(ICMPEcho.checksum([0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7]) == 0x220D)
        #expect(ICMPEcho.checksum([0xFF]) == 0x00FF)
    }

    @Test func request_whenBuilt_checksumsToZeroAndCarriesTheTag() {
        let tag = ICMPEcho.Tag(identifier: 0xBEEF, sequence: 7)
        let packet = ICMPEcho.request(tag, payload: [1, 2, 3])
        #expect(packet[0] == ICMPEcho.echoRequestType)
        #expect(ICMPEcho.checksum(packet) == 0)
        #expect(Array(packet[4..<8]) == [0xBE, 0xEF, 0x00, 0x07])
        #expect(ICMPEcho.parseReply(packet, includesIPHeader: false) == nil)
    }

    @Test func parseReply_whenEchoReplyBehindIPHeader_returnsTheTag() {
        let tag = ICMPEcho.Tag(identifier: 1, sequence: 65_535)
        var reply = ICMPEcho.request(tag)
        reply[0] = ICMPEcho.echoReplyType
        reply[2] = 0
        reply[3] = 0
        let sum = ICMPEcho.checksum(reply)
        reply[2] = UInt8(sum >> 8)
        reply[3] = UInt8(sum & 0xFF)
        let ipHeader: [UInt8] = [0x45] + [UInt8](repeating: 0, count: 19)
        #expect(ICMPEcho.parseReply(ipHeader + reply) == tag)
        var corrupted = ipHeader + reply
        corrupted[25] ^= 0x01
        #expect(ICMPEcho.parseReply(corrupted) == nil)
    }

    @Test func parseReply_whenGarbage_returnsNilWithoutTrapping() {
        var state: UInt64 = 0x5EED_0005
        for length in 0..<400 {
            let bytes = (0..<length % 80).map { _ -> UInt8 in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return UInt8(truncatingIfNeeded: state >> 56)
            }
            _ = ICMPEcho.parseReply(bytes)
            _ = ICMPEcho.parseReply(bytes, includesIPHeader: false)
        }
        #expect(ICMPEcho.parseReply([0x4F]) == nil)
    }
}

@Suite(.timeLimit(.minutes(1))) struct IsolationProberTests {
    @Test func probe_whenNoUsableAddress_isFalseAtOnce() async {
        let prober = IsolationProber()
        #expect(await prober.probe([], timeout: .seconds(1)) == false)
        #expect(await prober.probe(["gateway", "300.1.1.1", "::1", ""], timeout: .seconds(1)) == false)
    }

    @Test(.enabled(if: getuid() == 0, "raw ICMP sockets need root"))
    func ping_whenLoopback_answers() async {
        #expect(await IsolationProber().ping("127.0.0.1", timeout: .seconds(1)))
    }

    @Test(.enabled(if: getuid() == 0, "raw ICMP sockets need root"))
    func probe_whenAddressNobodyOwns_timesOutFalse() async {
        let clock = ContinuousClock()
        let start = clock.now
        #expect(await IsolationProber().probe(["198.19.255.254"], timeout: .milliseconds(300)) == false)
        let elapsed = clock.now - start
        // It waited out its timeout; the upper bound is loose because CI machines are loaded.
        #expect(elapsed >= .milliseconds(300))
        #expect(elapsed < .seconds(5))
    }

    @Test(.enabled(if: getuid() == 0, "raw ICMP sockets need root"))
    func probe_whenOneOfSeveralAnswers_isTrue() async {
        #expect(await IsolationProber().probe(["198.19.255.254", "127.0.0.1"], timeout: .seconds(1)))
    }
}
