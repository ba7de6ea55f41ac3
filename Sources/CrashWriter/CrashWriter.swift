import Foundation
import HAAgentKit
import HACore
import HAWire
import HostKit

#if canImport(Glibc)
import Glibc
#endif

// MARK: - CrashWriter

/// Rewrites the datastore files of ``CrashWriterContent`` in a tight loop through the real code
/// paths, to be killed with SIGKILL at a random point (issue 7, item 3).
///
/// On start it recovers from whatever the files hold — as an agent or a VM restarted on a
/// datastore after a crash does — and exits 3 if it cannot (a file it cannot parse, a lease it
/// cannot take back). Then, round-robin: heartbeat, poweron, protectedlist (renewals, and at
/// every 8th value of its counter a release and a takeover to the next epoch, which goes through
/// the exclusive `protectedlist.claim-<epoch>`), disk lock, journal line. Every write is announced on stdout
/// with `B <kind> <value>` before and `D <kind> <value>` after it (one `write(2)` each).
struct CrashWriter {
    let root: String
    let maxRounds: Int
    let store: DatastoreStore
    let lock: DiskLock

    init(root: String, maxRounds: Int) {
        self.root = root
        self.maxRounds = maxRounds
        store = DatastoreStore(cluster: CrashWriterContent.cluster, root: root)
        lock = DiskLock(root: root, datastore: CrashWriterContent.datastore.rawValue, vm: CrashWriterContent.vm.rawValue)
    }

    typealias Content = CrashWriterContent

    /// Recovers, then writes until killed or `maxRounds` rounds are done.
    ///
    /// - Returns: 0 after `maxRounds`, 3 when recovery or a write failed (the reason is on stdout).
    func run() -> Int32 {
        let ds = Content.datastore, host = Content.host
        report("S \(getpid())")

        // MARK: Recovery: read what the last (killed) writer left.
        let hbPath = haPath(DatastoreFiles.heartbeatName(host))
        var heartbeat: UInt64 = 0
        if FileOps.exists(hbPath) {
            guard let counter = store.readHeartbeat(ds, host: host) else { return fail("heartbeat file unreadable") }
            heartbeat = counter
        }
        var powerOn: UInt64 = 0
        if FileOps.exists(haPath(DatastoreFiles.powerOnName(host))) {
            guard let file = store.readPowerOn(ds, host: host), let first = file.poweredOn.first?.rawValue,
                first.hasPrefix("seq-"), let n = UInt64(first.dropFirst(4))
            else { return fail("poweron file unreadable") }
            powerOn = n
        }
        var lockCounter: UInt64 = 0
        guard lock.ensureVMDirectory() else { return fail("cannot create the VM directory") }
        switch lock.observe() {
        case .missing: break
        case .held(let file, _) where file.instance == Content.instance: lockCounter = UInt64(file.counter)
        default: return fail("lock file unreadable or not ours")
        }
        var sequence: UInt64 = 0
        if FileOps.exists(lock.journalPath) {
            guard let last = lastJournalSequence() else { return fail("journal unreadable") }
            sequence = last
        }
        // The lease: taken back (same epoch) if ours, taken to the next epoch if released.
        guard takeProtectedList() else { return fail("cannot take the protectedlist back") }

        // MARK: Loop
        for _ in 1...maxRounds {
            heartbeat += 1
            guard write(.heartbeat, .counter(heartbeat), { store.writeHeartbeat(ds, host: host, counter: heartbeat) }) else {
                return fail("heartbeat write failed")
            }
            powerOn += 1
            guard write(.powerOn, .counter(powerOn), { store.writePowerOn(ds, host: host, Content.powerOn(powerOn)) }) else {
                return fail("poweron write failed")
            }
            guard let current = store.readProtectedList(ds) else { return fail("protectedlist unreadable") }
            if current.renewedCounter % 8 == 7 {
                // Every 8th write of the file (counted across writers): release, then take over to the next epoch.
                let released = Content.Value.protectedList(owner: nil, epoch: current.epoch, renewedCounter: current.renewedCounter + 1)
                guard write(.protectedList, released, { store.releaseProtectedList(ds, host: host) }) else {
                    return fail("protectedlist release failed")
                }
                guard takeProtectedList() else { return fail("protectedlist takeover failed") }
            } else {
                let renewed = Content.Value.protectedList(owner: host, epoch: current.epoch, renewedCounter: current.renewedCounter + 1)
                let vms = Content.protectedVMs(epoch: current.epoch)
                guard write(.protectedList, renewed, { store.renewProtectedList(ds, host: host, vms: vms) }) else {
                    return fail("protectedlist renewal failed")
                }
            }
            lockCounter += 1
            let lockFile = HostKit.DiskLockFile(instance: Content.instance, host: host.rawValue, counter: Int(lockCounter))
            guard write(.lock, .counter(lockCounter), { (try? lock.replace(lockFile)) != nil }) else { return fail("lock write failed") }
            sequence += 1
            let record = HostKit.JournalRecord(
                vm: Content.vm, instance: "\(Content.vm.rawValue)#\(getpid())", host: host, seq: Int(sequence),
                wall: Date().timeIntervalSince1970
            )
            guard write(.journal, .counter(sequence), {
                // vm-workload's append (VMWorkload.appendJournal): one JSON line, O_APPEND, fsync.
                guard let line = try? JSONLines.encode(record) else { return false }
                return (try? FileOps.appendLine(line, to: lock.journalPath, sync: true)) != nil
            }) else { return fail("journal append failed") }
        }
        report("E \(maxRounds)")
        return 0
    }

