import CurlShim
import Foundation

/// A failed Docker Engine call: an error answer of the daemon (its HTTP status and the
/// `message` of its `{"message": "..."}` body), or, with status 0, a transport failure
/// (no socket, connection refused, timeout...).
public struct DockerError: Error, CustomStringConvertible, Sendable, Hashable {
    /// The HTTP status of the answer; 0 when there was no answer (transport failure).
    public var status: Int
    /// The daemon's message, or libcurl's for a transport failure.
    public var message: String
    /// The request that failed (`"POST /containers/x/kill"`), when known.
    public var request: String

    /// An error with the given status (0 = transport) and message.
    public init(status: Int, message: String, request: String = "") {
        self.status = status
        self.message = message
        self.request = request
    }

    /// The error for an error answer: its status and the `message` of its JSON body (or the
    /// body itself when it is not `{"message": ...}`).
    public init(status: Int, body: Data, request: String = "") {
        struct Body: Decodable {
            var message: String?
        }
        let message: String
        if let decoded = try? JSONDecoder().decode(Body.self, from: body), let text = decoded.message {
            message = text
        } else {
            message = String(decoding: body.prefix(512), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        self.init(status: status, message: message, request: request)
    }

    /// 404: no such container, image, network or exec.
    public var isNotFound: Bool { status == 404 }
    /// 409: the object is in the wrong state (not running, paused, name in use...).
    public var isConflict: Bool { status == 409 }
    /// No answer from the daemon at all.
    public var isTransport: Bool { status == 0 }

    public var description: String {
        let what = status == 0 ? "transport error" : "HTTP \(status)"
        return request.isEmpty ? "docker \(what): \(message)" : "docker \(request): \(what): \(message)"
    }
}

/// One whole answer of the daemon.
struct DockerResponse: Sendable {
    var status: Int
    var body: Data

    var isSuccess: Bool { (200..<300).contains(status) }
}

extension DockerEngine {
    /// The URL of `path` (`"/containers/json"`, already percent-encoded) with `query`.
    func url(_ path: String, _ query: [(String, String)] = []) -> String {
        var url = "http://localhost/\(apiVersion)\(path)"
        if !query.isEmpty {
            url += "?" + query.map { "\(Self.percentEncode($0.0))=\(Self.percentEncode($0.1))" }.joined(separator: "&")
        }
        return url
    }

    /// `value` as one path segment; image references keep their `/` (`library/busybox:1`).
    static func segment(_ value: String, keepSlash: Bool = false) -> String {
        percentEncode(value, keep: keepSlash ? ":/@" : ":@")
    }

    /// RFC 3986 percent-encoding of everything but the unreserved characters and `keep`.
    static func percentEncode(_ value: String, keep: String = "") -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        let kept = Set(keep.utf8)
        var out = [UInt8]()
        out.reserveCapacity(value.utf8.count)
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            case _ where kept.contains(byte):
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Sends one request and returns whatever the daemon answered (any status); throws only
    /// for transport failures. The blocking libcurl call runs on a thread of its own, never on
    /// the cooperative pool.
    func send(
        _ method: String, _ path: String, query: [(String, String)] = [], body: Data? = nil, contentType: String? = nil,
        timeout: Duration = .seconds(30)
    ) async throws(DockerError) -> DockerResponse {
        let socket = socketPath
        let url = url(path, query)
        let request = "\(method) \(path)"
        let milliseconds = Int(timeout.components.seconds) * 1000 + Int(timeout.components.attoseconds / 1_000_000_000_000_000)
        return try await Self.offPool { () -> Result<DockerResponse, DockerError> in
            Self.blockingRequest(
                socket: socket, method: method, url: url, contentType: contentType, body: body, timeoutMS: max(milliseconds, 1), request: request
            )
        }
    }

    /// Like ``send(_:_:query:body:contentType:timeout:)``, but any status outside 2xx and
    /// `accept` is thrown as a ``DockerError`` built from the answer's body.
    @discardableResult
    func call(
        _ method: String, _ path: String, query: [(String, String)] = [], body: Data? = nil, contentType: String? = nil,
        timeout: Duration = .seconds(30), accept: Set<Int> = []
    ) async throws(DockerError) -> DockerResponse {
        let response = try await send(method, path, query: query, body: body, contentType: contentType, timeout: timeout)
        guard response.isSuccess || accept.contains(response.status) else {
            throw DockerError(status: response.status, body: response.body, request: "\(method) \(path)")
        }
        return response
    }

    /// ``call(_:_:query:body:contentType:timeout:accept:)`` with a JSON body.
    @discardableResult
    func call<Body: Encodable>(
        _ method: String, _ path: String, query: [(String, String)] = [], json: Body, timeout: Duration = .seconds(30), accept: Set<Int> = []
    ) async throws(DockerError) -> DockerResponse {
        let data: Data
        do { data = try JSONEncoder().encode(json) } catch {
            throw DockerError(status: 0, message: "cannot encode the request body: \(error)", request: "\(method) \(path)")
        }
        return try await call(method, path, query: query, body: data, contentType: "application/json", timeout: timeout, accept: accept)
    }

    /// Decodes a JSON answer; a malformed one is a ``DockerError`` with the answer's status.
    func decode<T: Decodable>(_ type: T.Type, from response: DockerResponse, request: String) throws(DockerError) -> T {
        do { return try JSONDecoder().decode(type, from: response.body) } catch {
            throw DockerError(status: response.status, message: "malformed answer: \(error)", request: request)
        }
    }

    /// Runs `work` on a new thread and waits for it without blocking a cooperative thread.
    static func offPool<T: Sendable>(_ work: @escaping @Sendable () -> Result<T, DockerError>) async throws(DockerError) -> T {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, DockerError>, Never>) in
            Thread.detachNewThread { continuation.resume(returning: work()) }
        }
        return try result.get()
    }

    /// One blocking request through the C shim.
    static func blockingRequest(
        socket: String, method: String, url: String, contentType: String?, body: Data?, timeoutMS: Int, request: String
    ) -> Result<DockerResponse, DockerError> {
        var status = 0
        var buffer = hac_buffer(data: nil, len: 0)
        var errbuf = [CChar](repeating: 0, count: Int(HAC_CURL_ERROR_SIZE))
        let code: Int32 =
            if let body {
                body.withUnsafeBytes { bytes in
                    hac_curl_request(socket, method, url, contentType, bytes.baseAddress, bytes.count, timeoutMS, &status, &buffer, &errbuf)
                }
            } else {
                hac_curl_request(socket, method, url, contentType, nil, 0, timeoutMS, &status, &buffer, &errbuf)
            }
        defer { hac_buffer_free(&buffer) }
        guard code == 0 else {
            return .failure(DockerError(status: 0, message: "curl error \(code): \(cString(errbuf))", request: request))
        }
        let data = buffer.data.map { Data(bytes: $0, count: buffer.len) } ?? Data()
        return .success(DockerResponse(status: status, body: data))
    }

    /// The NUL-terminated text in `chars`.
    static func cString(_ chars: [CChar]) -> String {
        String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
