import HACore

/// Every name, address and path of one netns run, derived from its ``RunID`` (pure).
///
/// - Management network: subnet `198.<18+k/256>.<k%256>.0/24` inside the benchmarking range
///   198.18.0.0/15, where `k` (0…511) is ``preferredSubnetIndex(for:)`` — the run id modulo
///   512. **Collision rule:** before bring-up the backend reads `ip -br addr`; when any
///   interface already has an IPv4 address inside that /24 (another run's `hac…br`, or
///   anything else), it takes the next free `k` (k+1, k+2, … wrapping at 512), see
///   ``chooseSubnetIndex(preferred:inUse:)``. Runs claim it under a machine-wide lock together
///   with the claims of live runs' journals (``SubnetClaim``). There is no default route and no NAT.
/// - Bridge `hac<run>br` with `.254` (the harness side), isolation gateway namespace
///   `hac-<run>-gw` at `.1`, controller namespace `hac-<run>-vc` at `.2`, host *i* (1-based,
///   at most 200) in `hac-<run>-h<i>` at `.(10+i)`; veth `hac<run>h<i>` on the bridge,
///   `eth0` inside.
/// - Persistent mount namespace of each host: `/run/hachaos/<run>/mnt/<host>`, on a private
///   tmpfs mounted at `/run/hachaos/<run>/mnt`. Inside it, datastores are bind-mounted from
///   `<runDir>/datastores/<ds>` to `/vmfs/volumes/<ds>` on a read-only tmpfs.
/// - Cgroups (v1): `/sys/fs/cgroup/{freezer,pids,memory}/hachaos/<run>/<host>` and
///   `…/<run>/controller`.
/// - Node folders: `<runDir>/nodes/<host>` (docs/NODES.md §2).
public struct NetnsLayout: Hashable, Sendable {
    /// The most hosts one run can have (addresses `.11` … `.210`).
    public static let maxHosts = 200
    /// Number of /24 subnets in 198.18.0.0/15.
    public static let subnetCount = 512
    /// Prefix length of the management subnet.
    public static let prefixLength = 24
    /// Where datastores appear inside a node (docs/NODES.md §3).
    public static let datastoreRoot = "/vmfs/volumes"
    /// The cgroup name of the controller process.
    public static let controllerCgroup = "controller"
    /// The interface name of every namespace's veth end.
    public static let innerInterface = "eth0"

    /// A namespace on the management network (gateway, controller or host).
    public struct Endpoint: Hashable, Sendable {
        /// `hac-<run>-gw`, `hac-<run>-vc`, `hac-<run>-h<i>`.
        public var netns: String
        /// The bridge end of the veth pair: `hac<run>gw`, `hac<run>vc`, `hac<run>h<i>`.
        public var veth: String
        /// IPv4 address without prefix length.
        public var address: String

        public init(netns: String, veth: String, address: String) {
            self.netns = netns
            self.veth = veth
            self.address = address
        }

        /// The MAC address of the namespace's `eth0`: ``NetnsLayout/mac(of:)`` of its address.
        public var mac: String { NetnsLayout.mac(of: address) }
    }

    /// One ESX-like host of the run.
    public struct Host: Hashable, Sendable {
        public var id: HostID
        /// 1-based position in the scenario's host list.
        public var index: Int
        public var endpoint: Endpoint
        /// The bind mount of the host's persistent mount namespace.
        public var mountNamespaceFile: String
        /// `<runDir>/nodes/<host>`.
        public var nodeDirectory: String
        /// The datastores this host mounts, in order.
        public var datastores: [DatastoreID]

        public var netns: String { endpoint.netns }
        public var address: String { endpoint.address }
    }

    /// Resource limits applied to every host cgroup (house rule 9).
    public struct Limits: Hashable, Sendable {
        /// `pids.max`.
        public var pids: Int
        /// `memory.limit_in_bytes`.
        public var memoryBytes: Int
        public init(pids: Int = 1024, memoryBytes: Int = 1 << 30) {
            self.pids = pids
            self.memoryBytes = memoryBytes
        }
    }

