import Foundation
import HACore
import HAWire

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - DatastoreStore

/// The agent's view of the shared datastores: real file I/O on the files of docs/NODES.md §3.
///
/// Every path is resolved and opened anew on each call (no cached handles), so an unmounted
/// datastore fails at once. Every write is atomic (``writeAtomically(_:_:)``). Operations
/// return values (`Bool`, optionals, `Result`) and never throw: the agent turns failures into
/// FDM events. Ids from the network are checked with ``HAWire/DatastoreFiles/isSafeComponent(_:)``
/// before they name a file; an unsafe id fails the operation.
///
/// The protectedlist lease (``acquireProtectedList(_:host:vms:expiry:now:)``) needs per-datastore
/// observations on this host's clock; they live in the shared ``LeaseObserver`` reference, so
/// the struct stays `Sendable` and copies share them.
public struct DatastoreStore: Sendable {
    /// The directory datastores are mounted under (`/vmfs/volumes` on a node).
    public let root: String
    /// The cluster whose HA files this store reads and writes.
    public let cluster: String
    /// Protectedlist observations on this host's clock.
    public let observer: LeaseObserver

    /// Creates a store.
    ///
    /// - Parameters:
    ///   - cluster: The cluster name (a safe path component).
    ///   - root: The datastore mount root (tests pass a temporary directory).
    ///   - observer: Lease observations; share one per host.
    public init(cluster: String, root: String = DatastoreFiles.defaultRoot, observer: LeaseObserver = LeaseObserver()) {
        self.cluster = cluster
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        self.observer = observer
    }

    // MARK: - Paths

    /// `<root>/<ds>`, or nil when the id is unsafe.
    public func datastorePath(_ ds: DatastoreID) -> String? {
        guard DatastoreFiles.isSafeComponent(ds.rawValue) else { return nil }
        return "\(root)/\(ds.rawValue)"
    }

    /// `<root>/<ds>/.vSphere-HA/<cluster>`, or nil when an id is unsafe.
    public func haDirectoryPath(_ ds: DatastoreID) -> String? {
        guard let base = datastorePath(ds), DatastoreFiles.isSafeComponent(cluster) else { return nil }
        return "\(base)/\(DatastoreFiles.haDirectoryName)/\(cluster)"
    }

    /// `<root>/<ds>/.vSphere-HA/<cluster>/<name>`, or nil when an id or `name` is unsafe.
    func haFilePath(_ ds: DatastoreID, _ name: String) -> String? {
        guard let directory = haDirectoryPath(ds), DatastoreFiles.isSafeComponent(name) else { return nil }
        return "\(directory)/\(name)"
    }

    // MARK: - Raw files

    /// Writes a file atomically: `.<name>.tmp-<pid>` in the same directory, fsync, rename,
    /// fsync the directory (docs/NODES.md §3). Writes in one process are serialised.
    ///
    /// - Parameters:
    ///   - path: The destination; its directory MUST exist.
    ///   - data: The complete content.
    /// - Returns: Success, or the failing call.
    @discardableResult
    public func writeAtomically(_ path: String, _ data: Data) -> Result<Void, DatastoreIOError> {
        PosixFile.writeAtomically(path, data)
    }

    /// Reads a whole file (at most ``HAWire/DatastoreFiles/maxFileBytes``).
    ///
    /// - Parameter path: The file.
    /// - Returns: The content, or nil when it is missing, unreadable or too large.
    public func read(_ path: String) -> Data? {
        if case .data(let data) = PosixFile.read(path, limit: DatastoreFiles.maxFileBytes) { return data }
        return nil
    }

    // MARK: - Health

    /// Classifies a datastore as this host sees it, by touching it.
    ///
    /// - A `.pdl` file at the datastore root → ``HACore/DatastoreHealth/permanentDeviceLoss``.
    /// - `<root>/<ds>/.vSphere-HA/<cluster>` can be created and a file written in it →
    ///   ``HACore/DatastoreHealth/accessible``.
    /// - Writing fails with `EROFS`/`EACCES` while the datastore directory is readable and not
    ///   empty → ``HACore/DatastoreHealth/readOnly``.
    /// - Anything else (missing directory, empty mount point after `umount -l`, I/O errors) →
    ///   ``HACore/DatastoreHealth/allPathsDown``. A read-only *empty* datastore therefore looks
    ///   like APD.
    ///
    /// - Parameter ds: The datastore.
    /// - Returns: Its health.
    public func health(of ds: DatastoreID) -> DatastoreHealth {
        guard let base = datastorePath(ds), let directory = haDirectoryPath(ds) else { return .allPathsDown }
        if PosixFile.exists("\(base)/\(DatastoreFiles.pdlMarkerName)") { return .permanentDeviceLoss }
        guard let error = ensureHADirectory(ds) ?? PosixFile.probeWritable(directory) else { return .accessible }
        if error.code == .readOnly, isPopulated(base) { return .readOnly }
        return .allPathsDown
    }

    /// Removes temporary files abandoned by killed writers from this cluster's HA directory on
    /// `ds` (older than ``HAWire/DatastoreFiles/abandonedTemporaryAge`` by the datastore's
    /// clock). Returns how many were removed.
    @discardableResult
    public func removeAbandonedTemporaries(_ ds: DatastoreID) -> Int {
        guard let directory = haDirectoryPath(ds) else { return 0 }
        return PosixFile.removeAbandonedTemporaries(in: directory, age: DatastoreFiles.abandonedTemporaryAge)
    }

    /// Whether the datastore directory can be listed and holds something (a mounted datastore).
    func isPopulated(_ datastorePath: String) -> Bool {
        if case .success(let names) = PosixFile.list(datastorePath) { return !names.isEmpty }
        return false
    }

