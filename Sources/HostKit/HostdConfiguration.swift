import Foundation
import HACore

/// Everything `hostd` needs to know at start (its command line, NODES.md §1).
public struct HostdConfiguration: Sendable, Hashable {
    /// The node folder.
    public var paths: NodePaths
    /// This host's id.
    public var host: HostID
    /// The folder holding the datastores (`/vmfs/volumes` in a node).
    public var datastoreRoot: String
    /// The `vm-workload` executable.
    public var vmWorkloadPath: String
    /// `HACore.Settings` JSON (already scaled); defaults to `N/config/settings.json`.
    public var settingsPath: String
    /// `HACore.ClusterConfig` JSON (VM home datastores and Tools flags), re-read at each power-on.
    public var clusterConfigPath: String
    /// How often VM processes and their stdout are checked.
    public var pollInterval: Duration
    /// Mutants passed to every `vm-workload` this hostd starts (only those with
    /// ``FDM/Bug/isHonouredByHost``; from `--bug` and `N/control/bugs`).
    public var bugs: Set<FDM.Bug> = []

    public init(
        nodeDirectory: String, host: HostID, datastoreRoot: String, vmWorkloadPath: String,
        settingsPath: String? = nil, clusterConfigPath: String? = nil, pollInterval: Duration = .milliseconds(20)
    ) {
        let paths = NodePaths(root: nodeDirectory)
        self.paths = paths
        self.host = host
        self.datastoreRoot = datastoreRoot
        self.vmWorkloadPath = vmWorkloadPath
        self.settingsPath = settingsPath ?? paths.settings
        self.clusterConfigPath = clusterConfigPath ?? paths.clusterConfig
        self.pollInterval = pollInterval
    }

    /// The mutants listed in a node's `N/control/bugs` file (one name a line; unknown names and a
    /// missing file are ignored), as the harness writes it for every node (``FDM/Bug``).
    public static func bugs(inControlFileOf paths: NodePaths) -> Set<FDM.Bug> {
        guard case .content(let bytes) = FileOps.read(paths.controlDirectory + "/bugs", limit: 64 << 10) else { return [] }
        return Set(String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline).compactMap { FDM.Bug(rawValue: String($0)) })
    }

    /// Reads the settings file.
    ///
    /// - Returns: The settings; throws when the file is missing or does not decode.
    public func loadSettings() throws(HostKitError) -> Settings {
        try Self.load(Settings.self, from: settingsPath)
    }

    /// Reads the cluster configuration file.
    public func loadClusterConfig() throws(HostKitError) -> ClusterConfig {
        try Self.load(ClusterConfig.self, from: clusterConfigPath)
    }

    /// Reads the cluster configuration file with the identity of the version read (see
    /// `Hostd.clusterConfig()`, which decodes again only when the identity changes).
    func readClusterConfig() -> (result: FileOps.ReadResult, identity: FileIdentity?) {
        FileOps.readWithIdentity(clusterConfigPath, limit: Self.configLimit)
    }

    /// Decodes what ``readClusterConfig()`` read.
    func decodeClusterConfig(_ result: FileOps.ReadResult) throws(HostKitError) -> ClusterConfig {
        try Self.decode(ClusterConfig.self, result, path: clusterConfigPath)
    }

    /// The largest configuration file read.
    static let configLimit = 16 << 20

    private static func load<T: Decodable>(_ type: T.Type, from path: String) throws(HostKitError) -> T {
        try decode(type, FileOps.read(path, limit: configLimit), path: path)
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ result: FileOps.ReadResult, path: String) throws(HostKitError) -> T {
        switch result {
        case .content(let bytes):
            do {
                return try JSONDecoder().decode(type, from: Data(bytes))
            } catch {
                throw HostKitError(.malformed, "\(path) is not a valid \(type): \(error)")
            }
        case .missing:
            throw HostKitError(.configuration, "\(path) does not exist")
        case .failed(let errno):
            throw HostKitError(.io, "cannot read \(path)", errno: errno)
        }
    }
}
