import Foundation
import HACore
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The VM stand-in: holds its disk lock, journals to its home datastore, sends guest heartbeats.
///
/// Life of one instance (`--instance`), NODES.md §3:
/// 1. **Power-on.** Take `<root>/<ds>/<vm>/lock`: create it if absent; if another instance holds
///    it, watch its content with the own monotonic clock: a change means a live holder (exit
///    ``VMWorkloadExitCode/fileLocked``, nothing written); no change for the lock expiry means
///    a dead holder, and the lock is broken (rewritten with our instance). Then print
///    `LOCKED\n` on stdout, the only thing ever printed there (hostd waits for it).
/// 2. **Running.** Renew the lock every renew interval; every heartbeat interval send a guest
///    heartbeat and append a ``JournalRecord`` (after checking the lock still names us), then
///    send `vmIO`. Guest lines go as datagrams to hostd's guest socket (`--hostd-socket`, a
///    unix `SOCK_DGRAM` socket), so they survive hostd restarts; without a socket they are not
///    sent. When storage fails (unmounted, APD), keep running in memory and keep trying.
/// 3. **Lost lock.** When a renewal or journal check finds the lock naming another instance,
///    released, or deleted while the VM directory is there, exit ``VMWorkloadExitCode/lostLock``
///    at once without writing anything.
/// 4. **Signals.** SIGUSR1 toggles the hung-guest mode (no heartbeats, no journal, no `vmIO`;
///    the lock is still renewed, as the VMX process, not the guest, holds it). SIGTERM with
///    tools: release the lock and exit 0 (a hung guest does not react until it recovers);
///    without tools SIGTERM is ignored (`SIG_IGN`) and hostd must use SIGKILL.
///
/// Before every exit of its own it writes a ``VMExitRecord`` to `--exit-file` if given.
public struct VMWorkload: Sendable {
    /// The command line of one instance.
    public struct Options: Sendable, Hashable {
        public var vm: VMID
        /// Unique per run, e.g. `vm-01#host-2-1733000000123`.
        public var instance: String
        public var host: HostID
        public var datastoreRoot: String
        public var datastore: DatastoreID
        public var lockRenewInterval: Duration
        public var lockExpiry: Duration
        public var heartbeatInterval: Duration
        /// hostd's guest datagram socket (`N/run/guest.sock`), if any.
        public var hostdSocket: String?
        /// Whether VMware Tools run in the guest (clean shutdown on SIGTERM).
        public var hasTools: Bool
        /// The time a clean shutdown may take at most.
        public var shutdownTimeout: Duration
        /// Where to write the ``VMExitRecord`` before exiting.
        public var exitFile: String?
        /// `disk.terminateVMOnPDLDefault`: die at the next I/O to a datastore in PDL.
        public var terminateOnPDL = false
        /// Mutants honoured by the VM layer (``FDM/Bug/isHonouredByHost``); others are ignored.
        /// `powerOnIgnoresLiveDiskLock`: break a lock its holder still renews at once.
        /// `lostLockNeverPoweredOff`: on finding the lock taken, keep running in memory.
        public var bugs: Set<FDM.Bug> = []

        public init(
            vm: VMID, instance: String, host: HostID, datastoreRoot: String, datastore: DatastoreID,
            lockRenewInterval: Duration, lockExpiry: Duration, heartbeatInterval: Duration,
            hostdSocket: String?, hasTools: Bool, shutdownTimeout: Duration, exitFile: String?
        ) {
            self.vm = vm
            self.instance = instance
            self.host = host
            self.datastoreRoot = datastoreRoot
            self.datastore = datastore
            self.lockRenewInterval = lockRenewInterval
            self.lockExpiry = lockExpiry
            self.heartbeatInterval = heartbeatInterval
            self.hostdSocket = hostdSocket
            self.hasTools = hasTools
            self.shutdownTimeout = shutdownTimeout
            self.exitFile = exitFile
        }

