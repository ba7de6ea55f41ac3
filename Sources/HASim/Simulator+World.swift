import HACore

// MARK: - Storage, VMs and their disk locks

extension Simulator {
    /// How `host` sees `ds` now, from the storage faults in force.
    func health(_ host: HostID, _ ds: DatastoreID) -> DatastoreHealth {
        let key = HostDatastore(host: host, datastore: ds)
        if (lostPermanently[key] ?? 0) > 0 { return .permanentDeviceLoss }
        if (unmounted[key] ?? 0) > 0 { return .allPathsDown }
        if hosts[host]?.storageCut == true, setup.ipStorage.contains(ds) { return .allPathsDown }
        if (readOnly[key] ?? 0) > 0 { return .readOnly }
        return .accessible
    }

    /// Tells agents about datastore health that changed since they last heard.
    mutating func publishHealthChanges() {
        for host in hostOrder {
            for ds in (cluster.host(host)?.datastores ?? []).sorted() {
                let key = HostDatastore(host: host, datastore: ds)
                let health = self.health(host, ds)
                if lastHealth[key] != health {
                    lastHealth[key] = health
                    notifyAgent(host, .datastoreHealthChanged(ds, health))
                }
            }
        }
    }

    /// Starts a VM instance that holds the disk lock (caller checked the lock).
    @discardableResult
    mutating func startInstance(_ vm: VMID, on host: HostID, byHA: Bool, notify: Bool) -> String {
        instanceCounter += 1
        let id = "\(vm.rawValue)#\(instanceCounter)"
        trace.vmInstances.append(VMInstanceRecord(vm: vm, instance: id, host: host, start: now.seconds, end: nil, endReason: .running, startedByHA: byHA))
        instances[id] = SimVM(id: id, vm: vm, host: host, recordIndex: trace.vmInstances.count - 1)
        takeDiskLock(vm, instance: id, host: host)
        schedule(at: now + setup.settings.vmDiskLockRenewInterval, .vmRenew(id))
        schedule(at: now + setup.guestHeartbeatInterval, .vmHeartbeat(id))
        if notify { notifyAgent(host, .vmPowerStateChanged(vm: vm, poweredOn: true, reason: nil)) }
        return id
    }

    mutating func takeDiskLock(_ vm: VMID, instance: String, host: HostID) {
        var lock = vmLocks[vm] ?? DiskLock(holder: nil, lastRenew: now, recordIndex: nil)
        if lock.holder != nil, let index = lock.recordIndex, trace.diskLocks[index].to == nil {
            // A lapsed lock broken by the new holder ended when it expired.
            trace.diskLocks[index].to = min(now, lock.lastRenew + setup.settings.vmDiskLockExpiry).seconds
        }
        trace.diskLocks.append(DiskLockRecord(vm: vm, instance: instance, host: host, from: now.seconds, to: nil))
        lock.holder = instance
        lock.lastRenew = now
        lock.recordIndex = trace.diskLocks.count - 1
        vmLocks[vm] = lock
    }

    /// Ends an instance. A dead host or unreachable storage cannot release the lock: it lapses.
    mutating func stopInstance(_ id: String, reason: VMEndReason, releaseLock: Bool, notify: Bool) {
        guard let instance = instances.removeValue(forKey: id) else { return }
        trace.vmInstances[instance.recordIndex].end = now.seconds
        trace.vmInstances[instance.recordIndex].endReason = reason
        if releaseLock, var lock = vmLocks[instance.vm], lock.holder == id,
           let home = cluster.vm(instance.vm)?.homeDatastore, health(instance.host, home).isWritable {
            if let index = lock.recordIndex { trace.diskLocks[index].to = now.seconds }
            lock.holder = nil
            lock.recordIndex = nil
            vmLocks[instance.vm] = lock
        }
        if notify { notifyAgent(instance.host, .vmPowerStateChanged(vm: instance.vm, poweredOn: false, reason: reason)) }
    }

    /// hostd powers a VM on: it needs the disk lock; a held lock is watched until it lapses
    /// (then broken) or is renewed (then the power-on fails: "file is locked").
    mutating func beginPowerOn(_ vm: VMID, on host: HostID, byHA: Bool) {
        guard let state = hosts[host], state.hostdUp, let config = cluster.vm(vm) else {
            notifyAgent(host, .powerOnCompleted(vm: vm, succeeded: false, reason: "hostd unavailable"))
            return
        }
        if instancesOn(host).contains(where: { $0.vm == vm }) {
            notifyAgent(host, .powerOnCompleted(vm: vm, succeeded: true, reason: "already running"))
            return
        }
        guard health(host, config.homeDatastore).isWritable else {
            notifyAgent(host, .powerOnCompleted(vm: vm, succeeded: false, reason: "datastore inaccessible"))
            return
        }
        powerOnCounter += 1
        pendingPowerOns[powerOnCounter] = PendingPowerOn(vm: vm, host: host, startedAt: now, byHA: byHA)
        checkPowerOn(powerOnCounter)
    }

