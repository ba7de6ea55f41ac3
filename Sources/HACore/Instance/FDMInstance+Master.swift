// MARK: - Master duties: slaves, host-state classification, protectedlist ownership (oracle §2, §3, §4.1–§4.2)

extension FDM {
    struct MasterState: Sendable {
        var since: Instant
        var members: [HostID: MemberState] = [:]
        var owned: Set<DatastoreID> = []
        var acquiring: Set<DatastoreID> = []
        var nextAcquireAttempt: Instant
        var nextRenew: Instant
        var nextAnnounce: Instant
        var nextHeartbeat: Instant
        var restarts: [VMID: RestartEntry] = [:]
        /// VMs listed in the protectedlists this master holds.
        var protectedOnDisk: Set<VMID> = []
        /// Restart sweep of protected VMs nobody runs, due `newMasterRestartDelay` after election.
        var sweepAt: Instant?
        /// Datastores whose protectedlist this master has taken at least once: the first take of
        /// each arms the sweep, however late it comes (the old master's lease may run 20 s).
        var takenOver: Set<DatastoreID> = []
        /// Elected with no other agent taking part: possibly isolated, so no protectedlist is
        /// taken until an isolation address answers or another agent is heard
        /// (``FDM/Instance/isUnconfirmedLoneMaster``).
        var electedAlone = false

        init(since: Instant) {
            self.since = since
            self.nextAcquireAttempt = since
            self.nextRenew = since
            self.nextAnnounce = since
            self.nextHeartbeat = since
        }
    }

    /// What a master knows of another host.
    struct MemberState: Sendable {
        var state: HostState = .alive
        var lastHeard: Instant
        var isSlave = false
        var reportedVMs: [VMID] = []
        /// The `failedVMs` of its last slave heartbeat, echoed in the next master heartbeat.
        var failuresToAck: [VMID] = []
        /// The incarnation of the member's agent in its last slave heartbeat.
        var incarnation: UInt64?
        var reportedDatastores: Set<DatastoreID> = []
        var configVersion = 0
        var hbMonitoringSince: Instant?
        var hbNextRead: Instant = .zero
        var hbCounters: [DatastoreID: UInt64] = [:]
        var hbLastChange: Instant?
        var pingStartedAt: Instant?
        var nextPing: Instant = .zero
        var pingAnswered = false
        var nextPowerOnRead: Instant?
        var lastPowerOnFile: PowerOnFile?
        var powerOnFileRead = false
        var deadAt: Instant?

        init(lastHeard: Instant) { self.lastHeard = lastHeard }

        /// Network contact: everything suspicious is forgotten.
        mutating func heard(at now: Instant) {
            lastHeard = now
            hbMonitoringSince = nil
            hbCounters = [:]
            hbLastChange = nil
            pingStartedAt = nil
            pingAnswered = false
            nextPowerOnRead = nil
            deadAt = nil
        }
    }
}

extension FDM.Instance {
    /// A master acts (classifies, owns, restarts) until it is declared isolated; a probe of the
    /// isolation addresses in flight does not stop it (dead declarations take ≥ 15 s, isolation 5 s).
    var isActingMaster: Bool {
        guard role == .master, master != nil else { return false }
        if case .isolated = isolation { return false }
        return true
    }

