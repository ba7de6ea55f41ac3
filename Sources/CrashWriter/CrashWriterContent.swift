import HACore
import HAWire

// MARK: - CrashWriterContent

/// What `crash-writer` writes, as pure functions of a counter, so the crash-consistency test can
/// tell whether a file after `kill -9` holds exactly a value that was written (issue 7, item 3).
///
/// The writer announces every write on stdout before it starts (`B <kind> <value>`) and after it
/// returns (`D <kind> <value>`); a file MUST then hold the last completed value or the one being
/// written, byte for byte as ``bytes(of:)`` gives it.
public enum CrashWriterContent {
    /// The cluster, datastore, host and VM the writer uses.
    public static let cluster = "cluster-1"
    public static let datastore: DatastoreID = "ds-1"
    public static let host: HostID = "host-1"
    public static let vm: VMID = "vm-01"
    /// The disk-lock instance (one per writer generation is not needed: the lock is renewed).
    public static let instance = "vm-01#crash-writer"

    /// A file the writer rewrites or appends to.
    public enum Kind: String, CaseIterable, Sendable {
        /// `<host>-hb` (``HAWire/HeartbeatFile``), through `DatastoreStore.writeHeartbeat`.
        case heartbeat = "hb"
        /// `<host>-poweron` (``HAWire/PowerOnFileFormat``), through `DatastoreStore.writePowerOn`.
        case powerOn = "po"
        /// `protectedlist` (``HAWire/ProtectedListFile``), through the lease calls of `DatastoreStore`.
        case protectedList = "pl"
        /// `<vm>/lock` (``HAWire/DiskLockFile``), through `DiskLock.replace` as vm-workload renews it.
        case lock = "lk"
        /// `<vm>/journal` (``HAWire/JournalRecord`` lines), through `FileOps.appendLine` as vm-workload appends.
        case journal = "jn"
    }

    /// One written value: a counter for every kind except the protectedlist.
    public enum Value: Hashable, Sendable, CustomStringConvertible {
        case counter(UInt64)
        case protectedList(owner: HostID?, epoch: UInt64, renewedCounter: UInt64)

        /// The report form: `<n>` or `<owner|-> <epoch> <counter>`.
        public var description: String {
            switch self {
            case .counter(let n): "\(n)"
            case .protectedList(let owner, let epoch, let counter): "\(owner?.rawValue ?? "-") \(epoch) \(counter)"
            }
        }

        /// Parses ``description``.
        public init?(_ kind: Kind, _ fields: [Substring]) {
            if kind == .protectedList {
                guard fields.count == 3, let epoch = UInt64(fields[1]), let counter = UInt64(fields[2]) else { return nil }
                self = .protectedList(owner: fields[0] == "-" ? nil : HostID(String(fields[0])), epoch: epoch, renewedCounter: counter)
            } else {
                guard fields.count == 1, let n = UInt64(fields[0]) else { return nil }
                self = .counter(n)
            }
        }
    }

    // MARK: - Contents

    /// The protectedlist's VMs in `epoch`: a prefix that grows with the epoch, so a takeover's
    /// merge with the previous list (``HAAgentKit/DatastoreStore/takeProtectedList``) is the
    /// new epoch's list again.
    public static func protectedVMs(epoch: UInt64) -> [VMID] {
        (1...max(1, min(epoch, 40))).map { VMID(paddedVM($0)) }
    }

    /// The poweron file of write `n`: the flag alternates, the list length varies, and the
    /// first VM names `n`.
    public static func powerOn(_ n: UInt64) -> PowerOnFile {
        PowerOnFile(isolated: n % 2 == 1, poweredOn: [VMID("seq-\(n)")] + (0..<(n % 17)).map { VMID(paddedVM($0)) })
    }

    /// Write `n` of `kind` as the file bytes the real code path produces (nil for the journal,
    /// whose lines carry the wall clock).
    public static func bytes(of kind: Kind, _ value: Value) -> [UInt8]? {
        switch (kind, value) {
        case (.heartbeat, .counter(let n)):
            return (try? HeartbeatFile(host: host, counter: n).serialized()).map { Array($0) }
        case (.powerOn, .counter(let n)):
            return Array(PowerOnFileFormat.serialize(powerOn(n)).utf8)
        case (.protectedList, .protectedList(let owner, let epoch, let counter)):
            let file = ProtectedListFile(owner: owner, epoch: epoch, renewedCounter: counter, vms: protectedVMs(epoch: epoch))
            return (try? file.serialized()).map { Array($0) }
        case (.lock, .counter(let n)):
            return (try? DiskLockFile(instance: instance, host: host, counter: n).serialized()).map { Array($0) }
        default:
            return nil
        }
    }

    private static func paddedVM(_ index: UInt64) -> String {
        index < 10 ? "vm-00\(index)" : index < 100 ? "vm-0\(index)" : "vm-\(index)"
    }
}
