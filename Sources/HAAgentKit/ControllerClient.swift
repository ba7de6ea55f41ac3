import HACore
import HAWire
import NIOCore
import NIOPosix

// MARK: - ControllerEvent

/// What the controller (vCenter role) asked of, or told, this master (``ControllerClient``).
public enum ControllerEvent: Sendable, Hashable {
    /// A session got its `welcome`. `accepted: false` means the controller already talks to
    /// another master (oracle §4.7); it is reported once per run of refusals while the client
    /// keeps retrying every ``ControllerClient/reconnectInterval``.
    case connected(accepted: Bool)
    /// An accepted session ended (the controller went away, or the client was stopped).
    case disconnected
    /// A connection attempt failed (refused, unreachable, timed out, or an option the socket
    /// would not take). Reported once per run of attempts that fail the same way, so the agent
    /// logs why it has no controller session instead of retrying silently.
    case connectFailed(reason: String)
    /// vCenter pushed a configuration; answer with ``ControllerClient/ack(id:ok:reason:)`` once applied.
    case configPushed(id: UInt64, config: ClusterConfig)
    /// vCenter asks to protect (`true`) or unprotect (`false`) a VM. Answer with
    /// ``ControllerClient/ack(id:ok:reason:)`` only **after** the change is committed to the
    /// protectedlist on disk (oracle §3.1 "Protection commit").
    case protectRequested(id: UInt64, vm: VMID, protected: Bool)
}

// MARK: - ControllerClient

