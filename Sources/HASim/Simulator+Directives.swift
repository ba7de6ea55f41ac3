import HACore

// MARK: - Carrying out directives: the simulator is the agent's shell here

extension Simulator {
    mutating func execute(_ directive: FDM.Directive, on host: HostID) {
        let io = Duration.microseconds(500)
        switch directive {
        case .send(let message, let target):
            transmit(message, from: host, to: target)
        case .broadcast(let message):
            for target in hostOrder where target != host { transmit(message, from: host, to: target) }
        case .writeHeartbeatFile(let ds, let counter):
            if health(host, ds).isWritable { heartbeatFiles[HostDatastore(host: host, datastore: ds)] = counter }
        case .readHeartbeatFile(let target, let ds):
            let counter = health(host, ds).isReadable ? heartbeatFiles[HostDatastore(host: target, datastore: ds)] : nil
            notifyAgent(host, .heartbeatFileRead(host: target, datastore: ds, counter: counter), after: io)
        case .writePowerOnFile(let datastores, let file):
            for ds in datastores where health(host, ds).isWritable {
                powerOnFiles[HostDatastore(host: host, datastore: ds)] = file
                trace.fileObservations.append(FileObservation(time: now.seconds, datastore: ds, content: .powerOn(host: host, file: file)))
            }
        case .readPowerOnFile(let target, let datastores):
            var file: PowerOnFile?
            for ds in datastores where health(host, ds).isReadable {
                if let found = powerOnFiles[HostDatastore(host: target, datastore: ds)] { file = found; break }
            }
            let visible = Set(markers.filter { health(host, $0.datastore).isReadable }.map(\.vm))
            notifyAgent(host, .powerOnFileRead(host: target, file: file, poweredOffMarkers: visible), after: io)
        case .acquireProtectedList(let ds, let vms):
            let acquired = acquireProtectedList(ds, by: host, vms: vms)
            notifyAgent(host, .protectedListLockCompleted(datastore: ds, acquired: acquired, protectedVMs: protectedLists[ds].map { Array($0.vms).sorted() } ?? []), after: io)
        case .renewProtectedList(let ds, let vms):
            var held = false
            if health(host, ds).isWritable, var lock = protectedLists[ds], lock.holder == host {
                lock.lastRenew = now
                lock.vms.formUnion(vms)
                protectedLists[ds] = lock
                held = true
            }
            notifyAgent(host, .protectedListRenewCompleted(datastore: ds, stillHeld: held), after: io)
        case .releaseProtectedList(let ds):
            if health(host, ds).isWritable, var lock = protectedLists[ds], lock.holder == host {
                if let index = lock.recordIndex { trace.protectedListLocks[index].to = now.seconds }
                lock.holder = nil
                lock.recordIndex = nil
                protectedLists[ds] = lock
            }
        case .checkProtectedListOwner(let ds):
            var owned: Bool?
            if health(host, ds).isReadable {
                if let lock = protectedLists[ds], lock.holder != nil, now.duration(since: lock.lastRenew) < setup.settings.protectedListLockExpiry {
                    owned = true
                } else {
                    owned = false
                }
            }
            notifyAgent(host, .protectedListOwnerChecked(datastore: ds, ownedByAMaster: owned), after: io)
        case .writePoweredOffMarker(let ds, let vm):
            if health(host, ds).isWritable, markers.insert(DatastoreVM(datastore: ds, vm: vm)).inserted {
                trace.fileObservations.append(FileObservation(time: now.seconds, datastore: ds, content: .poweredOffMarker(vm: vm, present: true)))
            }
        case .removePoweredOffMarker(let ds, let vm):
            if health(host, ds).isWritable, markers.remove(DatastoreVM(datastore: ds, vm: vm)) != nil {
                trace.fileObservations.append(FileObservation(time: now.seconds, datastore: ds, content: .poweredOffMarker(vm: vm, present: false)))
            }
        case .probeIsolationAddresses:
            let state = hosts[host]
            let answered = state.map { !$0.isolated && !$0.isolationAddressDropped && !managementOutage && !dropped($0.loss) } ?? false
            notifyAgent(host, .isolationProbeCompleted(anyAnswered: answered), after: .milliseconds(1))
        case .pingHost(let target):
            let answered = connected(host, target) && hosts[target]?.powered == true
            notifyAgent(host, .livenessPingCompleted(host: target, answered: answered), after: .milliseconds(1))
        case .powerOnVM(let vm):
            beginPowerOn(vm, on: host, byHA: true)
        case .powerOffVM(let vm, let reason):
            for instance in instancesOn(host) where instance.vm == vm {
                stopInstance(instance.id, reason: reason, releaseLock: true, notify: true)
            }
        case .shutdownGuest(let vm):
            for instance in instancesOn(host) where instance.vm == vm && !instance.shuttingDown {
                instances[instance.id]?.shuttingDown = true
                // A hung guest or one whose disk I/O is stalled never finishes shutting down.
                let home = cluster.vm(vm)?.homeDatastore
                if !instance.hung, let home, health(host, home).isWritable {
                    schedule(at: now + setup.guestShutdownDuration, .shutdownComplete(instance.id))
                }
            }
        case .resetVM(let vm):
            for instance in instancesOn(host) where instance.vm == vm {
                stopInstance(instance.id, reason: .vmMonitoringReset, releaseLock: true, notify: true)
                startInstance(vm, on: host, byHA: false, notify: true)
            }
        case .saveLocalConfig(let config):
            hosts[host]?.localConfig = config
        case .record(let event):
            trace.events.append(TimedEvent(time: now.seconds, event: event))
        }
    }

