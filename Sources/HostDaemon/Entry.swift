import ArgumentParser
import Foundation
import HACore
import HostKit
import Logging

/// `hostd`: the host daemon of one node (see ``Hostd``; NODES.md §1, §5).
///
/// Exit codes: 0 after SIGTERM/SIGINT (VMs powered off), 1 when the sockets cannot be bound,
/// 64 bad arguments.
@main
struct HostdCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hostd",
        abstract: "Runs VMs as vm-workload processes and serves the agent on N/run/hostd.sock."
    )

    @Option(help: "The node folder N.") var nodeDir: String
    @Option(help: "This host's id.") var host: String
    @Option(help: "The folder holding the datastores.") var datastoreRoot: String = "/vmfs/volumes"
    @Option(help: "The vm-workload executable (default: beside hostd).") var vmWorkload: String?
    @Option(help: "Settings JSON (default: N/config/settings.json).") var settings: String?
    @Option(help: "ClusterConfig JSON (default: N/config/clusterconfig.json).") var clusterConfig: String?
    @Option(name: .customLong("bug"), help: "Break a VM-layer rule on purpose in every VM it starts (mutation testing): powerOnIgnoresLiveDiskLock, lostLockNeverPoweredOff. N/control/bugs is read too.")
    var bug: [String] = []

    func validate() throws {
        for name in bug where FDM.Bug(rawValue: name)?.isHonouredByHost != true {
            throw ValidationError("unknown --bug \"\(name)\"; hostd honours: \(FDM.Bug.allCases.filter(\.isHonouredByHost).map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() async throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        let logger = Logger(label: "hostd")
        SignalFlags.ignore(SIGPIPE)
        SignalFlags.install([.terminate, .interrupt])
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let executableDirectory = URL(fileURLWithPath: executable).deletingLastPathComponent().path
        var configuration = HostdConfiguration(
            nodeDirectory: nodeDir, host: HostID(host), datastoreRoot: datastoreRoot,
            vmWorkloadPath: vmWorkload ?? executableDirectory + "/vm-workload",
            settingsPath: settings, clusterConfigPath: clusterConfig
        )
        configuration.bugs = Set(bug.compactMap(FDM.Bug.init(rawValue:)))
            .union(HostdConfiguration.bugs(inControlFileOf: configuration.paths))
        let loaded: Settings
        do {
            loaded = try configuration.loadSettings()
        } catch {
            logger.warning("settings unreadable: using vSphere 5.1 defaults", metadata: ["ha.error": "\(error)"])
            loaded = .v51
        }
        let hostd = Hostd(configuration: configuration, settings: loaded, logger: logger)
        do {
            try await hostd.run(until: { SignalFlags.stopRequested })
        } catch {
            logger.error("hostd failed", metadata: ["ha.error": "\(error)"])
            throw ExitCode(1)
        }
    }
}
