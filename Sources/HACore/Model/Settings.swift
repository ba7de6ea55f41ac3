/// The vSphere release whose behaviour the agent follows.
public enum Profile: String, Sendable, Codable, CaseIterable {
    /// vSphere 5.0: isolation response at declaration (no policy delay).
    case v50 = "5.0"
    /// vSphere 5.1+: isolation policy delay ≥ 30 s; non-owning masters may restart with vCenter data.
    case v51 = "5.1"
}

/// Every protocol duration and limit, with the documented defaults (oracle §2, §4–§8).
///
/// All durations are multiplied by ``timeScale`` through ``scaled(by:)``; reports give real
/// seconds and the checker divides by the scale (DESIGN §3).
public struct Settings: Hashable, Sendable, Codable {
    public var profile: Profile
    /// The factor already applied to every duration (1 = documented timings).
    public var timeScale: Double

    /// How often the shell delivers `.tick` (the core's timer resolution).
    public var tickInterval: Duration
    /// Network heartbeat period, slave↔master (1 s).
    public var heartbeatInterval: Duration
    /// `das.config.fdm.hostTimeout`: silence before a slave starts an election / the master calls a slave unreachable (10 s).
    public var hostTimeout: Duration
    /// Silence after which the master starts checking a slave's datastore heartbeats (3 s).
    public var datastoreHeartbeatCheckDelay: Duration
    /// Total silence before a slave with heartbeat datastores can be declared dead (3 s + 15 s = 18 s).
    public var deadWithHeartbeatDatastores: Duration
    /// Liveness ping window after unreachable (5 s): dead at 15 s without heartbeat datastores.
    public var livenessPingWindow: Duration
    /// Minimum span of own observation of an unchanged heartbeat counter before calling it stale (10 s = two write periods).
    public var datastoreHeartbeatStaleAfter: Duration
    /// Heartbeat counter file write period (5 s).
    public var datastoreHeartbeatWriteInterval: Duration
    /// Election duration (15 s).
    public var electionDuration: Duration
    /// Election message broadcast period during an election.
    public var electionMessageInterval: Duration
    /// Master announcement period (lets electing hosts and other masters find the master).
    public var masterAnnounceInterval: Duration
    /// Isolation-address ping window (5 s, `das.config.fdm.icmpPingTimeout`).
    public var isolationPingTimeout: Duration
    /// Interval between isolation-address pings.
    public var isolationPingInterval: Duration
    /// `das.config.fdm.isolationPolicyDelaySec` (5.1+: at least 30 s; 5.0: ignored, 0).
    public var isolationPolicyDelay: Duration
    /// How soon an isolated host re-checks a deferred response (oracle §5.3 "short delay").
    public var isolationDeferRecheck: Duration
    /// `das.isolationShutdownTimeout` (300 s).
    public var isolationShutdownTimeout: Duration
    /// Master reads poweron files about every 30 s.
    public var powerOnFileReadInterval: Duration
    /// protectedlist lock renewal period.
    public var protectedListRenewInterval: Duration
    /// protectedlist lock expiry when not renewed (INFERRED: not documented; must be < 25 s so a
    /// new master can lock at T25, oracle §10.14). Used by the storage model, not by the agent.
    public var protectedListLockExpiry: Duration
    /// VM disk lock renewal period (NFS.DiskFileLockUpdateFreq = 10 s).
    public var vmDiskLockRenewInterval: Duration
    /// VM disk lock expiry: 10×3+5 = 35 s (KB1007909, NFSv3 defaults).
    public var vmDiskLockExpiry: Duration
    /// Restart retry waits after a failed attempt: 2, 4, 8, 16 min (attempts at T0, +2, +6, +14, +30 min).
    public var restartRetryDelays: [Duration]
    /// `das.maxvmrestartcount`: attempts including the first (5).
    public var maxRestartAttempts: Int
    /// `das.perHostConcurrentFailoversLimit` (32).
    public var perHostConcurrentFailoversLimit: Int
    /// Delay between a VM failure being learned and the restart being issued (`unknownStateMonitorPeriod`; default unknown, 0).
    public var restartIssueDelay: Duration
    /// New master: time from election to initiating restarts of protected VMs not running (T25 → T35).
    public var newMasterRestartDelay: Duration
    /// `Misc.APDTimeout` (140 s).
    public var apdTimeout: Duration
    /// VMCP `vmTerminateDelayForAPDSec` (180 s).
    public var apdTerminateDelay: Duration
    /// hostd reports a Tools/app heartbeat red after this much silence (61 s: first check after 60 s).
    public var guestHeartbeatRedAfter: Duration
    /// VM power-on takes this long to report (guest boot is not HA's concern).
    public var vmPowerOnDuration: Duration
    /// Restart a VM that vanished from an isolated host's poweron file even without a poweredoff
    /// marker (oracle §5.5 row 8: unconfirmed by sources; our reading: yes).
    public var restartIsolatedVMWithoutMarker: Bool

    /// vSphere 5.1+ defaults at scale 1.
    public static let v51 = Settings(profile: .v51)
    /// vSphere 5.0 defaults at scale 1.
    public static let v50 = Settings(profile: .v50)

