import HACore
import Logging
import NIOCore
import NIOPosix

extension Hostd {
    /// The most clients served at once; further connections are closed at once.
    public static let maxClients = 16

    /// Serves the node until `shouldStop` returns true, then powers off every VM and returns.
    ///
    /// Binds `N/run/hostd.sock` (stream, JSON lines, NODES.md §5) and `N/run/guest.sock`
    /// (datagrams from the VMs, ``GuestListener``), re-adopts running VMs, and polls the VM
    /// processes and the guest socket every ``HostdConfiguration/pollInterval``. If the agent
    /// socket fails, the error is thrown (hostd exits and ha-node restarts it).
    ///
    /// - Parameter shouldStop: Polled with the processes (for example "SIGTERM arrived").
    public nonisolated func run(until shouldStop: @escaping @Sendable () -> Bool) async throws {
        await adoptRunningVMs()
        let paths = configuration.paths
        let group = MultiThreadedEventLoopGroup.singleton
        let server = try await ServerBootstrap(group: group)
            .bind(unixDomainSocketPath: paths.hostdSocket, cleanupExistingSocketFile: true) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder()))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let guest = try GuestListener(path: paths.guestSocket)
        defer { guest.close() }
        logger.info("hostd serving", metadata: ["ha.socket": "\(paths.hostdSocket)"])
        do {
            try await withThrowingDiscardingTaskGroup { tasks in
                tasks.addTask {
                    do {
                        try await server.executeThenClose { connections in
                            try await withThrowingDiscardingTaskGroup { clients in
                                for try await connection in connections {
                                    clients.addTask { await self.serve(connection) }
                                }
                            }
                        }
                    } catch {
                        if !(error is CancellationError) {
                            self.logger.error("agent socket failed", metadata: ["ha.error": "\(error)"])
                        }
                        throw error
                    }
                }
                tasks.addTask {
                    while !shouldStop() {
                        await self.pollProcesses()
                        await self.guestDatagramsReceived(guest.drain())
                        try await Task.sleep(for: self.configuration.pollInterval)
                    }
                    self.logger.info("hostd stopping: powering off VMs")
                    await self.stopAllVMs()
                    throw StopRequested()
                }
            }
        } catch is StopRequested {
            return
        }
    }

    /// Thrown by the poll task once the VMs are stopped, to end the other tasks of ``run(until:)``.
    private struct StopRequested: Error {}

    /// Serves one client: requests are handled concurrently and answered in completion order;
    /// events are interleaved between whole lines.
    nonisolated func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let (lines, queue) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(Self.maxQueuedLines))
        guard await subscriberCount < Self.maxClients else {
            try? await connection.executeThenClose { _, _ in }
            return
        }
        let token = await subscribe(queue)
        do {
            try await connection.executeThenClose { inbound, outbound in
                try await withThrowingTaskGroup(of: Void.self) { writers in
                    writers.addTask {
                        for await line in lines {
                            try await outbound.write(ByteBuffer(string: line + "\n"))
                        }
                    }
                    try await withThrowingDiscardingTaskGroup { requests in
                        for try await frame in inbound {
                            let text = String(buffer: frame)
                            requests.addTask {
                                let response = await self.respond(to: text)
                                if let line = try? JSONLines.encode(response) { queue.yield(line) }
                            }
                        }
                    }
                    queue.finish()
                    try await writers.waitForAll()
                }
            }
        } catch {
            logger.debug("client connection ended", metadata: ["ha.error": "\(error)"])
        }
        await unsubscribe(token)
    }

    /// Decodes and handles one request line; a line that does not decode gets `ok: false`.
    nonisolated func respond(to line: String) async -> HostdResponse {
        struct IdentifierOnly: Decodable { var id: Int? }
        guard let request = try? JSONLines.decode(HostdRequest.self, from: line) else {
            let id = (try? JSONLines.decode(IdentifierOnly.self, from: line))?.id ?? 0
            return HostdResponse(id: id, ok: false, reason: "malformed request")
        }
        return await handle(request)
    }
}
