// MARK: - Tick, messages, slave duties

extension FDM.Instance {
    mutating func onTick(_ now: Instant, into directives: inout [FDM.Directive]) {
        if !started {
            started = true
            record(.agentStarted, now, into: &directives)
            reselectHeartbeatDatastores(now, into: &directives)
            writePowerOnFileIfChanged(force: true, now, into: &directives)
            for vm in localVMs.keys.sorted() where monitoring[vm] == nil { startMonitoring(vm, now) }
            enterElection(now, into: &directives)
            nextHeartbeatFileWrite = now
        }
        noteResumeGap(now, into: &directives)
        if now >= nextHeartbeatFileWrite {
            heartbeatCounter += 1
            for ds in heartbeatDatastores where datastoreHealth[ds]?.isWritable == true {
                directives.append(.writeHeartbeatFile(ds, counter: heartbeatCounter))
            }
            nextHeartbeatFileWrite = now + settings.datastoreHeartbeatWriteInterval
        }
        switch role {
        case .election:
            electionTick(now, into: &directives)
            // An election won in this tick: the master's duties start now, not a tick later.
            if role == .master { masterTick(now, into: &directives) }
        case .slave: slaveTick(now, into: &directives)
        case .master: masterTick(now, into: &directives)
        case .none: break
        }
        isolationTick(now, into: &directives)
        // VM heartbeats and APD clocks kept running while this agent did not: judge them after
        // the grace, once hostd's fresh reports are in.
        guard !inResumeGrace else { return }
        monitoringTick(now, into: &directives)
        componentProtectionTick(now, into: &directives)
    }

    /// Time that passed while the agent did not run is no evidence of anyone's silence: after a
    /// gap of ``Settings/resumeGap`` between ticks, the agent asks for fresh evidence at once
    /// (heartbeats, announcements, an isolation-address probe) and for ``Settings/resumeGrace``
    /// takes no decision by its timers (no election result, no lost master, no unreachable or
    /// dead host, no isolation declaration or response, no VM-monitoring reset, no APD action).
    /// Without it a thawed master declared every slave dead before it read their heartbeats,
    /// and a thawed isolated host applied its isolation response in the same instant as the
    /// heal that cancelled it (sim nightly c62c88c7, seed 5429).
    mutating func noteResumeGap(_ now: Instant, into directives: inout [FDM.Directive]) {
        defer {
            lastTickAt = now
            inResumeGrace = resumeGraceUntil.map { now < $0 } ?? false
        }
        guard let last = lastTickAt, now.duration(since: last) >= settings.resumeGap else { return }
        let paused = now.duration(since: last).components
        record(.agentResumed(pausedSeconds: Double(paused.seconds) + Double(paused.attoseconds) / 1e18), now, into: &directives)
        resumeGraceUntil = now + settings.resumeGrace
        slave?.nextHeartbeat = now
        master?.nextHeartbeat = now
        master?.nextAnnounce = now
        switch isolation {
        case .connected: break
        case .probing(let since, _): isolation = .probing(since: since, nextProbe: now)
        case .isolated(var state):
            state.nextProbe = now
            isolation = .isolated(state)
        }
    }

    mutating func onMessage(_ message: PeerMessage, from sender: HostID, _ now: Instant, into directives: inout [FDM.Directive]) {
        guard sender != myself, config.host(sender) != nil else {
            record(.messageDropped(from: sender.rawValue, reason: "unknown host"), now, into: &directives)
            return
        }
        lastHeardAnyPeer = now
        let isElectionTraffic: Bool
        switch message {
        case .election, .masterAnnounce: isElectionTraffic = true
        default: isElectionTraffic = false
        }
        if !(bugs.contains(.isolationNotCancelledByElection) && isElectionTraffic) {
            cancelIsolation(reason: "agent traffic from \(sender)", now, into: &directives)
        }
        master?.members[sender]?.heard(at: now)

        switch message {
        case .election(let candidate):
            switch role {
            case .election:
                election?.candidates[sender] = candidate
                election?.heardAt[sender] = now
            case .slave:
                // Our master's host is electing: its agent restarted or lost its role.
                if slave?.master == sender { enterElection(now, into: &directives) }
            case .master:
                directives.append(.send(.masterAnnounce(myCandidate), to: sender))
            case .none:
                break
            }
        case .masterAnnounce(let candidate):
            onMasterSeen(sender, candidate: candidate, now, into: &directives)
        case .masterHeartbeat(let heartbeat):
            if role == .slave, slave?.master == sender {
                if let acked = heartbeat.ackedFailedVMs { unreportedFailures.removeAll { acked.contains($0) } }
                slave?.lastMasterHeartbeat = now
                slave?.datastoreReach = heartbeat.datastoreReach
                slave?.masterConfigVersion = heartbeat.configVersion
            } else {
                onMasterSeen(sender, candidate: PeerMessage.Candidate(host: sender, connectedDatastores: -1), now, into: &directives)
            }
        case .slaveHeartbeat(let heartbeat):
            masterOnSlaveHeartbeat(heartbeat, from: sender, now, into: &directives)
        case .restartVM(let vm, _, let attemptID):
            onRestartRequest(vm, attemptID: attemptID, from: sender, now, into: &directives)
        case .restartResult(let vm, let attemptID, let succeeded, let reason):
            masterOnRestartResult(vm, attemptID: attemptID, succeeded: succeeded, reason: reason, now, into: &directives)
        case .configUpdate(let newConfig):
            if role == .slave, slave?.master == sender, newConfig.version > config.version {
                applyConfig(newConfig, now, into: &directives)
            }
        }
    }