    public var runID: RunID
    /// `k` in 0..<512, see the collision rule above.
    public var subnetIndex: Int
    /// The run folder (datastores, node folders); kept after the run as evidence.
    public var runDirectory: String
    public var hosts: [Host]
    public var datastores: [DatastoreID]
    /// IP-storage datastores (nfs, iscsi): unmounted too by `isolateHost(_, storageToo: true)`.
    public var ipStorage: Set<DatastoreID>
    public var limits: Limits
    /// `/sys/fs/cgroup`, `/run/hachaos` (tests may move them).
    public var system: SystemPaths

    /// - Parameters:
    ///   - hosts: each host with the datastores it mounts.
    ///   - subnetIndex: `nil` → ``preferredSubnetIndex(for:)``.
    /// - Throws: ``NetnsLayoutError`` for unsafe names, too many hosts, unknown datastores.
    public init(
        runID: RunID, hosts: [(HostID, [DatastoreID])], datastores: [DatastoreID], ipStorage: Set<DatastoreID> = [],
        runDirectory: String, subnetIndex: Int? = nil, limits: Limits = Limits(), system: SystemPaths = .live
    ) throws(NetnsLayoutError) {
        guard !hosts.isEmpty, hosts.count <= Self.maxHosts else {
            throw NetnsLayoutError(message: "a netns run has 1…\(Self.maxHosts) hosts, not \(hosts.count)")
        }
        let index = subnetIndex ?? Self.preferredSubnetIndex(for: runID)
        guard (0..<Self.subnetCount).contains(index) else { throw NetnsLayoutError(message: "subnet index \(index) is outside 0..<512") }
        guard runDirectory.hasPrefix("/"), !runDirectory.contains("\0") else {
            throw NetnsLayoutError(message: "run directory must be an absolute path: \(runDirectory)")
        }
        for ds in datastores where !Self.isSafeName(ds.rawValue) {
            throw NetnsLayoutError(message: "datastore id \(ds) is not a safe file name")
        }
        guard Set(datastores).count == datastores.count else { throw NetnsLayoutError(message: "duplicate datastore ids") }
        guard Set(hosts.map(\.0)).count == hosts.count else { throw NetnsLayoutError(message: "duplicate host ids") }
        for ds in ipStorage where !datastores.contains(ds) {
            throw NetnsLayoutError(message: "IP-storage datastore \(ds) is not a datastore of the run")
        }
        self.runID = runID
        self.subnetIndex = index
        self.runDirectory = runDirectory.count > 1 && runDirectory.hasSuffix("/") ? String(runDirectory.dropLast()) : runDirectory
        self.datastores = datastores
        self.ipStorage = ipStorage
        self.limits = limits
        self.system = system
        var built: [Host] = []
        for (offset, (id, mounted)) in hosts.enumerated() {
            guard Self.isSafeName(id.rawValue), id.rawValue != Self.controllerCgroup else {
                throw NetnsLayoutError(message: "host id \(id) is not a safe file name (or is reserved)")
            }
            for ds in mounted where !datastores.contains(ds) {
                throw NetnsLayoutError(message: "host \(id) mounts unknown datastore \(ds)")
            }
            let i = offset + 1
            built.append(Host(
                id: id, index: i,
                endpoint: Endpoint(netns: "\(runID.prefix)-h\(i)", veth: "\(runID.interfacePrefix)h\(i)", address: Self.address(subnetIndex: index, host: 10 + i)),
                mountNamespaceFile: "\(system.runtimeRoot)/\(runID.rawValue)/mnt/\(id.rawValue)",
                nodeDirectory: "\(self.runDirectory)/nodes/\(id.rawValue)",
                datastores: mounted
            ))
        }
        self.hosts = built
    }

    /// The layout of a scenario's cluster (hosts with their datastores; nfs/iscsi are IP storage).
    public init(runID: RunID, scenario: Scenario, runDirectory: String, subnetIndex: Int? = nil, limits: Limits = Limits(), system: SystemPaths = .live) throws(NetnsLayoutError) {
        try self.init(
            runID: runID, hosts: scenario.cluster.hosts.map { ($0.id, $0.datastores) }, datastores: scenario.datastores.map(\.id),
            ipStorage: Set(scenario.datastores.filter(\.isIPStorage).map(\.id)), runDirectory: runDirectory,
            subnetIndex: subnetIndex, limits: limits, system: system
        )
    }

    // MARK: - Network