    mutating func masterTick(_ now: Instant, into directives: inout [FDM.Directive]) {
        guard var state = master else { return }
        if now >= state.nextAnnounce {
            directives.append(.broadcast(.masterAnnounce(myCandidate)))
            state.nextAnnounce = now + settings.masterAnnounceInterval
        }
        if now >= state.nextHeartbeat {
            let reach = datastoreReach(state)
            for (host, member) in state.members.sorted(by: { $0.key < $1.key }) where member.isSlave && member.state != .dead {
                let ack = member.failuresToAck.isEmpty ? nil : member.failuresToAck
                directives.append(.send(.masterHeartbeat(.init(master: myself, configVersion: config.version, datastoreReach: reach, ackedFailedVMs: ack)), to: host))
                if member.configVersion < config.version {
                    directives.append(.send(.configUpdate(config), to: host))
                }
            }
            state.nextHeartbeat = now + settings.heartbeatInterval
        }
        master = state
        guard isActingMaster else { return }
        if !unreportedFailures.isEmpty {
            // Local VMs that failed, or that this host's isolation response powered off, while
            // it could not act as master (isolated, or before it won an election): this master
            // restarts them itself, unless they already run elsewhere.
            let running = knownRunningVMs(state)
            let failed = unreportedFailures
            unreportedFailures = []
            for vm in failed where !running.contains(vm) {
                noteVMFailure(vm, on: myself, reason: "failed while this host could not act as master", now, into: &directives)
            }
        }
        if now >= state.nextRenew {
            for ds in state.owned.sorted() {
                directives.append(.renewProtectedList(ds, vms: protectedVMs(on: ds)))
            }
            master?.nextRenew = now + settings.protectedListRenewInterval
        }
        if now >= state.nextAcquireAttempt { masterAcquireLocks(now, into: &directives) }
        // After a gap the members' silence is this agent's own: hear them before classifying.
        guard !inResumeGrace else { return }
        for host in state.members.keys.sorted() { classify(host, now, into: &directives) }
        if let sweep = master?.sweepAt, now >= sweep {
            master?.sweepAt = nil
            sweepUnprotectedRunning(now, into: &directives)
        }
        restartTick(now, into: &directives)
    }

    /// Number of connected hosts (this one included) that can write each datastore.
    func datastoreReach(_ state: FDM.MasterState) -> [DatastoreID: Int] {
        var reach: [DatastoreID: Int] = [:]
        for ds in writableDatastores { reach[ds, default: 0] += 1 }
        for member in state.members.values where member.state == .alive && member.isSlave {
            for ds in member.reportedDatastores { reach[ds, default: 0] += 1 }
        }
        return reach
    }

    /// VMs the protectedlist on `ds` lists: protected VMs whose home datastore it is.
    func protectedVMs(on ds: DatastoreID) -> [VMID] {
        config.vms.filter { $0.isProtected && $0.homeDatastore == ds }.map(\.id).sorted()
    }

    /// A master that won an election alone and has not yet heard another agent or an answer
    /// from an isolation address since. It may be an isolated host about to declare isolation
    /// (the 5.0 log shows that ~5 ms after self-election, oracle §4.3): taking protectedlists
    /// now would make it look like an owning master to other isolated hosts, which would then
    /// apply their isolation response during a full management-network outage (INV-I11; found
    /// by `chaos matrix` on the 5.0 profile). It takes them as soon as it is confirmed.
    var isUnconfirmedLoneMaster: Bool {
        guard let state = master, state.electedAlone else { return false }
        if lastHeardAnyPeer >= state.since { return false }
        if let answer = lastIsolationAnswer, answer >= state.since { return false }
        return true
    }

    /// Try to own every datastore holding cluster VMs that this host can write (oracle §3.1).
    /// While ``isUnconfirmedLoneMaster`` it returns without scheduling, so the master tick
    /// retries every tick and the locks follow the confirmation at once.
    mutating func masterAcquireLocks(_ now: Instant, into directives: inout [FDM.Directive]) {
        guard isActingMaster, !isUnconfirmedLoneMaster, var state = master else { return }
        let wanted = Set(config.vms.map(\.homeDatastore)).intersection(writableDatastores)
        for ds in wanted.sorted() where !state.owned.contains(ds) && !state.acquiring.contains(ds) {
            state.acquiring.insert(ds)
            directives.append(.acquireProtectedList(ds, vms: protectedVMs(on: ds)))
        }
        state.nextAcquireAttempt = now + settings.protectedListRenewInterval
        master = state
    }

