/// Agent-to-agent messages (UDP/TCP port 8182 in the real agent; the simulator delivers them directly).
public enum PeerMessage: Hashable, Sendable, Codable {
    /// Broadcast by every host taking part in an election (oracle §1.3–§1.6).
    case election(Candidate)
    /// Broadcast by a master so electing hosts and other masters can find it.
    case masterAnnounce(Candidate)
    /// Master → each slave, every heartbeat interval.
    case masterHeartbeat(MasterHeartbeat)
    /// Slave → its master, every heartbeat interval.
    case slaveHeartbeat(SlaveHeartbeat)
    /// Master → target host: power this VM on (a restart).
    case restartVM(vm: VMID, attempt: Int, attemptID: UInt64)
    /// Target host → master: the outcome of a restart.
    case restartResult(vm: VMID, attemptID: UInt64, succeeded: Bool, reason: String)
    /// Master → slaves: a newer cluster configuration.
    case configUpdate(ClusterConfig)

    /// A host's election credentials: most connected datastores wins, then the highest id as a string.
    public struct Candidate: Hashable, Sendable, Codable {
        public var host: HostID
        public var connectedDatastores: Int
        public init(host: HostID, connectedDatastores: Int) {
            self.host = host
            self.connectedDatastores = connectedDatastores
        }
        /// Whether `self` beats `other` under the election rule (oracle §1.4).
        public func beats(_ other: Candidate) -> Bool {
            if connectedDatastores != other.connectedDatastores { return connectedDatastores > other.connectedDatastores }
            return host > other.host
        }
    }

    public struct MasterHeartbeat: Hashable, Sendable, Codable {
        public var master: HostID
        public var configVersion: Int
        /// How many connected hosts can reach each datastore (VMCP conservative check).
        public var datastoreReach: [DatastoreID: Int]
        /// The `failedVMs` of the last slave heartbeat the master took from this slave: the slave
        /// repeats a failure in every heartbeat until it sees it here (datagrams get lost).
        public var ackedFailedVMs: [VMID]?
        public init(master: HostID, configVersion: Int, datastoreReach: [DatastoreID: Int], ackedFailedVMs: [VMID]? = nil) {
            self.master = master
            self.configVersion = configVersion
            self.datastoreReach = datastoreReach
            self.ackedFailedVMs = ackedFailedVMs
        }
    }

    public struct SlaveHeartbeat: Hashable, Sendable, Codable {
        public var host: HostID
        public var poweredOn: [VMID]
        public var accessibleDatastores: [DatastoreID]
        /// VMs that stopped unexpectedly since the last heartbeat, with whether HA should restart them.
        public var failedVMs: [VMID]
        public var configVersion: Int
        /// The sending agent's incarnation (its start, unique per agent process). A new value
        /// tells the master the agent restarted — with its host, after a quick reboot. Absent
        /// in messages of older agents.
        public var incarnation: UInt64?
        public init(host: HostID, poweredOn: [VMID], accessibleDatastores: [DatastoreID], failedVMs: [VMID], configVersion: Int, incarnation: UInt64? = nil) {
            self.incarnation = incarnation
            self.host = host
            self.poweredOn = poweredOn
            self.accessibleDatastores = accessibleDatastores
            self.failedVMs = failedVMs
            self.configVersion = configVersion
        }
    }
}
