import HACore

/// Turns a ``NetnsLayout`` into the steps that build and remove it, and a ``Fault`` into the
/// commands that inject and heal it (pure: no I/O; golden-tested).
///
/// Everything lives in namespaces the run owns: iptables rules only in each host namespace's
/// own `HAC-IN`/`HAC-OUT` chains (the machine's chains are never touched), mounts only in each
/// host's private mount namespace, processes in the run's cgroups.
public struct NetnsPlanner: Hashable, Sendable {
    /// `iptables -w <seconds>`: the longest wait for the xtables lock.
    public var iptablesWaitSeconds: Int
    /// Size of the tmpfs holding the mount namespace files and of each node's `/vmfs/volumes`.
    public var smallTmpfsSize: String
    /// Longest wait for a cgroup to freeze or empty.
    public var cgroupTimeout: Duration

    public init(iptablesWaitSeconds: Int = 5, smallTmpfsSize: String = "1m", cgroupTimeout: Duration = .seconds(10)) {
        self.iptablesWaitSeconds = iptablesWaitSeconds
        self.smallTmpfsSize = smallTmpfsSize
        self.cgroupTimeout = cgroupTimeout
    }

    /// The chain every inbound fault rule goes in (jumped to from `INPUT`).
    public static let inboundChain = "HAC-IN"
    /// The chain every outbound fault rule goes in (jumped to from `OUTPUT`).
    public static let outboundChain = "HAC-OUT"
    /// Where `ip netns` keeps its namespace files (a bind mount of itself once used).
    public static let netnsRunDirectory = "/run/netns"
    /// The cgroup v1 controllers of each node.
    public static let cgroupControllers = ["freezer", "pids", "memory"]

    // MARK: - Bring-up