/// The master's connection to the controller (vCenter role), docs/NODES.md and
/// ``HAWire/ControllerProtocol``.
///
/// Why a separate client: HA keeps working while the controller is down (DESIGN §1), so this
/// connection is best-effort. ``run()`` connects, says `hello`, hands every request to
/// `onEvent`, and reconnects every ``reconnectInterval`` until ``stop()``. Calls made while
/// no session is accepted are dropped (they return `false`): the controller re-reads the
/// master's state from the next report, and unacked requests time out on its side.
///
/// While a session is accepted the client sends a keepalive every ``keepaliveInterval``: the
/// latest state report (or the hello again before the first one), so the controller can tell
/// a silent master from a busy one.
public actor ControllerClient {
    /// The controller's address.
    public let address: String
    /// The controller's agent port (``HAWire/ControllerProtocol/defaultAgentPort``).
    public let port: Int
    /// This master's host.
    public let host: HostID
    /// Pause between connection attempts.
    public let reconnectInterval: Duration
    /// Pause between keepalive lines of an accepted session.
    public let keepaliveInterval: Duration
    /// How long a session may wait for its `welcome`.
    public let welcomeTimeout: Duration

    private let onEvent: @Sendable (ControllerEvent) async -> Void
    /// Whether the client should (re)connect; false once ``stop()`` was called.
    public private(set) var isWanted = true
    /// Whether the current session was accepted by the controller.
    public private(set) var isAccepted = false
    /// Connection attempts so far (each ``reconnectInterval`` while no session is up).
    public private(set) var connectAttempts = 0
    /// Lines from the controller that were too long or did not decode (dropped).
    public private(set) var droppedLines = 0
    /// The configuration version announced in `hello` (updated by acked config pushes).
    public private(set) var configVersion: Int

    private var session: Session?
    private var sessionCounter: UInt64 = 0
    /// The last connection failure reported (``ControllerEvent/connectFailed(reason:)``); `nil`
    /// after a connection succeeds.
    private var lastConnectFailure: String?
    private var lastReport: ControllerProtocol.StateReport?
    private var refusalReported = false
    /// Config pushes not acked yet: request id → version (bounded by ``maxPendingConfigs``).
    private var pendingConfigs: [UInt64: Int] = [:]
    private static let maxPendingConfigs = 16

    /// One TCP session.
    private struct Session {
        let id: UInt64
        let channel: any Channel
        let writer: NIOAsyncChannelOutboundWriter<ByteBuffer>
        let openedAt: ContinuousClock.Instant
        var welcomed = false
    }

    /// Creates a client; nothing happens until ``run()``.
    ///
    /// - Parameters:
    ///   - address: The controller's address (IP or name).
    ///   - port: The controller's agent port.
    ///   - host: This master's host id.
    ///   - configVersion: The configuration version this agent runs (sent in `hello`).
    ///   - reconnectInterval: Pause between connection attempts (default 1 s).
    ///   - keepaliveInterval: Pause between keepalive lines (default 1 s).
    ///   - welcomeTimeout: How long to wait for `welcome` before giving up a session (default 5 s).
    ///   - onEvent: Receives every ``ControllerEvent``, in order. It may call back into the client,
    ///     and SHOULD return promptly: the next request is read only after it returns, so a
    ///     protect is best acked later, once the protectedlist write completed.
    public init(
        address: String, port: Int, host: HostID, configVersion: Int = 0, reconnectInterval: Duration = .seconds(1),
        keepaliveInterval: Duration = .seconds(1), welcomeTimeout: Duration = .seconds(5),
        onEvent: @escaping @Sendable (ControllerEvent) async -> Void
    ) {
        self.address = address
        self.port = port
        self.host = host
        self.configVersion = configVersion
        self.reconnectInterval = reconnectInterval
        self.keepaliveInterval = keepaliveInterval
        self.welcomeTimeout = welcomeTimeout
        self.onEvent = onEvent
    }

    // MARK: - Running

    /// Connects and serves sessions until ``stop()`` is called or the task is cancelled.
    ///
    /// A stopped client stays stopped: create a new one to connect again.
    public func run() async {
        while isWanted, !Task.isCancelled {
            await runSession()
            guard isWanted, !Task.isCancelled else { break }
            try? await Task.sleep(for: reconnectInterval)
        }
    }

    /// Ends the current session (if any) and stops reconnecting.
    public func stop() {
        isWanted = false
        session?.channel.close(promise: nil)
    }

    /// Records the configuration version this agent runs now (announced in later `hello`s).
    public func setConfigVersion(_ version: Int) {
        configVersion = version
    }

    // MARK: - Sending

    /// Answers a `config` or `protect` request.
    ///
    /// - Parameters:
    ///   - id: The request id from ``ControllerEvent``.
    ///   - ok: Whether it was carried out (for `protect`: committed to the protectedlist).
    ///   - reason: Why not (truncated to ``HAWire/ControllerProtocol/maxReasonBytes``).
    /// - Returns: Whether the ack was handed to an accepted session.
    @discardableResult
    public func ack(id: UInt64, ok: Bool, reason: String = "") async -> Bool {
        if let version = pendingConfigs.removeValue(forKey: id), ok { configVersion = version }
        var reason = reason
        while reason.utf8.count > ControllerProtocol.maxReasonBytes { reason.removeLast() }
        return await send(.ack(ControllerProtocol.Ack(id: id, ok: ok, reason: reason)))
    }

    /// Reports the master's view to the controller (and keeps it for keepalives).
    ///
    /// - Parameters:
    ///   - hostStates: The state of each host as this master classifies it.
    ///   - protectedVMs: The VMs committed to a protectedlist.
    ///   - poweredOn: The powered-on VMs and their hosts.
    /// - Returns: Whether the report was handed to an accepted session.
    @discardableResult
    public func reportState(hostStates: [HostID: HostState], protectedVMs: [VMID], poweredOn: [VMID: HostID]) async -> Bool {
        let report = ControllerProtocol.StateReport(
            host: host, hostStates: hostStates, protectedVMs: protectedVMs.sorted(), poweredOn: poweredOn
        )
        lastReport = report
        return await send(.state(report))
    }

    private func send(_ message: ControllerProtocol.AgentMessage) async -> Bool {
        guard let session, session.welcomed, isAccepted else { return false }
        return await write(message, to: session)
    }

    private func write(_ message: ControllerProtocol.AgentMessage, to session: Session) async -> Bool {
        guard let bytes = try? message.encodeLine() else { return false }
        do {
            try await session.writer.write(ByteBuffer(bytes: bytes))
            return true
        } catch {
            return false
        }
    }

    // MARK: - Sessions

    private func runSession() async {
        connectAttempts += 1
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(2))
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            #if os(Linux)
            // TCP_USER_TIMEOUT (18): give up a session whose data stays unacknowledged (a
            // partitioned controller) after 10 s instead of the kernel's ~15 min.
            bootstrap = bootstrap.channelOption(
                ChannelOptions.Types.SocketOption(level: .tcp, name: NIOBSDSocket.Option(rawValue: 18)), value: 10_000
            )
            #endif
            channel = try await bootstrap.connect(host: address, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        } catch {
            let reason = "\(address):\(port): \(error)"
            if reason != lastConnectFailure {
                lastConnectFailure = reason
                await onEvent(.connectFailed(reason: reason))
            }
            return
        }
        lastConnectFailure = nil
        sessionCounter += 1
        let sessionID = sessionCounter
        do {
            try await channel.executeThenClose { inbound, outbound in
                let opened = Session(id: sessionID, channel: channel.channel, writer: outbound, openedAt: .now)
                self.session = opened
                guard self.isWanted else { return }
                let hello = ControllerProtocol.AgentMessage.hello(.init(host: self.host, role: .master, configVersion: self.configVersion))
                guard await self.write(hello, to: opened) else { return }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await self.readLoop(inbound, sessionID: sessionID) }
                    group.addTask { try await self.keepaliveLoop(sessionID: sessionID) }
                    try await group.next()
                    group.cancelAll()
                }
            }
        } catch {
            // Connection reset, cancelled, or closed by stop(): the session is over either way.
        }
        let wasAccepted = isAccepted
        session = nil
        isAccepted = false
        pendingConfigs = [:]
        if wasAccepted { await onEvent(.disconnected) }
    }

    private func readLoop(_ inbound: NIOAsyncChannelInboundStream<ByteBuffer>, sessionID: UInt64) async throws {
        var framer = JSONLineFramer(maxLineBytes: ControllerProtocol.maxLineBytes)
        for try await buffer in inbound {
            framer.append(buffer.readableBytesView)
            while true {
                let line: [UInt8]?
                do {
                    line = try framer.nextLine()
                } catch {
                    droppedLines += 1
                    continue
                }
                guard let line else { break }
                guard let message = try? ControllerProtocol.ControllerMessage.decode(line: line) else {
                    droppedLines += 1
                    continue
                }
                guard await onMessage(message, sessionID: sessionID) else { return }
            }
        }
    }

    /// Handles one line; returns false when the session must end.
    private func onMessage(_ message: ControllerProtocol.ControllerMessage, sessionID: UInt64) async -> Bool {
        guard var current = session, current.id == sessionID else { return false }
        switch message {
        case .welcome(let accepted):
            guard !current.welcomed else {
                droppedLines += 1
                return true
            }
            current.welcomed = true
            session = current
            isAccepted = accepted
            if accepted {
                refusalReported = false
                await onEvent(.connected(accepted: true))
                return true
            }
            if !refusalReported {
                refusalReported = true
                await onEvent(.connected(accepted: false))
            }
            return false
        case .config(let id, let config):
            guard isAccepted else {
                droppedLines += 1
                return true
            }
            if pendingConfigs.count >= Self.maxPendingConfigs, let oldest = pendingConfigs.keys.min() {
                pendingConfigs.removeValue(forKey: oldest)
            }
            pendingConfigs[id] = config.version
            await onEvent(.configPushed(id: id, config: config))
        case .protect(let id, let vm, let protected):
            guard isAccepted else {
                droppedLines += 1
                return true
            }
            await onEvent(.protectRequested(id: id, vm: vm, protected: protected))
        }
        return true
    }

    /// Sends keepalives; throws (ending the session) when `welcome` is late or the client stopped.
    private func keepaliveLoop(sessionID: UInt64) async throws {
        while true {
            try await Task.sleep(for: keepaliveInterval)
            guard isWanted, let current = session, current.id == sessionID else { throw CancellationError() }
            guard current.welcomed else {
                if current.openedAt.duration(to: .now) > welcomeTimeout { throw CancellationError() }
                continue
            }
            let keepalive: ControllerProtocol.AgentMessage =
                lastReport.map { .state($0) } ?? .hello(.init(host: host, role: .master, configVersion: configVersion))
            guard await write(keepalive, to: current) else { throw CancellationError() }
        }
    }
}
