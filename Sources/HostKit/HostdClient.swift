import HACore
import NIOCore
import NIOPosix

/// A client of hostd's socket (NODES.md §5), for the agent's tests, the harness's initial
/// placement and the HostKit tests: connect, send requests, await responses, watch events.
///
/// ```swift
/// let client = HostdClient(socketPath: node + "/run/hostd.sock")
/// let response = try await client.send(.powerOn, vm: "vm-01", reason: "initial")
/// try await client.withConnection { connection in
///     _ = try await connection.request(.powerOff, vm: "vm-01", reason: "user-poweroff")
///     for await event in connection.events { ... }
/// }
/// ```
public struct HostdClient: Sendable {
    /// `N/run/hostd.sock`.
    public let socketPath: String
    /// How long one request may wait for its response.
    public var requestTimeout: Duration

    /// - Parameters:
    ///   - socketPath: hostd's socket.
    ///   - requestTimeout: How long one request may wait (power-on waits for the disk lock,
    ///     which can take twice the lock expiry).
    public init(socketPath: String, requestTimeout: Duration = .seconds(120)) {
        self.socketPath = socketPath
        self.requestTimeout = requestTimeout
    }

    /// Opens a connection for the duration of `body`, then closes it.
    ///
    /// - Parameter body: Uses the connection; its result is returned.
    public func withConnection<Result: Sendable>(
        _ body: (HostdConnection) async throws -> Result
    ) async throws -> Result {
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(unixDomainSocketPath: socketPath) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder()))
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw HostKitError(.socket, "cannot connect to \(socketPath): \(error)")
        }
        return try await channel.executeThenClose { inbound, outbound in
            let connection = HostdConnection(outbound: outbound, requestTimeout: requestTimeout)
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        for try await frame in inbound { await connection.received(String(buffer: frame)) }
                    } catch {}
                    await connection.closed()
                }
                do {
                    let result = try await body(connection)
                    group.cancelAll()
                    return result
                } catch {
                    group.cancelAll()
                    throw error
                }
            }
        }
    }

    /// Sends one request on a connection of its own and returns the response.
    ///
    /// - Parameters:
    ///   - op: The operation.
    ///   - vm: The VM (not for `list`).
    ///   - reason: The reason recorded by hostd.
    public func send(_ op: HostdRequest.Operation, vm: VMID? = nil, reason: String? = nil) async throws -> HostdResponse {
        try await withConnection { try await $0.request(op, vm: vm, reason: reason) }
    }
}
