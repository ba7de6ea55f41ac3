import HACore

/// One thing the netns backend does, as data (golden-tested): a command, a file write, a
/// bounded wait, or a marker the backend carries out itself (start a node, ask the controller).
public enum NetnsAction: Hashable, Sendable {
    /// Run argv through the ``CommandRunner``.
    case run([String])
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
