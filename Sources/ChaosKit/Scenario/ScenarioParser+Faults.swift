import HACore

// MARK: - faults: the fault timeline

extension ScenarioParser {
    /// Every fault kind a file may name (``Fault/kind``) with the keys it takes besides `at`,
    /// `fault`, `heal` and `for`, in the order of ``Fault``'s cases.
    static let faultKinds: [(kind: String, keys: [String])] = [
        ("network.partition", ["groups"]),
        ("network.partitionOneWay", ["from", "to"]),
        ("network.isolate", ["host"]),
        ("network.isolateWithStorage", ["host"]),
        ("network.dropIsolationAddress", ["host"]),
        ("network.loss", ["host", "probability"]),
        ("network.managementOutage", []),
        ("network.rogueHost", []),
        ("storage.unmount", ["datastore", "hosts"]),
        ("storage.pdl", ["datastore", "hosts"]),
        ("storage.readOnly", ["datastore", "hosts"]),
        ("process.killAgent", ["host", "staysDown"]),
        ("process.killHostd", ["host", "staysDown"]),
        ("process.killVM", ["vm"]),
        ("process.stopAgent", ["host"]),
        ("host.powerOff", ["host"]),
        ("host.shutdown", ["host"]),
        ("host.freeze", ["host"]),
        ("host.restart", ["host"]),
        ("control.controllerDown", []),
        ("vm.guestHang", ["vm"]),
        ("vm.userPowerOff", ["vm"]),
        ("vm.userPowerOn", ["vm", "host"]),
    ]

