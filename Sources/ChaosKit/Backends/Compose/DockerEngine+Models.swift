import Foundation

// MARK: - Requests

/// What `POST /containers/create` creates: the container's config, its `HostConfig`, and at
/// most one network with a fixed IPv4 address. Encodes to the Engine's PascalCase body.
public struct ContainerSpec: Sendable, Encodable, Hashable {
    /// The one network a container joins, with its fixed address
    /// (`NetworkingConfig.EndpointsConfig[name].IPAMConfig.IPv4Address`).
    public struct NetworkAttachment: Sendable, Hashable {
        /// The network's name or ID.
        public var name: String
        /// The container's fixed IPv4 address on it.
        public var ipv4: String

        /// An attachment to `name` at `ipv4`.
        public init(name: String, ipv4: String) {
            self.name = name
            self.ipv4 = ipv4
        }
    }

    /// The image reference (`"hactest-1234:latest"`).
    public var image: String
    /// `Cmd`: the command (after the entrypoint, if any).
    public var cmd: [String]
    /// `nil` keeps the image's entrypoint.
    public var entrypoint: [String]?
    /// `KEY=value` entries.
    public var env: [String]
    /// The container's labels (`hachaos.run`...).
    public var labels: [String: String]
    /// `nil` = the daemon's (the short ID).
    public var hostname: String?
    /// `nil` = the image's.
    public var workingDir: String?
    /// `MacAddress` (API ≤ 1.43: a container-config key): the MAC of the container's network
    /// interface; `nil` = the daemon's choice.
    public var macAddress: String?
    /// The signal `stop` sends first (`"SIGTERM"`); `nil` = the image's.
    public var stopSignal: String?
    /// Seconds `stop` waits before SIGKILL when the caller gives none.
    public var stopTimeout: Int?
    // HostConfig
    /// Bind mounts, `src:dst[:ro]`.
    public var binds: [String]
    /// tmpfs mounts: path → mount options (`"size=16m"`).
    public var tmpfs: [String: String]
    /// Mount the root filesystem read-only.
    public var readonlyRootfs: Bool
    /// `HostConfig.Init`: run a tiny init as PID 1 (`nil` = the daemon's default).
    public var init_: Bool?
    /// Extra capabilities (`"NET_ADMIN"`).
    public var capAdd: [String]
    /// `HostConfig.NetworkMode`; when `nil` and ``network`` is set, that network's name.
    public var networkMode: String?
    /// `HostConfig.Memory`, the cgroup memory limit.
    public var memoryBytes: Int64?
    /// `HostConfig.PidsLimit`.
    public var pidsLimit: Int64?
    /// Namespaced sysctls (`"net.core.somaxconn": "256"`).
    public var sysctls: [String: String]
    /// Remove the container when it exits.
    public var autoRemove: Bool
    /// `HostConfig.LogConfig.Type` (`"none"`: the process logs to files); `nil` = the daemon's.
    public var logDriver: String?
    // NetworkingConfig
    /// The network to join with a fixed address, if any.
    public var network: NetworkAttachment?

    /// A spec for `image` running `cmd`; everything else off or empty unless given.
    public init(
        image: String, cmd: [String], entrypoint: [String]? = nil, env: [String] = [], labels: [String: String] = [:],
        hostname: String? = nil, workingDir: String? = nil, stopSignal: String? = nil, stopTimeout: Int? = nil,
        binds: [String] = [], tmpfs: [String: String] = [:], readonlyRootfs: Bool = false, init_: Bool? = nil, capAdd: [String] = [],
        networkMode: String? = nil, memoryBytes: Int64? = nil, pidsLimit: Int64? = nil, sysctls: [String: String] = [:],
        autoRemove: Bool = false, network: NetworkAttachment? = nil
    ) {
        self.image = image
        self.cmd = cmd
        self.entrypoint = entrypoint
        self.env = env
        self.labels = labels
        self.hostname = hostname
        self.workingDir = workingDir
        self.stopSignal = stopSignal
        self.stopTimeout = stopTimeout
        self.binds = binds
        self.tmpfs = tmpfs
        self.readonlyRootfs = readonlyRootfs
        self.init_ = init_
        self.capAdd = capAdd
        self.networkMode = networkMode
        self.memoryBytes = memoryBytes
        self.pidsLimit = pidsLimit
        self.sysctls = sysctls
        self.autoRemove = autoRemove
        self.network = network
    }

