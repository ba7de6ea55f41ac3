import HACore

/// How `vm-workload` ends; its process exit codes (documented in NODES.md terms).
public enum VMWorkloadExitCode: Int32, Sendable, CaseIterable {
    /// Clean guest shutdown after SIGTERM (tools installed): the lock was released.
    case cleanShutdown = 0
    /// An unexpected I/O or internal failure.
    case failure = 1
    /// Another live instance holds the disk lock ("file is locked"): nothing was written.
    case fileLocked = 3
    /// The lock this instance held now names another instance (or is gone): the stale copy
    /// powers itself off at once (lost-lock resolution of split-brain, oracle §7).
    case lostLock = 4
    /// The home datastore is not reachable at power-on.
    case datastoreInaccessible = 5
    /// I/O to a datastore in permanent device loss with terminate-on-PDL set: VMkernel kills the
    /// VM at its next I/O (`disk.terminateVMOnPDLDefault`, oracle §7.2).
    case permanentDeviceLoss = 6

    /// The power-on failure text hostd reports for this code.
    public var reason: String {
        switch self {
        case .cleanShutdown: "clean shutdown"
        case .failure: "vm-workload failed"
        case .fileLocked: "file is locked"
        case .lostLock: VMEndReason.lostLock.rawValue
        case .datastoreInaccessible: "datastore inaccessible"
        case .permanentDeviceLoss: VMEndReason.pdl.rawValue
        }
    }
}
