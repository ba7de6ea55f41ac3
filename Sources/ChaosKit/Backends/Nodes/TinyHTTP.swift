import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A minimal blocking HTTP/1.1 client for the harness's calls to the controller (one request per
/// connection, `Connection: close`), so the harness needs no HTTP stack of its own.
public enum TinyHTTP {
    public struct Response: Sendable {
        public var status: Int
        public var body: String
    }

    public struct HTTPError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Sends `method path` to `address:port` (IPv4) and returns the status and body.
    public static func request(_ method: String, address: String, port: Int, path: String, body: Data = Data(), timeout: Duration = .seconds(30)) throws -> Response {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HTTPError(message: "socket: errno \(errno)") }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, address, &addr.sin_addr) == 1 else { throw HTTPError(message: "bad address \(address)") }
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw HTTPError(message: "connect \(address):\(port): errno \(errno)") }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(address)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
        if !body.isEmpty { head += "Content-Type: application/json\r\n" }
        head += "\r\n"
        let payload = Data(head.utf8) + body
        let sent = payload.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        guard sent == payload.count else { throw HTTPError(message: "send: errno \(errno)") }
        var response = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while response.count < 4 << 20 {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            response.append(contentsOf: buffer[0..<n])
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let line = text.split(separator: "\r\n", maxSplits: 1).first, let code = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            throw HTTPError(message: "no HTTP answer from \(address):\(port)")
        }
        let bodyText = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return Response(status: code, body: bodyText)
    }
}

extension Task where Success == Never, Failure == Never {
    /// Runs a blocking call off the caller's executor (a plain child task), returning its result.
    static func detachedRequest<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try work() })
            }
        }
    }
}
