extension FDM {
    /// An output of ``FDM/Instance``. Shells MUST carry directives out in order and report the
    /// outcome of each I/O directive back as an ``FDM/Event``.
    public enum Directive: Hashable, Sendable {
        /// Send a message to one host (TCP/UDP 8182).
        case send(PeerMessage, to: HostID)
        /// Broadcast a message on the management network (election traffic, master announcements).
        case broadcast(PeerMessage)
        /// Write this host's heartbeat counter file on a datastore (`host-N-hb`).
        case writeHeartbeatFile(DatastoreID, counter: UInt64)
        /// Read another host's heartbeat counter file → `.heartbeatFileRead`.
        case readHeartbeatFile(host: HostID, datastore: DatastoreID)
        /// Write this host's poweron file on these datastores (atomically).
        case writePowerOnFile([DatastoreID], PowerOnFile)
        /// Read a host's poweron file from the first readable of these datastores, plus markers → `.powerOnFileRead`.
        case readPowerOnFile(host: HostID, datastores: [DatastoreID])
        /// Take the exclusive protectedlist lock and write the list → `.protectedListLockCompleted`.
        case acquireProtectedList(DatastoreID, vms: [VMID])
        /// Renew the held lock, rewriting the list → `.protectedListRenewCompleted`.
        case renewProtectedList(DatastoreID, vms: [VMID])
        /// Release the lock (isolation, abdication, loss of access, shutdown).
        case releaseProtectedList(DatastoreID)
        /// Find out whether some master holds the lock → `.protectedListOwnerChecked`.
        case checkProtectedListOwner(DatastoreID)
        /// Create `poweredoff/<vm>` on the VM's home datastore.
        case writePoweredOffMarker(DatastoreID, vm: VMID)
        /// Delete `poweredoff/<vm>`.
        case removePoweredOffMarker(DatastoreID, vm: VMID)
        /// Ping the isolation addresses → `.isolationProbeCompleted`.
        case probeIsolationAddresses([String])
        /// ICMP ping a host's management address → `.livenessPingCompleted`.
        case pingHost(HostID)
        /// Ask hostd to power a VM on here → `.powerOnCompleted`.
        case powerOnVM(VMID)
        /// Hard power-off of a VM here.
        case powerOffVM(VMID, reason: VMEndReason)
        /// Ask the guest to shut down cleanly (VMware Tools).
        case shutdownGuest(VMID)
        /// Reset the VM on this host (VM monitoring).
        case resetVM(VMID)
        /// Persist the cluster configuration locally (`clusterconfig`, `hostlist`, `compatlist`).
        case saveLocalConfig(ClusterConfig)
        /// Append evidence to the node's `events.jsonl`.
        case record(HAEvent)
    }
}