    mutating func onProtectedListLock(_ ds: DatastoreID, acquired: Bool, vms: [VMID], _ now: Instant, into directives: inout [FDM.Directive]) {
        guard var state = master else {
            if acquired { directives.append(.releaseProtectedList(ds)) }
            return
        }
        state.acquiring.remove(ds)
        if acquired {
            if !isActingMaster && !bugs.contains(.isolatedMasterKeepsLocks) {
                master = state
                directives.append(.releaseProtectedList(ds))
                return
            }
            state.owned.insert(ds)
            state.protectedOnDisk.formUnion(vms)
            record(.lockAcquired(ds), now, into: &directives)
            record(.protectedVMsRead(datastore: ds, count: vms.count), now, into: &directives)
            // The first take of a protectedlist in this mastership arms the sweep (T35, or now
            // when the lock came later: the old master's lease outlived the election, which a
            // 15 s window after the election missed, leaving VMs of a host that rebooted
            // meanwhile down for good: sim nightly ddb0592b). A lock taken again later (after
            // an isolation of this master) arms nothing.
            if !state.takenOver.contains(ds) {
                state.takenOver.insert(ds)
                let due = max(state.since + settings.newMasterRestartDelay, now)
                state.sweepAt = min(state.sweepAt ?? due, due)
            }
        }
        master = state
    }

    mutating func onProtectedListRenew(_ ds: DatastoreID, stillHeld: Bool, _ now: Instant, into directives: inout [FDM.Directive]) {
        guard !stillHeld, master?.owned.contains(ds) == true else { return }
        master?.owned.remove(ds)
        record(.lockLost(ds), now, into: &directives)
    }

    mutating func masterOnSlaveHeartbeat(_ heartbeat: PeerMessage.SlaveHeartbeat, from sender: HostID, _ now: Instant, into directives: inout [FDM.Directive]) {
        guard var state = master else { return }
        var member = state.members[sender] ?? FDM.MemberState(lastHeard: now)
        let listedBefore = member.reportedVMs
        let restartedAgent = member.incarnation != nil && heartbeat.incarnation != nil && member.incarnation != heartbeat.incarnation
        member.incarnation = heartbeat.incarnation ?? member.incarnation
        member.heard(at: now)
        member.isSlave = true
        member.reportedVMs = heartbeat.poweredOn
        member.failuresToAck = heartbeat.failedVMs
        member.reportedDatastores = Set(heartbeat.accessibleDatastores)
        member.configVersion = heartbeat.configVersion
        let previous = member.state
        member.state = .alive
        state.members[sender] = member
        master = state
        if previous != .alive {
            record(.hostStateChanged(host: sender, state: .alive), now, into: &directives)
        }
        if previous != .alive || restartedAgent {
            // The host comes back from silence (a power cycle before it was declared dead, an
            // isolation or partition that healed before the next poweron-file read), or its agent
            // restarted (a reboot quicker than the host timeout): a protected VM it listed before
            // and lists no longer, and that nobody else runs, stopped while the master could not
            // see why: restart it (reading in README).
            let running = knownRunningVMs(master ?? state).union(heartbeat.poweredOn)
            for vm in listedBefore where !running.contains(vm) && !heartbeat.failedVMs.contains(vm) {
                noteVMFailure(vm, on: sender, reason: "gone when its host returned", now, into: &directives)
            }
        }
        for vm in heartbeat.poweredOn { master?.restarts[vm].map { _ in masterVMRunning(vm, on: sender, now, into: &directives) } }
        // A VM reported failed that already runs elsewhere (restarted meanwhile) needs nothing.
        let runningElsewhere = knownRunningVMs(master ?? state).subtracting(heartbeat.poweredOn)
        // A report repeated until acknowledged can outlive the failure: not for a VM the slave
        // runs again (restarted there), nor one that runs elsewhere.
        for vm in heartbeat.failedVMs where !runningElsewhere.contains(vm) && !heartbeat.poweredOn.contains(vm) {
            noteVMFailure(vm, on: sender, reason: "reported by slave", now, into: &directives)
        }
    }

