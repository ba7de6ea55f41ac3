import Foundation
import HACore
import HAWire
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Drives one ``FDM/Instance`` with real time, UDP sockets, datastore files, ICMP probes and hostd.
///
/// The shell only translates: I/O results become ``FDM/Event``s, directives become I/O. Its
/// `deliver(_:)` never awaits between handing an event to the core and queueing the resulting
/// work, so two protocol steps never interleave (house rule 2).
public actor AgentShell {
    let options: AgentOptions
    var instance: FDM.Instance
    let store: DatastoreStore
    let prober = IsolationProber()
    let clock = ContinuousClock()
    let origin: ContinuousClock.Instant
    let logger: Logger
    let epoch: UInt64
    var sequence: UInt64 = 0
    var outbound: NIOAsyncChannelOutboundWriter<AddressedEnvelope<ByteBuffer>>?
    let sender: UDPSender?
    var hostd: HostdConnection?
    var datastoreHealth: [DatastoreID: DatastoreHealth] = [:]
    var nextHealthCheck: Instant = .zero
    /// When abandoned temporary files are next swept from the HA directories (once a minute).
    var nextTemporarySweep: Instant = .zero
    var eventLog: EventLogWriter
    var stopping = false
    var droppedLogged: [String: Instant] = [:]
    var hostdPending: [UInt64: (op: HostdRequest.Op, vm: VMID?)] = [:]
    var controller: ControllerClient?
    var controllerTask: Task<Void, Never>?
    var pendingProtectAcks: [PendingProtect] = []
    var nextControllerReport: Instant = .zero
    var hostdNextID: UInt64 = 0
    var pendingHostdUnavailable = false
    /// Counters of dropped datagrams by reason (exposed for tests and status).
    public private(set) var droppedDatagrams: [String: Int] = [:]
    var persistedDrops: [String: Int] = [:]
    /// The cluster keyring (nil: no `keys.json`, unauthenticated wire).
    var keyring: ClusterKeyring?
    var keyringStamp = ""
    var nextKeyringCheck: Instant = .zero
    var replayGuard = ReplayGuard()

    public init(options: AgentOptions, logger: Logger = Logger(label: "ha-agent")) throws {
        self.options = options
        self.logger = logger
        self.origin = clock.now
        self.epoch = UInt64(Date().timeIntervalSince1970 * 1000)
        self.store = DatastoreStore(cluster: options.config.name, root: options.datastoreRoot)
        self.instance = FDM.Instance(myself: options.host, settings: options.settings, config: options.config, startedAt: .zero, bugs: options.bugs, incarnation: epoch)
        self.eventLog = try EventLogWriter(path: options.nodeDirectory + "/logs/events.jsonl")
        self.sender = UDPSender(bindAddress: options.bindAddress)
        for ds in options.config.host(options.host)?.datastores ?? [] { datastoreHealth[ds] = .accessible }
    }

    /// The agent's local time.
    var now: Instant { Instant(nanoseconds: origin.duration(to: clock.now).nanoseconds) }

    // MARK: - Running

    /// Runs until `stop()` is called or SIGTERM arrives (checked by the tick loop), then throws
    /// ``AgentStopped``.
    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.tickLoop() }
            group.addTask { await self.hostdLoop() }
            group.addTask { await self.udpLoop() }
            try await group.next()
            group.cancelAll()
        }
    }

    /// The UDP 8182 socket. Sends into a faulted network fail (iptables DROP on OUTPUT answers
    /// EPERM) and NIO may close the channel: the socket is then bound again, the agent goes on.
    func udpLoop() async {
        while !Task.isCancelled {
            do {
                let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .channelOption(.socketOption(.so_reuseaddr), value: 1)
                    .bind(host: options.bindAddress, port: options.port) { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(wrappingChannelSynchronously: channel)
                        }
                    }
                try await channel.executeThenClose { inbound, outbound in
                    await self.setOutbound(outbound)
                    for try await datagram in inbound { await self.onDatagram(datagram) }
                }
            } catch {
                // Closed by a send error or not bindable yet: try again shortly.
            }
            clearOutbound()
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    func clearOutbound() { outbound = nil }

    func setOutbound(_ writer: NIOAsyncChannelOutboundWriter<AddressedEnvelope<ByteBuffer>>) { outbound = writer }

    /// Asks the agent to stop gracefully (SIGTERM): release locks as a master, record, exit.
    public func stop() { stopping = true }

    func tickLoop() async throws {
        let interval = options.settings.tickInterval
        var next = clock.now
        while !Task.isCancelled {
            if stopping || AgentSignals.terminateRequested.load(ordering: .relaxed) {
                gracefulStop()
                // Unwind the task group: the datagram loop does not end on cancellation alone.
                throw AgentStopped()
            }
            refreshKeyring()
            checkDatastoreHealth()
            deliver(.tick)
            persistDropCounters()
            next = next.advanced(by: interval)
            if next < clock.now { next = clock.now }
            try await clock.sleep(until: next)
        }
    }

    func gracefulStop() {
        let t = now
        for ds in instance.ownedDatastores.sorted() { store.releaseProtectedList(ds, host: options.host) }
        eventLog.append(HAEvent(host: options.host, at: t, kind: .agentStopped(reason: "SIGTERM")), mono: t)
    }

    /// Reads every mounted datastore's health once per heartbeat interval; changes become events.
    func checkDatastoreHealth() {
        let t = now
        guard t >= nextHealthCheck else { return }
        nextHealthCheck = t + options.settings.heartbeatInterval
        let sweeping = t >= nextTemporarySweep
        defer { if sweeping { nextTemporarySweep = t + .seconds(60) } }
        for ds in datastoreHealth.keys.sorted() {
            // Keep watching every protectedlist lease, whatever our role: a new master can then
            // take a lapsed lease at once instead of watching it for a full expiry first (a VMFS
            // host watches lock heartbeats the same way). Pure observation, no HA decision.
            if let file = store.readProtectedList(ds) {
                _ = store.observer.observe(ds, owner: file.owner, epoch: file.epoch, counter: file.renewedCounter, at: t)
            }
            let health = store.health(of: ds)
            if health == .accessible, sweeping {
                let removed = store.removeAbandonedTemporaries(ds)
                if removed > 0 { logger.info("removed abandoned temporary files", metadata: ["ha.ds": "\(ds)", "ha.count": "\(removed)"]) }
            }
            if health != datastoreHealth[ds] {
                datastoreHealth[ds] = health
                deliver(.datastoreHealthChanged(ds, health))
            }
        }
    }

    // MARK: - The core

    /// Hands `event` to the core, carries out the directives, and feeds back every synchronous
    /// I/O result before returning.
    public func deliver(_ event: FDM.Event) {
        var queue = [event]
        var guardCount = 0
        while !queue.isEmpty, guardCount < 10_000 {
            guardCount += 1
            let next = queue.removeFirst()
            for directive in instance.handle(next, at: now) {
                queue.append(contentsOf: perform(directive))
            }
        }
        syncControllerSession()
        if case .tick = event, controller != nil, now >= nextControllerReport {
            nextControllerReport = now + options.settings.heartbeatInterval
            reportToController()
        }
    }

    /// Carries out one directive; returns the events of I/O that completed synchronously.
    func perform(_ directive: FDM.Directive) -> [FDM.Event] {
        let me = options.host
        let settings = options.settings
        switch directive {
        case .send(let message, let target):
            send(message, to: target)
        case .broadcast(let message):
            for host in instance.config.hosts.map(\.id) where host != me { send(message, to: host) }
        case .writeHeartbeatFile(let ds, let counter):
            store.writeHeartbeat(ds, host: me, counter: counter)
        case .readHeartbeatFile(let host, let ds):
            return [.heartbeatFileRead(host: host, datastore: ds, counter: store.readHeartbeat(ds, host: host))]
        case .writePowerOnFile(let datastores, let file):
            for ds in datastores { store.writePowerOn(ds, host: me, file) }
        case .readPowerOnFile(let host, let datastores):
            let file = datastores.lazy.compactMap { self.store.readPowerOn($0, host: host) }.first
            var markers = Set<VMID>()
            for ds in datastoreHealth.keys.sorted() where datastoreHealth[ds]?.isReadable == true {
                markers.formUnion(store.poweredOffMarkers(ds))
            }
            return [.powerOnFileRead(host: host, file: file, poweredOffMarkers: markers)]
        case .acquireProtectedList(let ds, let vms):
            let takeover = store.takeProtectedList(ds, host: me, vms: vms, expiry: settings.protectedListLockExpiry, now: now)
            if takeover.acquired { protectedListWritten(ds, vms: vms) }
            return [.protectedListLockCompleted(datastore: ds, acquired: takeover.acquired, protectedVMs: Array(Set(takeover.previousVMs + vms)).sorted())]
        case .renewProtectedList(let ds, let vms):
            let held = store.renewProtectedList(ds, host: me, vms: vms)
            if held { protectedListWritten(ds, vms: vms) }
            return [.protectedListRenewCompleted(datastore: ds, stillHeld: held)]
        case .releaseProtectedList(let ds):
            store.releaseProtectedList(ds, host: me)
        case .checkProtectedListOwner(let ds):
            return [.protectedListOwnerChecked(datastore: ds, ownedByAMaster: store.protectedListOwned(ds, expiry: settings.protectedListLockExpiry, now: now))]
        case .writePoweredOffMarker(let ds, let vm):
            store.writeMarker(ds, vm: vm)
        case .removePoweredOffMarker(let ds, let vm):
            store.removeMarker(ds, vm: vm)
        case .probeIsolationAddresses(let addresses):
            let targets = options.resolvedIsolationAddresses(addresses)
            let timeout = settings.isolationPingInterval
            let prober = self.prober
            Task { await self.deliver(.isolationProbeCompleted(anyAnswered: await prober.probe(targets, timeout: timeout))) }
        case .pingHost(let host):
            let address = instance.config.host(host)?.managementAddress ?? ""
            let timeout = settings.heartbeatInterval
            let prober = self.prober
            Task { await self.deliver(.livenessPingCompleted(host: host, answered: await prober.ping(address, timeout: timeout))) }
        case .powerOnVM(let vm):
            return hostdRequest(.powerOn, vm: vm, reason: "restart")
        case .powerOffVM(let vm, let reason):
            return hostdRequest(.powerOff, vm: vm, reason: reason.rawValue)
        case .shutdownGuest(let vm):
            return hostdRequest(.shutdown, vm: vm, reason: VMEndReason.isolationResponse.rawValue)
        case .resetVM(let vm):
            return hostdRequest(.reset, vm: vm, reason: VMEndReason.vmMonitoringReset.rawValue)
        case .saveLocalConfig(let config):
            if let data = try? JSONEncoder().encode(config) {
                store.writeAtomically(options.nodeDirectory + "/config/clusterconfig.json", data)
            }
        case .record(let event):
            eventLog.append(event, mono: event.at)
        }
        return []
    }

    // MARK: - Network

    func send(_ message: PeerMessage, to target: HostID) {
        guard let sender, let address = instance.config.host(target)?.managementAddress, !address.isEmpty else { return }
        sequence += 1
        let envelope = Envelope(cluster: instance.config.name, from: options.host, epoch: epoch, seq: sequence, msg: message)
        guard let bytes = seal(envelope) else { return }
        sender.send(bytes, to: address, port: options.port)
    }

    func onDatagram(_ datagram: AddressedEnvelope<ByteBuffer>) {
        let bytes = Array(datagram.data.readableBytesView)
        let known = Set(instance.config.hosts.map(\.id))
        do {
            let envelope = try open(bytes, known: known)
            guard envelope.from != options.host else { return }
            deliver(.messageReceived(envelope.msg, from: envelope.from))
        } catch {
            droppedDatagrams[error.code.rawValue, default: 0] += 1
            // Log once per peer address and reason per minute; counts go to logs/dropped.json.
            let key = "\(datagram.remoteAddress.ipAddress ?? "?")/\(error.code.rawValue)"
            let t = now
            if let last = droppedLogged[key], t.duration(since: last) < .seconds(60) { return }
            droppedLogged[key] = t
            eventLog.append(HAEvent(host: options.host, at: t, kind: .messageDropped(from: datagram.remoteAddress.ipAddress ?? "?", reason: error.code.rawValue)), mono: t)
        }
    }
}

/// Thrown out of ``AgentShell/run()`` after a graceful stop (SIGTERM or ``AgentShell/stop()``).
public struct AgentStopped: Error {}

/// Process-wide signal flags (set from a C signal handler, read by the tick loop).
public enum AgentSignals {
    public static let terminateRequested = Atomic<Bool>(false)

    /// Installs SIGTERM/SIGINT handlers that request a graceful stop.
    public static func install() {
        signal(SIGTERM) { _ in AgentSignals.terminateRequested.store(true, ordering: .relaxed) }
        signal(SIGINT) { _ in AgentSignals.terminateRequested.store(true, ordering: .relaxed) }
    }
}