    /// Another host says it is master.
    mutating func onMasterSeen(_ other: HostID, candidate seen: PeerMessage.Candidate, _ now: Instant, into directives: inout [FDM.Directive]) {
        switch role {
        case .election, .none:
            if role == .election { becomeSlave(of: other, now, into: &directives) }
        case .slave:
            if slave?.master != other, let current = slave?.master {
                // Two masters visible: follow the one the rule prefers once they sort it out.
                _ = current
            }
        case .master:
            // Two masters after a partition heals: all but one abdicate (oracle §4.7).
            guard seen.connectedDatastores >= 0, !bugs.contains(.noAbdication) else { return }
            if candidate(seen, beats: myCandidate) {
                record(.abdicated(to: other), now, into: &directives)
                becomeSlave(of: other, now, into: &directives)
            }
        }
    }

    mutating func slaveTick(_ now: Instant, into directives: inout [FDM.Directive]) {
        guard let state = slave else { return }
        if !inResumeGrace, now.duration(since: state.lastMasterHeartbeat) >= settings.hostTimeout {
            // Lost the master: T10 election (oracle §4.2, §4.3).
            enterElection(now, into: &directives)
            return
        }
        if now >= state.nextHeartbeat { slaveSendHeartbeat(now, into: &directives) }
    }

    mutating func slaveSendHeartbeat(_ now: Instant, into directives: inout [FDM.Directive]) {
        guard let state = slave else { return }
        let heartbeat = PeerMessage.SlaveHeartbeat(
            host: myself, poweredOn: localVMs.keys.sorted(), accessibleDatastores: writableDatastores.sorted(),
            failedVMs: unreportedFailures, configVersion: config.version, incarnation: incarnation
        )
        // Kept until the master echoes them (``PeerMessage/MasterHeartbeat/ackedFailedVMs``): a
        // failure reported in one lost datagram left its VM down for good (sim nightly 33f46782,
        // a VM killed on a host with 55 % packet loss).
        directives.append(.send(.slaveHeartbeat(heartbeat), to: state.master))
        slave?.nextHeartbeat = now + settings.heartbeatInterval
    }

    /// The master asked this host to power a VM on (a restart).
    mutating func onRestartRequest(_ vm: VMID, attemptID: UInt64, from requester: HostID, _ now: Instant, into directives: inout [FDM.Directive]) {
        guard localVMs[vm] == nil else {
            directives.append(.send(.restartResult(vm: vm, attemptID: attemptID, succeeded: true, reason: "already running here"), to: requester))
            return
        }
        localRestartAttempts[vm] = (attemptID, requester)
        directives.append(.powerOnVM(vm))
    }

    mutating func onPowerOnCompleted(_ vm: VMID, succeeded: Bool, reason: String, _ now: Instant, into directives: inout [FDM.Directive]) {
        guard let attempt = localRestartAttempts.removeValue(forKey: vm) else { return }
        if succeeded {
            record(.vmPoweredOnLocally(vm: vm), now, into: &directives)
            // Power-off markers are deleted when the VM is powered on again (oracle §3.1).
            if let home = vmConfig(vm)?.homeDatastore, datastoreHealth[home]?.isWritable == true {
                directives.append(.removePoweredOffMarker(home, vm: vm))
            }
        }
        if attempt.master == myself {
            masterOnRestartResult(vm, attemptID: attempt.id, succeeded: succeeded, reason: reason, now, into: &directives)
        } else {
            directives.append(.send(.restartResult(vm: vm, attemptID: attempt.id, succeeded: succeeded, reason: reason), to: attempt.master))
        }
    }

    mutating func onConfigurationPushed(_ newConfig: ClusterConfig, _ now: Instant, into directives: inout [FDM.Directive]) {
        guard newConfig.version > config.version else { return }
        applyConfig(newConfig, now, into: &directives)
    }

    mutating func applyConfig(_ newConfig: ClusterConfig, _ now: Instant, into directives: inout [FDM.Directive]) {
        let removedProtection = Set(config.vms.filter(\.isProtected).map(\.id)).subtracting(newConfig.vms.filter(\.isProtected).map(\.id))
        config = newConfig
        directives.append(.saveLocalConfig(newConfig))
        record(.configApplied(version: newConfig.version), now, into: &directives)
        for ds in newConfig.host(myself)?.datastores ?? [] where datastoreHealth[ds] == nil { datastoreHealth[ds] = .accessible }
        if var state = master {
            for vm in removedProtection { state.restarts.removeValue(forKey: vm) }
            for host in newConfig.hosts.map(\.id) where host != myself && state.members[host] == nil {
                state.members[host] = FDM.MemberState(lastHeard: now)
            }
            master = state
        }
        reselectHeartbeatDatastores(now, into: &directives)
    }

    mutating func onHostdAvailability(_ available: Bool, _ now: Instant, into directives: inout [FDM.Directive]) {
        guard available != hostdAvailable else { return }
        hostdAvailable = available
        if available {
            record(.hostdAvailable, now, into: &directives)
            // Rejoin as a fresh agent would.
            if started { enterElection(now, into: &directives) }
        } else {
            record(.hostdUnavailable, now, into: &directives)
            // Halt: no heartbeats, no election, no response; locks lapse on their own.
            master = nil
            slave = nil
            election = nil
            isolation = .connected
            setRole(.none, now, into: &directives)
        }
    }
}
