import HACore

// MARK: - ha: cluster-wide HA settings

extension ScenarioParser {
    /// The keys of the `ha` section.
    static let haKeys = [
        "isolationResponse", "isolationAddresses", "isolationPolicyDelay", "heartbeatDatastores",
        "heartbeatDatastoresPerHost", "admissionControl", "hostMonitoring", "terminateVMOnPDL", "maskCleanShutdown",
        "apdResponse", "pdlResponse",
    ]

    /// At most this many isolation addresses (`das.isolationaddress0` … `das.isolationaddress9`).
    static let maxIsolationAddresses = 10

    /// Applies the `ha` section to `config`.
    ///
    /// - Returns: The configured isolation policy delay, if the section sets one (it lives in
    ///   ``Settings``, not in ``ClusterConfig``).
    static func applyHA(
        _ node: ScenarioNode, to config: inout ClusterConfig, catalog: ScenarioCatalog
    ) throws(ScenarioError) -> Duration? {
        let fields = try node.fields(haKeys)
        if let value = fields.optional("isolationResponse") {
            // `clusterDefault` exists only as a per-VM override (oracle §5.1).
            config.isolationResponse = try value.choice(
                IsolationResponse.self, named: "cluster isolation response", allowed: [.leavePoweredOn, .powerOff, .shutdown]
            )
        }
        if let value = fields.optional("isolationAddresses") {
            let items = try value.items()
            guard items.count <= maxIsolationAddresses else {
                throw value.error(.invalidValue, "expected at most \(maxIsolationAddresses) isolation addresses, found \(items.count)")
            }
            var addresses: [String] = []
            for item in items {
                let address = try item.string()
                guard !address.isEmpty, !address.contains(where: \.isWhitespace) else {
                    throw item.error(.invalidValue, "expected an IP address or host name in \"isolationAddresses\", found \(item.found)")
                }
                addresses.append(address)
            }
            config.isolationAddresses = addresses
        }
        if let value = fields.optional("heartbeatDatastores") {
            config.heartbeatDatastorePolicy = try parseHeartbeatDatastores(value, catalog: catalog)
        }
        if let value = fields.optional("heartbeatDatastoresPerHost") { config.heartbeatDatastoresPerHost = try value.integer(in: 2...5) }
        if let value = fields.optional("admissionControl") { config.admissionControl = try parseAdmissionControl(value, catalog: catalog) }
        if let value = fields.optional("hostMonitoring") { config.hostMonitoringEnabled = try value.bool() }
        if let value = fields.optional("terminateVMOnPDL") { config.terminateVMOnPDL = try value.bool() }
        if let value = fields.optional("maskCleanShutdown") { config.maskCleanShutdownEnabled = try value.bool() }
        if let value = fields.optional("apdResponse") {
            config.apdResponse = try value.choice(ComponentProtectionResponse.self, named: "APD response")
        }
        if let value = fields.optional("pdlResponse") {
            config.pdlResponse = try value.choice(ComponentProtectionResponse.self, named: "PDL response")
        }
        guard let delay = fields.optional("isolationPolicyDelay") else { return nil }
        return .seconds(try delay.seconds(positive: false))
    }

    /// `all` | `none` | `[ds-1, ds-2]` | `{prefer: [ds-1]}` (oracle §2.4).
    private static func parseHeartbeatDatastores(
        _ node: ScenarioNode, catalog: ScenarioCatalog
    ) throws(ScenarioError) -> HeartbeatDatastorePolicy {
        switch node.shape {
        case .scalar:
            switch node.text {
            case "all": return .allFeasible
            case "none": return .userSelected([])
            default:
                throw node.error(
                    .invalidValue,
                    "expected all, none, a list of datastores or {prefer: [...]} for \"heartbeatDatastores\", found \(node.found)"
                )
            }
        case .list:
            return .userSelected(try catalog.datastoreList(node))
        case .mapping:
            let prefer = try node.fields(["prefer"], in: "\"heartbeatDatastores\"").required("prefer")
            return .allFeasibleWithUserPreference(try catalog.datastoreList(prefer))
        case .alias:
            throw node.wrongType("all, none, a list of datastores or {prefer: [...]}")
        }
    }

    /// The admission-control policies a file may name.
    private enum AdmissionPolicyName: String, CaseIterable {
        case slots, percentage, failoverHosts

        /// The keys each policy takes besides `policy`.
        var keys: [String] {
            switch self {
            case .slots: ["hostFailures", "slotCPUCapMHz", "slotMemoryCapMB"]
            case .percentage: ["cpu", "memory"]
            case .failoverHosts: ["hosts"]
            }
        }
    }

    /// `disabled` | `{policy: slots, hostFailures:, slotCPUCapMHz:, slotMemoryCapMB:}` |
    /// `{policy: percentage, cpu:, memory:}` | `{policy: failoverHosts, hosts: [...]}` (oracle §6.7).
    private static func parseAdmissionControl(
        _ node: ScenarioNode, catalog: ScenarioCatalog
    ) throws(ScenarioError) -> AdmissionControlPolicy {
        if node.shape == .scalar {
            guard node.text == "disabled" else {
                throw node.error(
                    .invalidValue,
                    "expected disabled or {policy: slots|percentage|failoverHosts, …} for \"admissionControl\", found \(node.found)"
                )
            }
            return .disabled
        }
        let policyNode = try node.anyFields().required("policy")
        let policy = try policyNode.choice(AdmissionPolicyName.self, named: "admission control policy")
        let fields = try node.fields(["policy"] + policy.keys, in: "admission control policy \(policy.rawValue)")
        switch policy {
        case .slots:
            let tolerable = catalog.hosts.count - 1
            return .slots(
                hostFailuresToTolerate: try fields.optional("hostFailures")?.integer(in: 1...tolerable) ?? 1,
                slotCPUCapMHz: try fields.optional("slotCPUCapMHz")?.integer(in: 1...1_000_000),
                slotMemoryCapMB: try fields.optional("slotMemoryCapMB")?.integer(in: 1...16_777_216)
            )
        case .percentage:
            return .percentage(
                cpuPercent: try fields.optional("cpu")?.integer(in: 0...100) ?? 25,
                memoryPercent: try fields.optional("memory")?.integer(in: 0...100) ?? 25
            )
        case .failoverHosts:
            let hostsNode = try fields.required("hosts")
            let hosts = try catalog.hostList(hostsNode)
            guard hosts.count < catalog.hosts.count else {
                throw hostsNode.error(
                    .invalidValue, "expected failover hosts to leave at least one other host, found all \(hosts.count) hosts"
                )
            }
            return .failoverHosts(hosts)
        }
    }
}