    /// Creates `.vSphere-HA/<cluster>` (and, with `subdirectory`, one level below) under an
    /// existing datastore directory. Never creates the datastore directory itself.
    func ensureHADirectory(_ ds: DatastoreID, subdirectory: String? = nil) -> DatastoreIOError? {
        guard let base = datastorePath(ds), let directory = haDirectoryPath(ds) else {
            return DatastoreIOError(code: .invalidPath, path: "\(root)/\(ds.rawValue)", operation: "path")
        }
        if let error = PosixFile.makeDirectory("\(base)/\(DatastoreFiles.haDirectoryName)") { return error }
        if let error = PosixFile.makeDirectory(directory) { return error }
        if let subdirectory { return PosixFile.makeDirectory("\(directory)/\(subdirectory)") }
        return nil
    }

    /// Writes an HA file atomically, creating the HA directory first.
    func writeHAFile(_ ds: DatastoreID, _ name: String, _ data: Data) -> Bool {
        guard let path = haFilePath(ds, name), ensureHADirectory(ds) == nil else { return false }
        if case .success = writeAtomically(path, data) { return true }
        return false
    }

    // MARK: - Heartbeat files

    /// Writes this host's heartbeat file `<host>-hb`.
    ///
    /// - Parameters:
    ///   - ds: The heartbeat datastore.
    ///   - host: This host.
    ///   - counter: The new counter (MUST increase on every write).
    /// - Returns: Whether the file was written.
    @discardableResult
    public func writeHeartbeat(_ ds: DatastoreID, host: HostID, counter: UInt64) -> Bool {
        guard let data = try? HeartbeatFile(host: host, counter: counter).serialized() else { return false }
        return writeHAFile(ds, DatastoreFiles.heartbeatName(host), data)
    }

    /// Reads a host's heartbeat counter.
    ///
    /// - Parameters:
    ///   - ds: The heartbeat datastore.
    ///   - host: The host whose file to read.
    /// - Returns: The counter, or nil when the file is missing, unreadable, invalid or names another host.
    public func readHeartbeat(_ ds: DatastoreID, host: HostID) -> UInt64? {
        guard let path = haFilePath(ds, DatastoreFiles.heartbeatName(host)), let data = read(path),
            let file = try? HeartbeatFile.parse(data), file.host == host
        else { return nil }
        return file.counter
    }

    // MARK: - Poweron files

    /// Writes a host's poweron file `<host>-poweron`.
    ///
    /// - Parameters:
    ///   - ds: The datastore.
    ///   - host: This host.
    ///   - file: The isolation flag and powered-on VMs.
    /// - Returns: Whether the file was written.
    @discardableResult
    public func writePowerOn(_ ds: DatastoreID, host: HostID, _ file: PowerOnFile) -> Bool {
        writeHAFile(ds, DatastoreFiles.powerOnName(host), Data(PowerOnFileFormat.serialize(file).utf8))
    }

    /// Reads a host's poweron file.
    ///
    /// - Parameters:
    ///   - ds: The datastore.
    ///   - host: The host whose file to read.
    /// - Returns: The file, or nil when missing, unreadable or invalid.
    public func readPowerOn(_ ds: DatastoreID, host: HostID) -> PowerOnFile? {
        guard let path = haFilePath(ds, DatastoreFiles.powerOnName(host)), let data = read(path) else { return nil }
        return try? PowerOnFileFormat.parse(data)
    }

    // MARK: - Poweredoff markers

    /// The VMs with a `poweredoff/<vm>` marker (temporary and unsafe names are skipped).
    ///
    /// - Parameter ds: The datastore.
    /// - Returns: The marked VMs; empty when there are none or the directory is unreadable.
    public func poweredOffMarkers(_ ds: DatastoreID) -> Set<VMID> {
        guard let directory = haDirectoryPath(ds),
            case .success(let names) = PosixFile.list("\(directory)/\(DatastoreFiles.poweredOffDirectoryName)")
        else { return [] }
        let valid = names.filter { !$0.hasPrefix(".") && DatastoreFiles.isSafeComponent($0) }
        return Set(valid.map { VMID($0) })
    }

    /// Creates the empty marker `poweredoff/<vm>` (before an isolation response powers the VM off).
    ///
    /// - Parameters:
    ///   - ds: The VM's home datastore.
    ///   - vm: The VM.
    /// - Returns: Whether the marker exists now.
    @discardableResult
    public func writeMarker(_ ds: DatastoreID, vm: VMID) -> Bool {
        let directoryName = DatastoreFiles.poweredOffDirectoryName
        guard DatastoreFiles.isSafeComponent(vm.rawValue), let directory = haDirectoryPath(ds),
            ensureHADirectory(ds, subdirectory: directoryName) == nil
        else { return false }
        if case .success = writeAtomically("\(directory)/\(directoryName)/\(vm.rawValue)", Data()) { return true }
        return false
    }

    /// Deletes the marker `poweredoff/<vm>`; a missing marker is success.
    ///
    /// - Parameters:
    ///   - ds: The VM's home datastore.
    ///   - vm: The VM.
    /// - Returns: Whether the marker is gone now.
    @discardableResult
    public func removeMarker(_ ds: DatastoreID, vm: VMID) -> Bool {
        guard DatastoreFiles.isSafeComponent(vm.rawValue), let directory = haDirectoryPath(ds) else { return false }
        return PosixFile.remove("\(directory)/\(DatastoreFiles.poweredOffDirectoryName)/\(vm.rawValue)") == nil
    }
}
