import Foundation
import HACore

/// One container of a compose run: a host (`ha-node` as PID 1 → hostd, ha-agent, VMs), the
/// isolation gateway, or the controller (vCenter role). The same value renders to the compose
/// file (``ComposeFile``) and to the Engine API's create body (``ContainerSpec``), so what the
/// harness starts and what a user starts by hand with `docker-compose up` are one thing.
public struct ComposeService: Hashable, Sendable {
    public enum Role: String, Hashable, Sendable { case host, gateway, controller }

    /// Container name (also the compose service name): `hac-<run>-h<i>`, `-gw`, `-vc`.
    public var name: String
    public var role: Role
    /// The host it plays, for ``Role/host``.
    public var host: HostID?
    public var command: [String]
    /// IPv4 address on the run's network.
    public var address: String
    /// The fixed MAC address of its interface (``NetnsLayout/mac(of:)``, as on netns).
    public var mac: String { NetnsLayout.mac(of: address) }
    /// `source:target[:ro]` bind mounts (absolute paths on both sides).
    public var binds: [String]
    /// tmpfs mounts: path → options.
    public var tmpfs: [String: String]
    public var stopSignal: String
    public var stopTimeoutSeconds: Int
    public var labels: [String: String]
}

/// Every name, address, path and container of one compose run (pure, golden-tested).
///
/// Addresses, host numbering, the run folder and the netns-style names come from a
/// ``NetnsLayout`` of the same run id, so both real backends share one scheme:
/// - network `hac-<run>-net`, `internal: true`, subnet `198.x.y.0/24` from 198.18.0.0/15
///   (the netns collision rule), bridge `hac<run>br` at `.254` (the Docker gateway, the
///   harness's side); no default route and no NAT in any container;
/// - containers `hac-<run>-gw` (`.1`, the isolation address), `hac-<run>-vc` (`.2`, the
///   controller), `hac-<run>-h<i>` (`.(10+i)`), all labelled `hachaos.run=<run>`;
/// - a host container has a read-only root file system; its node folder
///   `<run>/nodes/<host>` is bind-mounted at the same path (the harness reads it out of band,
///   docs/NODES.md §2), each of its datastores at `/vmfs/volumes/<ds>`, and the run's datastore
///   folder `<run>/datastores` at the same path so that a heal can bind a datastore back from
///   inside the container's mount namespace (the daemons use only `/vmfs/volumes`). After an
///   `umount -l`, nothing under `/vmfs/volumes` is writable (APD, read-only root);
/// - the host's network namespace gets a handle `/run/netns/hac-<run>-h<i>` (`ip netns attach`)
///   so the netns planner's iptables commands (`HAC-IN`/`HAC-OUT`) apply unchanged.
public struct ComposeLayout: Hashable, Sendable {
    /// The label every container and network of a run carries: `hachaos.run=<run id>`.
    public static let runLabel = "hachaos.run"
    /// Role and host labels.
    public static let roleLabel = "hachaos.role"
    public static let hostLabel = "hachaos.host"
    /// Where the node binaries are in the image (Scripts/node-image).
    public static let binaryDirectory = "/hachaos/bin"
    /// The image the compose backend uses unless told otherwise: `HACHAOS_NODE_IMAGE` when set
    /// (the test suite sets `hachaos/node:debug`), else `hachaos/node:latest` (Scripts/node-image).
    public static var defaultImage: String {
        ProcessInfo.processInfo.environment["HACHAOS_NODE_IMAGE"].flatMap { $0.isEmpty ? nil : $0 } ?? "hachaos/node:latest"
    }
    /// The controller's ports (as on netns).
    public static let controllerHTTPPort = 8080
    public static let controllerAgentPort = 8190

    /// The label a cluster rendered for use by hand carries instead of ``runLabel``: the
    /// ``Reaper`` removes only runs' containers, never a user's.
    public static let manualLabel = "hachaos.manual"

    public var netns: NetnsLayout
    public var image: String
    public var services: [ComposeService]
    /// Rendered for use by hand (`chaos compose render`): labelled ``manualLabel``, and the
    /// bridge keeps Docker's own name, so nothing of it looks like a run's to the reaper.
    public var manual: Bool

    public var runID: RunID { netns.runID }
    /// `hac-<run>`: the compose project name.
    public var project: String { netns.runID.prefix }
    /// `hac-<run>-net`.
    public var networkName: String { "\(netns.runID.prefix)-net" }
    /// `hac<run>br`.
    public var bridgeName: String { netns.bridge }
    public var subnet: String { netns.subnet }
    public var gatewayAddress: String { netns.bridgeAddress }
    /// `<run>/controller`.
    public var controllerDirectory: String { netns.runDirectory + "/controller" }
    /// `<run>/docker-compose.yml`: the file that describes this run (re-creatable by hand).
    public var composeFilePath: String { netns.runDirectory + "/docker-compose.yml" }
    /// Labels of every resource of the run.
    public var runLabels: [String: String] { [manual ? Self.manualLabel : Self.runLabel: runID.rawValue] }

