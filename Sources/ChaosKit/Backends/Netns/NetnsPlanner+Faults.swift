import HACore

extension NetnsPlanner {
    /// The commands that inject and heal `fault` (DESIGN §6), as argv lists only (the rules of
    /// an `iptables-restore` one `iptables` command each: ``NetnsAction/equivalentArgv``).
    ///
    /// Markers (start a node, controller requests) are left out; use ``faultPlan(_:step:layout:runtime:)``
    /// for the full plan.
    public func faultCommands(_ fault: Fault, step: Int, layout: NetnsLayout, runtime: NodeRuntime) throws(NetnsPlanError) -> (inject: [[String]], heal: [[String]]) {
        let plan = try faultPlan(fault, step: step, layout: layout, runtime: runtime)
        return (plan.injectArgv, plan.healArgv)
    }

    /// How to inject and heal `fault` on `layout`.
    ///
    /// Network faults are DROP rules in the target host namespaces' `HAC-IN`/`HAC-OUT` chains
    /// (for a partition, in the namespaces of one side only: the smaller group of each pair),
    /// each tagged `-m comment --comment hac-<run>-s<step>` so that the heal deletes exactly
    /// its own rules: one ``NetnsAction/restore(netns:wait:rules:)`` per namespace (`-A` lines
    /// to inject, `-D` to heal), which the network runs concurrently; the journaled undo is
    /// the heal as one `iptables -D` per rule (``NetnsAction/equivalentArgv``). Storage faults act in the host's mount namespace. Process faults signal
    /// PIDs from `runtime` (by PID, never by name); power operations use the host's cgroup.
    ///
    /// - Throws: ``NetnsPlanError`` when the fault names an unknown host, datastore or VM,
    ///   a datastore the host does not mount, or a PID `runtime` does not have.
    public func faultPlan(_ fault: Fault, step: Int, layout: NetnsLayout, runtime: NodeRuntime) throws(NetnsPlanError) -> FaultPlan {
        let tag = "\(layout.runID.prefix)-s\(step)"
        func resource(_ kind: JournalEntry.Kind, undo: [NetnsAction]) -> JournalResource {
            JournalResource(kind: kind, name: tag, undo: undo.flatMap(\.equivalentArgv))
        }
        func plan(_ kind: JournalEntry.Kind?, _ inject: [NetnsAction], _ heal: [NetnsAction]) -> FaultPlan {
            FaultPlan(step: step, tag: tag, resource: kind.map { resource($0, undo: heal) }, inject: inject, heal: heal)
        }
        /// A DROP rule in `chain` of `host`'s namespace.
        typealias Rule = (host: NetnsLayout.Host, chain: String, match: [String])
        func rule(_ host: NetnsLayout.Host, _ chain: String, _ match: [String]) -> Rule { (host, chain, match) }
        /// One `iptables-restore --noflush` per namespace (in the order the namespaces first
        /// appear): `-A` lines to inject, the same lines with `-D` to heal.
        func rules(_ list: [Rule]) -> ([NetnsAction], [NetnsAction]) {
            var order: [String] = []
            var byNetns: [String: [(String, [String])]] = [:]
            for (host, chain, match) in list {
                if byNetns[host.netns] == nil { order.append(host.netns) }
                byNetns[host.netns, default: []].append((chain, match + ["-m", "comment", "--comment", tag, "-j", "DROP"]))
            }
            func restore(_ op: String) -> [NetnsAction] {
                order.map { netns in .restore(netns: netns, wait: iptablesWaitSeconds, rules: byNetns[netns]!.map { [op, $0.0] + $0.1 }) }
            }
            return (restore("-A"), restore("-D"))
        }
        func isolation(_ host: NetnsLayout.Host) -> [Rule] {
            [
                rule(host, Self.inboundChain, ["-i", NetnsLayout.innerInterface]),
                rule(host, Self.outboundChain, ["-o", NetnsLayout.innerInterface]),
            ]
        }

        switch fault {
        case .partition(let groups):
            let resolved = try groups.map { (group) throws(NetnsPlanError) in try group.map { (id) throws(NetnsPlanError) in try host(id, layout) } }
            // Every packet between two groups passes through a namespace of each, so the rules
            // of one side cut both directions. The smaller group of each pair carries them: a
            // 16|16 partition of 32 hosts changes 16 namespaces, not 32.
            var pairs: [Rule] = []
            for i in resolved.indices {
                for j in resolved.indices where j > i {
                    let (side, other) = resolved[j].count < resolved[i].count ? (resolved[j], resolved[i]) : (resolved[i], resolved[j])
                    for member in side {
                        for peer in other {
                            pairs.append(rule(member, Self.inboundChain, ["-s", peer.address]))
                            pairs.append(rule(member, Self.outboundChain, ["-d", peer.address]))
                        }
                    }
                }
            }
            let (inject, heal) = rules(pairs)
            return plan(.chain, inject, heal)

        case .partitionOneWay(let from, let to):
            let senders = try from.map { (id) throws(NetnsPlanError) in try host(id, layout) }
            let receivers = try to.map { (id) throws(NetnsPlanError) in try host(id, layout) }
            // One side suffices here too: the senders' outbound rules, or the receivers' inbound
            // rules when there are fewer receivers.
            var pairs: [Rule] = []
            if receivers.count < senders.count {
                for receiver in receivers {
                    for sender in senders { pairs.append(rule(receiver, Self.inboundChain, ["-s", sender.address])) }
                }
            } else {
                for sender in senders {
                    for receiver in receivers { pairs.append(rule(sender, Self.outboundChain, ["-d", receiver.address])) }
                }
            }
            let (inject, heal) = rules(pairs)
            return plan(.chain, inject, heal)

        case .isolateHost(let id, let storageToo):
            let target = try host(id, layout)
            var (inject, heal) = rules(isolation(target))
            if storageToo {
                for ds in target.datastores where layout.ipStorage.contains(ds) {
                    inject.append(unmount(ds, on: target, layout))
                    heal.append(remount(ds, on: target, layout))
                }
            }
            return plan(.chain, inject, heal)

        case .dropIsolationAddress(let id):
            let target = try host(id, layout)
            let (inject, heal) = rules([rule(target, Self.outboundChain, ["-d", layout.gateway.address, "-p", "icmp"])])
            return plan(.chain, inject, heal)

        case .packetLoss(let id, let probability):
            let target = try host(id, layout)
            guard probability > 0, probability <= 1 else {
                throw NetnsPlanError(code: .invalidValue, message: "loss probability \(probability) is outside (0, 1]")
            }
            let statistic = ["-m", "statistic", "--mode", "random", "--probability", "\(probability)"]
            let (inject, heal) = rules([
                rule(target, Self.inboundChain, ["-i", NetnsLayout.innerInterface] + statistic),
                rule(target, Self.outboundChain, ["-o", NetnsLayout.innerInterface] + statistic),
            ])
            return plan(.chain, inject, heal)

        case .managementNetworkOutage:
            let (inject, heal) = rules(layout.hosts.flatMap(isolation))
            return plan(.chain, inject, heal)

        case .unmountDatastore(let ds, let hosts):
            let targets = try mounting(ds, hosts, layout)
            return plan(.mount, targets.map { unmount(ds, on: $0, layout) }, targets.map { remount(ds, on: $0, layout) })

        case .pdlDatastore(let ds, let hosts):
            let targets = try mounting(ds, hosts, layout)
            var inject: [NetnsAction] = []
            var heal: [NetnsAction] = []
            for target in targets {
                let inNode = ["nsenter", "--mount=\(target.mountNamespaceFile)"]
                let point = layout.datastoreMountPoint(ds)
                inject += [
                    .run(inNode + ["mount", "-t", "tmpfs", "-o", "size=64k,mode=0755,nosuid,nodev", "\(layout.runID.prefix)-pdl", point]),
                    .run(inNode + ["touch", "\(point)/.pdl"]),
                    .run(inNode + ["mount", "-o", "remount,ro", point]),
                ]
                heal.append(.run(inNode + ["umount", "-l", point]))
            }
            return plan(.mount, inject, heal)

        case .readOnlyDatastore(let ds, let hosts):
            let targets = try mounting(ds, hosts, layout)
            let remount = { (target: NetnsLayout.Host, mode: String) -> NetnsAction in
                .run(["nsenter", "--mount=\(target.mountNamespaceFile)", "mount", "-o", "remount,\(mode),bind", layout.datastoreMountPoint(ds)])
            }
            return plan(.mount, targets.map { remount($0, "ro") }, targets.map { remount($0, "rw") })

        case .killAgent(let id, let staysDown), .killHostd(let id, let staysDown):
            let target = try host(id, layout)
            let isAgent = if case .killAgent = fault { true } else { false }
            let processes = runtime.hosts[id]
            guard let pid = isAgent ? processes?.agentPID : processes?.hostdPID else {
                throw NetnsPlanError(code: .missingPID, message: "no \(isAgent ? "ha-agent" : "hostd") PID for \(id)")
            }
            let kill = NetnsAction.run(Self.kill("9", pid))
            guard staysDown else { return plan(nil, [kill], []) }
            let control = "\(target.nodeDirectory)/control/\(isAgent ? "agent" : "hostd").down"
            return FaultPlan(
                step: step, tag: tag, resource: JournalResource(kind: .process, name: tag, undo: [["rm", "-f", control]]),
                inject: [.writeFile(path: control, contents: ""), kill], heal: [.removeFile(path: control)]
            )

        case .killVM(let vm):
            let pid = try vmPID(vm, runtime)
            return plan(nil, [.run(Self.kill("9", pid))], [])

        case .stopAgent(let id):
            _ = try host(id, layout)
            guard let pid = runtime.hosts[id]?.agentPID else { throw NetnsPlanError(code: .missingPID, message: "no ha-agent PID for \(id)") }
            // No journaled undo: after a crash the PID may be reused; the reaper kills the cgroup.
            return FaultPlan(step: step, tag: tag, resource: JournalResource(kind: .process, name: tag, undo: []), inject: [.run(Self.kill("STOP", pid))], heal: [.run(Self.kill("CONT", pid))])

        case .powerOffHost(let id):
            // A powered-off host answers nothing: its link goes down with its processes (else the
            // namespace's kernel would still answer ICMP and the master would see "agent down").
            let target = try host(id, layout)
            return plan(nil, killCgroup(layout.freezerCgroup(target.id)) + [.run(Self.link(target, up: false))],
                        [Self.linkUp(target, layout), .startNode(target.id)])

        case .shutdownHost(let id):
            let target = try host(id, layout)
            return plan(nil, [.shutdownHost(target.id), .run(Self.link(target, up: false))],
                        [Self.linkUp(target, layout), .startNode(target.id)])

        case .freezeHost(let id):
            let target = try host(id, layout)
            let state = "\(layout.freezerCgroup(target.id))/freezer.state"
            // No journaled undo: the reaper thaws (and empties) every cgroup of a dead run.
            return FaultPlan(
                step: step, tag: tag, resource: JournalResource(kind: .cgroup, name: tag, undo: []),
                inject: [.writeFile(path: state, contents: "FROZEN")], heal: [.writeFile(path: state, contents: "THAWED")]
            )

        case .restartHost(let id):
            let target = try host(id, layout)
            return plan(nil, killCgroup(layout.freezerCgroup(target.id)) + [.run(Self.link(target, up: false)), Self.linkUp(target, layout), .startNode(target.id)], [])

        case .rogueHost:
            // The rogue runs in the controller's namespace (on the management bridge); the
            // teardown kills every process of that namespace, so nothing outlives the run.
            return plan(nil, [.rogue(true)], [.rogue(false)])

        case .controllerDown:
            guard let pid = runtime.controllerPID else { throw NetnsPlanError(code: .missingPID, message: "no controller PID") }
            return FaultPlan(step: step, tag: tag, resource: JournalResource(kind: .process, name: tag, undo: []), inject: [.run(Self.kill("STOP", pid))], heal: [.run(Self.kill("CONT", pid))])

        case .guestHang(let vm):
            let pid = try vmPID(vm, runtime)
            // vm-workload toggles its hang on SIGUSR1.
            return plan(nil, [.run(Self.kill("USR1", pid))], [.run(Self.kill("USR1", pid))])

        case .userPowerOff(let vm):
            return plan(nil, [.controllerRequest(.powerOff(vm))], [])

        case .userPowerOn(let vm, let id):
            _ = try host(id, layout)
            return plan(nil, [.controllerRequest(.powerOn(vm, host: id))], [])
        }
    }

