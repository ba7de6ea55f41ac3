// MARK: - Election (oracle §1.3–§1.7)

extension FDM.Instance {
    /// Starts an election: broadcast our credentials, collect others' for ``Settings/electionDuration``.
    mutating func enterElection(_ now: Instant, into directives: inout [FDM.Directive]) {
        if master != nil { stepDownAsMaster(reason: "election", now, into: &directives) }
        slave = nil
        election = FDM.ElectionState(startedAt: now, nextBroadcast: now + settings.electionMessageInterval)
        record(.electionStarted, now, into: &directives)
        setRole(.election, now, into: &directives)
        directives.append(.broadcast(.election(myCandidate)))
    }

    /// Whether `a` beats `b` under the election rule, or under the numeric mutant.
    func candidate(_ a: PeerMessage.Candidate, beats b: PeerMessage.Candidate) -> Bool {
        guard bugs.contains(.numericHostIDs) else { return a.beats(b) }
        if a.connectedDatastores != b.connectedDatastores { return a.connectedDatastores > b.connectedDatastores }
        return numericPart(a.host) > numericPart(b.host)
    }

    private func numericPart(_ host: HostID) -> Int {
        Int(String(host.rawValue.reversed().prefix { $0.isNumber }.reversed())) ?? 0
    }

    mutating func electionTick(_ now: Instant, into directives: inout [FDM.Directive]) {
        guard var state = election else { return }
        if now >= state.nextBroadcast {
            directives.append(.broadcast(.election(myCandidate)))
            state.nextBroadcast = now + settings.electionMessageInterval
        }
        let end = state.startedAt + settings.electionDuration
        guard !inResumeGrace else {
            // Candidates' messages from before the gap are stale: hear them again first.
            election = state
            return
        }
        if state.awaitingWinner == nil, now >= end {
            var best = myCandidate
            // A candidate silent for half the host timeout (five election messages missed) left
            // the election (it died or was cut off mid-election): waiting for it to announce
            // itself would leave the cluster without a master for another round.
            let freshSince = now - settings.hostTimeout.scaled(by: 0.5)
            for (host, other) in state.candidates
            where (state.heardAt[host] ?? state.startedAt) >= state.startedAt && (state.heardAt[host] ?? state.startedAt) >= freshSince {
                if candidate(other, beats: best) { best = other }
            }
            if best.host == myself {
                election = nil
                becomeMaster(participants: state.heardAt, electionStartedAt: state.startedAt, now, into: &directives)
                return
            }
            state.awaitingWinner = best.host
        }
        if state.awaitingWinner != nil, now >= end + settings.electionDuration {
            // The winner never announced itself: elect again.
            election = nil
            enterElection(now, into: &directives)
            return
        }
        election = state
    }

    /// Takes the master role: lock protectedlists, start heartbeating slaves.
    mutating func becomeMaster(
        participants: [HostID: Instant], electionStartedAt: Instant, _ now: Instant, into directives: inout [FDM.Directive]
    ) {
        record(.electionWon(datastores: myCandidate.connectedDatastores), now, into: &directives)
        setRole(.master, now, into: &directives)
        var state = FDM.MasterState(since: now)
        for host in config.hosts.map(\.id) where host != myself {
            // Hosts that took part in the election were alive then; the others were already
            // silent for at least the time that triggered it (oracle §4.2: dead at T35).
            let heard = participants[host] ?? (electionStartedAt - settings.hostTimeout)
            state.members[host] = FDM.MemberState(lastHeard: heard)
        }
        state.electedAlone = config.hosts.count > 1 && config.hostMonitoringEnabled
            && !participants.contains { $0.key != myself && $0.value >= electionStartedAt }
        master = state
        directives.append(.broadcast(.masterAnnounce(myCandidate)))
        masterAcquireLocks(now, into: &directives)
    }

    /// Gives up the master role (abdication, isolation, election, hostd loss): release every lock.
    mutating func stepDownAsMaster(reason: String, _ now: Instant, into directives: inout [FDM.Directive]) {
        guard let state = master else { return }
        for ds in state.owned.sorted() {
            directives.append(.releaseProtectedList(ds))
            record(.lockReleased(ds, reason: reason), now, into: &directives)
        }
        // Failures this master knew of and had not yet restarted are handed on: reported to the
        // next master in this host's slave heartbeats (it skips VMs it sees running).
        for vm in state.restarts.keys.sorted() where !unreportedFailures.contains(vm) { unreportedFailures.append(vm) }
        master = nil
    }

    /// Follow `newMaster` as its slave.
    mutating func becomeSlave(of newMaster: HostID, _ now: Instant, into directives: inout [FDM.Directive]) {
        if master != nil { stepDownAsMaster(reason: "abdication", now, into: &directives) }
        election = nil
        slave = FDM.SlaveState(master: newMaster, lastMasterHeartbeat: now, nextHeartbeat: now, masterConfigVersion: 0)
        record(.joinedMaster(newMaster), now, into: &directives)
        setRole(.slave, now, into: &directives)
        slaveSendHeartbeat(now, into: &directives)
    }
}