        /// The argv (after the executable) that reproduces these options; hostd uses it.
        public var arguments: [String] {
            var arguments = [
                "--vm", vm.rawValue, "--instance", instance, "--host", host.rawValue,
                "--datastore-root", datastoreRoot, "--datastore", datastore.rawValue,
                "--lock-renew-ms", "\(lockRenewInterval.wholeMilliseconds)",
                "--lock-expiry-ms", "\(lockExpiry.wholeMilliseconds)",
                "--heartbeat-ms", "\(heartbeatInterval.wholeMilliseconds)",
                hasTools ? "--tools" : "--no-tools",
                "--shutdown-ms", "\(shutdownTimeout.wholeMilliseconds)",
            ]
            if let hostdSocket { arguments += ["--hostd-socket", hostdSocket] }
            if let exitFile { arguments += ["--exit-file", exitFile] }
            if terminateOnPDL { arguments.append("--terminate-on-pdl") }
            for bug in bugs.filter({ $0.isHonouredByHost }).map(\.rawValue).sorted() { arguments += ["--bug", bug] }
            return arguments
        }
    }

    private let options: Options
    private let lock: DiskLock
    private let logger: Logger
    private let clock = ContinuousClock()

    /// Prepares an instance; nothing happens before ``run()``.
    ///
    /// - Parameters:
    ///   - options: The command line.
    ///   - logger: Diagnostics (stderr in the executable); never stdout.
    public init(options: Options, logger: Logger) {
        self.options = options
        self.lock = DiskLock(root: options.datastoreRoot, datastore: options.datastore.rawValue, vm: options.vm.rawValue)
        var logger = logger
        logger[metadataKey: "ha.vm.instance"] = "\(options.instance)"
        self.logger = logger
    }

    /// Runs the instance until it ends; installs its signal handlers first.
    ///
    /// - Returns: The process exit code.
    public func run() -> VMWorkloadExitCode {
        SignalFlags.ignore(SIGPIPE)
        if options.hasTools {
            SignalFlags.install([.terminate, .user1])
        } else {
            SignalFlags.ignore(SIGTERM)
            SignalFlags.install([.user1])
        }
        let code = runLocked()
        writeExitRecord(code)
        return code
    }

    // MARK: - Power-on

    private func runLocked() -> VMWorkloadExitCode {
        switch acquire() {
        case .success(let counter):
            logger.info("disk lock acquired", metadata: ["ha.lock.counter": "\(counter)"])
            announceLocked()
            return runGuest(counter: counter)
        case .failure(let code):
            logger.info("power-on failed", metadata: ["ha.exit.code": "\(code.rawValue)"])
            return code
        }
    }

    /// The outcome of the power-on phase: the counter we wrote, or why we give up.
    private enum Acquisition {
        case success(Int)
        case failure(VMWorkloadExitCode)
    }

