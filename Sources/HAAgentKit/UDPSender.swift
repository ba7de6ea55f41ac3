import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Sends agent datagrams from the management address through a plain non-blocking socket.
///
/// Why not the NIO channel: a send into a faulted network fails locally (an iptables DROP on
/// OUTPUT answers EPERM) and NIO closes a datagram channel on that error. A real agent's packets
/// simply vanish in a partition; so do ours: failures are counted, never fatal.
final class UDPSender: @unchecked Sendable {
    // @unchecked: `fd` is set once in init and only read after; sendto(2) is thread-safe.
    private let fd: Int32
    private let failures = Mutex(0)

    init?(bindAddress: String) {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        guard inet_pton(AF_INET, bindAddress, &addr.sin_addr) == 1 else { close(fd); return nil }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { close(fd); return nil }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        self.fd = fd
    }

    deinit { close(fd) }

    /// Sends one datagram; a local failure (EPERM, ENETUNREACH, EAGAIN…) is counted and ignored.
    func send(_ bytes: [UInt8], to address: String, port: Int) {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
        guard inet_pton(AF_INET, address, &addr.sin_addr) == 1 else { return }
        let sent = bytes.withUnsafeBytes { raw in
            withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        if sent < 0 { failures.withLock { $0 += 1 } }
    }

    var failedSends: Int { failures.withLock { $0 } }
}
