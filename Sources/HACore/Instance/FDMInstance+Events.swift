extension FDM {
    /// An input to ``FDM/Instance``: something the shell observed, with no I/O left to do.
    public enum Event: Hashable, Sendable {
        /// Time passed; deadlines are checked here.
        case tick
        /// A peer message arrived (already authenticated and decoded by the shell).
        case messageReceived(PeerMessage, from: HostID)
        /// The isolation-address probe finished: did any address answer?
        case isolationProbeCompleted(anyAnswered: Bool)
        /// An ICMP liveness ping of a host's management address finished.
        case livenessPingCompleted(host: HostID, answered: Bool)
        /// A host's heartbeat counter file was read (nil: missing or unreadable).
        case heartbeatFileRead(host: HostID, datastore: DatastoreID, counter: UInt64?)
        /// A host's poweron file was read (nil: none readable), plus the poweredoff markers present.
        case powerOnFileRead(host: HostID, file: PowerOnFile?, poweredOffMarkers: Set<VMID>)
        /// The outcome of `acquireProtectedList`: lock held now or not, and the VMs listed in the file.
        case protectedListLockCompleted(datastore: DatastoreID, acquired: Bool, protectedVMs: [VMID])
        /// The outcome of `renewProtectedList`.
        case protectedListRenewCompleted(datastore: DatastoreID, stillHeld: Bool)
        /// The outcome of `checkProtectedListOwner`: `nil` when the datastore cannot be read.
        case protectedListOwnerChecked(datastore: DatastoreID, ownedByAMaster: Bool?)
        /// I/O to a datastore started or stopped failing.
        case datastoreHealthChanged(DatastoreID, DatastoreHealth)
        /// hostd says a VM is now powered on or off here; `reason` tells why it stopped.
        case vmPowerStateChanged(vm: VMID, poweredOn: Bool, reason: VMEndReason?)
        /// The outcome of a `powerOnVM` directive (the disk lock decides).
        case powerOnCompleted(vm: VMID, succeeded: Bool, reason: String)
        /// hostd came back or went away (the agent halts while it is gone).
        case hostdAvailabilityChanged(available: Bool)
        /// vCenter pushed a configuration to this host (only a master receives these).
        case configurationPushed(ClusterConfig)
        /// vCenter asked this master to protect or unprotect a VM (the list on disk follows at the
        /// next protectedlist renewal; the shell acknowledges vCenter after that write).
        case vmProtectionChanged(VMID, protected: Bool)
        /// The vCenter connection of this agent came up or went down.
        case vcenterConnectionChanged(connected: Bool)
        /// A VMware Tools heartbeat from the guest.
        case guestHeartbeat(VMID)
        /// An application heartbeat (`VMGuestAppMonitor_MarkActive`).
        case applicationHeartbeat(VMID)
        /// The guest issued disk or network I/O.
        case vmIOObserved(VMID)
    }
}
