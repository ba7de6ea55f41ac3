import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// How a run gets its /24 of 198.18.0.0/15 when other runs start at the same moment.
///
/// Reading what is in use (``NetnsLayout/subnetIndicesInUse(ipBriefAddr:)``, and for the
/// compose backend the subnets of every Docker network) and creating the bridge are seconds
/// apart, so two runs of one `chaos run --parallel 3` (or two `chaos` processes) could both find
/// the same /24 free; Docker then refuses the second network ("Pool overlaps with other one on
/// this address space") and the netns backend would put two bridges on one subnet.
///
/// The claim closes that window:
/// 1. Take the machine-wide claim lock: a Unix socket bound to the abstract name
///    ``lockName``. The kernel holds it, it vanishes when the socket closes or its process dies
///    (no file to leave behind, nothing stale after a crash), and a second bind fails with
///    `EADDRINUSE`, also between tasks of one process. Waiters poll every 5 ms, at most
///    ``lockTimeout``.
/// 2. In use = what the caller reports (interfaces, Docker networks) ∪ the ``JournalHeader/subnetIndex``
///    of every journal in the journal folder whose owner is alive.
/// 3. Choose with ``NetnsLayout/chooseSubnetIndex(preferred:inUse:)`` and create the run's journal
///    with the index in its header, still under the lock.
///
/// A claim lasts as long as the journal: teardown deletes the journal, and a run whose owner died
/// stops counting (the reaper removes what it left, and whatever is still up shows in step 2's
/// interfaces or networks anyway).
public enum SubnetClaim {
    /// The abstract socket name (in the root network namespace, where `chaos` runs).
    public static let lockName = "hachaos-subnet-claim"
    /// The longest wait for another run's claim to finish.
    public static let lockTimeout: Duration = .seconds(60)

    /// Claims a subnet for `runID` and opens its journal.
    ///
    /// - Parameters:
    ///   - inUse: the indices the machine shows in use; called with the lock held.
    /// - Throws: ``NetnsError`` `.timeout` (lock), `.noSubnet`, `.journal`, or what `inUse` throws.
    public static func claim(
        runID: RunID, journalDirectory: String, ownerPID: Int32 = getpid(), system: SystemPaths = .live,
        inUse: () async throws(NetnsError) -> Set<Int>
    ) async throws(NetnsError) -> (subnetIndex: Int, journal: RunJournal) {
        let lock = try await acquire()
        defer { _ = close(lock) }
        var used = try await inUse()
        used.formUnion(claimed(journalDirectory: journalDirectory, system: system))
        guard let index = NetnsLayout.chooseSubnetIndex(preferred: NetnsLayout.preferredSubnetIndex(for: runID), inUse: used) else {
            throw NetnsError(code: .noSubnet, message: "all 512 /24 subnets of 198.18.0.0/15 are in use")
        }
        do {
            return (index, try RunJournal(runID: runID, directory: journalDirectory, ownerPID: ownerPID, subnetIndex: index))
        } catch {
            throw NetnsError(code: .journal, message: error.description)
        }
    }

    /// The subnets that live runs' journals in `journalDirectory` claim.
    public static func claimed(journalDirectory: String, system: SystemPaths = .live) -> Set<Int> {
        var claimed: Set<Int> = []
        for path in RunJournal.journalPaths(in: journalDirectory) {
            guard let journal = try? RunJournal.read(path: path), let index = journal.header.subnetIndex else { continue }
            if system.ownerIsAlive(journal.header) { claimed.insert(index) }
        }
        return claimed
    }

    /// Binds the abstract socket; returns its descriptor (closing it releases the lock).
    static func acquire() async throws(NetnsError) -> Int32 {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: lockTimeout)
        while true {
            if let fd = try tryAcquire() { return fd }
            guard clock.now < deadline else {
                throw NetnsError(code: .timeout, message: "subnet claim: another run held @\(lockName) for \(lockTimeout)")
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// One attempt: the descriptor, or `nil` while another claim holds the lock.
    static func tryAcquire() throws(NetnsError) -> Int32? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw NetnsError(code: .file, message: "subnet claim: socket: \(String(cString: strerror(errno)))") }
        if bindAbstract(fd, name: lockName) == 0 { return fd }
        let failure = errno
        _ = close(fd)
        guard failure == EADDRINUSE else {
            throw NetnsError(code: .file, message: "subnet claim: bind @\(lockName): \(String(cString: strerror(failure)))")
        }
        return nil
    }

    private static func bindAbstract(_ fd: Int32, name: String) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(name.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        precondition(bytes.count + 1 <= capacity, "abstract socket name too long")
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw[0] = 0  // abstract namespace
            for (i, byte) in bytes.enumerated() { raw[i + 1] = byte }
        }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + 1 + bytes.count)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
    }
}