    // MARK: - Helpers

    /// `kill -<signal> <pid>...` (by PID, never by name).
    public static func kill(_ signal: String, _ pids: Int32...) -> [String] {
        ["kill", "-\(signal)"] + pids.map { "\($0)" }
    }

    private func host(_ id: HostID, _ layout: NetnsLayout) throws(NetnsPlanError) -> NetnsLayout.Host {
        guard let host = layout.host(id) else { throw NetnsPlanError(code: .unknownHost, message: "\(id) is not a host of run \(layout.runID)") }
        return host
    }

    private func vmPID(_ vm: VMID, _ runtime: NodeRuntime) throws(NetnsPlanError) -> Int32 {
        guard let process = runtime.vmPIDs[vm] else { throw NetnsPlanError(code: .missingPID, message: "\(vm) has no running process") }
        return process.pid
    }

    /// The named hosts, each of which must mount `ds`.
    private func mounting(_ ds: DatastoreID, _ hosts: [HostID], _ layout: NetnsLayout) throws(NetnsPlanError) -> [NetnsLayout.Host] {
        guard layout.datastores.contains(ds) else { throw NetnsPlanError(code: .unknownDatastore, message: "\(ds) is not a datastore of run \(layout.runID)") }
        var targets: [NetnsLayout.Host] = []
        for id in hosts {
            let target = try host(id, layout)
            guard target.datastores.contains(ds) else { throw NetnsPlanError(code: .datastoreNotMounted, message: "\(id) does not mount \(ds)") }
            targets.append(target)
        }
        return targets
    }

