import HAWire
import NIOCore
import NIOPosix

// MARK: - AgentListener

/// The TCP listener masters connect to (``HAWire/ControllerProtocol``).
///
/// Each connection gets two tasks: a reader that frames and decodes lines and hands them to
/// the ``Controller``, and a writer that drains the connection's bounded outbox. The
/// controller closes a connection by finishing its outbox (after a refusal) or by closing
/// the channel (silent master).
enum AgentListener {
    typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>
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
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Connection(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// Accepts connections until the server channel closes.
    static func serve(_ server: Server, controller: Controller) async throws {
        try await server.executeThenClose { inbound in
            try await withThrowingDiscardingTaskGroup { group in
                for try await connection in inbound {
                    group.addTask { await serve(connection, controller: controller) }
                }
            }
        }
    }

    /// Serves one agent connection until either side closes it.
    static func serve(_ connection: Connection, controller: Controller) async {
        guard let (id, outbox) = await controller.openConnection(connection.channel) else {
            try? await connection.executeThenClose { _, _ in }
            return
        }
        do {
            try await connection.executeThenClose { inbound, outbound in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await line in outbox { try await outbound.write(line) }
                    }
                    group.addTask { await readLines(inbound, connection: id, controller: controller) }
                    // Either the outbox was finished (refused, closed) or the peer went away.
                    try await group.next()
                    group.cancelAll()
                }
            }
        } catch {
            // Reset by the peer or closed by the watchdog: the session is over either way.
        }
        await controller.connectionClosed(id)
    }

    private static func readLines(_ inbound: NIOAsyncChannelInboundStream<ByteBuffer>, connection id: UInt64, controller: Controller) async {
        var framer = JSONLineFramer(maxLineBytes: ControllerProtocol.maxLineBytes)
        do {
            for try await buffer in inbound {
                framer.append(buffer.readableBytesView)
                while true {
                    let line: [UInt8]?
                    do {
                        line = try framer.nextLine()
                    } catch {
                        await controller.lineDropped()
                        continue
                    }
                    guard let line else { break }
                    do {
                        let message = try ControllerProtocol.AgentMessage.decode(line: line)
                        await controller.received(message, on: id)
                    } catch {
                        await controller.lineDropped()
                    }
                }
            }
        } catch {
            // The connection failed; the caller ends the session.
        }
    }
}