    /// Classify a silent host (oracle §2.6, §4.1): unreachable at T10, dead at T15 (no heartbeat
    /// datastores) or T18 (with), isolated/partitioned while its datastore heartbeats go on.
    mutating func classify(_ host: HostID, _ now: Instant, into directives: inout [FDM.Directive]) {
        guard var member = master?.members[host] else { return }
        let silence = now.duration(since: member.lastHeard)
        guard silence >= settings.datastoreHeartbeatCheckDelay else { return }
        let candidates = config.heartbeatCandidates(for: host).filter { readableDatastores.contains($0) }

        if bugs.contains(.earlyDeadDeclaration), member.state != .dead, silence >= settings.hostTimeout {
            master?.members[host] = member
            declareDead(host, now, into: &directives)
            return
        }

        // Datastore heartbeat monitoring from T3 (INV-H1).
        if member.hbMonitoringSince == nil, !candidates.isEmpty {
            member.hbMonitoringSince = now
            member.hbNextRead = now
            record(.datastoreHeartbeatMonitoringStarted(host: host, lastHeard: member.lastHeard), now, into: &directives)
        }
        if member.hbMonitoringSince != nil, now >= member.hbNextRead {
            for ds in candidates { directives.append(.readHeartbeatFile(host: host, datastore: ds)) }
            member.hbNextRead = now + settings.heartbeatInterval
        }

        if silence >= settings.hostTimeout {
            if member.state == .alive {
                member.state = .unreachable
                record(.hostStateChanged(host: host, state: .unreachable), now, into: &directives)
            }
            if member.pingStartedAt == nil {
                member.pingStartedAt = now
                member.nextPing = now
                record(.livenessPingStarted(host: host, lastHeard: member.lastHeard), now, into: &directives)
            }
            if member.state != .dead, now >= member.nextPing {
                directives.append(.pingHost(host))
                member.nextPing = now + settings.heartbeatInterval
            }
        }

        master?.members[host] = member
        guard let pingStart = member.pingStartedAt, now >= pingStart + settings.livenessPingWindow else { return }
        if member.pingAnswered {
            // The host answers ICMP but its agent is silent: agent down, no restarts (oracle §2.6).
            return
        }
        let useDatastoreHeartbeats = !candidates.isEmpty && !bugs.contains(.ignoreDatastoreHeartbeats)
        if !useDatastoreHeartbeats {
            if member.state != .dead { declareDead(host, now, into: &directives) }
            return
        }
        guard silence >= settings.deadWithHeartbeatDatastores, let since = member.hbMonitoringSince,
              now.duration(since: since) >= settings.datastoreHeartbeatStaleAfter else { return }
        let lastSign = member.hbLastChange ?? since
        let heartbeating = member.hbLastChange != nil && now.duration(since: lastSign) < settings.datastoreHeartbeatStaleAfter
        if heartbeating {
            if member.state == .unreachable || member.state == .dead {
                let state: HostState = member.lastPowerOnFile?.isolated == true ? .isolated : .partitioned
                master?.members[host]?.state = state
                record(.hostStateChanged(host: host, state: state), now, into: &directives)
                master?.members[host]?.nextPowerOnRead = now
            }
            if let next = master?.members[host]?.nextPowerOnRead, now >= next {
                master?.members[host]?.nextPowerOnRead = now + settings.powerOnFileReadInterval
                directives.append(.readPowerOnFile(host: host, datastores: powerOnFileLocations(for: host)))
            }
        } else if member.state != .dead {
            declareDead(host, now, into: &directives)
        }
    }

    /// Where `host`'s poweron file may be: its heartbeat candidates this master can read.
    func powerOnFileLocations(for host: HostID) -> [DatastoreID] {
        config.heartbeatCandidates(for: host).filter { readableDatastores.contains($0) }
    }

    mutating func declareDead(_ host: HostID, _ now: Instant, into directives: inout [FDM.Directive]) {
        guard var member = master?.members[host] else { return }
        member.state = .dead
        member.deadAt = now
        master?.members[host] = member
        record(.hostStateChanged(host: host, state: .dead), now, into: &directives)
        // Restart what ran there: last heartbeat report, completed by the poweron file.
        for vm in member.reportedVMs {
            noteVMFailure(vm, on: host, reason: "host dead", now, into: &directives)
        }
        let locations = powerOnFileLocations(for: host)
        if !locations.isEmpty { directives.append(.readPowerOnFile(host: host, datastores: locations)) }
    }

