import HACore

// MARK: - ControllerProtocol

/// The master ↔ controller (vCenter role) protocol: JSON lines over TCP, controller port 8190.
///
/// Only a **master** talks to the controller, and the controller talks to only **one** master
/// at a time (oracle §4.7): it keeps the first master that said hello until that session drops,
/// and refuses every other one with `welcome` `accepted:false`.
///
/// Agent → controller (``AgentMessage``):
/// ```
/// {"configVersion":3,"host":"host-2","role":"master","type":"hello"}
/// {"host":"host-2","hostStates":{"host-1":"alive"},"poweredOn":{"vm-01":"host-1"},"protectedVMs":["vm-01"],"type":"state"}
/// {"id":7,"ok":true,"reason":"","type":"ack"}
/// ```
/// Controller → agent (``ControllerMessage``):
/// ```
/// {"accepted":true,"type":"welcome"}
/// {"config":{…ClusterConfig…},"id":6,"type":"config"}
/// {"id":7,"protected":true,"type":"protect","vm":"vm-01"}
/// ```
/// Obligations:
/// - The agent MUST send `hello` first; the controller answers with exactly one `welcome`, and
///   closes the connection after `accepted:false`.
/// - The agent MUST answer `config` with an `ack` once the configuration is applied, and
///   `protect` with an `ack` only **after** the master has written the change to the
///   protectedlist on disk (oracle §3.1 "Protection commit").
/// - The agent SHOULD send `state` periodically (the controller drops a silent session).
/// - Lines are at most ``maxLineBytes``; a malformed line is dropped and counted, never fatal.
public enum ControllerProtocol {
    /// The controller's default TCP port for agents.
    public static let defaultAgentPort = 8190
    /// The longest line either side accepts or sends (64 KiB, ``jsonLineMaxBytes``).
    public static let maxLineBytes = jsonLineMaxBytes
    /// The most entries a `state` report may carry in each of its collections.
    public static let maxReportEntries = 4096
    /// The longest `reason` of an ack, in bytes (longer reasons are rejected).
    public static let maxReasonBytes = 1024

    // MARK: - Payloads

    /// `hello`: the first line of every agent session.
    public struct Hello: Codable, Hashable, Sendable {
        /// The agent's host.
        public var host: HostID
        /// The agent's role; the controller accepts only ``HACore/Role/master``.
        public var role: Role
        /// The version of the configuration the agent runs (``HACore/ClusterConfig/version``).
        public var configVersion: Int

        /// Creates a hello.
        public init(host: HostID, role: Role = .master, configVersion: Int) {
            self.host = host
            self.role = role
            self.configVersion = configVersion
        }
    }

    /// `state`: the master's view of the cluster, as it reports it to vCenter.
    public struct StateReport: Hashable, Sendable {
        /// The reporting master.
        public var host: HostID
        /// The state the master gives each host (itself included, as it sees fit).
        public var hostStates: [HostID: HostState]
        /// The VMs the master protects (committed to a protectedlist).
        public var protectedVMs: [VMID]
        /// The powered-on VMs and where each runs.
        public var poweredOn: [VMID: HostID]

        /// Creates a report.
        public init(host: HostID, hostStates: [HostID: HostState] = [:], protectedVMs: [VMID] = [], poweredOn: [VMID: HostID] = [:]) {
            self.host = host
            self.hostStates = hostStates
            self.protectedVMs = protectedVMs
            self.poweredOn = poweredOn
        }
    }

    /// `ack`: the agent's answer to a `config` or `protect` request.
    public struct Ack: Codable, Hashable, Sendable {
        /// The request's id.
        public var id: UInt64
        /// Whether the request was carried out (applied, or committed to disk).
        public var ok: Bool
        /// Why not; empty on success (and when the line omits it).
        public var reason: String

        /// Creates an ack.
        public init(id: UInt64, ok: Bool, reason: String = "") {
            self.id = id
            self.ok = ok
            self.reason = reason
        }
    }

    // MARK: - Messages

    /// One line from the agent (master) to the controller.
    public enum AgentMessage: JSONLineCodable, Hashable {
        /// The first line of a session (later ones are keepalives).
        case hello(Hello)
        /// The master's periodic view of the cluster.
        case state(StateReport)
        /// The answer to a `config` or `protect` request.
        case ack(Ack)

