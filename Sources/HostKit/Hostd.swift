import Foundation
import HACore
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The host daemon: runs VMs as `vm-workload` processes and reports their power state.
///
/// One actor owns the VM table. Requests (NODES.md §5) arrive through ``handle(_:)``; a poll
/// loop (``pollProcesses()``, every ``HostdConfiguration/pollInterval``) reads the VMs' stdout
/// for `LOCKED`, reaps ended processes and reports them. Every start and end is written to
/// `N/logs/ground-truth.jsonl` (NODES.md §6) and sent as a `vmPowerState` event to every
/// connected client.
///
/// - **powerOn** spawns `vm-workload` in its own session (a SIGKILL of hostd does not reach
///   it), records `N/run/vms/<vm>.json`, and answers once the VM printed `LOCKED` (ok) or ended
///   first (not ok, reason from its exit code: `file is locked`, `datastore inaccessible`...).
///   At most one instance per VM per host.
/// - **powerOff** SIGKILLs and answers once the process is gone; the stop reason is the request's
///   (`user-poweroff` if absent). **shutdown** sends SIGTERM and answers at once; a clean exit is
///   reported with the request's reason (`isolation-response` if absent). Escalating to a
///   power-off after `isolationShutdownTimeout` is the agent's decision, not hostd's.
/// - **reset** = powerOff (reason default `vm-monitoring-reset`) + powerOn on this host.
/// - Exits nobody asked for: code 4 → `lost-lock`; anything else → `crashed`.
/// - After a VM process ended, hostd deletes its disk lock if the lock still names that instance
///   (the host's VMkernel closes the files of a dead VMX); a lock on unreachable storage stays
///   and expires.
/// - On start, VMs listed in `N/run/vms/` whose process is alive (instance id in
///   `/proc/<pid>/cmdline`) are re-adopted and watched through `/proc`; their end reason comes
///   from the ``VMExitRecord`` they leave in `N/run/vms/<vm>.exit`. One that was still powering
///   on gets its ground-truth `start` (reason `adopted`) once its lock names it. VMs that ended
///   while hostd was down get their `stop` line at re-adoption (wall time from the exit record).
/// - Guest heartbeats and `vmIO` arrive as datagrams on `N/run/guest.sock` (``GuestListener``)
///   and are forwarded to the clients only for VMs running here.
public actor Hostd {
    /// The longest a power-on may wait for `LOCKED` beyond twice the lock expiry.
    public static let powerOnGrace = Duration.seconds(10)
    /// The longest powerOff/reset wait for a killed process to be gone.
    public static let killWait = Duration.seconds(5)
    /// Requests handled at once (all connections together); more are refused.
    public static let maxRequestsInFlight = 256
    /// Lines queued per client before the oldest are dropped.
    public static let maxQueuedLines = 4096

    /// The life phase of one VM process.
    enum Phase: Sendable, Equatable {
        /// Spawned, not yet holding its lock.
        case poweringOn
        /// Holds its lock and runs (ground-truth `start` written).
        case running
    }

    /// One VM process hostd watches.
    struct Entry: Sendable {
        var vm: VMID
        var instance: String
        var pid: pid_t
        var datastore: DatastoreID
        /// Own child (reaped with waitpid) or re-adopted (watched through /proc).
        var isChild: Bool
        var phase: Phase
        var startReason: String
        /// Read end of the VM's stdout pipe, -1 once closed.
        var stdout: Int32
        var output: [UInt8] = []
        /// Whether a powerOn request waits for the outcome.
        var hasWaiter: Bool
        /// Set by powerOff, reset and host shutdown: the reason the process is killed.
        var stopReason: String?
        /// Set by shutdown: the reason a clean exit is reported with.
        var shutdownReason: String?
    }

    /// What a waiting powerOn learns.
    enum PowerOnOutcome: Sendable {
        case running
        case failed(String)
    }

    let configuration: HostdConfiguration
    let settings: Settings
    let logger: Logger
    private let clock = ContinuousClock()
    private var entries: [VMID: Entry] = [:]
    /// The cluster configuration as last decoded, with the identity of the file it came from.
    private var clusterConfigCache: (identity: FileIdentity, config: ClusterConfig)?
    private var outcomes: [String: PowerOnOutcome] = [:]
    private var subscribers: [Int: AsyncStream<String>.Continuation] = [:]
    private var nextSubscriber = 0
    private var requestsInFlight = 0
    private var lastInstanceStamp: Int64 = 0

    /// A hostd for one node.
    ///
    /// - Parameters:
    ///   - configuration: Paths and ids.
    ///   - settings: Durations (already scaled): lock renew/expiry, guest heartbeat interval
    ///     (`heartbeatInterval`), clean-shutdown bound (`isolationShutdownTimeout`).
    ///   - logger: Diagnostics.
    public init(configuration: HostdConfiguration, settings: Settings, logger: Logger) {
        self.configuration = configuration
        self.settings = settings
        var logger = logger
        logger[metadataKey: "ha.host.id"] = "\(configuration.host)"
        self.logger = logger
    }

    // MARK: - Requests

    /// Answers one request (NODES.md §5); never throws, failures are `ok: false`.
    ///
    /// - Parameter request: The decoded request line.
    /// - Returns: The response with the request's id.
    public func handle(_ request: HostdRequest) async -> HostdResponse {
        guard requestsInFlight < Self.maxRequestsInFlight else {
            return HostdResponse(id: request.id, ok: false, reason: "too many requests")
        }
        requestsInFlight += 1
        defer { requestsInFlight -= 1 }
        if request.op == .list {
            let running = entries.values.filter { $0.phase == .running }.map(\.vm).sorted()
            return HostdResponse(id: request.id, ok: true, vms: running)
        }
        guard let vm = request.vm else { return HostdResponse(id: request.id, ok: false, reason: "missing vm") }
        guard Self.isSafeFileName(vm.rawValue) else { return HostdResponse(id: request.id, ok: false, reason: "invalid vm") }
        let failure: String?
        switch request.op {
        case .powerOn: failure = await powerOn(vm, reason: request.reason ?? "user-poweron")
        case .powerOff: failure = await powerOff(vm, reason: request.reason ?? VMEndReason.userPowerOff.rawValue)
        case .shutdown: failure = shutdown(vm, reason: request.reason ?? VMEndReason.isolationResponse.rawValue)
        case .reset: failure = await reset(vm, reason: request.reason ?? VMEndReason.vmMonitoringReset.rawValue)
        case .list: failure = nil
        }
        return HostdResponse(id: request.id, ok: failure == nil, reason: failure)
    }

    /// The cluster configuration file, decoded again only when the file changed (the agent
    /// replaces it by rename: a new inode, size or mtime). Every power-on reads it, and decoding
    /// it each time was 1.9 % of the machine's CPU in a 32-host × 4-VM bring-up.
    ///
    /// The identity comes from the descriptor that was read. A file changed within the last
    /// 50 ms is not cached: two versions of one size written within one tick of the file system's
    /// clock could reuse an inode number and look alike.
    func clusterConfig() throws(HostKitError) -> ClusterConfig {
        let (result, identity) = configuration.readClusterConfig()
        if let identity, let cached = clusterConfigCache, cached.identity == identity { return cached.config }
        let config = try configuration.decodeClusterConfig(result)
        clusterConfigCache = identity.flatMap { $0.isSettled ? ($0, config) : nil }
        return config
    }

    /// Starts `vm` and waits until it holds its lock.
    ///
    /// - Returns: `nil` on success, else the failure reason.
    private func powerOn(_ vm: VMID, reason: String) async -> String? {
        if let entry = entries[vm] { return entry.phase == .running ? "already powered on" : "power-on in progress" }
        let config: VMConfig
        var terminateOnPDL = false
        do {
            let cluster = try clusterConfig()
            guard let found = cluster.vm(vm) else { return "unknown vm" }
            config = found
            terminateOnPDL = cluster.terminateVMOnPDL
        } catch {
            logger.warning("cannot read cluster configuration", metadata: ["ha.error": "\(error)"])
            return "no cluster configuration"
        }
        let instance = makeInstanceID(vm)
        var options = VMWorkload.Options(
            vm: vm, instance: instance, host: configuration.host, datastoreRoot: configuration.datastoreRoot,
            datastore: config.homeDatastore, lockRenewInterval: settings.vmDiskLockRenewInterval,
            lockExpiry: settings.vmDiskLockExpiry, heartbeatInterval: settings.heartbeatInterval,
            hostdSocket: configuration.paths.guestSocket, hasTools: config.hasTools,
            shutdownTimeout: settings.isolationShutdownTimeout, exitFile: configuration.paths.exitRecord(vm)
        )
        options.terminateOnPDL = terminateOnPDL
        options.bugs = configuration.bugs.filter { $0.isHonouredByHost }
        var fds: [Int32] = [-1, -1]
        // pipe2 is hidden from Swift; only this actor spawns, so marking CLOEXEC afterwards is race-free here.
        guard pipe(&fds) == 0 else { return "cannot create pipe: errno \(errno)" }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let pid: pid_t
        do {
            pid = try ProcessControl.spawn(
                executable: configuration.vmWorkloadPath, arguments: options.arguments,
                standardOutput: .descriptor(fds[1]), standardError: .appendingTo(path: configuration.paths.vmLog(vm)),
                grouping: .newSession
            )
        } catch {
            close(fds[0])
            close(fds[1])
            logger.error("cannot start vm-workload", metadata: ["ha.error": "\(error)"])
            return "cannot start vm-workload"
        }
        close(fds[1])
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
        entries[vm] = Entry(
            vm: vm, instance: instance, pid: pid, datastore: config.homeDatastore, isChild: true, phase: .poweringOn,
            startReason: reason, stdout: fds[0], hasWaiter: true
        )
        writeRunRecord(VMRunRecord(vm: vm, instance: instance, pid: pid, startedAt: Date().timeIntervalSince1970))
        logger.info("vm powering on", metadata: ["ha.vm.id": "\(vm)", "ha.vm.instance": "\(instance)", "ha.vm.pid": "\(pid)"])

        let limit = settings.vmDiskLockExpiry * 2 + settings.vmDiskLockRenewInterval * 2 + Self.powerOnGrace
        if await waitUntil(limit, { self.outcomes[instance] != nil }) == false {
            entries[vm]?.stopReason = "power-on timed out"
            entries[vm]?.hasWaiter = false
            ProcessControl.send(SIGKILL, to: pid)
            _ = await waitUntil(Self.killWait) { self.entries[vm]?.instance != instance }
            return "power-on timed out"
        }
        switch outcomes.removeValue(forKey: instance) {
        case .running: return nil
        case .failed(let why): return why
        case nil: return "power-on failed"
        }
    }

    private func powerOff(_ vm: VMID, reason: String) async -> String? {
        guard var entry = entries[vm] else { return "not running" }
        entry.stopReason = entry.stopReason ?? reason
        entries[vm] = entry
        ProcessControl.send(SIGKILL, to: entry.pid)
        let gone = await waitUntil(Self.killWait) { self.entries[vm]?.instance != entry.instance }
        return gone ? nil : "still running"
    }

    private func shutdown(_ vm: VMID, reason: String) -> String? {
        guard let entry = entries[vm], entry.phase == .running else { return "not running" }
        entries[vm]?.shutdownReason = reason
        ProcessControl.send(SIGTERM, to: entry.pid)
        return nil
    }

    private func reset(_ vm: VMID, reason: String) async -> String? {
        guard let entry = entries[vm], entry.phase == .running else { return "not running" }
        if let failure = await powerOff(vm, reason: reason) { return failure }
        logger.info("vm reset", metadata: ["ha.vm.id": "\(vm)", "ha.vm.instance": "\(entry.instance)"])
        return await powerOn(vm, reason: reason)
    }

    /// Re-checks `condition` every poll interval until it holds or `limit` passed.
    ///
    /// - Returns: Whether the condition held in time.
    private func waitUntil(_ limit: Duration, _ condition: () -> Bool) async -> Bool {
        let deadline = clock.now.advanced(by: limit)
        while !condition() {
            if clock.now >= deadline { return false }
            try? await Task.sleep(for: configuration.pollInterval)
        }
        return true
    }

    /// Whether `name` can name a file in `N/run/vms` and a datastore folder (no `/`, not `.`/`..`,
    /// no control characters, at most 255 bytes): VM ids become paths.
    static func isSafeFileName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 255, name != ".", name != ".." else { return false }
        return !name.unicodeScalars.contains { $0 == "/" || $0.value < 0x20 || $0.value == 0x7F }
    }

    /// `vm-01#host-2-1733000000123`: unique per run (wall milliseconds, strictly increasing here).
    private func makeInstanceID(_ vm: VMID) -> String {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        lastInstanceStamp = max(now, lastInstanceStamp + 1)
        return "\(vm.rawValue)#\(configuration.host.rawValue)-\(lastInstanceStamp)"
    }

    // MARK: - Watching processes

    /// One pass over every VM process: read `LOCKED`, notice ends, finish adoptions.
    public func pollProcesses() {
        for vm in entries.keys.sorted() {
            guard var entry = entries[vm] else { continue }
            if entry.stdout >= 0 {
                let sawLocked = readOutput(&entry)
                entries[vm] = entry
                if sawLocked, entry.phase == .poweringOn { markRunning(vm) }
            }
            let termination: ProcessControl.Termination?
            let ended: Bool
            if entry.isChild {
                termination = ProcessControl.reapIfEnded(entry.pid)
                ended = termination != nil
            } else {
                termination = nil
                ended = !ProcessControl.isRunning(pid: entry.pid, commandLineContains: entry.instance)
            }
            if ended {
                processEnded(vm, termination: termination)
            } else if !entry.isChild, entry.phase == .poweringOn, lockNames(entry) {
                markRunning(vm)
            }
        }
    }

    /// Reads what the VM printed; returns whether `LOCKED` was seen (then closes the pipe).
    private func readOutput(_ entry: inout Entry) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 256)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(entry.stdout, $0.baseAddress, $0.count) }
            if count > 0 {
                entry.output.append(contentsOf: chunk[0..<count])
                if entry.output.count > 4096 { entry.output.removeFirst(entry.output.count - 4096) }
                continue
            }
            if count < 0, errno == EINTR { continue }
            if count == 0 || errno != EAGAIN {
                close(entry.stdout)
                entry.stdout = -1
            }
            break
        }
        let locked = String(decoding: entry.output, as: UTF8.self).split(separator: "\n").contains("LOCKED")
        if locked, entry.stdout >= 0 {
            close(entry.stdout)
            entry.stdout = -1
        }
        return locked
    }

    private func lockNames(_ entry: Entry) -> Bool {
        let lock = DiskLock(root: configuration.datastoreRoot, datastore: entry.datastore.rawValue, vm: entry.vm.rawValue)
        if case .held(let file, _) = lock.observe(), file.instance == entry.instance { return true }
        return false
    }

    private func markRunning(_ vm: VMID) {
        guard var entry = entries[vm] else { return }
        entry.phase = .running
        entries[vm] = entry
        let wall = Date().timeIntervalSince1970
        writeRunRecord(VMRunRecord(vm: vm, instance: entry.instance, pid: entry.pid, startedAt: wall))
        recordGroundTruth(GroundTruthLine(
            wall: wall, vm: vm, instance: entry.instance, host: configuration.host, event: .start, reason: entry.startReason
        ))
        broadcast(HostdEvent(event: .vmPowerState, vm: vm, on: true, reason: entry.startReason))
        if entry.hasWaiter { outcomes[entry.instance] = .running }
        logger.info("vm running", metadata: ["ha.vm.id": "\(vm)", "ha.vm.instance": "\(entry.instance)"])
    }

    /// Reports the end of `vm`'s process and cleans up after it.
    ///
    /// - Parameters:
    ///   - vm: The VM.
    ///   - termination: From waitpid for own children; `nil` for adopted ones (then the exit
    ///     record the VM left, if any, gives the code).
    private func processEnded(_ vm: VMID, termination: ProcessControl.Termination?) {
        guard let entry = entries.removeValue(forKey: vm) else { return }
        if entry.stdout >= 0 { close(entry.stdout) }
        let exitRecord = readExitRecord(vm, instance: entry.instance)
        let code: Int32? = switch termination {
        case .exited(let code): code
        case .signaled: nil
        case nil: exitRecord?.code
        }
        let described = termination?.description ?? code.map { "exited with code \($0)" } ?? "ended"
        if entry.phase == .poweringOn {
            let why = entry.stopReason ?? code.flatMap { VMWorkloadExitCode(rawValue: $0)?.reason } ?? described
            if entry.hasWaiter { outcomes[entry.instance] = .failed(why) }
            logger.info("vm power-on failed", metadata: ["ha.vm.id": "\(vm)", "ha.vm.instance": "\(entry.instance)", "ha.reason": "\(why)"])
        } else {
            let reason = Self.endReason(entry, code: code)
            let wall = termination == nil ? (exitRecord?.wall ?? Date().timeIntervalSince1970) : Date().timeIntervalSince1970
            recordGroundTruth(GroundTruthLine(
                wall: wall, vm: vm, instance: entry.instance, host: configuration.host, event: .stop, reason: reason
            ))
            broadcast(HostdEvent(event: .vmPowerState, vm: vm, on: false, reason: reason))
            logger.info("vm stopped", metadata: [
                "ha.vm.id": "\(vm)", "ha.vm.instance": "\(entry.instance)", "ha.reason": "\(reason)", "ha.exit": "\(described)",
            ])
        }
        let lock = DiskLock(root: configuration.datastoreRoot, datastore: entry.datastore.rawValue, vm: vm.rawValue)
        lock.release(instance: entry.instance)
        removeRecords(vm, instance: entry.instance)
    }

    /// The ground-truth reason of an end: the power-off's reason, then `lost-lock` for exit 4,
    /// the shutdown's reason for a clean exit after a shutdown request, else `crashed`.
    static func endReason(_ entry: Entry, code: Int32?) -> String {
        if let reason = entry.stopReason { return reason }
        if code == VMWorkloadExitCode.lostLock.rawValue { return VMEndReason.lostLock.rawValue }
        if code == VMWorkloadExitCode.permanentDeviceLoss.rawValue { return VMEndReason.pdl.rawValue }
        if code == VMWorkloadExitCode.cleanShutdown.rawValue, let reason = entry.shutdownReason { return reason }
        return VMEndReason.crashed.rawValue
    }

    // MARK: - Guest channel

    /// Forwards guest datagrams (`guestHeartbeat`, `vmIO`) of running VMs to every client.
    ///
    /// - Parameter datagrams: Datagrams from `N/run/guest.sock`; malformed ones, other kinds and
    ///   ones naming a VM that does not run here are dropped.
    public func guestDatagramsReceived(_ datagrams: [[UInt8]]) {
        for bytes in datagrams {
            guard bytes.count <= GuestChannel.maxDatagram,
                  let event = try? JSONLines.decode(HostdEvent.self, from: bytes),
                  event.event == .guestHeartbeat || event.event == .vmIO,
                  entries[event.vm]?.phase == .running
            else { continue }
            broadcast(HostdEvent(event: event.event, vm: event.vm))
        }
    }

    // MARK: - Clients

    /// Registers a client's outgoing line queue for events.
    ///
    /// - Returns: A token for ``unsubscribe(_:)``.
    func subscribe(_ continuation: AsyncStream<String>.Continuation) -> Int {
        nextSubscriber += 1
        subscribers[nextSubscriber] = continuation
        return nextSubscriber
    }

    func unsubscribe(_ token: Int) {
        subscribers.removeValue(forKey: token)?.finish()
    }

    /// The number of connected clients.
    var subscriberCount: Int { subscribers.count }

    private func broadcast(_ event: HostdEvent) {
        guard let line = try? JSONLines.encode(event) else { return }
        for continuation in subscribers.values { continuation.yield(line) }
    }

    // MARK: - Start and stop

    /// Creates the node folders and re-adopts the VMs of a previous hostd (NODES.md §2).
    public func adoptRunningVMs() {
        let paths = configuration.paths
        for directory in [paths.runDirectory, paths.vmsDirectory, paths.logsDirectory] {
            do { try FileOps.makeDirectories(directory) } catch { logger.error("cannot create folder", metadata: ["ha.error": "\(error)"]) }
        }
        let started = startedInstances()
        for name in FileOps.list(paths.vmsDirectory).sorted() where name.hasSuffix(".json") {
            let path = paths.vmsDirectory + "/" + name
            guard case .content(let bytes) = FileOps.read(path, limit: 4096),
                  let record = try? JSONLines.decode(VMRunRecord.self, from: bytes)
            else {
                FileOps.remove(path)
                continue
            }
            let datastore = (try? clusterConfig().vm(record.vm)?.homeDatastore) ?? nil
            let alive = ProcessControl.isRunning(pid: record.pid, commandLineContains: record.instance)
            entries[record.vm] = Entry(
                vm: record.vm, instance: record.instance, pid: record.pid,
                datastore: datastore ?? DatastoreID(""), isChild: false,
                phase: started.contains(record.instance) ? .running : .poweringOn, startReason: "adopted", stdout: -1,
                hasWaiter: false
            )
            if alive {
                logger.info("vm re-adopted", metadata: ["ha.vm.id": "\(record.vm)", "ha.vm.instance": "\(record.instance)", "ha.vm.pid": "\(record.pid)"])
            } else {
                processEnded(record.vm, termination: nil)
            }
        }
    }

    /// Instances with a ground-truth `start` and no `stop` (read at re-adoption).
    private func startedInstances() -> Set<String> {
        guard case .content(let bytes) = FileOps.read(configuration.paths.groundTruth, limit: 64 << 20) else { return [] }
        var started: Set<String> = []
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            guard let record = try? JSONLines.decode(GroundTruthLine.self, from: Array(line)),
                  record.host == configuration.host
            else { continue }
            switch record.event {
            case .start: started.insert(record.instance)
            case .stop: started.remove(record.instance)
            }
        }
        return started
    }

    /// Powers off every VM (host shutdown: SIGTERM to hostd), reason `host-failed`, and waits
    /// at most ``killWait`` for the processes to be gone.
    public func stopAllVMs() async {
        for vm in Array(entries.keys) {
            guard var entry = entries[vm] else { continue }
            entry.stopReason = entry.stopReason ?? VMEndReason.hostFailed.rawValue
            entries[vm] = entry
            ProcessControl.send(SIGKILL, to: entry.pid)
        }
        _ = await waitUntil(Self.killWait) {
            self.pollProcesses()
            return self.entries.isEmpty
        }
        for continuation in subscribers.values { continuation.finish() }
    }

    // MARK: - Files

    private func writeRunRecord(_ record: VMRunRecord) {
        do {
            try FileOps.writeAtomically(Array(try JSONLines.encode(record).utf8), to: configuration.paths.runRecord(record.vm))
        } catch {
            logger.error("cannot write run record", metadata: ["ha.vm.id": "\(record.vm)", "ha.error": "\(error)"])
        }
    }

    private func readExitRecord(_ vm: VMID, instance: String) -> VMExitRecord? {
        guard case .content(let bytes) = FileOps.read(configuration.paths.exitRecord(vm), limit: 4096),
              let record = try? JSONLines.decode(VMExitRecord.self, from: bytes), record.instance == instance
        else { return nil }
        return record
    }

    private func removeRecords(_ vm: VMID, instance: String) {
        let paths = configuration.paths
        if case .content(let bytes) = FileOps.read(paths.runRecord(vm), limit: 4096),
           let record = try? JSONLines.decode(VMRunRecord.self, from: bytes), record.instance == instance {
            FileOps.remove(paths.runRecord(vm))
        }
        if readExitRecord(vm, instance: instance) != nil { FileOps.remove(paths.exitRecord(vm)) }
    }

    private func recordGroundTruth(_ line: GroundTruthLine) {
        do {
            try FileOps.appendLine(try JSONLines.encode(line), to: configuration.paths.groundTruth, sync: true)
        } catch {
            logger.error("cannot write ground truth", metadata: ["ha.error": "\(error)"])
        }
    }
}

/// What tells one version of a file from another without reading it: device, inode, size and
/// modification time (`fstat(2)`); `nil` when the descriptor cannot be stat'ed.
struct FileIdentity: Hashable, Sendable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modifiedSeconds: Int
    var modifiedNanoseconds: Int

    init?(fd: Int32) {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modifiedSeconds = Int(info.st_mtim.tv_sec)
        modifiedNanoseconds = Int(info.st_mtim.tv_nsec)
    }

    /// Whether the file was last changed at least 50 ms ago by the real-time clock.
    var isSettled: Bool {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let age = Double(now.tv_sec - modifiedSeconds) + Double(now.tv_nsec - modifiedNanoseconds) / 1e9
        return age >= 0.05
    }
}
