// MARK: - Isolation detection and response (oracle §4.3–§4.5, §5)

extension FDM.Instance {
    /// Isolation addresses in use (the management gateway by default).
    var isolationAddresses: [String] {
        config.isolationAddresses.isEmpty ? ["gateway"] : config.isolationAddresses
    }

    /// A master that hears no other agent pings its isolation addresses; after the ping window
    /// with no answer it declares itself isolated (a slave reaches this as a self-elected master
    /// at T25, so T30; a master 5 s after its last agent traffic, so ≈T5).
    mutating func isolationTick(_ now: Instant, into directives: inout [FDM.Directive]) {
        guard config.hosts.count > 1, config.hostMonitoringEnabled else { return }
        switch isolation {
        case .connected:
            guard role == .master, !inResumeGrace,
                  now.duration(since: lastHeardAnyPeer) > settings.heartbeatInterval + settings.tickInterval,
                  lastIsolationAnswer.map({ now.duration(since: $0) >= settings.isolationPingInterval }) ?? true else { return }
            isolation = .probing(since: now, nextProbe: now + settings.isolationPingInterval)
            record(.isolationProbeStarted, now, into: &directives)
            directives.append(.probeIsolationAddresses(isolationAddresses))
        case .probing(let since, let nextProbe):
            // A master that loses every slave counts the 5 s from its last agent traffic (oracle
            // §4.4: pings from T0, isolated at T5), after at least one unanswered ping interval;
            // a host that elected itself alone counts them from its first ping (§4.3: T25 → T30).
            let deadline = master.map { !$0.electedAlone } ?? false
                ? max(lastHeardAnyPeer + settings.isolationPingTimeout, since + settings.isolationPingInterval)
                : since + settings.isolationPingTimeout
            if now >= deadline, !inResumeGrace {
                declareIsolated(now, into: &directives)
                // With no policy delay (5.0) the response is due in this very tick.
                isolationResponseTick(now, into: &directives)
            } else if now >= nextProbe {
                isolation = .probing(since: since, nextProbe: now + settings.isolationPingInterval)
                directives.append(.probeIsolationAddresses(isolationAddresses))
            }
        case .isolated(var state):
            if now >= state.nextProbe {
                state.nextProbe = now + settings.isolationPingInterval
                directives.append(.probeIsolationAddresses(isolationAddresses))
            }
            isolation = .isolated(state)
            // After a gap, the probe just sent may show the isolation is over: no response yet.
            if !inResumeGrace { isolationResponseTick(now, into: &directives) }
        }
    }

    mutating func onIsolationProbe(answered: Bool, _ now: Instant, into directives: inout [FDM.Directive]) {
        guard answered else { return }
        // A lone master that can reach its isolation address re-probes once per ping interval.
        lastIsolationAnswer = now
        switch isolation {
        case .connected: break
        case .probing:
            isolation = .connected
        case .isolated:
            cancelIsolation(reason: "isolation address answered", now, into: &directives)
        }
    }

    /// Declares this host isolated: poweron flag 1, an isolated master releases its locks.
    mutating func declareIsolated(_ now: Instant, into directives: inout [FDM.Directive]) {
        let delay = bugs.contains(.noIsolationPolicyDelay) ? Duration.zero : settings.effectiveIsolationPolicyDelay
        isolation = .isolated(.init(declaredAt: now, responseAt: now + delay, nextProbe: now + settings.isolationPingInterval))
        record(.isolationDeclared, now, into: &directives)
        if master != nil, !bugs.contains(.isolatedMasterKeepsLocks) {
            stepDownLocksOnly(reason: "isolation", now, into: &directives)
        }
        // An isolated master restarts nothing; the failures it knew of are kept for whichever
        // master acts next (itself once the isolation clears, or another via slave heartbeats).
        for vm in (master?.restarts.keys.sorted() ?? []) where !unreportedFailures.contains(vm) { unreportedFailures.append(vm) }
        master?.restarts = [:]
        writePowerOnFileIfChanged(force: false, now, into: &directives)
    }

    /// An isolated master releases its protectedlist locks but keeps its (isolated) role.
    mutating func stepDownLocksOnly(reason: String, _ now: Instant, into directives: inout [FDM.Directive]) {
        guard let owned = master?.owned else { return }
        for ds in owned.sorted() {
            directives.append(.releaseProtectedList(ds))
            record(.lockReleased(ds, reason: reason), now, into: &directives)
        }
        master?.owned = []
    }

    /// A single successful ping or any agent traffic ends the isolation (oracle §4.5).
    mutating func cancelIsolation(reason: String, _ now: Instant, into directives: inout [FDM.Directive]) {
        switch isolation {
        case .connected:
            return
        case .probing:
            isolation = .connected
        case .isolated:
            isolation = .connected
            record(.isolationCleared(reason: reason), now, into: &directives)
            writePowerOnFileIfChanged(force: false, now, into: &directives)
            if role == .master { masterAcquireLocks(now, into: &directives) }
        }
    }

