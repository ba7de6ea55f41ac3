// MARK: - Restarts: order, concurrency, retries, placement (oracle §6.1–§6.5)

extension FDM {
    struct RestartEntry: Sendable {
        var vm: VMID
        var failedOn: HostID?
        /// Attempts issued so far by this master (a new master starts a fresh count, oracle §4.2).
        var attempts = 0
        var nextAttemptAt: Instant
        var inFlight: InFlight?
        var pendingPlacementRecorded = false

        struct InFlight: Sendable {
            var id: UInt64
            var target: HostID
            var issuedAt: Instant
        }
    }
}

extension FDM.Instance {
    /// Whether this master may restart `vm`: it owns its home datastore's protectedlist, or (5.1+)
    /// holds vCenter's protection information (oracle §4.1 filter, §4.7).
    func canVouch(for vm: VMConfig) -> Bool {
        guard vm.isProtected, vm.restartPriority != .disabled, let state = master else { return false }
        if state.owned.contains(vm.homeDatastore) { return true }
        return settings.profile == .v51 && vcenterConnected
    }

    @discardableResult
    mutating func enqueueRestart(_ vm: VMID, failedOn host: HostID?, _ now: Instant) -> Bool {
        guard master != nil, master?.restarts[vm] == nil, let config = vmConfig(vm),
              config.isProtected, config.restartPriority != .disabled else { return false }
        master?.restarts[vm] = FDM.RestartEntry(vm: vm, failedOn: host, nextAttemptAt: now + settings.restartIssueDelay)
        return true
    }

    /// Records a VM failure and queues its restart, once (no duplicate evidence).
    mutating func noteVMFailure(_ vm: VMID, on host: HostID?, reason: String, _ now: Instant, into directives: inout [FDM.Directive]) {
        if enqueueRestart(vm, failedOn: host, now) {
            record(.vmFailureDetected(vm: vm, host: host ?? myself, reason: reason), now, into: &directives)
        }
    }

    /// Time after which an unanswered attempt counts as failed (the target went silent).
    var restartAttemptTimeout: Duration { settings.hostTimeout + settings.vmDiskLockExpiry }

