import HACore

// MARK: - ControllerOptions

/// Everything `ha-controller` is configured with (command line, already validated).
struct ControllerOptions: Sendable {
    /// Address both listeners bind to.
    var listenAddress: String
    /// HTTP API port (0: ephemeral, printed on stdout).
    var httpPort: Int
    /// Agent (master) port (0: ephemeral, printed on stdout).
    var agentPort: Int
    /// Where `decisions.jsonl`, `events.jsonl` and the current configuration are kept.
    var stateDirectory: String
    /// The initial ``HACore/ClusterConfig`` file.
    var configPath: String
    /// Each host's hostd socket (user power-on/off).
    var hostdSockets: [HostID: String]
    /// How long a protect/unprotect or config push waits for the master's ack.
    var ackTimeout: Duration
    /// How long a hostd power operation may take.
    var hostdTimeout: Duration
    /// A master session silent for this long is dropped (another master may then connect).
    var masterTimeout: Duration
    /// A connection that has not said `hello` within this is closed.
    var helloTimeout: Duration

    // MARK: - Limits (house rule 9)

    /// Largest HTTP request body accepted (1 MiB); larger bodies get 413.
    static let maxBodyBytes = 1 << 20
    /// Most agent connections open at once (accepted or waiting for hello).
    static let maxAgentConnections = 64
    /// Most HTTP connections served at once; further ones get 503.
    static let maxHTTPConnections = 64
    /// Most requests (config pushes, protects) waiting for the master's ack.
    static let maxPendingRequests = 256
    /// Most lines queued for one agent connection; a master that does not read is dropped.
    static let maxOutboxLines = 256
    /// The longest one HTTP connection may stay open (request, orchestration, response).
    static let httpConnectionDeadline: Duration = .seconds(180)

    /// `<state dir>/decisions.jsonl`: one line per admission-control decision.
    var decisionsPath: String { stateDirectory + "/decisions.jsonl" }
    /// `<state dir>/events.jsonl`: the same decisions as ``HAWire/EventLine``s from host `vcenter`.
    var eventsPath: String { stateDirectory + "/events.jsonl" }
    /// `<state dir>/clusterconfig.current.json`: the latest configuration (survives a restart).
    var currentConfigPath: String { stateDirectory + "/clusterconfig.current.json" }
}