    private func acquire() -> Acquisition {
        guard lock.ensureVMDirectory() else { return .failure(.datastoreInaccessible) }
        let poll = max(.milliseconds(10), min(options.lockRenewInterval / 4, .milliseconds(250)))
        var watched: (raw: [UInt8], since: ContinuousClock.Instant)?
        while true {
            if SignalFlags.stopRequested { return .failure(.cleanShutdown) }
            let now = clock.now
            switch lock.observe() {
            case .inaccessible:
                return .failure(.datastoreInaccessible)
            case .missing:
                if let created = try? lock.create(mine(counter: 0)), created { return confirm(counter: 0) }
            case .released(let file):
                if (try? lock.replace(mine(counter: file.counter + 1))) != nil { return confirm(counter: file.counter + 1) }
                return .failure(.datastoreInaccessible)
            case .held(let file, _) where file.instance == options.instance:
                if (try? lock.replace(mine(counter: file.counter + 1))) != nil { return confirm(counter: file.counter + 1) }
                return .failure(.datastoreInaccessible)
            case .held(let file, _) where options.bugs.contains(.powerOnIgnoresLiveDiskLock):
                // Mutant: take the lock over whoever holds it, live or not.
                logger.warning("breaking a live disk lock (mutant powerOnIgnoresLiveDiskLock)")
                if (try? lock.replace(mine(counter: file.counter + 1))) != nil { return confirm(counter: file.counter + 1) }
                return .failure(.datastoreInaccessible)
            case .held(_, let raw), .malformed(let raw):
                // Stale by the datastore's clock (its holder stopped renewing long enough ago): break
                // now. Re-checked on every poll, so a lock lapses exactly when its lease runs out.
                if let age = lock.ageByDatastoreClock(), age >= options.lockExpiry {
                    let previous = (try? JSONLines.decode(DiskLockFile.self, from: raw))?.counter ?? 0
                    logger.info("breaking stale disk lock", metadata: ["ha.lock.ageMs": "\(age.wholeMilliseconds)"])
                    if (try? lock.replace(mine(counter: previous + 1))) != nil { return confirm(counter: previous + 1) }
                    return .failure(.datastoreInaccessible)
                }
                guard let seen = watched else {
                    watched = (raw, now)
                    break
                }
                if seen.raw != raw {
                    logger.info("disk lock is renewed by its holder")
                    return .failure(.fileLocked)
                }
                if seen.since.duration(to: now) >= options.lockExpiry {
                    let previous = (try? JSONLines.decode(DiskLockFile.self, from: raw))?.counter ?? 0
                    logger.info("breaking expired disk lock", metadata: ["ha.lock.previous": "\(String(decoding: raw, as: UTF8.self))"])
                    if (try? lock.replace(mine(counter: previous + 1))) != nil { return confirm(counter: previous + 1) }
                    return .failure(.datastoreInaccessible)
                }
            }
            LoopSleep.sleep(poll)
        }
    }

    /// Re-reads the lock shortly after writing it, so two instances breaking at once do not
    /// both believe they won (the later rename wins; the other sees it and gives up).
    private func confirm(counter: Int) -> Acquisition {
        LoopSleep.sleep(min(options.lockRenewInterval / 4, .milliseconds(20)))
        if case .held(let file, _) = lock.observe(), file.instance == options.instance { return .success(counter) }
        return .failure(.fileLocked)
    }

    private func mine(counter: Int) -> DiskLockFile {
        DiskLockFile(instance: options.instance, host: options.host.rawValue, counter: counter)
    }

    private func announceLocked() {
        let bytes = Array("LOCKED\n".utf8)
        _ = bytes.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
    }

    // MARK: - Running

    /// Whether the home datastore reports permanent device loss (its `.pdl` sense marker) and
    /// this host kills VMs on PDL.
    private var inPermanentDeviceLoss: Bool {
        options.terminateOnPDL && access(options.datastoreRoot + "/" + options.datastore.rawValue + "/.pdl", F_OK) == 0
    }

