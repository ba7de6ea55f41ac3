#if canImport(Glibc)
import Glibc
#endif

/// hostd's side of the guest channel: a non-blocking unix datagram socket at `N/run/guest.sock`,
/// drained by hostd's poll loop.
///
/// Plain `recv` instead of a NIO datagram channel on purpose: VMs send from unbound sockets,
/// whose empty source address NIO rejects by failing the whole channel; here a datagram is
/// just bytes, and a bad one is dropped, never fatal.
public struct GuestListener: Sendable {
    /// The most datagrams one ``drain()`` returns (the rest wait for the next poll).
    public static let maxPerDrain = 1024

    private let descriptor: Int32

    /// Binds `path` (an existing socket file there is replaced).
    ///
    /// - Parameter path: `N/run/guest.sock`.
    public init(path: String) throws(HostKitError) {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HostKitError(.socket, "cannot open a datagram socket", errno: errno) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            _ = Glibc.close(fd)
            throw HostKitError(.socket, "socket path too long (\(pathBytes.count) bytes): \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        var info = stat()
        if lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFSOCK { unlink(path) }
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else {
            let error = errno
            _ = Glibc.close(fd)
            throw HostKitError(.socket, "cannot bind \(path)", errno: error)
        }
        descriptor = fd
    }

    /// The datagrams waiting now (each at most ``GuestChannel/maxDatagram`` bytes; longer ones
    /// are truncated and will not decode).
    public func drain() -> [[UInt8]] {
        var datagrams: [[UInt8]] = []
        var buffer = [UInt8](repeating: 0, count: GuestChannel.maxDatagram + 1)
        while datagrams.count < Self.maxPerDrain {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { break }
            datagrams.append(Array(buffer[0..<count]))
        }
        return datagrams
    }

    /// Closes the socket (the file stays; the next hostd replaces it).
    public func close() {
        _ = Glibc.close(descriptor)
    }
}
