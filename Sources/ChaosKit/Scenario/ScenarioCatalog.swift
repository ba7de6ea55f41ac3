import HACore

/// The hosts, datastores and VMs a scenario declares, used to resolve every name the rest of the
/// file mentions, so that an unknown name is reported where it is written (DESIGN §7).
struct ScenarioCatalog {
    /// Declared datastores, in file order.
    var datastores: [DatastoreSpec] = []
    /// Declared hosts with the datastores they mount, in file order.
    var hosts: [HostConfig] = []
    /// Declared VMs, in file order.
    var vms: [VMID] = []

    // MARK: - Resolving names

    /// A declared datastore named by `node`.
    func datastore(_ node: ScenarioNode) throws(ScenarioError) -> DatastoreID {
        let name = try node.identifier()
        guard datastores.contains(where: { $0.id.rawValue == name }) else {
            let known = Self.listing(datastores.map(\.id.rawValue), of: "datastores")
            throw node.error(.unknownReference, "unknown datastore \"\(name)\" (\(known))")
        }
        return DatastoreID(name)
    }

    /// A declared host named by `node`.
    func host(_ node: ScenarioNode) throws(ScenarioError) -> HostID {
        let name = try node.identifier()
        guard hosts.contains(where: { $0.id.rawValue == name }) else {
            throw node.error(.unknownReference, "unknown host \"\(name)\" (\(Self.listing(hosts.map(\.id.rawValue), of: "hosts")))")
        }
        return HostID(name)
    }

    /// A declared VM named by `node`.
    func vm(_ node: ScenarioNode) throws(ScenarioError) -> VMID {
        let name = try node.identifier()
        guard vms.contains(where: { $0.rawValue == name }) else {
            throw node.error(.unknownReference, "unknown VM \"\(name)\" (\(Self.listing(vms.map(\.rawValue), of: "VMs")))")
        }
        return VMID(name)
    }

    /// A non-empty list of distinct declared hosts.
    func hostList(_ node: ScenarioNode) throws(ScenarioError) -> [HostID] {
        let items = try node.items()
        guard !items.isEmpty else { throw node.error(.invalidValue, "expected at least one host in \(node.label), found an empty list") }
        var hosts: [HostID] = []
        for item in items {
            let host = try host(item)
            guard !hosts.contains(host) else { throw item.error(.duplicate, "host \"\(host)\" is listed twice in \(node.label)") }
            hosts.append(host)
        }
        return hosts
    }

    /// A list of distinct declared datastores (empty only when `allowEmpty`).
    func datastoreList(_ node: ScenarioNode, allowEmpty: Bool = false) throws(ScenarioError) -> [DatastoreID] {
        let items = try node.items()
        guard allowEmpty || !items.isEmpty else {
            throw node.error(.invalidValue, "expected at least one datastore in \(node.label), found an empty list")
        }
        var datastores: [DatastoreID] = []
        for item in items {
            let datastore = try datastore(item)
            guard !datastores.contains(datastore) else {
                throw item.error(.duplicate, "datastore \"\(datastore)\" is listed twice in \(node.label)")
            }
            datastores.append(datastore)
        }
        return datastores
    }

    /// Whether `host` mounts `datastore`.
    func mounts(_ host: HostID, _ datastore: DatastoreID) -> Bool {
        hosts.first { $0.id == host }?.datastores.contains(datastore) ?? false
    }

    /// The hosts that mount `datastore`, in declaration order.
    func hosts(mounting datastore: DatastoreID) -> [HostID] {
        hosts.filter { $0.datastores.contains(datastore) }.map(\.id)
    }

    // MARK: - Messages

    /// "hosts are host-1 … host-4", "datastores are ds-1, ds-3", "the cluster declares no VMs".
    ///
    /// Consecutively numbered names (`host-1`, `host-2`, …) are shown as a range; others are listed.
    static func listing(_ names: [String], of what: String) -> String {
        guard let first = names.first, let last = names.last else { return "the cluster declares no \(what)" }
        if names.count > 3, isConsecutive(names) { return "\(what) are \(first) … \(last)" }
        let shown = names.prefix(12).joined(separator: ", ")
        return "\(what) are \(shown)\(names.count > 12 ? ", … (\(names.count) in all)" : "")"
    }

    /// Whether the names share a prefix and end in consecutive numbers.
    private static func isConsecutive(_ names: [String]) -> Bool {
        let parts = names.map { name -> (prefix: Substring, number: Int?) in
            let digits = name.reversed().prefix { $0.isASCII && $0.isNumber }.count
            return (name.dropLast(digits), Int(name.suffix(digits)))
        }
        guard let first = parts.first, let start = first.number else { return false }
        return parts.enumerated().allSatisfy { $1.prefix == first.prefix && $1.number == start + $0 }
    }
}
