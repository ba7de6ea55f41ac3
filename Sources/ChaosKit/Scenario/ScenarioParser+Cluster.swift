import HACore

// MARK: - cluster: datastores, hosts, VMs

extension ScenarioParser {
    /// What the `cluster` section declares.
    struct ClusterSection {
        var name: String
        /// Datastores and hosts (and VM ids) for resolving names in the rest of the file.
        var catalog: ScenarioCatalog
        var vms: [VMConfig]
        var placement: [VMID: HostID]
    }

    /// Per-VM settings accepted in both the list form and the count form of `vms`.
    static let vmSettingKeys = [
        "priority", "isolationResponse", "cpuReservationMHz", "memoryReservationMB", "memoryOverheadMB", "tools",
        "protected", "monitoring",
    ]

    /// Parses `cluster`: `name`, `datastores`, `hosts` (count or list) and `vms` (count or list).
    static func parseCluster(_ node: ScenarioNode) throws(ScenarioError) -> ClusterSection {
        let fields = try node.fields(["name", "datastores", "hosts", "vms"])
        var catalog = ScenarioCatalog()
        catalog.datastores = try parseDatastores(fields.required("datastores"))
        catalog.hosts = try parseHosts(fields.required("hosts"), datastores: catalog.datastores)
        var section = ClusterSection(
            name: try fields.optional("name")?.identifier() ?? "cluster-1", catalog: catalog, vms: [], placement: [:]
        )
        if let vms = fields.optional("vms") {
            switch vms.shape {
            case .mapping: try parseVMCount(vms, into: &section)
            case .list: try parseVMList(vms, into: &section)
            default: throw vms.wrongType("a VM count mapping ({count: 8}) or a list of VMs")
            }
        }
        section.catalog.vms = section.vms.map(\.id)
        return section
    }

    // MARK: - Datastores

    private static func parseDatastores(_ node: ScenarioNode) throws(ScenarioError) -> [DatastoreSpec] {
        let items = try node.items()
        guard !items.isEmpty else {
            throw node.error(.invalidValue, "expected at least one datastore in \"datastores\", found an empty list")
        }
        var datastores: [DatastoreSpec] = []
        var declaredAt: [String: Int] = [:]
        for item in items {
            let fields = try item.fields(["id", "type"], in: "a datastore")
            let idNode = try fields.required("id")
            let id = try idNode.identifier()
            if let line = declaredAt[id] {
                throw idNode.error(.duplicate, "datastore \"\(id)\" is declared twice (first at line \(line))")
            }
            declaredAt[id] = idNode.location.line
            let kind = try fields.optional("type")?.choice(DatastoreSpec.Kind.self, named: "datastore type") ?? .vmfs
            datastores.append(DatastoreSpec(id: DatastoreID(id), kind: kind))
        }
        return datastores
    }

    // MARK: - Hosts

    /// `hosts: {count: N}` (host-1 … host-N, each mounting every non-local datastore) or a list of hosts.
    private static func parseHosts(_ node: ScenarioNode, datastores: [DatastoreSpec]) throws(ScenarioError) -> [HostConfig] {
        let shared = datastores.filter { $0.kind != .local }.map(\.id)
        switch node.shape {
        case .mapping:
            let countNode = try node.fields(["count"], in: "\"hosts\"").required("count")
            let count = try countNode.integer()
            guard count >= 2 else { throw countNode.error(.invalidValue, "expected at least 2 hosts in a cluster, found \(count)") }
            guard count <= maxHosts else { throw countNode.error(.invalidValue, "expected at most \(maxHosts) hosts, found \(count)") }
            return (1...count).map { HostConfig(id: HostID("host-\($0)"), datastores: shared) }
        case .list:
            let items = try node.items()
            guard items.count >= 2 else {
                throw node.error(.invalidValue, "expected at least 2 hosts in \"hosts\", found \(items.count)")
            }
            guard items.count <= maxHosts else {
                throw node.error(.invalidValue, "expected at most \(maxHosts) hosts in \"hosts\", found \(items.count)")
            }
            var catalog = ScenarioCatalog(datastores: datastores)
            var declaredAt: [String: Int] = [:]
            var localOwner: [DatastoreID: HostID] = [:]
            for item in items {
                let fields = try item.fields(["id", "datastores", "cpuMHz", "memoryMB"], in: "a host")
                let idNode = try fields.required("id")
                let id = try idNode.identifier()
                if let line = declaredAt[id] {
                    throw idNode.error(.duplicate, "host \"\(id)\" is declared twice (first at line \(line))")
                }
                declaredAt[id] = idNode.location.line
                var host = HostConfig(id: HostID(id), datastores: shared)
                if let list = fields.optional("datastores") {
                    host.datastores = try catalog.datastoreList(list, allowEmpty: true)
                    for (datastore, item) in zip(host.datastores, try list.items())
                    where datastores.first(where: { $0.id == datastore })?.kind == .local {
                        if let owner = localOwner[datastore] {
                            throw item.error(
                                .invalidValue,
                                "local datastore \"\(datastore)\" is already mounted by \(owner); a local datastore belongs to one host"
                            )
                        }
                        localOwner[datastore] = host.id
                    }
                }
                if let cpu = fields.optional("cpuMHz") { host.cpuMHz = try cpu.integer(in: 1...1_000_000) }
                if let memory = fields.optional("memoryMB") { host.memoryMB = try memory.integer(in: 1...16_777_216) }
                catalog.hosts.append(host)
            }
            return catalog.hosts
        default:
            throw node.wrongType("a host count mapping ({count: 4}) or a list of hosts")
        }
    }