        /// The `type` field.
        public var type: AgentMessageType {
            switch self {
            case .hello: .hello
            case .state: .state
            case .ack: .ack
            }
        }

        /// The sending host, when the line names it (`hello`, `state`).
        public var host: HostID? {
            switch self {
            case .hello(let hello): hello.host
            case .state(let report): report.host
            case .ack: nil
            }
        }
    }

    /// The `type` values of ``AgentMessage``.
    public enum AgentMessageType: String, Codable, Hashable, Sendable, CaseIterable {
        case hello, state, ack
    }

    /// One line from the controller to the agent (master).
    public enum ControllerMessage: JSONLineCodable, Hashable {
        /// The answer to `hello`: whether the controller talks to this master.
        case welcome(accepted: Bool)
        /// A new cluster configuration; the agent MUST ack once it is applied.
        case config(id: UInt64, config: ClusterConfig)
        /// Protect (`true`) or unprotect (`false`) a VM; the agent MUST ack only after the
        /// change is written to the protectedlist on disk.
        case protect(id: UInt64, vm: VMID, protected: Bool)

        /// The `type` field.
        public var type: ControllerMessageType {
            switch self {
            case .welcome: .welcome
            case .config: .config
            case .protect: .protect
            }
        }

        /// The request id the agent acks (nil for `welcome`).
        public var requestID: UInt64? {
            switch self {
            case .welcome: nil
            case .config(let id, _), .protect(let id, _, _): id
            }
        }
    }

    /// The `type` values of ``ControllerMessage``.
    public enum ControllerMessageType: String, Codable, Hashable, Sendable, CaseIterable {
        case welcome, config, protect
    }
}

// MARK: - Validation

extension ControllerProtocol.AgentMessage {
    /// Ids MUST be safe path components (they name files on the master's side and in reports),
    /// `configVersion` MUST NOT be negative, reports MUST stay within
    /// ``ControllerProtocol/maxReportEntries`` per collection and reasons within
    /// ``ControllerProtocol/maxReasonBytes``.
    public func validate() throws(JSONLineError) {
        switch self {
        case .hello(let hello):
            try ControllerProtocol.requireID(hello.host.rawValue, "host")
            guard hello.configVersion >= 0 else { throw JSONLineError(.invalidValue, "configVersion \(hello.configVersion)") }
        case .state(let report):
            try ControllerProtocol.requireID(report.host.rawValue, "host")
            let limit = ControllerProtocol.maxReportEntries
            guard report.hostStates.count <= limit, report.protectedVMs.count <= limit, report.poweredOn.count <= limit else {
                throw JSONLineError(.invalidValue, "state report with more than \(limit) entries")
            }
            for host in report.hostStates.keys { try ControllerProtocol.requireID(host.rawValue, "hostStates key") }
            for vm in report.protectedVMs { try ControllerProtocol.requireID(vm.rawValue, "protectedVMs") }
            for (vm, host) in report.poweredOn {
                try ControllerProtocol.requireID(vm.rawValue, "poweredOn key")
                try ControllerProtocol.requireID(host.rawValue, "poweredOn value")
            }
        case .ack(let ack):
            guard ack.reason.utf8.count <= ControllerProtocol.maxReasonBytes else {
                throw JSONLineError(.invalidValue, "ack reason of \(ack.reason.utf8.count) bytes")
            }
        }
    }
}

extension ControllerProtocol.ControllerMessage {
    /// A `protect` MUST name a VM with a safe id; a `config` MUST have a non-negative version.
    public func validate() throws(JSONLineError) {
        switch self {
        case .welcome:
            break
        case .config(_, let config):
            guard config.version >= 0 else { throw JSONLineError(.invalidValue, "config version \(config.version)") }
        case .protect(_, let vm, _):
            try ControllerProtocol.requireID(vm.rawValue, "vm")
        }
    }
}

extension ControllerProtocol {
    /// Rejects empty or unsafe ids (``DatastoreFiles/isSafeComponent(_:)``).
    static func requireID(_ value: String, _ field: String) throws(JSONLineError) {
        guard DatastoreFiles.isSafeComponent(value) else {
            throw JSONLineError(.invalidValue, "\(field) \(String(value.prefix(40)).debugDescription)")
        }
    }
}

