// MARK: - ICMPEcho

/// ICMP echo packets (RFC 792) for ``IsolationProber``: building requests, recognising replies.
///
/// Pure functions over bytes, so the packet logic is testable without a raw socket. Parsing
/// never traps on input.
public enum ICMPEcho {
    /// ICMP type of an echo request.
    public static let echoRequestType: UInt8 = 8
    /// ICMP type of an echo reply.
    public static let echoReplyType: UInt8 = 0

    /// The identifier and sequence number of an echo.
    public struct Tag: Hashable, Sendable {
        /// Identifies the sender (this prober).
        public var identifier: UInt16
        /// Identifies one request.
        public var sequence: UInt16

        /// Creates a tag.
        public init(identifier: UInt16, sequence: UInt16) {
            self.identifier = identifier
            self.sequence = sequence
        }
    }

    /// Builds an echo request with a valid checksum.
    ///
    /// - Parameters:
    ///   - tag: Identifier and sequence number.
    ///   - payload: Data the target echoes back.
    /// - Returns: The ICMP message (no IP header).
    public static func request(_ tag: Tag, payload: [UInt8] = Array("HAChaos isolation probe".utf8)) -> [UInt8] {
        var packet: [UInt8] = [
            echoRequestType, 0, 0, 0,
            UInt8(tag.identifier >> 8), UInt8(tag.identifier & 0xFF),
            UInt8(tag.sequence >> 8), UInt8(tag.sequence & 0xFF),
        ]
        packet.append(contentsOf: payload)
        let sum = checksum(packet)
        packet[2] = UInt8(sum >> 8)
        packet[3] = UInt8(sum & 0xFF)
        return packet
    }

    /// The Internet checksum (RFC 1071): one's complement of the one's-complement sum of 16-bit words.
    ///
    /// - Parameter bytes: The message (an odd trailing byte is padded with zero).
    /// - Returns: The checksum; a message that includes its correct checksum sums to 0.
    public static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var index = 0
        while index + 1 < bytes.count {
            sum &+= UInt32(bytes[index]) << 8 | UInt32(bytes[index + 1])
            index += 2
        }
        if index < bytes.count { sum &+= UInt32(bytes[index]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) &+ (sum >> 16) }
        return ~UInt16(truncatingIfNeeded: sum)
    }

    /// Recognises an echo reply in a packet read from a raw IPv4 ICMP socket.
    ///
    /// - Parameters:
    ///   - packet: The received bytes (untrusted).
    ///   - includesIPHeader: Whether `packet` starts with the IPv4 header (raw sockets: yes).
    /// - Returns: The reply's tag, or nil when the packet is not a well-formed echo reply with a valid checksum.
    public static func parseReply(_ packet: [UInt8], includesIPHeader: Bool = true) -> Tag? {
        var offset = 0
        if includesIPHeader {
            guard let first = packet.first, first >> 4 == 4 else { return nil }
            offset = Int(first & 0x0F) * 4
            guard offset >= 20 else { return nil }
        }
        guard packet.count >= offset + 8 else { return nil }
        let message = Array(packet[offset...])
        guard message[0] == echoReplyType, message[1] == 0, checksum(message) == 0 else { return nil }
        return Tag(
            identifier: UInt16(message[4]) << 8 | UInt16(message[5]),
            sequence: UInt16(message[6]) << 8 | UInt16(message[7])
        )
    }
}