    /// Issue due restarts: placement by priority, per-host tiers, at most 32 in flight per host.
    mutating func restartTick(_ now: Instant, into directives: inout [FDM.Directive]) {
        guard isActingMaster, var state = master, !state.restarts.isEmpty else { return }

        // Unanswered attempts fail after a timeout.
        for (vm, entry) in state.restarts {
            if let flight = entry.inFlight, now.duration(since: flight.issuedAt) >= restartAttemptTimeout {
                master = state
                masterOnRestartResult(vm, attemptID: flight.id, succeeded: false, reason: "no answer from \(flight.target)", now, into: &directives)
                state = master ?? state
            }
        }

        let running = knownRunningVMs(state)
        var due: [VMConfig] = []
        for (vm, entry) in state.restarts.sorted(by: { $0.key < $1.key }) where entry.inFlight == nil {
            if running.contains(vm) {
                state.restarts.removeValue(forKey: vm)
                continue
            }
            guard now >= entry.nextAttemptAt, let config = vmConfig(vm), canVouch(for: config) else { continue }
            due.append(config)
        }
        guard !due.isEmpty else {
            master = state
            return
        }

        // Capacity of the hosts that can take restarts now.
        var capacities: [Placement.HostCapacity] = []
        var inFlightByHost: [HostID: [RestartPriority]] = [:]
        for entry in state.restarts.values {
            if let flight = entry.inFlight, let config = vmConfig(entry.vm) {
                inFlightByHost[flight.target, default: []].append(config.restartPriority)
            }
        }
        func capacity(of host: HostID, vms: [VMID], datastores: Set<DatastoreID>) -> Placement.HostCapacity? {
            guard let hostConfig = config.host(host) else { return nil }
            var cpu = 0, memory = 0
            for vm in vms { if let c = vmConfig(vm) { cpu += c.cpuReservationMHz; memory += c.memoryReservationMB + c.memoryOverheadMB } }
            return Placement.HostCapacity(
                host: host, cpuMHz: hostConfig.cpuMHz, memoryMB: hostConfig.memoryMB,
                reservedCPUMHz: cpu, reservedMemoryMB: memory, accessibleDatastores: datastores, vmCount: vms.count
            )
        }
        if let mine = capacity(of: myself, vms: Array(localVMs.keys), datastores: writableDatastores) { capacities.append(mine) }
        for (host, member) in state.members.sorted(by: { $0.key < $1.key }) where member.state == .alive && member.isSlave {
            if let c = capacity(of: host, vms: member.reportedVMs, datastores: member.reportedDatastores) { capacities.append(c) }
        }
        var failoverHosts: [HostID] = []
        if case .failoverHosts(let hosts) = config.admissionControl { failoverHosts = hosts }
        let outcome = Placement.place(due, on: capacities, failoverHosts: failoverHosts)

        for vm in outcome.unplaced where state.restarts[vm]?.pendingPlacementRecorded == false {
            state.restarts[vm]?.pendingPlacementRecorded = true
            record(.restartPendingPlacement(vm: vm), now, into: &directives)
        }

        // Per target host: higher priority first; a lower tier waits until no higher-tier
        // attempt is in flight there (oracle §6.1); at most 32 in flight (§6.3).
        let ordered = outcome.placements.compactMap { assignment -> (VMConfig, HostID)? in
            vmConfig(assignment.vm).map { ($0, assignment.host) }
        }.sorted { ($0.0.restartPriority.rank, $0.0.id) < ($1.0.restartPriority.rank, $1.0.id) }
        var blockedBelowRank: [HostID: Int] = [:]
        let ignorePriority = bugs.contains(.ignoreRestartPriority)
        for (vm, target) in ordered {
            let rank = vm.restartPriority.rank
            let flights = inFlightByHost[target] ?? []
            if !ignorePriority {
                if let blocked = blockedBelowRank[target], rank > blocked { continue }
                if flights.contains(where: { $0.rank < rank }) { continue }
            }
            if flights.count >= settings.perHostConcurrentFailoversLimit {
                blockedBelowRank[target] = min(blockedBelowRank[target] ?? Int.max, rank)
                continue
            }
            guard var entry = state.restarts[vm.id] else { continue }
            let id = allocateAttemptID()
            entry.attempts += 1
            entry.inFlight = .init(id: id, target: target, issuedAt: now)
            entry.pendingPlacementRecorded = false
            state.restarts[vm.id] = entry
            inFlightByHost[target, default: []].append(vm.restartPriority)
            record(.restartIssued(vm: vm.id, target: target, attempt: entry.attempts, priority: vm.restartPriority), now, into: &directives)
            if target == myself {
                localRestartAttempts[vm.id] = (id, myself)
                directives.append(.powerOnVM(vm.id))
            } else {
                directives.append(.send(.restartVM(vm: vm.id, attempt: entry.attempts, attemptID: id), to: target))
            }
        }
        master = state
    }

    /// VMs this master believes are powered on somewhere.
    func knownRunningVMs(_ state: FDM.MasterState) -> Set<VMID> {
        var running = Set(localVMs.keys)
        for member in state.members.values where member.state != .dead {
            running.formUnion(member.reportedVMs)
        }
        return running
    }

    mutating func masterOnRestartResult(_ vm: VMID, attemptID: UInt64, succeeded: Bool, reason: String, _ now: Instant, into directives: inout [FDM.Directive]) {
        guard var entry = master?.restarts[vm], let flight = entry.inFlight, flight.id == attemptID else { return }
        if succeeded {
            master?.restarts.removeValue(forKey: vm)
            record(.restartSucceeded(vm: vm, target: flight.target, attempt: entry.attempts), now, into: &directives)
            if flight.target != myself, master?.members[flight.target]?.reportedVMs.contains(vm) == false {
                master?.members[flight.target]?.reportedVMs.append(vm)
            }
            return
        }
        record(.restartFailed(vm: vm, target: flight.target, attempt: entry.attempts, reason: reason), now, into: &directives)
        entry.inFlight = nil
        if entry.attempts >= settings.maxRestartAttempts {
            master?.restarts.removeValue(forKey: vm)
            record(.restartGaveUp(vm: vm, attempts: entry.attempts), now, into: &directives)
            return
        }
        let delays = settings.restartRetryDelays
        let wait = bugs.contains(.shortRetrySchedule)
            ? Duration.seconds(10).scaled(by: settings.timeScale)
            : delays[min(entry.attempts - 1, delays.count - 1)]
        entry.nextAttemptAt = now + wait
        master?.restarts[vm] = entry
    }

    /// A queued VM was reported running: it needs no restart (unless an attempt is in flight).
    mutating func masterVMRunning(_ vm: VMID, on host: HostID, _ now: Instant, into directives: inout [FDM.Directive]) {
        guard let entry = master?.restarts[vm], entry.inFlight == nil else { return }
        master?.restarts.removeValue(forKey: vm)
    }
}
