// MARK: - This host: VMs, datastores, heartbeat files, poweron file, VM monitoring, component protection

extension FDM.Instance {
    mutating func onVMPowerState(_ vm: VMID, poweredOn: Bool, reason: VMEndReason?, _ now: Instant, into directives: inout [FDM.Directive]) {
        if poweredOn {
            if localVMs[vm] == nil { localVMs[vm] = FDM.LocalVM(since: now) }
            // Running here again (restarted on this host): no longer a failure to report.
            unreportedFailures.removeAll { $0 == vm }
            startMonitoring(vm, now)
            if case .isolated(var state) = isolation {
                state.handled.remove(vm)
                isolation = .isolated(state)
            }
        } else {
            let wasOn = localVMs.removeValue(forKey: vm) != nil
            if case .isolated(var state) = isolation {
                state.shutdownDeadlines.removeValue(forKey: vm)
                isolation = .isolated(state)
            }
            if reason != .vmMonitoringReset { monitoring.removeValue(forKey: vm) }
            if wasOn, isFailure(vm, reason: reason) {
                if isActingMaster {
                    noteVMFailure(vm, on: myself, reason: reason?.rawValue ?? "unknown", now, into: &directives)
                } else if !unreportedFailures.contains(vm) {
                    unreportedFailures.append(vm)
                    if bugs.contains(.restartDuringElection), role == .election {
                        let config = vmConfig(vm)
                        record(.restartIssued(vm: vm, target: myself, attempt: 1, priority: config?.restartPriority ?? .medium), now, into: &directives)
                        directives.append(.powerOnVM(vm))
                    }
                }
            } else if wasOn, reason == .isolationResponse {
                // Powered off by this host's isolation response: the master restarts it (INV-I9).
                // It learns so from the poweron file while this host stays isolated; when the
                // network came back first (the response raced the heal), only this report tells it
                // — or this host restarts it itself when it is the acting master by then.
                if isActingMaster, let state = master {
                    if !knownRunningVMs(state).contains(vm) {
                        noteVMFailure(vm, on: myself, reason: "powered off by the isolation response", now, into: &directives)
                    }
                } else if !unreportedFailures.contains(vm) {
                    unreportedFailures.append(vm)
                }
            }
        }
        guard hostdAvailable, started else { return }
        writePowerOnFileIfChanged(force: false, now, into: &directives)
    }

    /// Whether HA should treat a VM stop as a failure to restart (oracle §4.1, §7.2).
    func isFailure(_ vm: VMID, reason: VMEndReason?) -> Bool {
        switch reason {
        case .crashed?, nil: true
        case .pdl?: config.maskCleanShutdownEnabled ?? settings.defaultMaskCleanShutdown
        case .running?, .userPowerOff?, .isolationResponse?, .lostLock?, .vmMonitoringReset?, .hostFailed?: false
        }
    }

    mutating func onDatastoreHealth(_ ds: DatastoreID, _ health: DatastoreHealth, _ now: Instant, into directives: inout [FDM.Directive]) {
        let previous = datastoreHealth[ds]
        guard previous != health else { return }
        datastoreHealth[ds] = health
        if health == .allPathsDown {
            apdSince[ds] = apdSince[ds] ?? now
        } else {
            apdSince.removeValue(forKey: ds)
            apdTimeoutRecorded.remove(ds)
        }
        guard hostdAvailable, started else { return }
        if !health.isWritable, master?.owned.contains(ds) == true {
            master?.owned.remove(ds)
            directives.append(.releaseProtectedList(ds))
            record(.lockReleased(ds, reason: "datastore access lost"), now, into: &directives)
        }
        if health == .permanentDeviceLoss, config.pdlResponse == .restartConservative || config.pdlResponse == .restartAggressive {
            for vm in localVMs.keys.sorted() where vmConfig(vm)?.homeDatastore == ds {
                record(.componentProtectionKill(vm: vm, datastore: ds), now, into: &directives)
                directives.append(.powerOffVM(vm, reason: .pdl))
            }
        }
        reselectHeartbeatDatastores(now, into: &directives)
        writePowerOnFileIfChanged(force: health.isWritable, now, into: &directives)
    }

    /// Re-pick heartbeat datastores among the accessible candidates (oracle §2.4).
    mutating func reselectHeartbeatDatastores(_ now: Instant, into directives: inout [FDM.Directive]) {
        let selection = config.heartbeatDatastores(for: myself, accessible: writableDatastores)
        guard selection != heartbeatDatastores else { return }
        heartbeatDatastores = selection
        record(.heartbeatDatastoresSelected(selection), now, into: &directives)
    }

