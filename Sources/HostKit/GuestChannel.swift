#if canImport(Glibc)
import Glibc
#endif

/// The VM side of the guest channel: one unix datagram per ``HostdEvent`` to hostd's guest socket.
///
/// Datagrams need no connection, so a VM keeps sending across hostd restarts, and a send never
/// blocks (`MSG_DONTWAIT`): when hostd is down or slow the heartbeat is dropped, exactly as a
/// real Tools heartbeat is lost while hostd is not there to see it.
public struct GuestChannel: Sendable {
    /// The largest datagram either side sends or accepts.
    public static let maxDatagram = 1024

    private let socketPath: String?
    private let descriptor: Int32

    /// Opens the sending socket; with `nil` every ``send(_:)`` is a no-op.
    ///
    /// - Parameter socketPath: hostd's guest socket (`N/run/guest.sock`).
    public init(socketPath: String?) {
        self.socketPath = socketPath
        self.descriptor = socketPath == nil ? -1 : socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    }

    /// Sends `event` if the socket exists; errors (no hostd, full buffer) are ignored.
    public func send(_ event: HostdEvent) {
        guard let socketPath, descriptor >= 0, let line = try? JSONLines.encode(event) else { return }
        let payload = Array(line.utf8)
        guard payload.count <= Self.maxDatagram else { return }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else { return }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                payload.withUnsafeBytes { bytes in
                    sendto(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL), socketAddress,
                           socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
        }
    }
}