    /// Parses `faults`: a list of steps `{at:, fault:, <parameters>, heal: | for:}`, sorted by `at`
    /// (steps at the same time keep their file order).
    static func parseFaults(_ node: ScenarioNode, duration: Double, catalog: ScenarioCatalog) throws(ScenarioError) -> [FaultStep] {
        let items = try node.items()
        guard items.count <= maxFaultSteps else {
            throw node.error(.invalidValue, "expected at most \(maxFaultSteps) fault steps, found \(items.count)")
        }
        var steps: [FaultStep] = []
        for item in items { steps.append(try parseFaultStep(item, duration: duration, catalog: catalog)) }
        return steps.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)
    }

    private static func parseFaultStep(
        _ node: ScenarioNode, duration: Double, catalog: ScenarioCatalog
    ) throws(ScenarioError) -> FaultStep {
        let kindNode = try node.anyFields().required("fault")
        let kind = try kindNode.string()
        guard let parameters = faultKinds.first(where: { $0.kind == kind })?.keys else {
            throw kindNode.unknownName(kind, what: "fault kind", expected: faultKinds.map(\.kind))
        }
        let fields = try node.fields(["at", "fault"] + parameters + ["heal", "for"], in: "a \(kind) step")

        let atNode = try fields.required("at")
        let at = try atNode.number()
        guard at >= 0, at < duration else {
            throw atNode.error(
                .invalidValue, "expected \"at\" from 0 up to (not including) the duration \(format(duration)), found \(format(at))"
            )
        }
        let fault = try parseFault(kind, fields: fields, catalog: catalog)
        let healAt = try parseHeal(fields, fault: fault, at: at, duration: duration)
        return FaultStep(at: at, fault: fault, healAt: healAt, location: node.location)
    }

    /// The heal time from `heal` (absolute) or `for` (relative to `at`); `nil` when neither is given.
    private static func parseHeal(
        _ fields: ScenarioNode.Fields, fault: Fault, at: Double, duration: Double
    ) throws(ScenarioError) -> Double? {
        let given = fields.entries.filter { ["heal", "for"].contains($0.key.text) && !$0.value.isNull }
        guard let (key, value) = given.first else { return nil }
        if given.count > 1 {
            throw given[1].key.error(.invalidValue, "expected either \"heal\" (a time) or \"for\" (a duration), found both")
        }
        if fault.isInstantaneous {
            let why = switch fault {
            case .killAgent, .killHostd: "\(fault.kind) with staysDown: false is instantaneous (the watchdog restarts the process)"
            default: "\(fault.kind) is instantaneous"
            }
            throw key.error(.invalidValue, "\(why) and cannot be healed; remove \"\(key.text ?? "heal")\"")
        }
        let healAt: Double
        if key.text == "for" {
            healAt = at + (try value.seconds())
            guard healAt <= duration else {
                throw value.error(
                    .invalidValue,
                    "expected the fault to heal by the end of the run (\(format(duration))), found at + for = \(format(healAt))"
                )
            }
        } else {
            healAt = try value.number()
            guard healAt > at else {
                throw value.error(.invalidValue, "expected \"heal\" after \"at\" (\(format(at))), found \(format(healAt))")
            }
            guard healAt <= duration else {
                throw value.error(.invalidValue, "expected \"heal\" at most the duration \(format(duration)), found \(format(healAt))")
            }
        }
        return healAt
    }

    /// The ``Fault`` of a step whose keys have been checked against ``faultKinds``.
    private static func parseFault(_ kind: String, fields: ScenarioNode.Fields, catalog: ScenarioCatalog) throws(ScenarioError) -> Fault {
        func host() throws(ScenarioError) -> HostID { try catalog.host(fields.required("host")) }
        func vm() throws(ScenarioError) -> VMID { try catalog.vm(fields.required("vm")) }
        func staysDown() throws(ScenarioError) -> Bool { try fields.optional("staysDown")?.bool() ?? false }

        switch kind {
        case "network.partition": return .partition(groups: try partitionGroups(fields.required("groups"), catalog: catalog))
        case "network.partitionOneWay":
            let from = try catalog.hostList(fields.required("from"))
            let toNode = try fields.required("to")
            let to = try catalog.hostList(toNode)
            for (host, item) in zip(to, try toNode.items()) where from.contains(host) {
                throw item.error(.invalidValue, "host \"\(host)\" is on both sides of the one-way partition (in \"from\" and \"to\")")
            }
            return .partitionOneWay(from: from, to: to)
        case "network.isolate": return .isolateHost(try host(), storageToo: false)
        case "network.isolateWithStorage": return .isolateHost(try host(), storageToo: true)
        case "network.dropIsolationAddress": return .dropIsolationAddress(try host())
        case "network.loss":
            let host = try host()
            let probabilityNode = try fields.required("probability")
            let probability = try probabilityNode.number()
            guard probability > 0, probability <= 1 else {
                throw probabilityNode.error(.invalidValue, "expected \"probability\" above 0 and at most 1, found \(probability)")
            }
            return .packetLoss(host, probability: probability)
        case "network.managementOutage": return .managementNetworkOutage
        case "network.rogueHost": return .rogueHost
        case "storage.unmount":
            let (datastore, hosts) = try storageTargets(fields, catalog: catalog)
            return .unmountDatastore(datastore, hosts: hosts)
        case "storage.pdl":
            let (datastore, hosts) = try storageTargets(fields, catalog: catalog)
            return .pdlDatastore(datastore, hosts: hosts)
        case "storage.readOnly":
            let (datastore, hosts) = try storageTargets(fields, catalog: catalog)
            return .readOnlyDatastore(datastore, hosts: hosts)
        case "process.killAgent": return .killAgent(try host(), staysDown: try staysDown())
        case "process.killHostd": return .killHostd(try host(), staysDown: try staysDown())
        case "process.killVM": return .killVM(try vm())
        case "process.stopAgent": return .stopAgent(try host())
        case "host.powerOff": return .powerOffHost(try host())
        case "host.shutdown": return .shutdownHost(try host())
        case "host.freeze": return .freezeHost(try host())
        case "host.restart": return .restartHost(try host())
        case "control.controllerDown": return .controllerDown
        case "vm.guestHang": return .guestHang(try vm())
        case "vm.userPowerOff": return .userPowerOff(try vm())
        case "vm.userPowerOn": return .userPowerOn(try vm(), host: try host())
        default:
            preconditionFailure("fault kind \(kind) is listed in faultKinds but has no case in parseFault")
        }
    }

    /// At least two non-empty groups; no host in two groups.
    private static func partitionGroups(_ node: ScenarioNode, catalog: ScenarioCatalog) throws(ScenarioError) -> [[HostID]] {
        let groupNodes = try node.items()
        guard groupNodes.count >= 2 else {
            throw node.error(.invalidValue, "expected at least 2 groups in \"groups\", found \(groupNodes.count)")
        }
        var groups: [[HostID]] = []
        var seen: Set<HostID> = []
        for groupNode in groupNodes {
            let items = try groupNode.items()
            guard !items.isEmpty else {
                throw groupNode.error(.invalidValue, "expected at least one host in each partition group, found an empty group")
            }
            var group: [HostID] = []
            for item in items {
                let host = try catalog.host(item)
                guard seen.insert(host).inserted else {
                    throw item.error(.invalidValue, "host \"\(host)\" is in more than one partition group; groups must not overlap")
                }
                group.append(host)
            }
            groups.append(group)
        }
        return groups
    }

    /// `datastore:` and `hosts:` (a list of hosts that mount it, or `all` of them).
    private static func storageTargets(
        _ fields: ScenarioNode.Fields, catalog: ScenarioCatalog
    ) throws(ScenarioError) -> (DatastoreID, [HostID]) {
        let datastore = try catalog.datastore(fields.required("datastore"))
        let mounting = catalog.hosts(mounting: datastore)
        let hostsNode = try fields.required("hosts")
        if hostsNode.shape == .scalar {
            guard hostsNode.text == "all" else { throw hostsNode.wrongType("all or a list of hosts") }
            guard !mounting.isEmpty else { throw hostsNode.error(.invalidValue, "no host mounts datastore \"\(datastore)\"") }
            return (datastore, mounting)
        }
        let hosts = try catalog.hostList(hostsNode)
        for (host, item) in zip(hosts, try hostsNode.items()) where !mounting.contains(host) {
            let mountedBy = mounting.isEmpty ? "no host mounts it" : "it is mounted by \(mounting.map(\.rawValue).joined(separator: ", "))"
            throw item.error(.invalidValue, "host \"\(host)\" does not mount datastore \"\(datastore)\" (\(mountedBy))")
        }
        return (datastore, hosts)
    }
}
