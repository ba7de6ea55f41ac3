import Foundation

/// Maps PIDs as a container sees them (the node's `run/*.pid` and `run/vms/*.json` files are
/// written inside the container's PID namespace) to PIDs on the machine, where the harness
/// signals them. Read from `/proc`: a process of the container has the same `ns/pid` link as
/// the container's init, and its `NSpid:` status line lists its PID in each namespace, the
/// machine's first and the container's last.
public enum ContainerPIDs {
    /// `nsPID → machine PID` for every process in the PID namespace of `initPID` (a machine PID).
    public static func map(initPID: Int32, proc: String = "/proc") -> [Int32: Int32] {
        guard let namespace = pidNamespace(of: initPID, proc: proc) else { return [:] }
        var map: [Int32: Int32] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: proc)) ?? [] {
            guard let pid = Int32(name), pidNamespace(of: pid, proc: proc) == namespace,
                  let status = try? String(contentsOfFile: "\(proc)/\(name)/status", encoding: .utf8),
                  let nsPID = innermostPID(status: status)
            else { continue }
            map[nsPID] = pid
        }
        return map
    }

    /// The machine PID of `nsPID` inside the container whose init is `initPID`, if it runs.
    public static func machinePID(of nsPID: Int32, initPID: Int32, proc: String = "/proc") -> Int32? {
        map(initPID: initPID, proc: proc)[nsPID]
    }

    /// The last number of the `NSpid:` line (the PID in the innermost namespace).
    static func innermostPID(status: String) -> Int32? {
        for line in status.split(separator: "\n") where line.hasPrefix("NSpid:") {
            return line.dropFirst(6).split(whereSeparator: { $0 == " " || $0 == "\t" }).last.flatMap { Int32($0) }
        }
        return nil
    }

    /// The `pid:[inode]` link of a process.
    static func pidNamespace(of pid: Int32, proc: String) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "\(proc)/\(pid)/ns/pid")
    }
}
