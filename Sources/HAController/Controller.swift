import Foundation
import HACore
import HAWire
import NIOCore

// MARK: - Controller

/// The controller's state in the vCenter role: the cluster configuration, the **one** master it
/// talks to (oracle §4.7), that master's last report, and the requests waiting for its ack.
///
/// Why an actor: agent connections, HTTP requests and the watchdog all touch this state; one
/// actor owns it (house rule 6). Nothing here decides HA: restarts, isolation and failure
/// response happen in the agents without the controller (oracle §1.1), and admission control
/// only ever gates **user** power-ons (oracle §6.7).
actor Controller {
    /// How a request to the master (config push, protect, unprotect) ended.
    enum RequestOutcome: Sendable, Equatable {
        /// The master answered; for protect, `ok` means committed to the protectedlist.
        case acked(ok: Bool, reason: String)
        /// No master is connected.
        case noMaster
        /// No ack within ``ControllerOptions/ackTimeout``.
        case timedOut
        /// The master's session dropped before it answered.
        case disconnected
        /// Too many requests are already waiting (``ControllerOptions/maxPendingRequests``).
        case busy
        /// The request cannot be sent (for example a configuration above the line limit).
        case unencodable(String)
    }

    /// The master the controller talks to.
    struct MasterSession: Sendable, Encodable {
        let connectionID: UInt64
        let host: HostID
        /// Unix time the session was accepted.
        let connectedAt: Double
        /// The configuration version the master runs (hello, then acked pushes).
        var configVersion: Int

        enum CodingKeys: String, CodingKey { case host, connectedAt, configVersion }
    }

    /// Counters exposed on `GET /api/ha` (tests and operators).
    struct Counters: Sendable, Encodable {
        var agentLinesDropped = 0
        var sessionsAccepted = 0
        var sessionsRefused = 0
        var sessionsTimedOut = 0
        var connectionsRejected = 0
        var requestsTimedOut = 0
        var stateWriteFailures = 0
    }

    private struct AgentConnection {
        let channel: any Channel
        let outbox: AsyncStream<ByteBuffer>.Continuation
        let openedAt: ContinuousClock.Instant
        var lastHeard: ContinuousClock.Instant
    }

    enum PendingKind: Sendable {
        case config(version: Int)
        case protect(vm: VMID, protected: Bool)
    }

    private struct PendingRequest {
        let connectionID: UInt64
        let kind: PendingKind
        let waiter: CheckedContinuation<RequestOutcome, Never>?
    }

    let options: ControllerOptions
    let logger: ControllerLog
    /// The current configuration; ``HACore/ClusterConfig/version`` is the controller's version.
    private(set) var config: ClusterConfig
    private let decisions: AppendFile
    private let events: AppendFile
    private let origin = ContinuousClock.now

    private var connections: [UInt64: AgentConnection] = [:]
    private var nextConnectionID: UInt64 = 0
    /// The accepted master, if any.
    private(set) var master: MasterSession?
    /// The host of the most recent master (kept after its session drops).
    private(set) var lastMasterHost: HostID?
    /// The last state report of a master, and when it arrived (unix seconds).
    private(set) var report: ControllerProtocol.StateReport?
    private(set) var reportedAt: Double?
    /// Where each VM runs: the last report, plus the controller's own completed power operations since.
    private(set) var poweredOn: [VMID: HostID] = [:]
    /// User power-ons admitted and not finished yet (they count for admission control).
    private var powerOnsInFlight: [VMID: HostID] = [:]
    private var pending: [UInt64: PendingRequest] = [:]
    private var nextRequestID: UInt64 = 0
    private(set) var counters = Counters()

    /// Creates the controller and opens its state files.
    ///
    /// - Throws: ``ControllerError`` (`io`) when the state files cannot be opened.
    init(options: ControllerOptions, config: ClusterConfig, logger: ControllerLog) throws(ControllerError) {
        self.options = options
        self.config = config
        self.logger = logger
        decisions = try AppendFile(path: options.decisionsPath)
        events = try AppendFile(path: options.eventsPath)
    }

    private var wallNow: Double { Date().timeIntervalSince1970 }

    /// Number of requests waiting for the master's ack.
    var pendingCount: Int { pending.count }

    // MARK: - Agent connections

    /// Registers a new agent connection.
    ///
    /// - Parameter channel: The connection (closed by the watchdog when it stays silent).
    /// - Returns: Its id and the lines to write to it, or nil when too many are open.
    func openConnection(_ channel: any Channel) -> (id: UInt64, outbox: AsyncStream<ByteBuffer>)? {
        guard connections.count < ControllerOptions.maxAgentConnections else {
            counters.connectionsRejected += 1
            return nil
        }
        nextConnectionID += 1
        let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream(bufferingPolicy: .bufferingOldest(ControllerOptions.maxOutboxLines))
        let now = ContinuousClock.now
        connections[nextConnectionID] = AgentConnection(channel: channel, outbox: continuation, openedAt: now, lastHeard: now)
        return (nextConnectionID, stream)
    }

    /// Forgets a connection whose task ended; drops the master session if it was the master's.
    func connectionClosed(_ id: UInt64) {
        guard let connection = connections.removeValue(forKey: id) else { return }
        connection.outbox.finish()
        if master?.connectionID == id { detachMaster(reason: "connection closed") }
    }

    /// Counts a line that was too long or did not decode.
    func lineDropped() {
        counters.agentLinesDropped += 1
    }

    /// Handles one decoded line of connection `id`.
    func received(_ message: ControllerProtocol.AgentMessage, on id: UInt64) {
        guard connections[id] != nil else { return }
        connections[id]?.lastHeard = .now
        if master?.connectionID == id {
            masterSaid(message)
        } else {
            newcomerSaid(message, on: id)
        }
    }

    /// A connection that is not the master's: only `hello` is meaningful.
    private func newcomerSaid(_ message: ControllerProtocol.AgentMessage, on id: UInt64) {
        guard case .hello(let hello) = message else {
            counters.agentLinesDropped += 1
            return
        }
        guard hello.role == .master, master == nil else {
            counters.sessionsRefused += 1
            logger.info(
                "agent refused",
                metadata: ["ha.host.id": "\(hello.host)", "ha.role": "\(hello.role.rawValue)", "ha.master.id": "\(master?.host.rawValue ?? "-")"]
            )
            send(.welcome(accepted: false), to: id)
            connections[id]?.outbox.finish()
            return
        }
        master = MasterSession(connectionID: id, host: hello.host, connectedAt: wallNow, configVersion: hello.configVersion)
        lastMasterHost = hello.host
        counters.sessionsAccepted += 1
        logger.info("master accepted", metadata: ["ha.host.id": "\(hello.host)", "ha.config.version": "\(hello.configVersion)"])
        send(.welcome(accepted: true), to: id)
        synchronizeConfig(masterVersion: hello.configVersion)
    }

    /// Pushes the configuration when the master runs another version. vCenter is the source of
    /// truth: a master ahead of the controller (state lost) gets the controller's configuration
    /// under a version above its own.
    private func synchronizeConfig(masterVersion: Int) {
        guard masterVersion != config.version else { return }
        if masterVersion > config.version {
            config.version = masterVersion + 1
            persistConfig()
        }
        startRequest(.config(version: config.version), waiter: nil)
    }

    private func masterSaid(_ message: ControllerProtocol.AgentMessage) {
        guard let session = master else { return }
        switch message {
        case .hello(let hello):
            // A keepalive before the first report; it carries the version the master runs.
            guard hello.host == session.host else {
                counters.agentLinesDropped += 1
                return
            }
            master?.configVersion = hello.configVersion
        case .state(let newReport):
            guard newReport.host == session.host else {
                counters.agentLinesDropped += 1
                return
            }
            report = newReport
            reportedAt = wallNow
            poweredOn = newReport.poweredOn
        case .ack(let ack):
            resolve(ack, from: session)
        }
    }

    private func resolve(_ ack: ControllerProtocol.Ack, from session: MasterSession) {
        guard let request = pending[ack.id], request.connectionID == session.connectionID else {
            // Late (already timed out) or unknown: nothing waits for it.
            return
        }
        pending.removeValue(forKey: ack.id)
        switch request.kind {
        case .config(let version):
            if ack.ok { master?.configVersion = version }
            logger.info("config ack", metadata: ["ha.config.version": "\(version)", "ha.ok": "\(ack.ok)"])
        case .protect(let vm, let protected):
            // Protection counts only now: the master committed it to disk (oracle §3.1).
            if ack.ok, let index = config.vms.firstIndex(where: { $0.id == vm }), config.vms[index].isProtected != protected {
                config.vms[index].isProtected = protected
                persistConfig()
            }
            logger.info("protect ack", metadata: ["ha.vm.id": "\(vm)", "ha.protected": "\(protected)", "ha.ok": "\(ack.ok)"])
        }
        request.waiter?.resume(returning: .acked(ok: ack.ok, reason: ack.reason))
    }

    private func detachMaster(reason: String) {
        guard let session = master else { return }
        master = nil
        logger.info("master session ended", metadata: ["ha.host.id": "\(session.host)", "ha.reason": "\(reason)"])
        for (id, request) in pending where request.connectionID == session.connectionID {
            pending.removeValue(forKey: id)
            request.waiter?.resume(returning: .disconnected)
        }
    }

    /// Queues one line for connection `id`; a connection whose queue is full is closed.
    @discardableResult
    private func send(_ message: ControllerProtocol.ControllerMessage, to id: UInt64) -> Bool {
        guard let connection = connections[id], let bytes = try? message.encodeLine() else { return false }
        switch connection.outbox.yield(ByteBuffer(bytes: bytes)) {
        case .enqueued:
            return true
        case .dropped, .terminated:
            close(id)
            return false
        @unknown default:
            return false
        }
    }

    /// Closes a connection (its task then calls ``connectionClosed(_:)``).
    private func close(_ id: UInt64) {
        guard let connection = connections[id] else { return }
        connection.outbox.finish()
        connection.channel.close(promise: nil)
        if master?.connectionID == id { detachMaster(reason: "closed by the controller") }
    }

    // MARK: - Watchdog

    /// Closes connections that never said hello and masters that went silent, until cancelled.
    func watchdog() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(100))
            sweep()
        }
    }

    private func sweep() {
        let now = ContinuousClock.now
        for (id, connection) in connections {
            if master?.connectionID == id {
                if connection.lastHeard.duration(to: now) > options.masterTimeout {
                    counters.sessionsTimedOut += 1
                    close(id)
                }
            } else if connection.openedAt.duration(to: now) > options.helloTimeout {
                close(id)
            }
        }
    }

    /// Closes every agent connection and fails every waiting request (SIGTERM).
    func shutdown() {
        for id in connections.keys { close(id) }
        for (_, request) in pending { request.waiter?.resume(returning: .disconnected) }
        pending = [:]
    }

    // MARK: - Requests to the master

    /// Sends a request to the master and waits for its ack (at most ``ControllerOptions/ackTimeout``).
    func request(_ kind: PendingKind) async -> RequestOutcome {
        guard master != nil else { return .noMaster }
        guard pending.count < ControllerOptions.maxPendingRequests else { return .busy }
        return await withCheckedContinuation { continuation in
            startRequest(kind, waiter: continuation)
        }
    }

    /// Sends a request; the waiter (if any) is resumed exactly once: ack, timeout, disconnect or failure.
    private func startRequest(_ kind: PendingKind, waiter: CheckedContinuation<RequestOutcome, Never>?) {
        guard let session = master else {
            waiter?.resume(returning: .noMaster)
            return
        }
        guard pending.count < ControllerOptions.maxPendingRequests else {
            waiter?.resume(returning: .busy)
            return
        }
        nextRequestID += 1
        let id = nextRequestID
        let message: ControllerProtocol.ControllerMessage
        switch kind {
        case .config: message = .config(id: id, config: config)
        case .protect(let vm, let protected): message = .protect(id: id, vm: vm, protected: protected)
        }
        do {
            _ = try message.encodeLine()
        } catch {
            waiter?.resume(returning: .unencodable(error.description))
            return
        }
        pending[id] = PendingRequest(connectionID: session.connectionID, kind: kind, waiter: waiter)
        guard send(message, to: session.connectionID) else {
            // send() closed the session, which resumed the waiter with .disconnected.
            if let request = pending.removeValue(forKey: id) { request.waiter?.resume(returning: .disconnected) }
            return
        }
        let timeout = options.ackTimeout
        Task {
            try? await Task.sleep(for: timeout)
            self.expire(id)
        }
    }

    private func expire(_ id: UInt64) {
        guard let request = pending.removeValue(forKey: id) else { return }
        counters.requestsTimedOut += 1
        request.waiter?.resume(returning: .timedOut)
    }

    // MARK: - Configuration

    /// Replaces the configuration (version + 1), persists it, and pushes it to the master.
    ///
    /// - Parameter newConfig: The user's configuration (its `version` is ignored).
    /// - Returns: The new version and how the push ended (``RequestOutcome/noMaster``: queued,
    ///   pushed when a master says hello).
    func replaceConfig(_ newConfig: ClusterConfig) async -> (version: Int, outcome: RequestOutcome) {
        var newConfig = newConfig
        newConfig.version = config.version + 1
        config = newConfig
        persistConfig()
        logger.info("config replaced", metadata: ["ha.config.version": "\(newConfig.version)"])
        guard master != nil else { return (newConfig.version, .noMaster) }
        return (newConfig.version, await request(.config(version: newConfig.version)))
    }

    private func persistConfig() {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let data = try encoder.encode(config)
            try StateFiles.writeAtomically(data, to: options.currentConfigPath)
        } catch {
            counters.stateWriteFailures += 1
            logger.warning("cannot persist the configuration", metadata: ["ha.error": "\(error)"])
        }
    }

    // MARK: - User power operations

    /// Where a VM runs as far as the controller knows (the master's report, the controller's own
    /// operations, and power-ons in flight).
    func location(of vm: VMID) -> HostID? {
        poweredOn[vm] ?? powerOnsInFlight[vm]
    }

    /// How ``beginUserPowerOn(of:on:)`` ended.
    enum PowerOnStart: Sendable, Equatable {
        /// The VM runs already (or is being powered on): no decision is made.
        case alreadyPoweredOn(HostID)
        /// Admission control decided (and the decision was recorded).
        case decided(AdmissionControl.Decision)
    }

    /// Runs admission control for a user power-on, records the decision, and reserves the
    /// capacity while the power-on runs (oracle §6.7; never used for HA restarts).
    ///
    /// Why one actor call: the check that the VM is not running, the decision and the
    /// reservation must not interleave with a concurrent power-on.
    ///
    /// - Returns: Whether the VM already runs, or the decision. After ``PowerOnStart/decided(_:)``
    ///   with an admission, call ``finishUserPowerOn(of:on:succeeded:)``.
    func beginUserPowerOn(of vm: VMConfig, on host: HostID) -> PowerOnStart {
        if let running = location(of: vm.id) { return .alreadyPoweredOn(running) }
        let running = poweredOn.merging(powerOnsInFlight) { reported, _ in reported }
        let poweredOnConfigs = running.keys.sorted().compactMap { config.vm($0) }
        let decision = AdmissionControl.admitsUserPowerOn(of: vm, on: host, cluster: config, poweredOn: poweredOnConfigs)
        let reason: String
        switch decision {
        case .admitted: reason = "admitted (\(poweredOnConfigs.count) VMs powered on before)"
        case .rejected(let why): reason = why
        }
        record(vm: vm.id, host: host, admitted: decision.isAdmitted, reason: reason)
        if decision.isAdmitted { powerOnsInFlight[vm.id] = host }
        return .decided(decision)
    }

    /// Ends a user power-on admitted by ``beginUserPowerOn(of:on:)``.
    func finishUserPowerOn(of vm: VMID, on host: HostID, succeeded: Bool) {
        powerOnsInFlight.removeValue(forKey: vm)
        if succeeded { poweredOn[vm] = host }
    }

    /// Records a completed user power-off.
    func finishUserPowerOff(of vm: VMID) {
        poweredOn.removeValue(forKey: vm)
    }

    private func record(vm: VMID, host: HostID, admitted: Bool, reason: String) {
        let wall = wallNow
        if let line = try? DecisionLine(wall: wall, vm: vm, host: host, admitted: admitted, reason: reason).encodeLine() {
            if !decisions.append(line) { counters.stateWriteFailures += 1 }
        }
        let at = Instant(nanoseconds: Int64(origin.duration(to: .now) / .nanoseconds(1)))
        let event = HAEvent(host: "vcenter", at: at, kind: .admissionControlDecision(vm: vm, host: host, admitted: admitted, reason: reason))
        if let line = try? EventLine(wall: wall, mono: at.seconds, event: event).encodeLine() {
            if !events.append(line) { counters.stateWriteFailures += 1 }
        }
        logger.info("admission control decision", metadata: ["ha.vm.id": "\(vm)", "ha.host.id": "\(host)", "ha.admitted": "\(admitted)"])
    }
}
