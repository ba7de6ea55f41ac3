import HACore

/// One thing the netns backend does, as data (golden-tested): a command, a file write, a
/// bounded wait, or a marker the backend carries out itself (start a node, ask the controller).
public enum NetnsAction: Hashable, Sendable {
    /// Run argv through the ``CommandRunner``.
    case run([String])
    /// Run argv through the ``CommandRunner`` with `input` on its standard input
    /// (`ip -n <netns> -batch -`: several `ip` commands in one process).
    case runWithInput([String], input: String)
    /// Apply iptables `rules` (each `-A|-D|-N <chain> ...` as argv words, no table) to the filter
    /// table of `netns` in one `nsenter --net=/run/netns/<netns> iptables-restore -w <wait>
    /// --noflush`: atomic, all rules or none. See ``restoreCommand`` and ``equivalentArgv``.
    case restore(netns: String, wait: Int, rules: [[String]])
    /// Write `contents` to `path` on the machine (cgroup control files, node control files).
    case writeFile(path: String, contents: String)
    /// Remove `path` on the machine (a node control file); a missing file is fine.
    case removeFile(path: String)
    /// Wait until the file at `path` reads `contents` (trimmed), e.g. `freezer.state` = `FROZEN`.
    case awaitFileContents(path: String, contents: String, timeout: Duration)
    /// `kill -<signal>` every PID that `cgroupProcs` lists when the action runs.
    case signalCgroup(cgroupProcs: String, signal: String)
    /// Wait until `cgroupProcs` lists no PID.
    case awaitCgroupEmpty(cgroupProcs: String, timeout: Duration)
    /// `kill -<signal>` every PID `ip netns pids <netns>` lists when the action runs.
    case signalNetns(netns: String, signal: String)
    /// Marker: (re)start the host's node processes (`ha-node`) — the backend does it.
    case startNode(HostID)
    /// Marker: clean host shutdown through hostd (VMs shut down, then the node stops).
    case shutdownHost(HostID)
    /// Marker: a user operation through the controller.
    case controllerRequest(ControllerRequest)
    /// Marker: start (true) or stop (false) the rogue node in the controller's namespace.
    case rogue(Bool)

    /// The argv when the action is a command.
    public var argv: [String]? {
        if case .run(let argv) = self { argv } else { nil }
    }

    /// The command and standard input of a ``restore(netns:wait:rules:)``.
    public var restoreCommand: (argv: [String], input: String)? {
        guard case .restore(let netns, let wait, let rules) = self else { return nil }
        let lines = ["*filter"] + rules.map { $0.map(Self.restoreWord).joined(separator: " ") } + ["COMMIT", ""]
        // nsenter enters the network namespace only; `ip netns exec` also unshares the mount
        // namespace and remounts /sys, which iptables does not need (5 ms instead of 11 per
        // restore here; a fault's latency is its slowest namespace's restore).
        return (["nsenter", "--net=\(NetnsPlanner.netnsRunDirectory)/\(netns)", "iptables-restore", "-w", "\(wait)", "--noflush"], lines.joined(separator: "\n"))
    }

    /// The action as single commands: a command's argv; a restore's rules one
    /// `ip netns exec <netns> iptables -w <wait> <rule>` each (what the journal's undo runs,
    /// and the heal's fallback when some of its rules are already gone).
    public var equivalentArgv: [[String]] {
        switch self {
        case .run(let argv): [argv]
        case .restore(let netns, let wait, let rules): rules.map { ["ip", "netns", "exec", netns, "iptables", "-w", "\(wait)"] + $0 }
        default: []
        }
    }

    /// A word of an iptables-restore line: quoted when it holds a blank or a quote.
    public static func restoreWord(_ word: String) -> String {
        guard word.isEmpty || word.contains(where: { $0 == " " || $0 == "\t" || $0 == "\"" || $0 == "'" }) else { return word }
        var quoted = "\""
        for character in word {
            if character == "\"" || character == "\\" { quoted.append("\\") }
            quoted.append(character)
        }
        return quoted + "\""
    }

    /// Whether the backend, not the executor, carries the action out.
    public var isMarker: Bool {
        switch self {
        case .startNode, .shutdownHost, .controllerRequest, .rogue: true
        default: false
        }
    }
}

/// A user operation sent to the controller (vCenter role).
public enum ControllerRequest: Hashable, Sendable {
    /// Power the VM on on `host` (admission control decides), then protect it.
    case powerOn(VMID, host: HostID)
    /// Unprotect the VM, then power it off.
    case powerOff(VMID)
}
