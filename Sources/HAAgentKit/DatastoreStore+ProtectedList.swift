import Foundation
import HACore
import HAWire

// MARK: - Protectedlist lease

extension DatastoreStore {
    /// The outcome of ``takeProtectedList(_:host:vms:expiry:now:)``.
    public struct ProtectedListTakeover: Hashable, Sendable {
        /// Whether this host holds the lease now.
        public var acquired: Bool
        /// The VMs listed in the file before this call (the previous master's protected VMs);
        /// empty when there was no readable file.
        public var previousVMs: [VMID]

        /// Creates an outcome.
        public init(acquired: Bool, previousVMs: [VMID]) {
            self.acquired = acquired
            self.previousVMs = previousVMs
        }
    }

    /// The current protectedlist of a datastore.
    ///
    /// - Parameter ds: The datastore.
    /// - Returns: The file, or nil when missing, unreadable or invalid.
    public func readProtectedList(_ ds: DatastoreID) -> ProtectedListFile? {
        guard let path = haFilePath(ds, DatastoreFiles.protectedListName), let data = read(path) else { return nil }
        return try? ProtectedListFile.parse(data)
    }

    /// Tries to take the protectedlist lease; see ``takeProtectedList(_:host:vms:expiry:now:)``.
    ///
    /// - Returns: Whether this host holds the lease now.
    public func acquireProtectedList(
        _ ds: DatastoreID, host: HostID, vms: [VMID], expiry: Duration, now: Instant
    ) -> Bool {
        takeProtectedList(ds, host: host, vms: vms, expiry: expiry, now: now).acquired
    }

    /// Tries to take the protectedlist lease (docs/NODES.md §3) and write `vms` into it.
    ///
    /// The lease is taken when the file is missing, released (`owner` null), already ours, or
    /// when this host has observed its `(owner, epoch, renewedCounter)` unchanged (or the file
    /// unparsable) for `expiry` of its own time, counted from the first call that saw it; call
    /// this periodically with the local monotonic `now`. Taking over increments `epoch`. The
    /// written list is `vms` merged with the previous list, so a takeover never forgets
    /// protected VMs; the next renewal writes the master's own list. The write is read back and
    /// the lease counts as taken only if the file then shows this host and the new counter
    /// (a concurrent taker that wrote last wins; the loser learns it on its next renewal).
    ///
    /// - Parameters:
    ///   - ds: The datastore.
    ///   - host: This host (the master).
    ///   - vms: The protected VMs homed on `ds`.
    ///   - expiry: `protectedListLockExpiry`.
    ///   - now: Local monotonic time of the call.
    /// - Returns: Whether the lease is held and the previous list.
    public func takeProtectedList(
        _ ds: DatastoreID, host: HostID, vms: [VMID], expiry: Duration, now: Instant
    ) -> ProtectedListTakeover {
        var result = ProtectedListTakeover(acquired: false, previousVMs: [])
        guard DatastoreFiles.isSafeComponent(host.rawValue), let path = haFilePath(ds, DatastoreFiles.protectedListName),
            ensureHADirectory(ds) == nil
        else { return result }
        let next: ProtectedListFile
        switch PosixFile.read(path, limit: DatastoreFiles.maxFileBytes) {
        case .failed:
            return result
        case .missing:
            next = ProtectedListFile(owner: host, epoch: 1, renewedCounter: 1, vms: vms)
        case .data(let data):
            let current = try? ProtectedListFile.parse(data)
            result.previousVMs = current?.vms ?? []
            if let current, current.owner == host || current.owner == nil {
                let epoch = current.owner == host ? current.epoch : current.epoch &+ 1
                next = ProtectedListFile(owner: host, epoch: epoch, renewedCounter: current.renewedCounter &+ 1, vms: vms)
            } else {
                let unchanged = observer.observe(
                    ds, owner: current?.owner, epoch: current?.epoch, counter: current?.renewedCounter, at: now
                )
                guard unchanged >= expiry else { return result }
                next = ProtectedListFile(
                    owner: host, epoch: (current?.epoch ?? 0) &+ 1, renewedCounter: (current?.renewedCounter ?? 0) &+ 1,
                    vms: vms
                )
            }
        }
        var written = next
        written.vms = Array(Set(vms).union(result.previousVMs)).sorted()
        guard let data = try? written.serialized(), case .success = writeAtomically(path, data),
            let check = readProtectedList(ds), check.owner == host, check.epoch == written.epoch,
            check.renewedCounter == written.renewedCounter
        else { return result }
        observer.observe(ds, owner: check.owner, epoch: check.epoch, counter: check.renewedCounter, at: now)
        result.acquired = true
        return result
    }