    public init(profile: Profile = .v51, isolationPolicyDelay: Duration = .seconds(30)) {
        self.profile = profile
        self.timeScale = 1
        self.tickInterval = .milliseconds(100)
        self.heartbeatInterval = .seconds(1)
        self.hostTimeout = .seconds(10)
        self.datastoreHeartbeatCheckDelay = .seconds(3)
        self.deadWithHeartbeatDatastores = .seconds(18)
        self.livenessPingWindow = .seconds(5)
        self.datastoreHeartbeatStaleAfter = .seconds(10)
        self.datastoreHeartbeatWriteInterval = .seconds(5)
        self.electionDuration = .seconds(15)
        self.electionMessageInterval = .seconds(1)
        self.masterAnnounceInterval = .seconds(1)
        self.isolationPingTimeout = .seconds(5)
        self.isolationPingInterval = .seconds(1)
        self.isolationPolicyDelay = isolationPolicyDelay
        self.isolationDeferRecheck = .seconds(5)
        self.isolationShutdownTimeout = .seconds(300)
        self.powerOnFileReadInterval = .seconds(30)
        self.protectedListRenewInterval = .seconds(5)
        self.protectedListLockExpiry = .seconds(20)
        self.vmDiskLockRenewInterval = .seconds(10)
        self.vmDiskLockExpiry = .seconds(35)
        self.restartRetryDelays = [.seconds(120), .seconds(240), .seconds(480), .seconds(960)]
        self.maxRestartAttempts = 5
        self.perHostConcurrentFailoversLimit = 32
        self.restartIssueDelay = .zero
        self.newMasterRestartDelay = .seconds(10)
        self.apdTimeout = .seconds(140)
        self.apdTerminateDelay = .seconds(180)
        self.guestHeartbeatRedAfter = .seconds(61)
        self.vmPowerOnDuration = .milliseconds(500)
        self.restartIsolatedVMWithoutMarker = true
    }

    /// A gap between two ticks at least this long means the agent did not run meanwhile
    /// (SIGSTOP, a frozen cgroup, a stalled machine): 2 s at scale 1, twenty ticks.
    public var resumeGap: Duration { max(tickInterval * 20, heartbeatInterval * 2) }

    /// After such a gap, how long the agent gathers fresh evidence (heartbeats, isolation-address
    /// answers) before it judges anything by its timers: one heartbeat period and two ticks.
    public var resumeGrace: Duration { heartbeatInterval + tickInterval * 2 }

    /// D_iso: 0 on 5.0; max(30 s, configured) on 5.1+ (oracle §4).
    public var effectiveIsolationPolicyDelay: Duration {
        switch profile {
        case .v50: return .zero
        case .v51:
            let floor = Duration.seconds(30).scaled(by: timeScale)
            return isolationPolicyDelay < floor ? floor : isolationPolicyDelay
        }
    }

    /// `das.maskCleanShutdownEnabled` default for the profile (false on 5.0U1, true on 5.1+).
    public var defaultMaskCleanShutdown: Bool { profile == .v51 }

    /// A copy with every duration multiplied by `factor` (relative to the current scale).
    public func scaled(by factor: Double) -> Settings {
        precondition(factor > 0, "time scale must be positive, got \(factor)")
        var copy = self
        copy.timeScale = timeScale * factor
        copy.tickInterval = tickInterval.scaled(by: factor)
        copy.heartbeatInterval = heartbeatInterval.scaled(by: factor)
        copy.hostTimeout = hostTimeout.scaled(by: factor)
        copy.datastoreHeartbeatCheckDelay = datastoreHeartbeatCheckDelay.scaled(by: factor)
        copy.deadWithHeartbeatDatastores = deadWithHeartbeatDatastores.scaled(by: factor)
        copy.livenessPingWindow = livenessPingWindow.scaled(by: factor)
        copy.datastoreHeartbeatStaleAfter = datastoreHeartbeatStaleAfter.scaled(by: factor)
        copy.datastoreHeartbeatWriteInterval = datastoreHeartbeatWriteInterval.scaled(by: factor)
        copy.electionDuration = electionDuration.scaled(by: factor)
        copy.electionMessageInterval = electionMessageInterval.scaled(by: factor)
        copy.masterAnnounceInterval = masterAnnounceInterval.scaled(by: factor)
        copy.isolationPingTimeout = isolationPingTimeout.scaled(by: factor)
        copy.isolationPingInterval = isolationPingInterval.scaled(by: factor)
        copy.isolationPolicyDelay = isolationPolicyDelay.scaled(by: factor)
        copy.isolationDeferRecheck = isolationDeferRecheck.scaled(by: factor)
        copy.isolationShutdownTimeout = isolationShutdownTimeout.scaled(by: factor)
        copy.powerOnFileReadInterval = powerOnFileReadInterval.scaled(by: factor)
        copy.protectedListRenewInterval = protectedListRenewInterval.scaled(by: factor)
        copy.protectedListLockExpiry = protectedListLockExpiry.scaled(by: factor)
        copy.vmDiskLockRenewInterval = vmDiskLockRenewInterval.scaled(by: factor)
        copy.vmDiskLockExpiry = vmDiskLockExpiry.scaled(by: factor)
        copy.restartRetryDelays = restartRetryDelays.map { $0.scaled(by: factor) }
        copy.restartIssueDelay = restartIssueDelay.scaled(by: factor)
        copy.newMasterRestartDelay = newMasterRestartDelay.scaled(by: factor)
        copy.apdTimeout = apdTimeout.scaled(by: factor)
        copy.apdTerminateDelay = apdTerminateDelay.scaled(by: factor)
        copy.guestHeartbeatRedAfter = guestHeartbeatRedAfter.scaled(by: factor)
        copy.vmPowerOnDuration = vmPowerOnDuration.scaled(by: factor)
        return copy
    }
}