    enum CodingKeys: String, CodingKey {
        case image = "Image", cmd = "Cmd", entrypoint = "Entrypoint", env = "Env", labels = "Labels", hostname = "Hostname"
        case workingDir = "WorkingDir", stopSignal = "StopSignal", stopTimeout = "StopTimeout", macAddress = "MacAddress"
        case hostConfig = "HostConfig", networkingConfig = "NetworkingConfig"
    }

    enum HostConfigKeys: String, CodingKey {
        case binds = "Binds", tmpfs = "Tmpfs", readonlyRootfs = "ReadonlyRootfs", initProcess = "Init", capAdd = "CapAdd"
        case networkMode = "NetworkMode", memory = "Memory", pidsLimit = "PidsLimit", sysctls = "Sysctls", autoRemove = "AutoRemove"
        case logConfig = "LogConfig"
    }

    /// `HostConfig.LogConfig`.
    struct LogConfig: Encodable {
        var type: String
        enum CodingKeys: String, CodingKey { case type = "Type" }
    }

    enum NetworkingKeys: String, CodingKey {
        case endpointsConfig = "EndpointsConfig"
    }

    /// `EndpointsConfig[name]`.
    struct Endpoint: Encodable {
        struct IPAM: Encodable {
            var ipv4: String
            enum CodingKeys: String, CodingKey { case ipv4 = "IPv4Address" }
        }
        var ipam: IPAM
        enum CodingKeys: String, CodingKey { case ipam = "IPAMConfig" }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(image, forKey: .image)
        try c.encode(cmd, forKey: .cmd)
        try c.encodeIfPresent(entrypoint, forKey: .entrypoint)
        try c.encode(env, forKey: .env)
        try c.encode(labels, forKey: .labels)
        try c.encodeIfPresent(hostname, forKey: .hostname)
        try c.encodeIfPresent(workingDir, forKey: .workingDir)
        try c.encodeIfPresent(macAddress, forKey: .macAddress)
        try c.encodeIfPresent(stopSignal, forKey: .stopSignal)
        try c.encodeIfPresent(stopTimeout, forKey: .stopTimeout)
        var host = c.nestedContainer(keyedBy: HostConfigKeys.self, forKey: .hostConfig)
        try host.encode(binds, forKey: .binds)
        try host.encode(tmpfs, forKey: .tmpfs)
        try host.encode(readonlyRootfs, forKey: .readonlyRootfs)
        try host.encodeIfPresent(init_, forKey: .initProcess)
        try host.encodeIfPresent(logDriver.map { LogConfig(type: $0) }, forKey: .logConfig)
        try host.encode(capAdd, forKey: .capAdd)
        try host.encodeIfPresent(networkMode ?? network?.name, forKey: .networkMode)
        try host.encodeIfPresent(memoryBytes, forKey: .memory)
        try host.encodeIfPresent(pidsLimit, forKey: .pidsLimit)
        try host.encode(sysctls, forKey: .sysctls)
        try host.encode(autoRemove, forKey: .autoRemove)
        if let network {
            var networking = c.nestedContainer(keyedBy: NetworkingKeys.self, forKey: .networkingConfig)
            try networking.encode([network.name: Endpoint(ipam: .init(ipv4: network.ipv4))], forKey: .endpointsConfig)
        }
    }
}

/// What `POST /networks/create` creates: a (by default bridge) network with one IPv4 subnet.
public struct NetworkSpec: Sendable, Encodable, Hashable {
    /// The network's name.
    public var name: String
    /// `"bridge"` unless told otherwise.
    public var driver: String
    /// No route out of the network (and no NAT).
    public var `internal`: Bool
    /// `"198.19.250.0/24"`.
    public var subnet: String
    /// `nil` lets the daemon pick the first address.
    public var gateway: String?
    /// The network's labels (`hachaos.run`...).
    public var labels: [String: String]
    /// Driver options, e.g. `"com.docker.network.bridge.name": "hac1234br"` (≤ 15 characters).
    public var options: [String: String]
    /// Off for the harness's networks.
    public var enableIPv6: Bool

    /// A network spec; a bridge, IPv4 only, unless told otherwise.
    public init(
        name: String, driver: String = "bridge", internal: Bool = false, subnet: String, gateway: String? = nil,
        labels: [String: String] = [:], options: [String: String] = [:], enableIPv6: Bool = false
    ) {
        self.name = name
        self.driver = driver
        self.internal = `internal`
        self.subnet = subnet
        self.gateway = gateway
        self.labels = labels
        self.options = options
        self.enableIPv6 = enableIPv6
    }