    /// Renews the held lease: rewrites the file with `renewedCounter + 1` and `vms`.
    ///
    /// The owner MUST call this every `protectedListRenewInterval`.
    ///
    /// - Parameters:
    ///   - ds: The datastore.
    ///   - host: This host.
    ///   - vms: The protected VMs homed on `ds`.
    /// - Returns: Whether the lease is still held: false when the file is unreadable, names
    ///   another owner (taken over) or none (released), or the write failed.
    @discardableResult
    public func renewProtectedList(_ ds: DatastoreID, host: HostID, vms: [VMID]) -> Bool {
        guard let path = haFilePath(ds, DatastoreFiles.protectedListName), let current = readProtectedList(ds),
            current.owner == host
        else { return false }
        let next = ProtectedListFile(owner: host, epoch: current.epoch, renewedCounter: current.renewedCounter &+ 1, vms: vms)
        guard let data = try? next.serialized(), case .success = writeAtomically(path, data) else { return false }
        return true
    }

    /// Releases the lease if this host holds it: writes `owner: null` (keeping the VM list for
    /// the next master) so other hosts may take it at once.
    ///
    /// - Parameters:
    ///   - ds: The datastore.
    ///   - host: This host.
    /// - Returns: Whether this host no longer holds the lease (true when it never did); false
    ///   when the file could not be read or written.
    @discardableResult
    public func releaseProtectedList(_ ds: DatastoreID, host: HostID) -> Bool {
        guard let path = haFilePath(ds, DatastoreFiles.protectedListName) else { return false }
        switch PosixFile.read(path, limit: DatastoreFiles.maxFileBytes) {
        case .missing:
            return true
        case .failed:
            return false
        case .data(let data):
            guard let current = try? ProtectedListFile.parse(data) else { return true }
            guard current.owner == host else { return true }
            let next = ProtectedListFile(owner: nil, epoch: current.epoch, renewedCounter: current.renewedCounter &+ 1, vms: current.vms)
            guard let bytes = try? next.serialized(), case .success = writeAtomically(path, bytes) else { return false }
            return true
        }
    }

    /// Whether some master holds the datastore's lease, as this host can tell (isolation
    /// response, oracle §5.3).
    ///
    /// Held means: an owner is named and this host has not yet seen the renewal counter
    /// unchanged for `expiry` of its own time (the first observation counts as fresh).
    ///
    /// - Parameters:
    ///   - ds: The datastore.
    ///   - expiry: `protectedListLockExpiry`.
    ///   - now: Local monotonic time of the call.
    /// - Returns: true when held, false when missing (on a mounted datastore), released or
    ///   stale, nil when the datastore or the file cannot be read.
    public func protectedListOwned(_ ds: DatastoreID, expiry: Duration, now: Instant) -> Bool? {
        guard let base = datastorePath(ds), let path = haFilePath(ds, DatastoreFiles.protectedListName) else { return nil }
        switch PosixFile.read(path, limit: DatastoreFiles.maxFileBytes) {
        case .failed:
            return nil
        case .missing:
            let mounted = !PosixFile.exists("\(base)/\(DatastoreFiles.pdlMarkerName)") && isPopulated(base)
            return mounted ? false : nil
        case .data(let data):
            guard let current = try? ProtectedListFile.parse(data) else { return nil }
            let unchanged = observer.observe(
                ds, owner: current.owner, epoch: current.epoch, counter: current.renewedCounter, at: now
            )
            guard current.owner != nil else { return false }
            return unchanged < expiry
        }
    }
}
