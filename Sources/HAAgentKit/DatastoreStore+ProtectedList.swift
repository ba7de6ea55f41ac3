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
        var publishedEpoch: UInt64 = 0
        switch PosixFile.read(path, limit: DatastoreFiles.maxFileBytes) {
        case .failed:
            return result
        case .missing:
            next = ProtectedListFile(owner: host, epoch: 1, renewedCounter: 1, vms: vms)
        case .data(let data):
            let current = try? ProtectedListFile.parse(data)
            result.previousVMs = current?.vms ?? []
            publishedEpoch = current?.epoch ?? 0
            if let current, current.owner == host, rivalClaimExists(ds, host: host, above: current.epoch) {
                return result   // another host has claimed the next epoch: the lease is going
            }
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
        // A takeover (new epoch) is decided by an exclusive claim of that epoch: of two hosts
        // that both found the lease free or stale, exactly one wins (docs/NODES.md §3).
        let isTakeover = written.epoch != publishedEpoch
        if isTakeover {
            guard let epoch = claimEpoch(ds, content: written, publishedEpoch: publishedEpoch, expiry: expiry, now: now) else {
                return result
            }
            written.epoch = epoch
        }
        guard let data = try? written.serialized(), case .success = writeAtomically(path, data),
            let check = readProtectedList(ds), check.owner == host, check.epoch == written.epoch,
            check.renewedCounter == written.renewedCounter
        else { return result }
        observer.observe(ds, owner: check.owner, epoch: check.epoch, counter: check.renewedCounter, at: now)
        if isTakeover { removeClaims(ds, below: written.epoch) }
        result.acquired = true
        return result
    }

    /// The most epochs one takeover steps over stale claims (a claimant that died between its
    /// claim and its publish leaves one behind).
    static let maxClaimSteps = 4

    /// Claims the first free epoch from `content.epoch` on; returns the epoch won, or nil when
    /// another host holds the claim (or the datastore failed).
    ///
    /// A claim that exists but is not this host's is stepped over only when this host has seen
    /// it, unpublished (the protectedlist still below its epoch), for `expiry` of its own time.
    func claimEpoch(_ ds: DatastoreID, content: ProtectedListFile, publishedEpoch: UInt64, expiry: Duration, now: Instant) -> UInt64? {
        guard let host = content.owner else { return nil }
        var epoch = content.epoch
        for _ in 0..<Self.maxClaimSteps {
            var claim = content
            claim.epoch = epoch
            guard let data = try? claim.serialized(),
                  let path = haFilePath(ds, DatastoreFiles.protectedListClaimName(epoch: epoch)) else { return nil }
            switch PosixFile.createExclusively(path, data) {
            case .failure:
                return nil
            case .success(true):
                return epoch
            case .success(false):
                let existing = read(path).flatMap { try? ProtectedListFile.parse($0) }
                if existing?.owner == host { return epoch }   // ours, from a takeover whose publish failed
                let unchanged = observer.observe(
                    DatastoreID(ds.rawValue + "#claim"), owner: existing?.owner, epoch: epoch, counter: 0, at: now
                )
                guard unchanged >= expiry, publishedEpoch < epoch else { return nil }
                epoch &+= 1
            }
        }
        return nil
    }

    /// Whether a host other than `host` has claimed the epoch after `epoch`.
    func rivalClaimExists(_ ds: DatastoreID, host: HostID, above epoch: UInt64) -> Bool {
        guard let path = haFilePath(ds, DatastoreFiles.protectedListClaimName(epoch: epoch &+ 1)) else { return false }
        switch PosixFile.read(path, limit: DatastoreFiles.maxFileBytes) {
        case .missing: return false
        case .failed: return true
        case .data(let data): return (try? ProtectedListFile.parse(data))?.owner != host
        }
    }

    /// Removes claims of epochs below `epoch` (they decided past takeovers).
    func removeClaims(_ ds: DatastoreID, below epoch: UInt64) {
        guard let directory = haDirectoryPath(ds), case .success(let names) = PosixFile.list(directory) else { return }
        let prefix = DatastoreFiles.protectedListClaimName(epoch: 0).dropLast()
        for name in names where name.hasPrefix(prefix) {
            guard let claimed = UInt64(name.dropFirst(prefix.count)), claimed < epoch else { continue }
            _ = PosixFile.remove(directory + "/" + name)
        }
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
            current.owner == host, !rivalClaimExists(ds, host: host, above: current.epoch)
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