    private func runGuest(counter initialCounter: Int) -> VMWorkloadExitCode {
        let guest = GuestChannel(socketPath: options.hostdSocket)
        var counter = initialCounter
        var sequence = 0
        var storageAvailable = true
        var nextRenewal = clock.now.advanced(by: options.lockRenewInterval)
        var nextHeartbeat = clock.now
        var hung = false
        // Mutant `lostLockNeverPoweredOff`: set once the lock was found taken; the copy then runs on
        // in memory (guest heartbeats, no lock or journal writes) instead of powering itself off.
        var lostButRunning = false
        while true {
            hung = SignalFlags.user1.load(ordering: .relaxed) % 2 == 1
            if options.hasTools, !hung, SignalFlags.terminate.load(ordering: .relaxed) > 0 {
                return shutDown()
            }
            let now = clock.now
            if now >= nextRenewal {
                switch lostButRunning ? .renewed : renew(counter: &counter) {
                case .lost where options.bugs.contains(.lostLockNeverPoweredOff):
                    logger.warning("disk lock lost: running on (mutant lostLockNeverPoweredOff)")
                    lostButRunning = true
                case .lost: return .lostLock
                case .unavailable where inPermanentDeviceLoss:
                    return .permanentDeviceLoss
                case .unavailable:
                    if storageAvailable { logger.info("datastore unavailable: running in memory") }
                    storageAvailable = false
                case .renewed:
                    if !storageAvailable { logger.info("datastore available again") }
                    storageAvailable = true
                }
                nextRenewal = max(nextRenewal.advanced(by: options.lockRenewInterval), now)
            }
            if now >= nextHeartbeat {
                if !hung {
                    guest.send(HostdEvent(event: .guestHeartbeat, vm: options.vm))
                    switch lostButRunning ? .renewed : appendJournal(sequence: sequence + 1) {
                    case .lost where options.bugs.contains(.lostLockNeverPoweredOff):
                        logger.warning("disk lock lost: running on (mutant lostLockNeverPoweredOff)")
                        lostButRunning = true
                    case .lost: return .lostLock
                    case .unavailable where inPermanentDeviceLoss: return .permanentDeviceLoss
                    case .unavailable: break
                    case .renewed:
                        sequence += 1
                        guest.send(HostdEvent(event: .vmIO, vm: options.vm))
                    }
                }
                nextHeartbeat = max(nextHeartbeat.advanced(by: options.heartbeatInterval), now)
            }
            LoopSleep.sleep(clock.now.duration(to: min(nextRenewal, nextHeartbeat)))
        }
    }

    /// What a check of the held lock found.
    private enum LockCheck {
        /// Still ours (and the write, if any, succeeded).
        case renewed
        /// Cannot tell: storage is not reachable.
        case unavailable
        /// Someone else has it, or it was released or deleted.
        case lost
    }

    private func verify() -> LockCheck {
        switch lock.observe() {
        case .held(let file, _) where file.instance == options.instance: return .renewed
        case .inaccessible: return .unavailable
        case .missing, .released, .held, .malformed:
            logger.warning("disk lock lost: powering off")
            return .lost
        }
    }

    private func renew(counter: inout Int) -> LockCheck {
        let check = verify()
        guard check == .renewed else { return check }
        do {
            try lock.replace(mine(counter: counter + 1))
            counter += 1
            return .renewed
        } catch {
            return .unavailable
        }
    }

    private func appendJournal(sequence: Int) -> LockCheck {
        let check = verify()
        guard check == .renewed else { return check }
        let record = JournalRecord(
            vm: options.vm, instance: options.instance, host: options.host, seq: sequence,
            wall: Date().timeIntervalSince1970
        )
        do {
            try FileOps.appendLine(try JSONLines.encode(record), to: lock.journalPath, sync: true)
            return .renewed
        } catch {
            return .unavailable
        }
    }

    // MARK: - Shutdown

    /// Clean guest shutdown: release the lock and exit 0. While the home datastore is
    /// unreachable the guest cannot flush its disk and the shutdown does not finish — as a real
    /// guest with stalled I/O hangs — until storage returns or the agent forces a power-off
    /// after `isolationShutdownTimeout` (oracle §5.1; the simulator does the same). The row-12
    /// run on netns showed the earlier "give up after half the timeout" restarting the VM at
    /// T228 where the documented forced power-off puts it at ≈T377.
    private func shutDown() -> VMWorkloadExitCode {
        logger.info("guest shutdown requested")
        while true {
            switch lock.observe() {
            case .held(let file, _) where file.instance == options.instance:
                if lock.release(instance: options.instance) { return .cleanShutdown }
            case .inaccessible:
                break
            case .missing, .released, .held, .malformed:
                return .cleanShutdown
            }
            LoopSleep.sleep(.milliseconds(20))
        }
    }

    private func writeExitRecord(_ code: VMWorkloadExitCode) {
        guard let exitFile = options.exitFile else { return }
        let record = VMExitRecord(instance: options.instance, code: code.rawValue, wall: Date().timeIntervalSince1970)
        guard let line = try? JSONLines.encode(record) else { return }
        try? FileOps.writeAtomically(Array(line.utf8), to: exitFile)
    }
}
