import HACore

/// The PIDs of a running netns cluster, for process faults.
public struct NodeRuntime: Hashable, Sendable {
    /// The processes of one host.
    public struct HostProcesses: Hashable, Sendable {
        public var nodePID: Int32?
        public var agentPID: Int32?
        public var hostdPID: Int32?
        public init(nodePID: Int32? = nil, agentPID: Int32? = nil, hostdPID: Int32? = nil) {
            self.nodePID = nodePID
            self.agentPID = agentPID
            self.hostdPID = hostdPID
        }
    }

    /// A running VM instance.
    public struct VMProcess: Hashable, Sendable {
        public var host: HostID
        public var pid: Int32
        public init(host: HostID, pid: Int32) {
            self.host = host
            self.pid = pid
        }
    }

    public var hosts: [HostID: HostProcesses]
    public var vmPIDs: [VMID: VMProcess]
    public var controllerPID: Int32?

    public init(hosts: [HostID: HostProcesses] = [:], vmPIDs: [VMID: VMProcess] = [:], controllerPID: Int32? = nil) {
        self.hosts = hosts
        self.vmPIDs = vmPIDs
        self.controllerPID = controllerPID
    }
}
