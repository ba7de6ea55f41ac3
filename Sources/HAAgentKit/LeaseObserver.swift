import HACore
import Synchronization

// MARK: - LeaseObserver

/// What one host has seen of each datastore's protectedlist lease, on its own clock.
///
/// The lease rule (docs/NODES.md §3) never compares clocks across hosts: another host's lease
/// is stale only after *this* host observed its `(owner, epoch, renewedCounter)` unchanged for
/// `protectedListLockExpiry` of local time. This class keeps, per datastore, the last token
/// seen and the local ``HACore/Instant`` it was first seen.
///
/// Design choice: ``DatastoreStore`` is a `Sendable` struct and holds one shared
/// `LeaseObserver` (a reference), so copies of a store share the observations. The state is
/// guarded by a `Mutex`, so the class is `Sendable` without `@unchecked`.
public final class LeaseObserver: Sendable {
    /// One datastore's observation.
    public struct Observation: Hashable, Sendable {
        /// The lease holder seen (nil: released, or the file did not parse).
        public var owner: HostID?
        /// The epoch seen (nil when the file did not parse).
        public var epoch: UInt64?
        /// The renewal counter seen (nil when the file did not parse).
        public var counter: UInt64?
        /// The local time this token was first seen.
        public var since: Instant
    }

    private let observations = Mutex<[DatastoreID: Observation]>([:])

    /// Creates an observer with no observations.
    public init() {}

    /// Records the token seen at `now`.
    ///
    /// - Parameters:
    ///   - datastore: The datastore.
    ///   - owner: The owner read from the file.
    ///   - epoch: The epoch read from the file.
    ///   - counter: The renewal counter read from the file.
    ///   - now: Local monotonic time of the read.
    /// - Returns: How long the token has been unchanged on this host's clock (zero when it just changed).
    @discardableResult
    public func observe(
        _ datastore: DatastoreID, owner: HostID?, epoch: UInt64?, counter: UInt64?, at now: Instant
    ) -> Duration {
        observations.withLock { table in
            if let seen = table[datastore], seen.owner == owner, seen.epoch == epoch, seen.counter == counter {
                return now.duration(since: seen.since)
            }
            table[datastore] = Observation(owner: owner, epoch: epoch, counter: counter, since: now)
            return .zero
        }
    }

    /// The current observation of a datastore, if any.
    ///
    /// - Parameter datastore: The datastore.
    /// - Returns: The last token seen and since when.
    public func observation(of datastore: DatastoreID) -> Observation? {
        observations.withLock { $0[datastore] }
    }

    /// Drops a datastore's observation (the next read starts a new expiry span).
    ///
    /// - Parameter datastore: The datastore.
    public func forget(_ datastore: DatastoreID) {
        _ = observations.withLock { $0.removeValue(forKey: datastore) }
    }
}