    /// APD: lazily unmount the bind mount; the read-only tmpfs below leaves nothing writable.
    private func unmount(_ ds: DatastoreID, on host: NetnsLayout.Host, _ layout: NetnsLayout) -> NetnsAction {
        .run(["nsenter", "--mount=\(host.mountNamespaceFile)", "umount", "-l", layout.datastoreMountPoint(ds)])
    }

    private func remount(_ ds: DatastoreID, on host: NetnsLayout.Host, _ layout: NetnsLayout) -> NetnsAction {
        .run(["nsenter", "--mount=\(host.mountNamespaceFile)", "mount", "--bind", layout.datastoreSource(ds), layout.datastoreMountPoint(ds)])
    }

    /// `ip -n <ns> link set eth0 up|down`: a host's network goes with its power.
    static func link(_ host: NetnsLayout.Host, up: Bool) -> [String] {
        ["ip", "-n", host.netns, "link", "set", NetnsLayout.innerInterface, up ? "up" : "down"]
    }

    /// The link up again with the permanent neighbour entries put back, in one `ip -batch`: taking
    /// a link down deletes every neighbour entry on it, permanent ones included, so a host that
    /// was powered off would otherwise go back to ARP (and count against the machine-wide limit).
    static func linkUp(_ host: NetnsLayout.Host, _ layout: NetnsLayout) -> NetnsAction {
        .runWithInput(["ip", "-n", host.netns, "-batch", "-"],
                      input: (["link set \(NetnsLayout.innerInterface) up"] + neighbourLines(of: host.endpoint, in: layout)).map { $0 + "\n" }.joined())
    }
}