    /// `198.x.y.0/24`.
    public var subnet: String { "\(Self.address(subnetIndex: subnetIndex, host: 0))/\(Self.prefixLength)" }
    /// `hac<run>br`.
    public var bridge: String { "\(runID.interfacePrefix)br" }
    /// `.254`: the harness's own address on the management network.
    public var bridgeAddress: String { Self.address(subnetIndex: subnetIndex, host: 254) }
    /// The isolation address responder (the management gateway), `.1`.
    public var gateway: Endpoint { Endpoint(netns: "\(runID.prefix)-gw", veth: "\(runID.interfacePrefix)gw", address: Self.address(subnetIndex: subnetIndex, host: 1)) }
    /// The controller (vCenter role), `.2`.
    public var controller: Endpoint { Endpoint(netns: "\(runID.prefix)-vc", veth: "\(runID.interfacePrefix)vc", address: Self.address(subnetIndex: subnetIndex, host: 2)) }
    /// Gateway, controller, then the hosts.
    public var endpoints: [Endpoint] { [gateway, controller] + hosts.map(\.endpoint) }
    /// The bridge's MAC address (set explicitly: a bridge otherwise takes its lowest port's).
    public var bridgeMAC: String { Self.mac(of: bridgeAddress) }

    /// The fixed MAC address of an address on the management network: `02:ac:` and the four
    /// bytes of the IPv4 address (locally administered, unicast; unique wherever the address is).
    ///
    /// Every namespace of a run knows every other one's MAC as a permanent neighbour entry
    /// (``NetnsPlanner/bringUp(_:)``), so no ARP is needed on the management network. The kernel's
    /// ARP table is one for the whole machine (`net.ipv4.neigh.default.gc_thresh3`, 1,024 entries
    /// by default, counted over all namespaces); an election among 64 hosts needs 64 × 63 entries,
    /// and past the limit the kernel drops datagrams ("neighbor table overflow"), which split a
    /// 64-host cluster into up to 19 masters. Permanent entries are exempt from that count.
    public static func mac(of address: String) -> String {
        let octets = address.split(separator: ".").compactMap { UInt8($0) }
        // Layouts only make dotted IPv4 addresses; anything else would give two nodes one MAC.
        precondition(octets.count == 4, "not an IPv4 address: \(address)")
        let bytes: [UInt8] = [0x02, 0xAC] + octets
        return bytes.map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined(separator: ":")
    }

    /// The host with id `id`.
    public func host(_ id: HostID) -> Host? { hosts.first { $0.id == id } }

    // MARK: - Paths

    /// `/run/hachaos/<run>`.
    public var runtimeDirectory: String { "\(system.runtimeRoot)/\(runID.rawValue)" }
    /// `/run/hachaos/<run>/mnt`: the private tmpfs holding the mount namespace files.
    public var mountNamespaceDirectory: String { "\(runtimeDirectory)/mnt" }
    /// `<runDir>/datastores/<ds>`: the datastore's contents on the machine.
    public func datastoreSource(_ ds: DatastoreID) -> String { "\(runDirectory)/datastores/\(ds.rawValue)" }
    /// `/vmfs/volumes/<ds>` inside a node.
    public func datastoreMountPoint(_ ds: DatastoreID) -> String { "\(Self.datastoreRoot)/\(ds.rawValue)" }
    /// `<cgroupRoot>/<controller>/hachaos/<run>`.
    public func runCgroup(_ controller: String) -> String { "\(system.cgroupBase(controller))/\(runID.rawValue)" }
    /// `<cgroupRoot>/<controller>/hachaos/<run>/<node>` (`node`: a host id or ``controllerCgroup``).
    public func cgroup(_ controller: String, node: String) -> String { "\(runCgroup(controller))/\(node)" }
    /// The freezer cgroup of `host`.
    public func freezerCgroup(_ host: HostID) -> String { cgroup("freezer", node: host.rawValue) }

    // MARK: - Entering nodes

    /// The argv prefix that runs a program in `host`'s network and mount namespaces
    /// (`nsenter --net=/run/netns/… --mount=<file> --`). Joining the host's cgroups is the
    /// launcher's job (write the PID to each `cgroup.procs` before it forks).
    public func nodeCommandPrefix(_ host: Host) -> [String] {
        ["nsenter", "--net=/run/netns/\(host.netns)", "--mount=\(host.mountNamespaceFile)", "--"]
    }