    // MARK: - VMs

    /// `vms: {count: N, datastore:, perHost:, …settings}`: vm-01 … placed round-robin on the hosts in order.
    private static func parseVMCount(_ node: ScenarioNode, into section: inout ClusterSection) throws(ScenarioError) {
        let fields = try node.fields(["count", "datastore", "perHost"] + vmSettingKeys, in: "\"vms\"")
        let catalog = section.catalog
        let hosts = catalog.hosts.map(\.id)
        let countNode = try fields.required("count")
        let count = try countNode.integer(in: 0...maxVMs)
        let perHost = try fields.optional("perHost")?.bool() ?? false
        let total = perHost ? count * hosts.count : count
        guard total <= maxVMs else {
            throw countNode.error(
                .invalidValue, "expected at most \(maxVMs) VMs, found \(count) per host × \(hosts.count) hosts = \(total)"
            )
        }
        let datastoreNode = fields.optional("datastore")
        let fixedDatastore = try datastoreNode.map { node throws(ScenarioError) in try catalog.datastore(node) }
        let shared = catalog.datastores.map(\.id).filter { catalog.hosts(mounting: $0).count >= 2 }
        var template = VMConfig(id: VMID(""), homeDatastore: DatastoreID(""))
        try applyVMSettings(fields, to: &template, catalog: catalog)

        for index in 0..<total {
            let host = hosts[index % hosts.count]
            let number = String(index + 1)
            var vm = template
            vm.id = VMID("vm-" + (number.count < 2 ? "0" + number : number))
            if let fixedDatastore, let datastoreNode {
                guard catalog.mounts(host, fixedDatastore) else {
                    throw datastoreNode.error(
                        .invalidValue, "datastore \"\(fixedDatastore)\" is not mounted by \(host), where \(vm.id) starts"
                    )
                }
                vm.homeDatastore = fixedDatastore
            } else {
                let candidates = shared.filter { catalog.mounts(host, $0) }
                guard !candidates.isEmpty else {
                    throw countNode.error(
                        .invalidValue, "\(host) mounts no shared datastore to hold \(vm.id); name one with \"datastore\""
                    )
                }
                vm.homeDatastore = candidates[index % candidates.count]
            }
            section.vms.append(vm)
            section.placement[vm.id] = host
        }
    }

