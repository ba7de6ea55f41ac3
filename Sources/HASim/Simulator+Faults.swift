import HACore

// MARK: - Faults: what the harness can do to the simulated world (DESIGN §6), each with its heal

extension Simulator {
    /// Cuts management traffic between `groups` (others stay connected to every group).
    public mutating func partition(id: Int, groups: [[HostID]]) { partitions[id] = groups }
    public mutating func healPartition(id: Int) { partitions.removeValue(forKey: id) }

    /// Drops traffic from `from` to `to` only.
    public mutating func cutOneWay(id: Int, from: [HostID], to: [HostID]) { oneWayCuts[id] = (Set(from), Set(to)) }
    public mutating func healOneWay(id: Int) { oneWayCuts.removeValue(forKey: id) }

    /// Cuts a host's management network (and with `storageToo` its IP storage).
    public mutating func isolate(_ host: HostID, storageToo: Bool) {
        hosts[host]?.isolated = true
        if storageToo {
            hosts[host]?.storageCut = true
            publishHealthChanges()
        }
        if vcenterMaster == host { vcenterMaster = nil; notifyAgent(host, .vcenterConnectionChanged(connected: false)) }
    }
    public mutating func healIsolation(_ host: HostID) {
        hosts[host]?.isolated = false
        if hosts[host]?.storageCut == true {
            hosts[host]?.storageCut = false
            publishHealthChanges()
        }
    }

    public mutating func dropIsolationAddress(_ host: HostID, _ dropped: Bool) { hosts[host]?.isolationAddressDropped = dropped }
    public mutating func setLoss(_ host: HostID, probability: Double) { hosts[host]?.loss = probability }

    public mutating func setManagementOutage(_ outage: Bool) {
        managementOutage = outage
        if outage, let master = vcenterMaster {
            vcenterMaster = nil
            notifyAgent(master, .vcenterConnectionChanged(connected: false))
        }
    }

    public enum StorageFault: Sendable { case unmount, permanentDeviceLoss, readOnly }

    /// Applies (or with `heal` removes) a storage fault of `ds` on `hostsAffected`.
    public mutating func storage(_ fault: StorageFault, _ ds: DatastoreID, on hostsAffected: [HostID], heal: Bool = false) {
        let delta = heal ? -1 : 1
        for host in hostsAffected {
            let key = HostDatastore(host: host, datastore: ds)
            switch fault {
            case .unmount: unmounted[key, default: 0] += delta
            case .permanentDeviceLoss: lostPermanently[key, default: 0] += delta
            case .readOnly: readOnly[key, default: 0] += delta
            }
        }
        publishHealthChanges()
    }

    /// `kill -9` of the agent; the watchdog restarts it unless it stays down.
    public mutating func killAgent(_ host: HostID, staysDown: Bool) {
        guard var state = hosts[host], state.powered else { return }
        state.agent = nil
        state.agentGeneration += 1
        state.agentStaysDown = staysDown
        hosts[host] = state
        if vcenterMaster == host { vcenterMaster = nil }
        if !staysDown { schedule(at: now + setup.watchdogDelay, .startAgent(host, boot: state.boot)) }
    }
    /// Brings a stayed-down agent back.
    public mutating func reviveAgent(_ host: HostID) {
        guard let state = hosts[host], state.powered, state.agent == nil else { return }
        hosts[host]?.agentStaysDown = false
        startAgent(host)
    }

    /// `kill -9` of hostd; the agent halts until hostd is back.
    public mutating func killHostd(_ host: HostID, staysDown: Bool) {
        guard var state = hosts[host], state.powered, state.hostdUp else { return }
        state.hostdUp = false
        state.hostdStaysDown = staysDown
        hosts[host] = state
        for (id, pending) in pendingPowerOns where pending.host == host {
            pendingPowerOns.removeValue(forKey: id)
            notifyAgent(host, .powerOnCompleted(vm: pending.vm, succeeded: false, reason: "hostd died"))
        }
        notifyAgent(host, .hostdAvailabilityChanged(available: false), after: .zero)
        if !staysDown { schedule(at: now + setup.watchdogDelay, .startHostd(host, boot: state.boot)) }
    }
    public mutating func reviveHostd(_ host: HostID) {
        guard let state = hosts[host], state.powered, !state.hostdUp else { return }
        schedule(at: now, .startHostd(host, boot: state.boot))
    }

    /// `kill -9` of a VM's process: it crashed.
    public mutating func killVM(_ vm: VMID) {
        for (id, instance) in instances.sorted(by: { $0.key < $1.key }) where instance.vm == vm {
            stopInstance(id, reason: .crashed, releaseLock: true, notify: true)
        }
    }

    /// SIGSTOP / SIGCONT of the agent.
    public mutating func stopAgent(_ host: HostID, _ stopped: Bool) { hosts[host]?.agentStopped = stopped }

    /// Power off (or back on) a host.
    public mutating func powerOff(_ host: HostID) { killHost(host, clean: false) }
    public mutating func powerOn(_ host: HostID) { bootHost(host) }

