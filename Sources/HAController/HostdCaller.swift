import HACore
import HAWire
import NIOCore
import NIOPosix

// MARK: - HostdCaller

/// One user power operation through a host's hostd socket (docs/NODES.md §5).
///
/// Why one connection per call: user operations are rare, and a short-lived connection needs no
/// reconnect logic. hostd serves several clients, so this does not disturb the agent's own
/// connection. Unsolicited event lines are skipped; the answer is the response with our id.
enum HostdCaller {
    /// How a call ended.
    struct Outcome: Sendable, Hashable {
        /// Whether hostd carried it out.
        var ok: Bool
        /// hostd's reason, or why hostd could not be asked.
        var reason: String
    }

    /// Sends one request and waits for its response.
    ///
    /// - Parameters:
    ///   - socketPath: The host's `N/run/hostd.sock`.
    ///   - op: `powerOn` or `powerOff`.
    ///   - vm: The VM.
    ///   - reason: The reason hostd records (`user-poweron`, `user-poweroff`).
    ///   - timeout: The longest the whole call may take.
    /// - Returns: hostd's answer; a connection failure or timeout is `ok: false`.
    static func call(socketPath: String, op: HostdRequest.Op, vm: VMID, reason: String, timeout: Duration) async -> Outcome {
        let request = HostdRequest(id: 1, op: op, vm: vm, reason: reason)
        guard let bytes = try? request.encodeLine() else { return Outcome(ok: false, reason: "request cannot be encoded") }
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(2))
                .connect(unixDomainSocketPath: socketPath) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            return Outcome(ok: false, reason: "hostd unreachable at \(socketPath): \(error)")
        }
        let outcome: Outcome? = try? await withThrowingTaskGroup(of: Outcome?.self) { group in
            group.addTask {
                try await channel.executeThenClose { inbound, outbound in
                    try await outbound.write(ByteBuffer(bytes: bytes))
                    var framer = JSONLineFramer()
                    for try await buffer in inbound {
                        framer.append(buffer.readableBytesView)
                        while true {
                            let line: [UInt8]?
                            do { line = try framer.nextLine() } catch { continue }
                            guard let line else { break }
                            guard case .response(let response) = try? HostdProtocol.decodeInbound(line: line), response.id == request.id else {
                                continue
                            }
                            return Outcome(ok: response.ok, reason: response.reason)
                        }
                    }
                    return Outcome(ok: false, reason: "hostd closed the connection without answering")
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            channel.channel.close(promise: nil)
            return first
        }
        return outcome ?? Outcome(ok: false, reason: "hostd did not answer \(op.rawValue) within \(timeout)")
    }
}
