import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What this machine can do, for choosing a backend and gating tests
/// (`@Test(.enabled(if: Capabilities.netns))`).
public enum Capabilities {
    /// Root, `ip netns` answers, `iptables`, `nsenter`, `unshare` and `mount` exist, and the
    /// cgroup v1 freezer, pids and memory controllers are mounted: the netns backend can run.
    public static let netns: Bool = netnsProblems.isEmpty

    /// Why ``netns`` is false (empty when it is true).
    public static let netnsProblems: [String] = {
        var problems: [String] = []
        if getuid() != 0 { problems.append("not root") }
        for tool in ["ip", "iptables", "nsenter", "unshare", "mount", "umount", "kill"] where ProcessCommandRunner.resolve(tool) == nil {
            problems.append("\(tool) not found")
        }
        for controller in NetnsPlanner.cgroupControllers where !FileManager.default.fileExists(atPath: "/sys/fs/cgroup/\(controller)/cgroup.procs") {
            problems.append("cgroup v1 \(controller) controller not mounted")
        }
        if problems.isEmpty, !runsQuietly(["ip", "netns", "list"]) { problems.append("ip netns list fails") }
        return problems
    }()

    /// `ping` is there (connectivity checks in tests).
    public static let ping: Bool = ProcessCommandRunner.resolve("ping") != nil

    /// Runs a short probe synchronously (at most 5 s, then SIGKILL by PID).
    private static func runsQuietly(_ argv: [String]) -> Bool {
        guard let executable = ProcessCommandRunner.resolve(argv[0]),
              let child = try? ChildProcess.spawn(executable: executable, argv: argv, environment: ProcessInfo.processInfo.environment)
        else { return false }
        for _ in 0..<500 where child.exitStatus == nil { usleep(10_000) }
        guard let status = child.exitStatus else {
            child.signal(SIGKILL)
            return false
        }
        return status == 0
    }
}