    /// At T_resp and after: apply the per-VM response under rule R-APPLY (oracle §5.3).
    mutating func isolationResponseTick(_ now: Instant, into directives: inout [FDM.Directive]) {
        guard case .isolated(var state) = isolation, now >= state.responseAt else { return }
        state.responseStarted = true
        // Forced power-off after the shutdown timeout (INV-I8).
        for (vm, deadline) in state.shutdownDeadlines.sorted(by: { $0.key < $1.key }) where now >= deadline {
            state.shutdownDeadlines.removeValue(forKey: vm)
            if localVMs[vm] != nil, !bugs.contains(.shutdownNeverForced) {
                record(.isolationShutdownForced(vm: vm), now, into: &directives)
                directives.append(.powerOffVM(vm, reason: .isolationResponse))
            }
        }
        var checks: [DatastoreID: [VMID]] = [:]
        for vm in localVMs.keys.sorted() where !state.handled.contains(vm) {
            guard let config = vmConfig(vm) else { state.handled.insert(vm); continue }
            let response = self.config.effectiveIsolationResponse(for: config)
            if response == .leavePoweredOn {
                state.handled.insert(vm)
                continue
            }
            if let until = state.deferredUntil[vm], now < until { continue }
            if state.awaitingOwnership.values.contains(where: { $0.contains(vm) }) { continue }
            let health = datastoreHealth[config.homeDatastore] ?? .allPathsDown
            if !health.isReadable || bugs.contains(.noOwnershipCheck) {
                // Cannot determine ownership (or the mutant skips the check): apply, to avoid split-brain.
                state.handled.insert(vm)
                isolation = .isolated(state)
                applyIsolationResponse(config, response: response, markerPossible: health.isWritable, now, into: &directives)
                guard case .isolated(let updated) = isolation else { return }
                state = updated
                continue
            }
            checks[config.homeDatastore, default: []].append(vm)
        }
        for (ds, vms) in checks.sorted(by: { $0.key < $1.key }) {
            if state.awaitingOwnership[ds] == nil { directives.append(.checkProtectedListOwner(ds)) }
            state.awaitingOwnership[ds, default: []].append(contentsOf: vms)
        }
        isolation = .isolated(state)
    }

    mutating func onOwnerChecked(_ ds: DatastoreID, owned: Bool?, _ now: Instant, into directives: inout [FDM.Directive]) {
        guard case .isolated(var state) = isolation, let vms = state.awaitingOwnership.removeValue(forKey: ds) else { return }
        isolation = .isolated(state)
        for vm in vms where localVMs[vm] != nil {
            guard let config = vmConfig(vm) else { continue }
            let response = self.config.effectiveIsolationResponse(for: config)
            if owned == false {
                // No master owns the datastore: defer and re-check (oracle §5.3, INV-I5, INV-I11).
                guard case .isolated(var s) = isolation else { return }
                if s.deferredUntil[vm] == nil { record(.isolationResponseDeferred(vm: vm), now, into: &directives) }
                s.deferredUntil[vm] = now + settings.isolationDeferRecheck
                isolation = .isolated(s)
                continue
            }
            guard case .isolated(var s) = isolation else { return }
            s.handled.insert(vm)
            s.deferredUntil.removeValue(forKey: vm)
            isolation = .isolated(s)
            applyIsolationResponse(config, response: response, markerPossible: owned == true && datastoreHealth[ds]?.isWritable == true, now, into: &directives)
        }
        _ = state
    }

    /// Marker first (when the home datastore is writable), then power off or shut down, then the poweron file (oracle §5.4).
    mutating func applyIsolationResponse(_ vm: VMConfig, response: IsolationResponse, markerPossible: Bool, _ now: Instant, into directives: inout [FDM.Directive]) {
        if markerPossible { directives.append(.writePoweredOffMarker(vm.homeDatastore, vm: vm.id)) }
        record(.isolationResponseApplied(vm: vm.id, response: response, markerWritten: markerPossible), now, into: &directives)
        if response == .shutdown && vm.hasTools {
            directives.append(.shutdownGuest(vm.id))
            if case .isolated(var state) = isolation {
                state.shutdownDeadlines[vm.id] = now + settings.isolationShutdownTimeout
                isolation = .isolated(state)
            }
        } else {
            directives.append(.powerOffVM(vm.id, reason: .isolationResponse))
            // Reported to the master once this host is back (or restarted by this host if it
            // stays master): the poweron file alone misses a heal before the master's next read.
            if localVMs[vm.id] != nil, !unreportedFailures.contains(vm.id) { unreportedFailures.append(vm.id) }
            localVMs.removeValue(forKey: vm.id)
            monitoring.removeValue(forKey: vm.id)
            writePowerOnFileIfChanged(force: false, now, into: &directives)
        }
    }
}