// MARK: - Coding (flat objects with a `type` discriminator)

extension ControllerProtocol.StateReport: Codable {
    enum CodingKeys: String, CodingKey { case host, hostStates, protectedVMs, poweredOn }

    /// Decodes the flat JSON object (maps keyed by id strings).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        host = try container.decode(HostID.self, forKey: .host)
        let states = try container.decodeIfPresent([String: HostState].self, forKey: .hostStates) ?? [:]
        hostStates = Dictionary(uniqueKeysWithValues: states.map { (HostID($0.key), $0.value) })
        protectedVMs = try container.decodeIfPresent([VMID].self, forKey: .protectedVMs) ?? []
        let placement = try container.decodeIfPresent([String: HostID].self, forKey: .poweredOn) ?? [:]
        poweredOn = Dictionary(uniqueKeysWithValues: placement.map { (VMID($0.key), $0.value) })
    }

    /// Encodes the flat JSON object (maps keyed by id strings, so they are JSON objects).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(host, forKey: .host)
        try container.encode(Dictionary(uniqueKeysWithValues: hostStates.map { ($0.key.rawValue, $0.value) }), forKey: .hostStates)
        try container.encode(protectedVMs, forKey: .protectedVMs)
        try container.encode(Dictionary(uniqueKeysWithValues: poweredOn.map { ($0.key.rawValue, $0.value) }), forKey: .poweredOn)
    }
}

extension ControllerProtocol.Ack {
    enum CodingKeys: String, CodingKey { case id, ok, reason }

    /// Decodes the flat JSON object; a missing `reason` is empty.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(UInt64.self, forKey: .id)
        ok = try container.decode(Bool.self, forKey: .ok)
        reason = try container.decodeIfPresent(String.self, forKey: .reason) ?? ""
    }
}

/// The discriminator key shared by both message directions.
private enum TypeKey: String, CodingKey { case type }

extension ControllerProtocol.AgentMessage {
    /// Decodes a flat object: `type` picks the payload, whose fields sit beside it.
    public init(from decoder: any Decoder) throws {
        let type = try decoder.container(keyedBy: TypeKey.self).decode(ControllerProtocol.AgentMessageType.self, forKey: .type)
        switch type {
        case .hello: self = .hello(try ControllerProtocol.Hello(from: decoder))
        case .state: self = .state(try ControllerProtocol.StateReport(from: decoder))
        case .ack: self = .ack(try ControllerProtocol.Ack(from: decoder))
        }
    }

    /// Encodes a flat object: the payload's fields plus `type`.
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .hello(let hello): try hello.encode(to: encoder)
        case .state(let report): try report.encode(to: encoder)
        case .ack(let ack): try ack.encode(to: encoder)
        }
        var container = encoder.container(keyedBy: TypeKey.self)
        try container.encode(type, forKey: .type)
    }
}

extension ControllerProtocol.ControllerMessage {
    enum CodingKeys: String, CodingKey { case type, accepted, id, config, vm, protected }

    /// Decodes a flat object: `type` picks which fields are read.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(ControllerProtocol.ControllerMessageType.self, forKey: .type) {
        case .welcome:
            self = .welcome(accepted: try container.decode(Bool.self, forKey: .accepted))
        case .config:
            self = .config(id: try container.decode(UInt64.self, forKey: .id), config: try container.decode(ClusterConfig.self, forKey: .config))
        case .protect:
            self = .protect(
                id: try container.decode(UInt64.self, forKey: .id), vm: try container.decode(VMID.self, forKey: .vm),
                protected: try container.decode(Bool.self, forKey: .protected)
            )
        }
    }

    /// Encodes a flat object: `type` plus the case's fields.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        switch self {
        case .welcome(let accepted):
            try container.encode(accepted, forKey: .accepted)
        case .config(let id, let config):
            try container.encode(id, forKey: .id)
            try container.encode(config, forKey: .config)
        case .protect(let id, let vm, let protected):
            try container.encode(id, forKey: .id)
            try container.encode(vm, forKey: .vm)
            try container.encode(protected, forKey: .protected)
        }
    }
}