    mutating func onLivenessPing(host: HostID, answered: Bool, _ now: Instant, into directives: inout [FDM.Directive]) {
        guard var member = master?.members[host], member.pingStartedAt != nil else { return }
        if answered, !member.pingAnswered, member.state == .unreachable {
            member.pingAnswered = true
        } else if !answered {
            member.pingAnswered = false
        }
        master?.members[host] = member
    }

    mutating func onHeartbeatFileRead(host: HostID, datastore: DatastoreID, counter: UInt64?, _ now: Instant, into directives: inout [FDM.Directive]) {
        guard var member = master?.members[host], member.hbMonitoringSince != nil, let counter else { return }
        if let previous = member.hbCounters[datastore], previous != counter { member.hbLastChange = now }
        member.hbCounters[datastore] = counter
        master?.members[host] = member
    }

    mutating func onPowerOnFileRead(host: HostID, file: PowerOnFile?, markers: Set<VMID>, _ now: Instant, into directives: inout [FDM.Directive]) {
        guard var member = master?.members[host], let file else { return }
        // Before the first read of the file, what the host last reported in its slave heartbeats
        // is what ran there (a host that rebooted while partitioned writes an empty file).
        let previous = member.powerOnFileRead || member.isSlave ? member.reportedVMs : nil
        member.lastPowerOnFile = file
        member.powerOnFileRead = true
        if member.state == .dead {
            master?.members[host] = member
            for vm in file.poweredOn {
                noteVMFailure(vm, on: host, reason: "host dead (poweron file)", now, into: &directives)
            }
            restartTick(now, into: &directives)
            return
        }
        if member.state == .isolated || member.state == .partitioned {
            let state: HostState = file.isolated ? .isolated : .partitioned
            if state != member.state {
                member.state = state
                record(.hostStateChanged(host: host, state: state), now, into: &directives)
            }
        }
        member.reportedVMs = file.poweredOn
        master?.members[host] = member
        // VMs that vanished from an isolated or partitioned host: HA powered them off (marker),
        // or they failed there (oracle §4.6, §4.7, decision table rows 5–8).
        guard let previous, member.state == .isolated || member.state == .partitioned else { return }
        let now_listed = Set(file.poweredOn)
        for vm in previous where !now_listed.contains(vm) {
            let marker = markers.contains(vm)
            guard marker || settings.restartIsolatedVMWithoutMarker else { continue }
            noteVMFailure(vm, on: host, reason: marker ? "powered off by isolation response" : "vanished from poweron file", now, into: &directives)
        }
    }

    /// New master: protected VMs that nobody reports running and whose host is gone get restarted
    /// (oracle §4.2 T35). Hosts not yet classified are left to ``classify(_:_:into:)``.
    mutating func sweepUnprotectedRunning(_ now: Instant, into directives: inout [FDM.Directive]) {
        guard let state = master else { return }
        var running = Set(localVMs.keys)
        var unknownHosts = false
        for member in state.members.values {
            if member.state == .alive && member.isSlave {
                running.formUnion(member.reportedVMs)
            } else if (member.state == .isolated || member.state == .partitioned) && member.powerOnFileRead {
                running.formUnion(member.reportedVMs)
            } else if member.state != .dead {
                // Not classified yet, or its poweron file not read yet: what runs there is unknown.
                unknownHosts = true
            }
        }
        guard !unknownHosts else {
            // Try again shortly, until every host is known: a host whose agent stays silent
            // while it answers pings is never classified, and when it comes back after the
            // 78 s this retry used to be bounded by, the VMs of a host that rebooted during the
            // election stayed down for good (sim nightly ddb0592b, a one-way cut of 80 s).
            master?.sweepAt = now + settings.heartbeatInterval
            return
        }
        for vm in config.vms where vm.isProtected && vm.restartPriority != .disabled && !running.contains(vm.id) && state.restarts[vm.id] == nil {
            noteVMFailure(vm.id, on: nil, reason: "protected but not running", now, into: &directives)
        }
    }
}