    enum CodingKeys: String, CodingKey {
        case name = "Name", driver = "Driver", `internal` = "Internal", ipam = "IPAM", labels = "Labels", options = "Options"
        case enableIPv6 = "EnableIPv6", checkDuplicate = "CheckDuplicate"
    }

    struct IPAM: Encodable {
        struct Config: Encodable {
            var subnet: String
            var gateway: String?
            enum CodingKeys: String, CodingKey { case subnet = "Subnet", gateway = "Gateway" }
        }
        var driver = "default"
        var config: [Config]
        enum CodingKeys: String, CodingKey { case driver = "Driver", config = "Config" }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(true, forKey: .checkDuplicate)
        try c.encode(driver, forKey: .driver)
        try c.encode(`internal`, forKey: .internal)
        try c.encode(enableIPv6, forKey: .enableIPv6)
        try c.encode(IPAM(config: [.init(subnet: subnet, gateway: gateway)]), forKey: .ipam)
        try c.encode(labels, forKey: .labels)
        try c.encode(options, forKey: .options)
    }
}

// MARK: - Answers

/// Tolerant decoding: a missing, `null` or mistyped field takes `fallback`.
extension KeyedDecodingContainer {
    func lenient<T: Decodable>(_ key: Key, _ fallback: T) -> T {
        ((try? decodeIfPresent(T.self, forKey: key)) ?? nil) ?? fallback
    }

    func lenient<T: Decodable>(_ key: Key) -> T? {
        (try? decodeIfPresent(T.self, forKey: key)) ?? nil
    }
}

/// Any coding key, for the Engine's PascalCase JSON.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// `GET /version`.
public struct DockerVersion: Sendable, Decodable, Hashable {
    /// The daemon's version (`"20.10.24"`).
    public var version: String
    /// The newest API version it speaks (`"1.41"`).
    public var apiVersion: String
    /// The oldest API version it speaks.
    public var minAPIVersion: String?
    public var os: String?
    public var arch: String?
    public var kernelVersion: String?

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        version = c.lenient(AnyKey("Version"), "")
        apiVersion = c.lenient(AnyKey("ApiVersion"), "")
        minAPIVersion = c.lenient(AnyKey("MinAPIVersion"))
        os = c.lenient(AnyKey("Os"))
        arch = c.lenient(AnyKey("Arch"))
        kernelVersion = c.lenient(AnyKey("KernelVersion"))
    }
}

/// `GET /images/{name}/json`, the parts the harness uses.
public struct DockerImage: Sendable, Decodable, Hashable {
    /// `sha256:...`.
    public var id: String
    /// RFC 3339 creation time, as the daemon wrote it.
    public var created: String
    public var repoTags: [String]
    /// `Config.Labels`.
    public var labels: [String: String]

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        id = c.lenient(AnyKey("Id"), "")
        created = c.lenient(AnyKey("Created"), "")
        repoTags = c.lenient(AnyKey("RepoTags"), [])
        let config = try? c.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("Config"))
        labels = config?.lenient(AnyKey("Labels"), [:]) ?? [:]
    }
}

/// A container's `State`.
public struct ContainerState: Sendable, Decodable, Hashable {
    /// `created`, `running`, `paused`, `restarting`, `removing`, `exited` or `dead`.
    public var status: String
    public var running: Bool
    public var paused: Bool
    public var oomKilled: Bool
    /// The host PID of the container's first process; 0 when not running.
    public var pid: Int32
    public var exitCode: Int
    /// RFC 3339; `0001-01-01T00:00:00Z` when never started.
    public var startedAt: String
    public var finishedAt: String
    public var error: String

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        status = c.lenient(AnyKey("Status"), "")
        running = c.lenient(AnyKey("Running"), false)
        paused = c.lenient(AnyKey("Paused"), false)
        oomKilled = c.lenient(AnyKey("OOMKilled"), false)
        pid = c.lenient(AnyKey("Pid"), 0)
        exitCode = c.lenient(AnyKey("ExitCode"), 0)
        startedAt = c.lenient(AnyKey("StartedAt"), "")
        finishedAt = c.lenient(AnyKey("FinishedAt"), "")
        error = c.lenient(AnyKey("Error"), "")
    }
}

