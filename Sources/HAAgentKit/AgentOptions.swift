import HACore

/// Everything an agent needs to start (from the command line and the node folder, docs/NODES.md §2).
public struct AgentOptions: Sendable {
    public var host: HostID
    /// The node folder `N`.
    public var nodeDirectory: String
    /// Address to bind UDP 8182 on (the host's management address).
    public var bindAddress: String
    public var port: Int
    /// Where datastores are mounted (`/vmfs/volumes`).
    public var datastoreRoot: String
    /// The hostd socket (`N/run/hostd.sock`).
    public var hostdSocket: String
    /// The address of the management gateway: the default isolation address (`gateway`).
    public var gatewayAddress: String
    public var settings: Settings
    public var config: ClusterConfig
    public var bugs: Set<FDM.Bug>
    /// The controller's agent listener (`nil`: no controller, HA runs without vCenter).
    public var controllerAddress: String?
    public var controllerPort: Int = 8190

    public init(
        host: HostID, nodeDirectory: String, bindAddress: String, port: Int = 8182, datastoreRoot: String = "/vmfs/volumes",
        hostdSocket: String? = nil, gatewayAddress: String, settings: Settings, config: ClusterConfig, bugs: Set<FDM.Bug> = []
    ) {
        self.host = host
        self.nodeDirectory = nodeDirectory
        self.bindAddress = bindAddress
        self.port = port
        self.datastoreRoot = datastoreRoot
        self.hostdSocket = hostdSocket ?? nodeDirectory + "/run/hostd.sock"
        self.gatewayAddress = gatewayAddress
        self.settings = settings
        self.config = config
        self.bugs = bugs
    }

    /// Isolation addresses with `gateway` resolved to the management gateway.
    public func resolvedIsolationAddresses(_ addresses: [String]) -> [String] {
        let list = addresses.isEmpty ? ["gateway"] : addresses
        return list.map { $0 == "gateway" ? gatewayAddress : $0 }
    }
}