    mutating func transmit(_ message: PeerMessage, from sender: HostID, to target: HostID) {
        guard connected(sender, target), let receiver = hosts[target],
              !dropped(hosts[sender]?.loss ?? 0), !dropped(receiver.loss) else {
            trace.messagesDropped += 1
            return
        }
        let latency = rng.duration(setup.minLatency, setup.maxLatency)
        schedule(at: now + latency, .deliver(target, .messageReceived(message, from: sender), generation: receiver.agentGeneration))
    }

    mutating func dropped(_ probability: Double) -> Bool {
        probability > 0 && rng.unit() < probability
    }

    /// Whether management traffic flows from `a` to `b` now.
    func connected(_ a: HostID, _ b: HostID) -> Bool {
        guard !managementOutage, let ha = hosts[a], let hb = hosts[b], ha.powered, hb.powered, !ha.isolated, !hb.isolated else { return false }
        for groups in partitions.values {
            let ga = groups.firstIndex { $0.contains(a) }
            let gb = groups.firstIndex { $0.contains(b) }
            if let ga, let gb, ga != gb { return false }
        }
        for cut in oneWayCuts.values where cut.from.contains(a) && cut.to.contains(b) { return false }
        return true
    }

    /// The protectedlist lock: free, expired or already ours → ours (oracle §3.1).
    mutating func acquireProtectedList(_ ds: DatastoreID, by host: HostID, vms: [VMID]) -> Bool {
        guard health(host, ds).isWritable else { return false }
        var lock = protectedLists[ds] ?? ProtectedListLock(holder: nil, lastRenew: now, vms: [], recordIndex: nil)
        let expired = now.duration(since: lock.lastRenew) >= setup.settings.protectedListLockExpiry
        if let holder = lock.holder, holder != host, !expired { return false }
        if let holder = lock.holder, holder != host, let index = lock.recordIndex {
            trace.protectedListLocks[index].to = (lock.lastRenew + setup.settings.protectedListLockExpiry).seconds
        }
        if lock.holder != host {
            trace.protectedListLocks.append(ProtectedListLockRecord(datastore: ds, holder: host, from: now.seconds, to: nil))
            lock.recordIndex = trace.protectedListLocks.count - 1
        }
        lock.holder = host
        lock.lastRenew = now
        lock.vms.formUnion(vms)
        protectedLists[ds] = lock
        return true
    }
}