/// `GET /containers/{id}/json`, the parts the harness uses.
public struct ContainerInfo: Sendable, Decodable, Hashable {
    /// One of the container's networks (`NetworkSettings.Networks[name]`).
    public struct Network: Sendable, Decodable, Hashable {
        public var networkID: String
        /// Empty when the container is not running.
        public var ipAddress: String
        public var gateway: String
        public var macAddress: String

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: AnyKey.self)
            networkID = c.lenient(AnyKey("NetworkID"), "")
            ipAddress = c.lenient(AnyKey("IPAddress"), "")
            gateway = c.lenient(AnyKey("Gateway"), "")
            macAddress = c.lenient(AnyKey("MacAddress"), "")
        }
    }

    public var id: String
    /// With the daemon's leading `/`.
    public var name: String
    public var state: ContainerState?
    /// `Config.Labels`.
    public var labels: [String: String]
    /// `NetworkSettings.Networks`, by network name.
    public var networks: [String: Network]

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        id = c.lenient(AnyKey("Id"), "")
        name = c.lenient(AnyKey("Name"), "")
        state = c.lenient(AnyKey("State"))
        let config = try? c.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("Config"))
        labels = config?.lenient(AnyKey("Labels"), [:]) ?? [:]
        let settings = try? c.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("NetworkSettings"))
        networks = settings?.lenient(AnyKey("Networks"), [:]) ?? [:]
    }
}

/// One entry of `GET /containers/json`.
public struct ContainerSummary: Sendable, Decodable, Hashable {
    public var id: String
    /// With the daemon's leading `/`.
    public var names: [String]
    public var labels: [String: String]
    /// `created`, `running`, `paused`, `exited`...
    public var state: String
    /// Human text (`"Up 3 seconds"`).
    public var status: String

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        id = c.lenient(AnyKey("Id"), "")
        names = c.lenient(AnyKey("Names"), [])
        labels = c.lenient(AnyKey("Labels"), [:])
        state = c.lenient(AnyKey("State"), "")
        status = c.lenient(AnyKey("Status"), "")
    }
}

/// The outcome of ``DockerEngine/exec(_:_:timeout:)``.
public struct ExecResult: Sendable, Hashable {
    public var stdout: String
    public var stderr: String
    /// The command's exit status; -1 when the daemon never reported one.
    public var exitCode: Int

    /// A result with the given output and status.
    public init(stdout: String, stderr: String, exitCode: Int) {
        self.stdout = stdout
        self.stderr = stderr
        self.exitCode = exitCode
    }
}

/// `GET /exec/{id}/json`, the parts the harness uses.
struct ExecInspect: Decodable {
    var running: Bool
    var exitCode: Int?
    var pid: Int32

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        running = c.lenient(AnyKey("Running"), false)
        exitCode = c.lenient(AnyKey("ExitCode"))
        pid = c.lenient(AnyKey("Pid"), 0)
    }
}

/// `GET /networks/{id}` and the entries of `GET /networks`.
public struct NetworkInfo: Sendable, Decodable, Hashable {
    /// One `IPAM.Config` entry.
    public struct IPAMConfig: Sendable, Decodable, Hashable {
        public var subnet: String
        public var gateway: String?

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: AnyKey.self)
            subnet = c.lenient(AnyKey("Subnet"), "")
            gateway = c.lenient(AnyKey("Gateway"))
        }
    }

    /// A container on the network (`Containers[id]`; only filled in by inspect).
    public struct Endpoint: Sendable, Decodable, Hashable {
        public var name: String
        /// With its prefix length (`"198.19.250.10/24"`).
        public var ipv4Address: String
        public var macAddress: String

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: AnyKey.self)
            name = c.lenient(AnyKey("Name"), "")
            ipv4Address = c.lenient(AnyKey("IPv4Address"), "")
            macAddress = c.lenient(AnyKey("MacAddress"), "")
        }
    }

    public var id: String
    public var name: String
    public var driver: String
    public var `internal`: Bool
    public var labels: [String: String]
    public var options: [String: String]
    public var ipam: [IPAMConfig]
    /// By container ID.
    public var containers: [String: Endpoint]

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        id = c.lenient(AnyKey("Id"), "")
        name = c.lenient(AnyKey("Name"), "")
        driver = c.lenient(AnyKey("Driver"), "")
        self.internal = c.lenient(AnyKey("Internal"), false)
        labels = c.lenient(AnyKey("Labels"), [:])
        options = c.lenient(AnyKey("Options"), [:])
        let ipamContainer = try? c.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("IPAM"))
        ipam = ipamContainer?.lenient(AnyKey("Config"), []) ?? []
        containers = c.lenient(AnyKey("Containers"), [:])
    }
}

/// `{"Id": "..."}` answers of the create calls.
struct CreatedID: Decodable {
    var id: String
    enum CodingKeys: String, CodingKey { case id = "Id" }
}