    /// The argv prefix that runs a program in the controller's network namespace.
    public var controllerCommandPrefix: [String] { ["nsenter", "--net=/run/netns/\(controller.netns)", "--"] }

    // MARK: - Subnet choice

    /// `k` = the run id modulo 512.
    public static func preferredSubnetIndex(for runID: RunID) -> Int { runID.numericValue % subnetCount }

    /// The dotted address of `host` (last octet) in subnet `k`.
    public static func address(subnetIndex k: Int, host: Int) -> String { "198.\(18 + k / 256).\(k % 256).\(host)" }

    /// The subnet indices that `ip -br addr` output shows in use (any IPv4 address inside
    /// 198.18.0.0/15 marks every /24 its prefix covers).
    public static func subnetIndicesInUse(ipBriefAddr output: String) -> Set<Int> {
        var used: Set<Int> = []
        for token in output.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }) {
            let parts = token.split(separator: "/")
            guard parts.count == 2, let length = Int(parts[1]), (0...32).contains(length) else { continue }
            let octets = parts[0].split(separator: ".").compactMap { UInt32($0) }
            guard octets.count == 4, octets.allSatisfy({ $0 < 256 }) else { continue }
            let value = octets[0] << 24 | octets[1] << 16 | octets[2] << 8 | octets[3]
            let mask: UInt32 = length == 0 ? 0 : ~UInt32(0) << (32 - UInt32(length))
            let low = value & mask
            let high = low | ~mask
            let rangeLow: UInt32 = 198 << 24 | 18 << 16
            let rangeHigh: UInt32 = rangeLow | 0x1_FFFF
            guard high >= rangeLow, low <= rangeHigh else { continue }
            let first = Int((max(low, rangeLow) - rangeLow) >> 8)
            let last = Int((min(high, rangeHigh) - rangeLow) >> 8)
            for k in first...last { used.insert(k) }
        }
        return used
    }

    /// The first free index starting at `preferred` (wrapping), or `nil` when all 512 are used.
    public static func chooseSubnetIndex(preferred: Int, inUse: Set<Int>) -> Int? {
        (0..<subnetCount).lazy.map { (preferred + $0) % subnetCount }.first { !inUse.contains($0) }
    }

    // MARK: - Recognising our names (the reaper's sweep)

    /// The run id of a namespace name `hac-<run>-gw|vc|h<i>`.
    public static func runID(ofNamespace name: some StringProtocol) -> RunID? {
        guard name.hasPrefix("hac-"), let id = RunID.embedded(in: name) else { return nil }
        let suffix = name.dropFirst(10)
        return suffix.hasPrefix("-") && isNodeSuffix(suffix.dropFirst()) ? id : nil
    }

    /// The run id of an interface name `hac<run>br|gw|vc|h<i>` (an `@ifN` suffix is ignored).
    public static func runID(ofInterface name: some StringProtocol) -> RunID? {
        let bare = String(name).split(separator: "@", maxSplits: 1).first ?? ""
        guard bare.hasPrefix("hac"), !bare.hasPrefix("hac-"), let id = RunID.embedded(in: bare) else { return nil }
        let suffix = bare.dropFirst(9)
        return suffix == "br" || isNodeSuffix(suffix) ? id : nil
    }

    private static func isNodeSuffix(_ suffix: some StringProtocol) -> Bool {
        if suffix == "gw" || suffix == "vc" { return true }
        guard suffix.hasPrefix("h"), let i = Int(suffix.dropFirst()) else { return false }
        return (1...maxHosts).contains(i) && String(i) == String(suffix.dropFirst())
    }

    /// Letters, digits, `.`, `_`, `-`; 1…64 characters; not `.`/`..`.
    static func isSafeName(_ text: String) -> Bool {
        guard (1...64).contains(text.utf8.count), text != ".", text != "..", !text.hasPrefix("-") else { return false }
        return text.utf8.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x2E || byte == 0x5F || byte == 0x2D
        }
    }
}

/// A layout that cannot be built (unsafe names, too many hosts...).
public struct NetnsLayoutError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { "netns layout: \(message)" }
}
