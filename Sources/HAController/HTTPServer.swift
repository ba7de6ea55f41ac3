import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

// MARK: - HTTPServer

/// The HTTP/1.1 listener of the JSON API (NIOHTTP1, no web framework).
///
/// One request per connection (`Connection: close`), body at most
/// ``ControllerOptions/maxBodyBytes`` (413 beyond), at most
/// ``ControllerOptions/maxHTTPConnections`` served at once (503 beyond), and every connection
/// ends within ``ControllerOptions/httpConnectionDeadline``.
enum HTTPServer {
    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>
    typealias Server = NIOAsyncChannel<Connection, Never>

    /// Binds the listener.
    ///
    /// - Parameters:
    ///   - host: Address to bind.
    ///   - port: Port (0: ephemeral).
    /// - Returns: The server channel; its `localAddress` has the port.
    static func bind(host: String, port: Int) async throws -> Server {
        try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// Accepts connections until the server channel closes.
    static func serve(_ server: Server, api: ControllerAPI) async throws {
        let gate = ConnectionGate(limit: ControllerOptions.maxHTTPConnections)
        try await server.executeThenClose { inbound in
            try await withThrowingDiscardingTaskGroup { group in
                for try await connection in inbound {
                    group.addTask { await serve(connection, api: api, gate: gate) }
                }
            }
        }
    }

    private struct DeadlineExceeded: Error {}

    private static func serve(_ connection: Connection, api: ControllerAPI, gate: ConnectionGate) async {
        let admitted = gate.enter()
        defer { if admitted { gate.leave() } }
        try? await connection.executeThenClose { inbound, outbound in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await answerOneRequest(inbound, outbound, api: api, admitted: admitted) }
                group.addTask {
                    try await Task.sleep(for: ControllerOptions.httpConnectionDeadline)
                    throw DeadlineExceeded()
                }
                try await group.next()
                group.cancelAll()
            }
        }
    }

    private static func answerOneRequest(
        _ inbound: NIOAsyncChannelInboundStream<HTTPServerRequestPart>, _ outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>,
        api: ControllerAPI, admitted: Bool
    ) async throws {
        var head: HTTPRequestHead?
        var body: [UInt8] = []
        for try await part in inbound {
            switch part {
            case .head(let requestHead):
                head = requestHead
                guard admitted else {
                    try await respond(.error(503, "too many connections"), outbound)
                    return
                }
                if let length = requestHead.headers.first(name: "content-length").flatMap(Int.init), length > ControllerOptions.maxBodyBytes {
                    try await respond(.error(413, "body larger than \(ControllerOptions.maxBodyBytes) bytes"), outbound)
                    return
                }
            case .body(let chunk):
                guard body.count + chunk.readableBytes <= ControllerOptions.maxBodyBytes else {
                    try await respond(.error(413, "body larger than \(ControllerOptions.maxBodyBytes) bytes"), outbound)
                    return
                }
                body.append(contentsOf: chunk.readableBytesView)
            case .end:
                guard let head else { return }
                let response = await api.handle(APIRequest(method: head.method.rawValue, uri: head.uri, body: body))
                try await respond(response, outbound)
                return
            }
        }
    }

    private static func respond(_ response: APIResponse, _ outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>) async throws {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: "\(response.body.count)")
        headers.add(name: "Connection", value: "close")
        let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
        try await outbound.write(.head(head))
        try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: response.body))))
        try await outbound.write(.end(nil))
    }
}

// MARK: - ConnectionGate

/// Counts connections served at once, up to a limit.
final class ConnectionGate: Sendable {
    private let limit: Int
    private let count = Mutex(0)

    init(limit: Int) { self.limit = limit }

    /// Takes a place; false when all are taken (the caller answers 503 and MUST NOT call ``leave()``).
    func enter() -> Bool {
        count.withLock { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
    }

    /// Gives back a place taken by ``enter()``.
    func leave() {
        count.withLock { $0 -= 1 }
    }
}