    /// Writes the poweron file (isolation flag + powered-on VMs) to the heartbeat datastores when it changed.
    mutating func writePowerOnFileIfChanged(force: Bool, _ now: Instant, into directives: inout [FDM.Directive]) {
        let file = PowerOnFile(isolated: isIsolated, poweredOn: localVMs.keys.sorted())
        guard force || file != lastWrittenPowerOnFile else { return }
        let targets = config.heartbeatCandidates(for: myself).filter { datastoreHealth[$0]?.isWritable == true }
        guard !targets.isEmpty else { return }
        lastWrittenPowerOnFile = file
        directives.append(.writePowerOnFile(targets, file))
    }

    mutating func startMonitoring(_ vm: VMID, _ now: Instant) {
        guard vmConfig(vm)?.monitoring.enabled == true else { return }
        if var state = monitoring[vm] {
            state.poweredOnAt = now
            state.lastGuestHeartbeat = now
            state.lastApplicationHeartbeat = now
            state.lastIO = now
            monitoring[vm] = state
        } else {
            monitoring[vm] = FDM.MonitoringState(poweredOnAt: now, lastGuestHeartbeat: now, lastApplicationHeartbeat: now, lastIO: now)
        }
    }

    /// VM and application monitoring: reset on the same host after heartbeat loss with no I/O (oracle §8).
    mutating func monitoringTick(_ now: Instant, into directives: inout [FDM.Directive]) {
        guard !monitoring.isEmpty else { return }
        for (vm, var state) in monitoring.sorted(by: { $0.key < $1.key }) where localVMs[vm] != nil {
            guard let settings = vmConfig(vm)?.monitoring, settings.enabled else { continue }
            let toolsFailed = now.duration(since: state.lastGuestHeartbeat) >= self.settings.guestHeartbeatRedAfter + settings.failureInterval
            let appFailed = settings.applicationMonitoring && now.duration(since: state.lastApplicationHeartbeat) >= self.settings.guestHeartbeatRedAfter
            guard toolsFailed || appFailed else { continue }
            guard now.duration(since: state.poweredOnAt) >= settings.minUptime,
                  now.duration(since: state.lastIO) >= settings.ioStatsInterval else { continue }
            if let window = settings.maxFailureWindow {
                state.resets.removeAll { now.duration(since: $0) > window }
            }
            guard state.resets.count < settings.maxFailures else { continue }
            state.resets.append(now)
            state.poweredOnAt = now
            state.lastGuestHeartbeat = now
            state.lastApplicationHeartbeat = now
            state.lastIO = now
            monitoring[vm] = state
            record(.vmMonitoringReset(vm: vm, count: state.resets.count), now, into: &directives)
            directives.append(.resetVM(vm))
        }
    }

    /// APD handling: timeout after 140 s, VMCP action 180 s later (oracle §7.3, INV-APD1).
    mutating func componentProtectionTick(_ now: Instant, into directives: inout [FDM.Directive]) {
        guard !apdSince.isEmpty else { return }
        for (ds, since) in apdSince.sorted(by: { $0.key < $1.key }) {
            if !apdTimeoutRecorded.contains(ds), now >= since + settings.apdTimeout {
                apdTimeoutRecorded.insert(ds)
                record(.apdTimeout(ds), now, into: &directives)
            }
            guard now >= since + settings.apdTimeout + settings.apdTerminateDelay else { continue }
            let response = config.apdResponse
            guard response == .restartConservative || response == .restartAggressive else { continue }
            for vm in localVMs.keys.sorted() where vmConfig(vm)?.homeDatastore == ds {
                if response == .restartConservative, !anotherHostReaches(ds) { continue }
                record(.componentProtectionKill(vm: vm, datastore: ds), now, into: &directives)
                directives.append(.powerOffVM(vm, reason: .pdl))
                localVMs.removeValue(forKey: vm)
                if isActingMaster {
                    noteVMFailure(vm, on: myself, reason: "component protection", now, into: &directives)
                } else if !unreportedFailures.contains(vm) {
                    unreportedFailures.append(vm)
                }
            }
            writePowerOnFileIfChanged(force: false, now, into: &directives)
        }
    }

    /// Conservative VMCP: does some other connected host reach `ds`?
    func anotherHostReaches(_ ds: DatastoreID) -> Bool {
        if let state = master {
            return state.members.values.contains { $0.state == .alive && $0.isSlave && $0.reportedDatastores.contains(ds) }
        }
        return (slave?.datastoreReach[ds] ?? 0) > 0
    }
}