    mutating func checkPowerOn(_ id: UInt64) {
        guard let pending = pendingPowerOns[id] else { return }
        let settings = setup.settings
        guard hosts[pending.host]?.powered == true, let home = cluster.vm(pending.vm)?.homeDatastore,
              health(pending.host, home).isWritable else {
            pendingPowerOns.removeValue(forKey: id)
            notifyAgent(pending.host, .powerOnCompleted(vm: pending.vm, succeeded: false, reason: "datastore inaccessible"))
            return
        }
        let lock = vmLocks[pending.vm]
        // Mutant `powerOnIgnoresLiveDiskLock`: the power-on breaks a lock its holder still renews.
        let free = lock?.holder == nil || now.duration(since: lock!.lastRenew) >= settings.vmDiskLockExpiry
            || setup.bugs.contains(.powerOnIgnoresLiveDiskLock)
        if free {
            pendingPowerOns.removeValue(forKey: id)
            startInstance(pending.vm, on: pending.host, byHA: pending.byHA, notify: true)
            notifyAgent(pending.host, .powerOnCompleted(vm: pending.vm, succeeded: true, reason: "powered on"), after: settings.vmPowerOnDuration)
            return
        }
        if let lock, lock.lastRenew > pending.startedAt {
            pendingPowerOns.removeValue(forKey: id)
            notifyAgent(pending.host, .powerOnCompleted(vm: pending.vm, succeeded: false, reason: "file is locked"))
            return
        }
        schedule(at: now + settings.heartbeatInterval, .powerOnCheck(id))
    }

    /// A running VM renews its disk lock; finding it taken by another instance once storage is
    /// back, it powers itself off (lost-lock resolution, oracle §7.1).
    mutating func vmRenew(_ id: String) {
        guard instances[id] != nil else { return }
        schedule(at: now + setup.settings.vmDiskLockRenewInterval, .vmRenew(id))
        renewDiskLock(id)
    }

    /// One renewal of the instance's disk lock (a frozen process renews nothing).
    mutating func renewDiskLock(_ id: String) {
        guard let instance = instances[id], let config = cluster.vm(instance.vm) else { return }
        guard let host = hosts[instance.host] else { return }
        guard !host.frozen else {
            instances[id]?.renewMissed = true
            return
        }
        instances[id]?.renewMissed = false
        let health = self.health(instance.host, config.homeDatastore)
        if health == .permanentDeviceLoss, cluster.terminateVMOnPDL {
            stopInstance(id, reason: .pdl, releaseLock: false, notify: true)
            return
        }
        guard health.isWritable else { return }
        guard var lock = vmLocks[instance.vm] else { return }
        if lock.holder == id {
            lock.lastRenew = now
            vmLocks[instance.vm] = lock
        } else if lock.holder == nil {
            takeDiskLock(instance.vm, instance: id, host: instance.host)
        } else if !setup.bugs.contains(.lostLockNeverPoweredOff) {
            stopInstance(id, reason: .lostLock, releaseLock: false, notify: true)
        }
        // Mutant `lostLockNeverPoweredOff`: the lock-less copy keeps running, in memory.
    }

    mutating func vmHeartbeat(_ id: String) {
        guard let instance = instances[id] else { return }
        schedule(at: now + setup.guestHeartbeatInterval, .vmHeartbeat(id))
        guard let host = hosts[instance.host], !host.frozen, !instance.hung else { return }
        notifyAgent(instance.host, .guestHeartbeat(instance.vm))
        notifyAgent(instance.host, .applicationHeartbeat(instance.vm))
        notifyAgent(instance.host, .vmIOObserved(instance.vm))
    }

    /// Powers a host on: hostd and the agent start (the watchdog's job at boot).
    mutating func bootHost(_ host: HostID) {
        guard var state = hosts[host], !state.powered else { return }
        state.powered = true
        state.boot += 1
        state.hostdUp = true
        state.agentStopped = false
        state.frozen = false
        state.agent = nil
        trace.hostPower.append(HostPowerRecord(host: host, start: now.seconds, end: nil, cleanShutdown: false))
        state.powerRecord = trace.hostPower.count - 1
        hosts[host] = state
        publishHealthChanges()
        startAgent(host)
    }

    /// Powers a host off: every process dies, nothing is released (locks lapse).
    mutating func killHost(_ host: HostID, clean: Bool) {
        guard var state = hosts[host], state.powered else { return }
        for instance in instancesOn(host) { stopInstance(instance.id, reason: clean ? .userPowerOff : .hostFailed, releaseLock: clean, notify: false) }
        for (id, pending) in pendingPowerOns where pending.host == host { pendingPowerOns.removeValue(forKey: id) }
        state.powered = false
        state.agent = nil
        state.agentGeneration += 1
        trace.hostPower[state.powerRecord].end = now.seconds
        trace.hostPower[state.powerRecord].cleanShutdown = clean
        hosts[host] = state
        if vcenterMaster == host { vcenterMaster = nil }
    }
}
