import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - IsolationProber

/// ICMP echo to IPv4 addresses: the isolation address probe and the liveness ping (oracle §4, §2.6).
///
/// Uses a raw socket (`socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)`, needs root or `CAP_NET_RAW`),
/// non-blocking, polled every ``pollInterval`` until a reply or the timeout, so no thread is
/// blocked. Replies are matched by source address, identifier and sequence number. A probe
/// sends exactly one echo request to each address it is given, and to nothing else; strings
/// that are not dotted-quad IPv4 literals are skipped (they count as not answering). Without
/// the privilege to open the socket every probe answers false.
public struct IsolationProber: Sendable {
    /// How often the socket is polled for replies while waiting.
    public let pollInterval: Duration

    /// Distinguishes concurrent probes of this process (sequence numbers).
    private static let sequenceCounter = Atomic<UInt16>(0)

    /// Creates a prober.
    ///
    /// - Parameter pollInterval: Reply polling period (default 5 ms).
    public init(pollInterval: Duration = .milliseconds(5)) {
        self.pollInterval = pollInterval > .zero ? pollInterval : .milliseconds(5)
    }

    /// Pings one address.
    ///
    /// - Parameters:
    ///   - address: An IPv4 literal, e.g. `10.0.0.1`.
    ///   - timeout: How long to wait for the reply.
    /// - Returns: Whether it answered in time.
    public func ping(_ address: String, timeout: Duration) async -> Bool {
        await probe([address], timeout: timeout)
    }

    /// Pings several addresses at once (the isolation addresses).
    ///
    /// - Parameters:
    ///   - addresses: IPv4 literals; others are skipped.
    ///   - timeout: How long to wait for the first reply.
    /// - Returns: Whether any address answered in time; false when cancelled.
    public func probe(_ addresses: [String], timeout: Duration) async -> Bool {
        let targets = addresses.compactMap(Self.parseIPv4)
        guard !targets.isEmpty, timeout > .zero else { return false }
        let fd = socket(AF_INET, Self.rawSocketType, Int32(IPPROTO_ICMP))
        guard fd >= 0 else { return false }
        defer { close(fd) }

        let identifier = UInt16(truncatingIfNeeded: getpid())
        var expected: [UInt32: ICMPEcho.Tag] = [:]
        for target in targets where expected[target.s_addr] == nil {
            let sequence = Self.sequenceCounter.add(1, ordering: .relaxed).newValue
            let tag = ICMPEcho.Tag(identifier: identifier, sequence: sequence)
            if Self.send(ICMPEcho.request(tag), to: target, on: fd) { expected[target.s_addr] = tag }
        }
        guard !expected.isEmpty else { return false }

        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 2048)
        while true {
            // Bounded drain: a flood of unrelated ICMP cannot hold the loop past the deadline.
            for _ in 0..<Self.maxPacketsPerPoll {
                guard let (source, packet) = Self.receive(on: fd, into: &buffer) else { break }
                if let tag = ICMPEcho.parseReply(packet), expected[source] == tag { return true }
            }
            let remaining = deadline - clock.now
            guard remaining > .zero, !Task.isCancelled else { return false }
            do {
                try await Task.sleep(for: min(pollInterval, remaining))
            } catch {
                return false
            }
        }
    }

    // MARK: - Socket helpers

    /// The most packets read per poll.
    private static let maxPacketsPerPoll = 256

    #if canImport(Glibc)
    private static let rawSocketType = Int32(SOCK_RAW.rawValue)
    #else
    private static let rawSocketType = SOCK_RAW
    #endif

    /// Parses a dotted-quad IPv4 literal.
    static func parseIPv4(_ text: String) -> in_addr? {
        var address = in_addr()
        return inet_pton(AF_INET, text, &address) == 1 ? address : nil
    }

    private static func send(_ packet: [UInt8], to target: in_addr, on fd: Int32) -> Bool {
        var destination = sockaddr_in()
        destination.sin_family = sa_family_t(AF_INET)
        destination.sin_addr = target
        let sent = packet.withUnsafeBytes { bytes in
            withUnsafePointer(to: &destination) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT), $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        return sent == packet.count
    }

    /// Reads one pending packet without blocking; nil when none is pending (or on error).
    private static func receive(on fd: Int32, into buffer: inout [UInt8]) -> (source: UInt32, packet: [UInt8])? {
        var source = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let count = buffer.withUnsafeMutableBytes { bytes in
            withUnsafeMutablePointer(to: &source) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT), $0, &length)
                }
            }
        }
        guard count > 0 else { return nil }
        return (source.sin_addr.s_addr, Array(buffer[0..<count]))
    }
}