    /// - Parameters:
    ///   - nodeCommands: each host's `ha-node` command line as seen inside its container
    ///     (``NodeCluster/nodeCommand(_:)`` with binaries in ``binaryDirectory``).
    public init(netns: NetnsLayout, image: String, nodeCommands: [HostID: [String]], manual: Bool = false) {
        self.netns = netns
        self.image = image
        self.manual = manual
        let run = netns.runID.rawValue
        let datastores = netns.runDirectory + "/datastores"
        func labels(_ role: ComposeService.Role, host: HostID? = nil) -> [String: String] {
            var labels = [manual ? Self.manualLabel : Self.runLabel: run, Self.roleLabel: role.rawValue]
            if let host { labels[Self.hostLabel] = host.rawValue }
            return labels
        }
        var services: [ComposeService] = [
            // The isolation address: a network namespace whose kernel answers ICMP echo; the
            // process only keeps it alive (SIGKILL stops it at once).
            ComposeService(
                name: netns.gateway.netns, role: .gateway, host: nil, command: ["/bin/busybox", "sleep", "2147483647"],
                address: netns.gateway.address, binds: [], tmpfs: [:], stopSignal: "SIGKILL", stopTimeoutSeconds: 1, labels: labels(.gateway)
            ),
        ]
        let controllerDirectory = netns.runDirectory + "/controller"
        var controller = [
            Self.binaryDirectory + "/ha-controller", "--listen", netns.controller.address, "--http-port", String(Self.controllerHTTPPort),
            "--agent-port", String(Self.controllerAgentPort), "--state-dir", controllerDirectory,
        ]
        var controllerBinds = ["\(controllerDirectory):\(controllerDirectory)"]
        for host in netns.hosts {
            let run = host.nodeDirectory + "/run"
            controller += ["--hostd-socket", "\(host.id)=\(run)/hostd.sock"]
            controllerBinds.append("\(run):\(run)")
        }
        services.append(ComposeService(
            name: netns.controller.netns, role: .controller, host: nil,
            command: Self.logged(controller, to: controllerDirectory + "/controller.log"), address: netns.controller.address,
            binds: controllerBinds, tmpfs: ["/tmp": "size=16m"], stopSignal: "SIGTERM", stopTimeoutSeconds: 5, labels: labels(.controller)
        ))
        for host in netns.hosts {
            var binds = ["\(host.nodeDirectory):\(host.nodeDirectory)", "\(datastores):\(datastores)"]
            for ds in host.datastores { binds.append("\(netns.datastoreSource(ds)):\(netns.datastoreMountPoint(ds))") }
            services.append(ComposeService(
                name: host.netns, role: .host, host: host.id,
                command: Self.logged(nodeCommands[host.id] ?? [], to: host.nodeDirectory + "/logs/ha-node.log"),
                address: host.address, binds: binds, tmpfs: ["/tmp": "size=16m"], stopSignal: "SIGTERM", stopTimeoutSeconds: 10,
                labels: labels(.host, host: host.id)
            ))
        }
        self.services = services
    }

    /// The container of `host`.
    public func service(of host: HostID) -> ComposeService? { services.first { $0.host == host } }
    public var controller: ComposeService { services.first { $0.role == .controller }! }
    public var gateway: ComposeService { services.first { $0.role == .gateway }! }
    public var hostServices: [ComposeService] { services.filter { $0.role == .host } }

    /// `sh -c 'exec "$@" >>"$0" 2>&1' <log> argv…`: the process replaces the shell (so it is
    /// PID 1 of its container) with its output appended to a file of the run folder.
    static func logged(_ argv: [String], to log: String) -> [String] {
        ["/bin/sh", "-c", "exec \"$@\" >>\"$0\" 2>&1", log] + argv
    }

    /// The Engine API create body of `service`.
    public func containerSpec(_ service: ComposeService, limits: NetnsLayout.Limits) -> ContainerSpec {
        var spec = ContainerSpec(image: image, cmd: service.command)
        spec.labels = service.labels
        spec.hostname = service.host?.rawValue ?? service.name
        spec.stopSignal = service.stopSignal
        spec.stopTimeout = service.stopTimeoutSeconds
        spec.binds = service.binds
        spec.tmpfs = service.tmpfs
        spec.readonlyRootfs = true
        spec.memoryBytes = Int64(limits.memoryBytes)
        spec.pidsLimit = Int64(limits.pids)
        spec.networkMode = networkName
        spec.network = ContainerSpec.NetworkAttachment(name: networkName, ipv4: service.address)
        spec.macAddress = service.mac
        spec.logDriver = "none"
        return spec
    }

    /// The Engine API create body of the run's network.
    public var networkSpec: NetworkSpec {
        NetworkSpec(
            name: networkName, internal: true, subnet: subnet, gateway: gatewayAddress, labels: runLabels,
            options: manual ? [:] : ["com.docker.network.bridge.name": bridgeName]
        )
    }
}