    /// The steps that build the run's network, mount namespaces and cgroups, in order.
    ///
    /// Order: runtime folders → private tmpfs for mount-namespace files → one persistent mount
    /// namespace per host (datastores bind-mounted on a read-only `/vmfs/volumes`) → cgroups →
    /// bridge → network namespaces → veth pairs with addresses → `HAC-IN`/`HAC-OUT` chains.
    /// Steps of one group form a wave whose resources are journaled together before any is made.
    /// Mount namespaces come before network namespaces so that they hold no copy of them.
    public func bringUp(_ layout: NetnsLayout) -> [NetnsStep] {
        var steps: [NetnsStep] = []
        let runtimeRoot = layout.system.runtimeRoot
        let mnt = layout.mountNamespaceDirectory

        // Folders.
        steps.append(NetnsStep(
            journal: .plan(JournalResource(kind: .dir, name: runtimeRoot, undo: [["rmdir", runtimeRoot]], shared: true)),
            actions: [.run(["mkdir", "-p", "-m", "0755", runtimeRoot])]
        ))
        steps.append(NetnsStep(
            journal: .plan(JournalResource(kind: .dir, name: layout.runtimeDirectory, undo: [["rmdir", mnt], ["rmdir", layout.runtimeDirectory]])),
            actions: [.run(["mkdir", "-p", "-m", "0700", mnt])]
        ))
        steps.append(NetnsStep(
            journal: .plan(JournalResource(kind: .dir, name: NetnsLayout.datastoreRoot, undo: [["rmdir", NetnsLayout.datastoreRoot], ["rmdir", "/vmfs"]], shared: true)),
            actions: [.run(["mkdir", "-p", NetnsLayout.datastoreRoot])]
        ))
        var runFolders = layout.datastores.map { layout.datastoreSource($0) }
        for host in layout.hosts {
            runFolders += ["config", "control", "run", "logs"].map { "\(host.nodeDirectory)/\($0)" }
        }
        // The run folder is evidence: journaled, never deleted by the harness.
        steps.append(NetnsStep(
            journal: .plan(JournalResource(kind: .dir, name: layout.runDirectory, undo: [])),
            actions: [.run(["mkdir", "-p"] + runFolders)]
        ))

        // Mount namespaces.
        steps.append(NetnsStep(
            journal: .plan(JournalResource(kind: .mount, name: mnt, undo: [["umount", "-l", mnt]])),
            actions: [
                .run(["mount", "-t", "tmpfs", "-o", "size=\(smallTmpfsSize),mode=0700", "\(layout.runID.prefix)-mnt", mnt]),
                .run(["mount", "--make-private", mnt]),
            ]
        ))
        for host in layout.hosts {
            let file = host.mountNamespaceFile
            let inNode = ["nsenter", "--mount=\(file)"]
            var actions: [NetnsAction] = [
                .writeFile(path: file, contents: ""),
                // The new namespace persists on `file`; its first mount is made in it.
                .run(["unshare", "--mount=\(file)", "--propagation", "private",
                      "mount", "-t", "tmpfs", "-o", "size=\(smallTmpfsSize),mode=0755,nosuid,nodev", "\(layout.runID.prefix)-vmfs", NetnsLayout.datastoreRoot]),
            ]
            if !host.datastores.isEmpty {
                actions.append(.run(inNode + ["mkdir"] + host.datastores.map { layout.datastoreMountPoint($0) }))
            }
            for ds in host.datastores {
                actions.append(.run(inNode + ["mount", "--bind", layout.datastoreSource(ds), layout.datastoreMountPoint(ds)]))
            }
            actions += [
                // Nothing under /vmfs/volumes is writable except through a datastore bind mount.
                .run(inNode + ["mount", "-o", "remount,ro", NetnsLayout.datastoreRoot]),
                // The node keeps no handle on the other nodes' mount namespaces.
                .run(inNode + ["umount", "-l", mnt]),
            ]
            steps.append(NetnsStep(journal: .plan(JournalResource(kind: .mount, name: file, undo: [["umount", "-l", file]])), actions: actions, group: "mount-namespaces"))
        }

        // Cgroups.
        let shared = Self.cgroupControllers.map { layout.system.cgroupBase($0) }
        steps.append(NetnsStep(
            journal: .plan(JournalResource(kind: .cgroup, name: "hachaos", undo: shared.map { ["rmdir", $0] }, shared: true)),
            actions: [.run(["mkdir", "-p"] + shared)]
        ))
        let runCgroups = Self.cgroupControllers.map { layout.runCgroup($0) }
        steps.append(NetnsStep(
            journal: .plan(JournalResource(kind: .cgroup, name: "hachaos/\(layout.runID.rawValue)", undo: runCgroups.map { ["rmdir", $0] })),
            actions: [.run(["mkdir"] + runCgroups)]
        ))
        for node in layout.hosts.map(\.id.rawValue) + [NetnsLayout.controllerCgroup] {
            let dirs = Self.cgroupControllers.map { layout.cgroup($0, node: node) }
            steps.append(NetnsStep(
                journal: .plan(JournalResource(kind: .cgroup, name: "hachaos/\(layout.runID.rawValue)/\(node)", undo: dirs.map { ["rmdir", $0] })),
                actions: [
                    .run(["mkdir"] + dirs),
                    .writeFile(path: "\(layout.cgroup("pids", node: node))/pids.max", contents: "\(layout.limits.pids)"),
                    .writeFile(path: "\(layout.cgroup("memory", node: node))/memory.limit_in_bytes", contents: "\(layout.limits.memoryBytes)"),
                ],
                group: "cgroups"
            ))
        }

        // Management network.
        steps.append(NetnsStep(
            journal: .plan(JournalResource(kind: .link, name: layout.bridge, undo: [["ip", "link", "del", layout.bridge]])),
            actions: [
                .run(["ip", "link", "add", "name", layout.bridge, "address", layout.bridgeMAC, "up", "type", "bridge"]),
                .run(["ip", "addr", "add", "\(layout.bridgeAddress)/\(NetnsLayout.prefixLength)", "dev", layout.bridge]),
            ]
        ))
        // `ip netns add` makes /run/netns a bind mount of itself on first use: journaled (shared),
        // and undone only when no namespace is left under it (a plain umount fails while busy).
        steps.append(NetnsStep(
            journal: .plan(JournalResource(kind: .mount, name: Self.netnsRunDirectory, undo: [["umount", Self.netnsRunDirectory], ["rmdir", Self.netnsRunDirectory]], shared: true)),
            actions: []
        ))
        for (index, endpoint) in layout.endpoints.enumerated() {
            steps.append(NetnsStep(
                journal: .plan(JournalResource(kind: .netns, name: endpoint.netns, undo: [["ip", "netns", "del", endpoint.netns]])),
                actions: [.run(["ip", "netns", "add", endpoint.netns])],
                // The first `ip netns add` alone: it may make /run/netns a bind mount of itself,
                // which two at once would do twice.
                group: index == 0 ? nil : "network-namespaces"
            ))
        }
        for endpoint in layout.endpoints {
            let eth = NetnsLayout.innerInterface
            steps.append(NetnsStep(
                journal: .plan(JournalResource(kind: .link, name: endpoint.veth, undo: [["ip", "link", "del", endpoint.veth]])),
                actions: [
                    .run(["ip", "link", "add", endpoint.veth, "up", "master", layout.bridge, "type", "veth",
                          "peer", "name", eth, "address", endpoint.mac, "netns", endpoint.netns]),
                    // In the namespace, one `ip` for all of it; only the connected /24 route:
                    // no default route, no NAT. Every other address of the run is a permanent
                    // neighbour: no ARP, and nothing counted against the machine-wide ARP table
                    // limit that a 64-host election overflows (NetnsLayout.mac(of:)).
                    .runWithInput(["ip", "-n", endpoint.netns, "-batch", "-"], input: ([
                        "link set lo up",
                        "addr add \(endpoint.address)/\(NetnsLayout.prefixLength) dev \(eth)",
                        "link set \(eth) up",
                    ] + Self.neighbourLines(of: endpoint, in: layout)).map { $0 + "\n" }.joined()),
                ],
                group: "veth"
            ))
        }
        // Both chains of a namespace and their jumps in one `iptables-restore --noflush`.
        for host in layout.hosts {
            let chains = [(Self.inboundChain, "INPUT"), (Self.outboundChain, "OUTPUT")]
            steps.append(NetnsStep(
                journal: .plan(JournalResource(kind: .chain, name: Self.chainsName(host), undo: chains.flatMap { chain, hook in
                    [iptables(host.netns, ["-D", hook, "-j", chain]), iptables(host.netns, ["-F", chain]), iptables(host.netns, ["-X", chain])]
                })),
                actions: [.restore(netns: host.netns, wait: iptablesWaitSeconds, rules: chains.map { ["-N", $0.0] } + chains.map { ["-A", $0.1, "-j", $0.0] })],
                group: "chains"
            ))
        }
        return steps
    }

