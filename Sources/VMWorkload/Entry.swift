import ArgumentParser
import HACore
import HostKit
import Logging

/// `vm-workload`: one VM instance as a process (see ``VMWorkload`` for the behaviour).
///
/// Exit codes: 0 clean shutdown, 1 failure, 3 file is locked, 4 lost lock, 5 datastore
/// inaccessible, 64 bad arguments (ArgumentParser). Killed by SIGKILL for a power-off.
@main
struct VMWorkloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vm-workload",
        abstract: "A VM stand-in: holds its disk lock, journals, sends guest heartbeats.",
        discussion: "Prints LOCKED on stdout once it holds the lock. Exit codes: 0 clean shutdown, "
            + "1 failure, 3 file is locked, 4 lost lock, 5 datastore inaccessible."
    )

    @Option(help: "The VM id, e.g. vm-01.") var vm: String
    @Option(help: "This instance's unique id, e.g. vm-01#host-2-1733000000123.") var instance: String
    @Option(help: "The host running the instance.") var host: String
    @Option(help: "The folder holding the datastores (/vmfs/volumes in a node).") var datastoreRoot: String
    @Option(help: "The VM's home datastore.") var datastore: String
    @Option(name: .customLong("lock-renew-ms"), help: "Disk lock renew interval.") var lockRenewMs: Int64 = 10_000
    @Option(name: .customLong("lock-expiry-ms"), help: "Disk lock expiry (unchanged for this long: broken).") var lockExpiryMs: Int64 = 35_000
    @Option(name: .customLong("heartbeat-ms"), help: "Guest heartbeat and journal interval.") var heartbeatMs: Int64 = 1_000
    @Option(help: "hostd's guest datagram socket.") var hostdSocket: String?
    @Flag(inversion: .prefixedNo, help: "Whether VMware Tools run (clean shutdown on SIGTERM).") var tools = true
    @Option(name: .customLong("shutdown-ms"), help: "How long a clean shutdown may take.") var shutdownMs: Int64 = 300_000
    @Option(help: "Where to write the exit record before exiting.") var exitFile: String?
    @Flag(help: "Die at the next I/O to a datastore in permanent device loss (disk.terminateVMOnPDLDefault).") var terminateOnPdl = false
    @Option(name: .customLong("bug"), help: "Break a VM-layer rule on purpose (mutation testing): powerOnIgnoresLiveDiskLock, lostLockNeverPoweredOff.")
    var bug: [String] = []

    func validate() throws {
        guard lockRenewMs > 0, lockExpiryMs > 0, heartbeatMs > 0, shutdownMs >= 0 else {
            throw ValidationError("durations must be positive")
        }
        guard !instance.isEmpty else { throw ValidationError("--instance must not be empty") }
        for name in bug where FDM.Bug(rawValue: name)?.isHonouredByHost != true {
            throw ValidationError("unknown --bug \"\(name)\"; vm-workload honours: \(FDM.Bug.allCases.filter(\.isHonouredByHost).map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var options = VMWorkload.Options(
            vm: VMID(vm), instance: instance, host: HostID(host), datastoreRoot: datastoreRoot,
            datastore: DatastoreID(datastore), lockRenewInterval: .milliseconds(lockRenewMs),
            lockExpiry: .milliseconds(lockExpiryMs), heartbeatInterval: .milliseconds(heartbeatMs),
            hostdSocket: hostdSocket, hasTools: tools, shutdownTimeout: .milliseconds(shutdownMs), exitFile: exitFile
        )
        options.terminateOnPDL = terminateOnPdl
        options.bugs = Set(bug.compactMap(FDM.Bug.init(rawValue:)))
        let code = VMWorkload(options: options, logger: Logger(label: "vm-workload")).run()
        throw ExitCode(code.rawValue)
    }
}