    // MARK: - Helpers

    /// Takes the lease as an agent starting as master does, announcing the value it will write.
    private func takeProtectedList() -> Bool {
        let ds = Content.datastore, host = Content.host
        let current = store.readProtectedList(ds)
        let expected: Content.Value
        switch current {
        case nil:
            expected = .protectedList(owner: host, epoch: 1, renewedCounter: 1)
        case let file? where file.owner == host:
            expected = .protectedList(owner: host, epoch: file.epoch, renewedCounter: file.renewedCounter + 1)
        case let file? where file.owner == nil:
            expected = .protectedList(owner: host, epoch: file.epoch + 1, renewedCounter: file.renewedCounter + 1)
        default:
            return false
        }
        guard case .protectedList(_, let epoch, _) = expected else { return false }
        let vms = Content.protectedVMs(epoch: epoch)
        return write(.protectedList, expected) {
            store.acquireProtectedList(ds, host: host, vms: vms, expiry: .seconds(30), now: .zero)
                && store.readProtectedList(ds).map { Content.Value.protectedList(owner: $0.owner, epoch: $0.epoch, renewedCounter: $0.renewedCounter) } == expected
        }
    }

    /// The `seq` of the journal's last complete record (0 when it has none), from its last
    /// 64 KiB: a torn last line is skipped as readers skip it.
    private func lastJournalSequence() -> UInt64? {
        guard let handle = FileHandle(forReadingAtPath: lock.journalPath) else { return nil }
        defer { try? handle.close() }
        guard let size = try? handle.seekToEnd() else { return nil }
        let start = size > 65_536 ? size - 65_536 : 0
        guard (try? handle.seek(toOffset: start)) != nil, let tail = try? handle.readToEnd() else { return start == size ? 0 : nil }
        var lines = tail.split(separator: 0x0A, omittingEmptySubsequences: true)
        if start > 0, !lines.isEmpty { lines.removeFirst() }   // may begin mid-line
        return HAWire.JournalRecord.parseJournal(Data(lines.joined(separator: [0x0A]))).records.last?.seq ?? 0
    }

    private func write(_ kind: Content.Kind, _ value: Content.Value, _ body: () -> Bool) -> Bool {
        report("B \(kind.rawValue) \(value)")
        guard body() else { return false }
        report("D \(kind.rawValue) \(value)")
        return true
    }

    private func haPath(_ name: String) -> String {
        "\(root)/\(Content.datastore.rawValue)/\(DatastoreFiles.haDirectoryName)/\(Content.cluster)/\(name)"
    }

    private func fail(_ reason: String) -> Int32 {
        report("X \(reason)")
        return 3
    }

    /// One unbuffered `write(2)` to stdout, so a line is out before the next file operation.
    private func report(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(STDOUT_FILENO, $0.baseAddress, $0.count) }
    }
}