    /// `neigh replace <address> lladdr <mac> dev eth0 nud permanent` for every other address of
    /// the run (bridge, gateway, controller, hosts), each with its fixed MAC (``NetnsLayout/mac(of:)``).
    static func neighbourLines(of endpoint: NetnsLayout.Endpoint, in layout: NetnsLayout) -> [String] {
        let all = [(layout.bridgeAddress, layout.bridgeMAC)] + layout.endpoints.map { ($0.address, $0.mac) }
        return all.filter { $0.0 != endpoint.address }.map { neighbourLine(address: $0.0, mac: $0.1) }
    }

    /// One permanent neighbour entry on a node's `eth0`, as an `ip -batch` line (no newline);
    /// the compose backend writes the same lines into its host containers.
    static func neighbourLine(address: String, mac: String) -> String {
        "neigh replace \(address) lladdr \(mac) dev \(NetnsLayout.innerInterface) nud permanent"
    }

    // MARK: - Tear-down

    /// The steps that remove everything ``bringUp(_:)`` built, processes first.
    ///
    /// Chains need no command: they go with their namespace. Entries marked `shared` in the
    /// journal are removed only when no other run is alive (the executor checks).
    public func tearDown(_ layout: NetnsLayout) -> [NetnsStep] {
        var steps: [NetnsStep] = []
        for node in layout.hosts.map(\.id.rawValue) + [NetnsLayout.controllerCgroup] {
            steps.append(NetnsStep(journal: .none, actions: killCgroup(layout.cgroup("freezer", node: node)), group: "kill-cgroups"))
        }
        for endpoint in layout.endpoints {
            steps.append(NetnsStep(journal: .none, actions: [.signalNetns(netns: endpoint.netns, signal: "9")], group: "kill-netns"))
        }
        for host in layout.hosts {
            steps.append(NetnsStep(journal: .remove(.mount, name: host.mountNamespaceFile), actions: [.run(["umount", "-l", host.mountNamespaceFile])], group: "mount-namespaces"))
        }
        let mnt = layout.mountNamespaceDirectory
        steps.append(NetnsStep(journal: .remove(.mount, name: mnt), actions: [.run(["umount", "-l", mnt])]))
        for host in layout.hosts {
            steps.append(NetnsStep(journal: .remove(.chain, name: Self.chainsName(host)), actions: [], group: "chains"))
        }
        for endpoint in layout.endpoints {
            steps.append(NetnsStep(journal: .remove(.link, name: endpoint.veth), actions: [.run(["ip", "link", "del", endpoint.veth])], group: "veth"))
        }
        for endpoint in layout.endpoints {
            steps.append(NetnsStep(journal: .remove(.netns, name: endpoint.netns), actions: [.run(["ip", "netns", "del", endpoint.netns])], group: "network-namespaces"))
        }
        steps.append(NetnsStep(
            journal: .remove(.mount, name: Self.netnsRunDirectory),
            actions: [.run(["umount", Self.netnsRunDirectory]), .run(["rmdir", Self.netnsRunDirectory])]
        ))
        steps.append(NetnsStep(journal: .remove(.link, name: layout.bridge), actions: [.run(["ip", "link", "del", layout.bridge])]))
        for node in (layout.hosts.map(\.id.rawValue) + [NetnsLayout.controllerCgroup]).reversed() {
            steps.append(NetnsStep(
                journal: .remove(.cgroup, name: "hachaos/\(layout.runID.rawValue)/\(node)"),
                actions: [.run(["rmdir"] + Self.cgroupControllers.map { layout.cgroup($0, node: node) })],
                group: "cgroups"
            ))
        }
        steps.append(NetnsStep(
            journal: .remove(.cgroup, name: "hachaos/\(layout.runID.rawValue)"),
            actions: [.run(["rmdir"] + Self.cgroupControllers.map { layout.runCgroup($0) })]
        ))
        steps.append(NetnsStep(
            journal: .remove(.cgroup, name: "hachaos"),
            actions: Self.cgroupControllers.map { .run(["rmdir", layout.system.cgroupBase($0)]) }
        ))
        steps.append(NetnsStep(journal: .remove(.dir, name: layout.runDirectory), actions: []))
        steps.append(NetnsStep(journal: .remove(.dir, name: NetnsLayout.datastoreRoot), actions: [.run(["rmdir", NetnsLayout.datastoreRoot]), .run(["rmdir", "/vmfs"])]))
        steps.append(NetnsStep(journal: .remove(.dir, name: layout.runtimeDirectory), actions: [.run(["rmdir", mnt]), .run(["rmdir", layout.runtimeDirectory])]))
        steps.append(NetnsStep(journal: .remove(.dir, name: layout.system.runtimeRoot), actions: [.run(["rmdir", layout.system.runtimeRoot])]))
        return steps
    }

    // MARK: - Helpers

    /// The journal name of a host namespace's `HAC-IN` and `HAC-OUT` chains.
    static func chainsName(_ host: NetnsLayout.Host) -> String {
        "\(host.netns)/\(inboundChain)+\(outboundChain)"
    }

    /// `ip netns exec <netns> iptables -w <s> <args>`.
    func iptables(_ netns: String, _ arguments: [String]) -> [String] {
        ["ip", "netns", "exec", netns, "iptables", "-w", "\(iptablesWaitSeconds)"] + arguments
    }

    /// Freeze, SIGKILL every member, thaw, wait until empty: nothing escapes by forking.
    func killCgroup(_ freezer: String) -> [NetnsAction] {
        [
            .writeFile(path: "\(freezer)/freezer.state", contents: "FROZEN"),
            .awaitFileContents(path: "\(freezer)/freezer.state", contents: "FROZEN", timeout: cgroupTimeout),
            .signalCgroup(cgroupProcs: "\(freezer)/cgroup.procs", signal: "9"),
            .writeFile(path: "\(freezer)/freezer.state", contents: "THAWED"),
            .awaitCgroupEmpty(cgroupProcs: "\(freezer)/cgroup.procs", timeout: cgroupTimeout),
        ]
    }
}