    /// Clean shutdown (DCUI F12): the guests shut down and hostd tells the agent, then the host goes off.
    public mutating func shutdown(_ host: HostID) {
        for instance in instancesOn(host) { stopInstance(instance.id, reason: .userPowerOff, releaseLock: true, notify: true) }
        let delay = setup.settings.heartbeatInterval * 3
        // The agent reports the now-empty poweron list before the host goes down.
        run(until: now + delay)
        killHost(host, clean: true)
    }

    /// Reboot: power off now, on again at once.
    public mutating func restart(_ host: HostID) {
        killHost(host, clean: false)
        schedule(at: now + setup.watchdogDelay, .powerOnHost(host))
    }

    /// Freeze (cgroup freezer) or thaw every process of a host.
    ///
    /// On thaw, a renewal that came due while frozen happens at once, as in a real process
    /// whose monotonic timer expired while it was stopped (the periodic schedule keeps its
    /// phase). Without it a VM thawed 5 s before its lease ran out kept waiting for its next
    /// period, lost its lock to a restart elsewhere, and the checker saw a split brain that a
    /// real node does not have (sim nightly c62c88c7).
    public mutating func freeze(_ host: HostID, _ frozen: Bool) {
        guard let state = hosts[host], state.frozen != frozen else { return }
        hosts[host]?.frozen = frozen
        guard !frozen else { return }
        for instance in instancesOn(host) where instance.renewMissed { renewDiskLock(instance.id) }
    }

    /// The controller goes down (or comes back); HA must keep working.
    public mutating func setControllerUp(_ up: Bool) {
        controllerUp = up
        if !up, let master = vcenterMaster {
            vcenterMaster = nil
            notifyAgent(master, .vcenterConnectionChanged(connected: false))
        }
    }

    /// A rogue node with a wrong cluster key starts or stops forging datagrams. The simulator
    /// models the agents' authentication layer: every forged datagram is dropped before the
    /// FDM core sees it (bad MAC for the hosts it impersonates, unknown host for its own id),
    /// and logged once per reason per minute, as ha-agent does.
    public mutating func setRogue(_ active: Bool) {
        rogueGeneration += 1   // odd: active
        guard active else { return }
        schedule(at: now, .rogueBurst(generation: rogueGeneration))
    }

    mutating func rogueBurst() {
        for id in hosts.keys.sorted() {
            guard let host = hosts[id], host.powered, host.agent != nil, !host.frozen, !host.agentStopped, !host.isolated else { continue }
            if let last = rogueDropLogged[id], now.duration(since: last) < .seconds(60) { continue }
            rogueDropLogged[id] = now
            for reason in ["badMAC", "unknownHost"] {
                trace.events.append(TimedEvent(time: now.seconds, event: HAEvent(host: id, at: now, kind: .messageDropped(from: "rogue", reason: reason))))
            }
        }
    }

    /// The guest hangs: no Tools heartbeats, no I/O (VM monitoring).
    public mutating func hangGuest(_ vm: VMID, _ hung: Bool) {
        for (id, instance) in instances where instance.vm == vm { instances[id]?.hung = hung }
    }

    /// A user powers the VM off through the controller: unprotect first (the master commits it),
    /// then power off.
    public mutating func userPowerOff(_ vm: VMID) {
        if let index = cluster.vms.firstIndex(where: { $0.id == vm }) {
            cluster.vms[index].isProtected = false
            cluster.version += 1
            if controllerUp, let master = vcenterMaster {
                notifyAgent(master, .configurationPushed(cluster))
            }
        }
        schedule(at: now + setup.settings.heartbeatInterval, .userPowerOffNow(vm))
    }
}

extension Simulator {
    /// The evidence source name of the controller.
    public static let controllerID = HostID("vcenter")

    /// A user powers a VM on through the controller: admission control decides (it is a vCenter
    /// function, oracle §6.7); if admitted the VM is protected and powered on.
    public mutating func userPowerOn(_ vm: VMID, on host: HostID) {
        guard controllerUp, let index = cluster.vms.firstIndex(where: { $0.id == vm }) else { return }
        let running = Set(instances.values.map(\.vm))
        let poweredOn = cluster.vms.filter { running.contains($0.id) }
        let decision = AdmissionControl.admitsUserPowerOn(of: cluster.vms[index], on: host, cluster: cluster, poweredOn: poweredOn)
        let admitted: Bool
        let reason: String
        switch decision {
        case .admitted: (admitted, reason) = (true, "admitted")
        case .rejected(let why): (admitted, reason) = (false, why)
        }
        trace.events.append(TimedEvent(time: now.seconds, event: HAEvent(
            host: Self.controllerID, at: now, kind: .admissionControlDecision(vm: vm, host: host, admitted: admitted, reason: reason)
        )))
        guard admitted else { return }
        cluster.vms[index].isProtected = true
        cluster.version += 1
        if let master = vcenterMaster { notifyAgent(master, .configurationPushed(cluster)) }
        beginPowerOn(vm, on: host, byHA: false)
    }
}