    /// `vms: [{id:, host:, datastore:, compatibleHosts:, …settings}]`.
    private static func parseVMList(_ node: ScenarioNode, into section: inout ClusterSection) throws(ScenarioError) {
        let items = try node.items()
        guard items.count <= maxVMs else { throw node.error(.invalidValue, "expected at most \(maxVMs) VMs, found \(items.count)") }
        let catalog = section.catalog
        var declaredAt: [String: Int] = [:]
        for item in items {
            let fields = try item.fields(["id", "host", "datastore", "compatibleHosts", "poweredOn"] + vmSettingKeys, in: "a VM")
            let idNode = try fields.required("id")
            let id = try idNode.identifier()
            if let line = declaredAt[id] {
                throw idNode.error(.duplicate, "VM \"\(id)\" is declared twice (first at line \(line))")
            }
            declaredAt[id] = idNode.location.line
            let hostNode = try fields.required("host")
            let host = try catalog.host(hostNode)
            let mounted = catalog.hosts.first { $0.id == host }?.datastores ?? []

            let home: DatastoreID
            if let datastoreNode = fields.optional("datastore") {
                home = try catalog.datastore(datastoreNode)
                guard mounted.contains(home) else {
                    let mounts = mounted.isEmpty ? "it mounts none" : "it mounts \(mounted.map(\.rawValue).joined(separator: ", "))"
                    throw datastoreNode.error(
                        .invalidValue, "datastore \"\(home)\" is not mounted by \(host), where \(id) starts (\(mounts))"
                    )
                }
            } else {
                let shared = mounted.filter { catalog.hosts(mounting: $0).count >= 2 }
                guard let first = shared.first ?? mounted.first else {
                    throw hostNode.error(.invalidValue, "\(host) mounts no datastore to hold \(id); mount one or choose another host")
                }
                home = first
            }

            var vm = VMConfig(id: VMID(id), homeDatastore: home)
            if let compatible = fields.optional("compatibleHosts"), !(try compatible.items().isEmpty) {
                vm.compatibleHosts = try catalog.hostList(compatible)
                guard vm.compatibleHosts.contains(host) else {
                    let compatible = vm.compatibleHosts.map(\.rawValue).joined(separator: ", ")
                    throw hostNode.error(.invalidValue, "\(id) starts on \(host), which is not in its compatibleHosts (\(compatible))")
                }
            }
            try applyVMSettings(fields, to: &vm, catalog: catalog)
            // `poweredOn: false`: registered on `host` but off at the start, hence not yet protected
            // (vCenter protects a VM when it powers it on, oracle §3.1).
            let poweredOn = try fields.optional("poweredOn")?.bool() ?? true
            if poweredOn {
                section.placement[vm.id] = host
            } else {
                vm.isProtected = false
            }
            section.vms.append(vm)
        }
    }

    /// Applies the ``vmSettingKeys`` present in `fields`.
    private static func applyVMSettings(
        _ fields: ScenarioNode.Fields, to vm: inout VMConfig, catalog: ScenarioCatalog
    ) throws(ScenarioError) {
        if let node = fields.optional("priority") {
            vm.restartPriority = try node.choice(RestartPriority.self, named: "restart priority")
        }
        if let node = fields.optional("isolationResponse") {
            vm.isolationResponse = try node.choice(IsolationResponse.self, named: "isolation response")
        }
        if let node = fields.optional("cpuReservationMHz") { vm.cpuReservationMHz = try node.integer(in: 0...1_000_000) }
        if let node = fields.optional("memoryReservationMB") { vm.memoryReservationMB = try node.integer(in: 0...16_777_216) }
        if let node = fields.optional("memoryOverheadMB") { vm.memoryOverheadMB = try node.integer(in: 0...1_048_576) }
        if let node = fields.optional("tools") { vm.hasTools = try node.bool() }
        if let node = fields.optional("protected") { vm.isProtected = try node.bool() }
        if let node = fields.optional("monitoring") { vm.monitoring = try parseMonitoring(node) }
    }

    /// Monitoring levels accepted as a scalar: `off` or one of the oracle §8 presets.
    private enum MonitoringLevel: String, CaseIterable {
        case off, high, medium, low
    }

    /// `monitoring: off|high|medium|low` or `{preset:, failureInterval:, minUptime:, maxFailures:,
    /// maxFailureWindow:, ioStatsInterval:, application:}` (a mapping turns monitoring on).
    private static func parseMonitoring(_ node: ScenarioNode) throws(ScenarioError) -> VMMonitoringSettings {
        switch node.shape {
        case .scalar:
            switch try node.choice(MonitoringLevel.self, named: "VM monitoring level") {
            case .off: return VMMonitoringSettings()
            case .high: return .preset(.high)
            case .medium: return .preset(.medium)
            case .low: return .preset(.low)
            }
        case .mapping:
            let fields = try node.fields(
                ["preset", "failureInterval", "minUptime", "maxFailures", "maxFailureWindow", "ioStatsInterval", "application"],
                in: "\"monitoring\""
            )
            var settings = VMMonitoringSettings(enabled: true)
            if let preset = fields.optional("preset") {
                settings = .preset(try preset.choice(VMMonitoringSettings.Preset.self, named: "VM monitoring preset"))
            }
            if let value = fields.optional("failureInterval") { settings.failureInterval = .seconds(try value.seconds()) }
            if let value = fields.optional("minUptime") { settings.minUptime = .seconds(try value.seconds(positive: false)) }
            if let value = fields.optional("maxFailures") { settings.maxFailures = try value.integer(in: 1...1_000) }
            if let value = fields.optional("maxFailureWindow") { settings.maxFailureWindow = .seconds(try value.seconds()) }
            if let value = fields.optional("ioStatsInterval") { settings.ioStatsInterval = .seconds(try value.seconds()) }
            if let value = fields.optional("application") { settings.applicationMonitoring = try value.bool() }
            return settings
        default:
            throw node.wrongType("off, high, medium, low or a monitoring mapping")
        }
    }
}
